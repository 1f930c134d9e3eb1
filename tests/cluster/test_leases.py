"""Leases on a real kube-apiserver, each with the token of the component that writes it.

- Membership (the speaker's token): a renewed Lease is live for a ``LeaseTracker`` and goes
  stale when renewals stop; ``release`` makes it disappear at once; foreign Leases in the
  namespace are ignored. Time for the tracker is explicit (``now``).
- Leader election (the controller's token): two replicas over one Lease; one leads, the
  other waits while the Lease is renewed, takes over only after renewals stop, and the old
  leader then stands down. At no instant do both lead.
- Stamping (§15): the speaker's ``Membership`` over the Lease informer's cache stamps each
  renewal as it arrives, so a node silent during a long pass is dead at the end of it.

Neither component got a 403 (audit log): the chart's Roles allow what they do.
"""

from __future__ import annotations

import threading
import time

from orchestrator.adapters.kube.informer import Informer
from orchestrator.adapters.kube.leader import KubeLeader
from orchestrator.adapters.kube.leases import LABEL_SELECTOR, KubeLeases
from orchestrator.adapters.kube.resources import LEASE
from orchestrator.core.liveness.leases import LeaseTracker
from orchestrator.runtime.membership import Membership
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


def test_informer_lease_events_are_stamped_when_they_arrive(api: RealApi) -> None:
    """§15: the speaker's ``Membership`` polls the Lease informer's cache on a thread of its
    own, so each renewal is stamped when it arrives, not when a (slow) pass looks. Nobody
    else observes for 3.5 s here, as during a slow load: node-a, renewed all along, is
    live; node-b, silent since the start, is already dead. A single look at the end would
    see node-b's one renewal as new, and call it live for another lease duration."""
    writer = KubeLeases(api.client("speaker"), namespace=NS, prefix="mlb")
    informer = Informer(api.client("speaker"), LEASE, namespace=NS, label_selector=LABEL_SELECTOR)
    informer.start()
    stop = threading.Event()
    try:
        assert informer.synced.wait(10)
        cache = KubeLeases(api.client("speaker"), namespace=NS, prefix="mlb", cache=informer)
        membership = Membership(cache.read, poll=0.1)
        writer.renew("node-a", duration=1.0)
        writer.renew("node-b", duration=1.0)
        membership.run(stop)
        end = time.monotonic() + 3.5
        while time.monotonic() < end:  # bounded: 3.5 s
            writer.renew("node-a", duration=1.0)
            time.sleep(0.3)
        assert {r.node for r in cache.read()} == {"node-a", "node-b"}
        assert membership.live() == {"node-a"}
    finally:
        stop.set()
        informer.stop()
        writer.release("node-a")
        writer.release("node-b")
