"""Leases on a real kube-apiserver, each with the token of the component that writes it.

- Membership (the speaker's token): a renewed Lease is live for a ``LeaseTracker`` and goes
  stale when renewals stop; ``release`` makes it disappear at once; foreign Leases in the
  namespace are ignored. Time for the tracker is explicit (``now``).
- Leader election (the controller's token): two replicas over one Lease; one leads, the
  other waits while the Lease is renewed, takes over only after renewals stop, and the old
  leader then stands down. At no instant do both lead.

Neither component got a 403 (audit log): the chart's Roles allow what they do.
"""

from __future__ import annotations

from orchestrator.adapters.kube.leader import KubeLeader
from orchestrator.adapters.kube.leases import KubeLeases
from orchestrator.adapters.kube.resources import LEASE
from orchestrator.core.liveness.leases import LeaseTracker
from tests.harness.cluster import NAMESPACE as NS
from tests.harness.realapi import RealApi


def test_renewed_lease_is_live_and_goes_stale(api: RealApi) -> None:
    kube = api.admin
    leases = KubeLeases(api.client("speaker"), namespace=NS, prefix="mlb")
    kube.create(
        LEASE,
        {
            "metadata": {"name": "kube-controller-manager", "namespace": NS},
            "spec": {"holderIdentity": "x", "leaseDurationSeconds": 15},
        },
    )
    tracker = LeaseTracker()

    leases.renew("node-a", duration=1.5)  # created
    lease = kube.get(LEASE, "mlb-node-a", NS)
    assert lease["spec"]["holderIdentity"] == "node-a"
    assert lease["spec"]["leaseDurationSeconds"] == 2
    assert lease["spec"]["renewTime"].endswith("Z")
    assert tracker.observe(leases.read(), now=100.0) == {"node-a"}

    leases.renew("node-a", duration=1.5)  # updated: a new token
    leases.renew("node-b", duration=1.5)
    assert tracker.observe(leases.read(), now=101.5) == {"node-a", "node-b"}

    # node-a stops renewing (last change seen at 101.5, 2 s lease), node-b goes on
    leases.renew("node-b", duration=1.5)
    assert tracker.observe(leases.read(), now=103.0) == {"node-a", "node-b"}
    leases.renew("node-b", duration=1.5)
    assert tracker.observe(leases.read(), now=103.6) == {"node-b"}
    assert tracker.observe(leases.read(), now=105.5) == {"node-b"}  # no change since 103.6
    assert tracker.observe(leases.read(), now=105.7) == set()  # node-b stopped too

    leases.renew("node-b", duration=1.5)
    assert tracker.observe(leases.read(), now=106.0) == {"node-b"}
    leases.release("node-b")
    leases.release("node-b")  # already gone: fine
    assert tracker.observe(leases.read(), now=106.1) == set()
    assert {r.node for r in leases.read()} == {"node-a"}
    api.assert_rbac()


def test_two_replicas_never_lead_together(api: RealApi) -> None:
    controller = api.client("controller")
    a = KubeLeader(controller, namespace=NS, identity="a", duration=15)
    b = KubeLeader(controller, namespace=NS, identity="b", duration=15)
    assert a.tick(0.0) and not b.tick(0.0)
    assert api.admin.get(LEASE, "mlb-controller", NS)["spec"]["holderIdentity"] == "a"
    for now in (5.0, 10.0, 15.0, 20.0):  # a renews; b keeps waiting
        assert a.tick(now) and not b.tick(now)
    # a stalls after its renewal at 20.0; b takes over 15 s after it last saw a change
    for step in range(1, 200):
        now = 20.0 + step * 0.1
        b_leads = b.tick(now)
        assert not (a.elector.is_leader(now) and b_leads), now
    assert api.admin.get(LEASE, "mlb-controller", NS)["spec"]["holderIdentity"] == "b"
    assert not a.tick(40.0)  # a comes back: the Lease names b, a stands down
    assert b.tick(40.0)
    api.assert_rbac()
