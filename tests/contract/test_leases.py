"""Membership leases over real HTTP: a renewed Lease is live for a ``LeaseTracker`` and goes
stale when renewals stop; ``release`` makes it disappear at once; foreign Leases in the
namespace are ignored. Time for the tracker is explicit (``now``)."""

from __future__ import annotations

from orchestrator.adapters.kube.client import KubeClient
from orchestrator.adapters.kube.leases import KubeLeases
from orchestrator.adapters.kube.resources import LEASE
from orchestrator.core.liveness.leases import LeaseTracker
from tests.harness.apiserver import ApiServer


def test_renewed_lease_is_live_and_goes_stale(api: ApiServer, kube: KubeClient) -> None:
    leases = KubeLeases(kube, namespace="d8-metallb", prefix="mlb")
    kube.create(
        LEASE,
        {
            "metadata": {"name": "kube-controller-manager", "namespace": "d8-metallb"},
            "spec": {"holderIdentity": "x", "leaseDurationSeconds": 15},
        },
    )
    tracker = LeaseTracker()

    leases.renew("node-a", duration=1.5)  # created
    lease = kube.get(LEASE, "mlb-node-a", "d8-metallb")
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
