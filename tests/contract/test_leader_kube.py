"""Two controller replicas electing a leader over a real Lease on the API emulator: one
leads, the other waits while the Lease is renewed, takes over only after renewals stop,
and the old leader then stands down. At no instant do both lead."""

from __future__ import annotations

from orchestrator.adapters.kube.client import KubeClient
from orchestrator.adapters.kube.leader import KubeLeader
from orchestrator.adapters.kube.resources import LEASE


def test_two_replicas_never_lead_together(kube: KubeClient) -> None:
    a = KubeLeader(kube, namespace="metallb-system", identity="a", duration=15)
    b = KubeLeader(kube, namespace="metallb-system", identity="b", duration=15)
    assert a.tick(0.0) and not b.tick(0.0)
    assert kube.get(LEASE, "mlb-controller", "metallb-system")["spec"]["holderIdentity"] == "a"
    for now in (5.0, 10.0, 15.0, 20.0):  # a renews; b keeps waiting
        assert a.tick(now) and not b.tick(now)
    # a stalls after its renewal at 20.0; b takes over 15 s after it last saw a change
    for step in range(1, 200):
        now = 20.0 + step * 0.1
        b_leads = b.tick(now)
        assert not (a.elector.is_leader(now) and b_leads), now
    assert kube.get(LEASE, "mlb-controller", "metallb-system")["spec"]["holderIdentity"] == "b"
    assert not a.tick(40.0)  # a comes back: the Lease names b, a stands down
    assert b.tick(40.0)
