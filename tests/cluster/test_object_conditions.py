"""The InUse condition on the Deckhouse kinds, written by the controller (in the test's
process, the chart's controller token) on a real kube-apiserver with the chart's CRDs.

Matrix: the v3 example (``examples/deckhouse-v3``; its ModuleConfig on a stand-in of
Deckhouse's CRD) plus an unused peer; one reconcile with ``KubeObjectConditions``: every
object gets InUse with the reason the core decided (InUse / NotReferenced), a condition
another writer put there stays, only the status subresource is written (merge patches,
counted in the server's audit log), a second pass with nothing changed sends nothing, an
unchanged status keeps its ``lastTransitionTime`` and a changed one gets a new one, an
object deleted meanwhile is skipped without an error, a broken pool added later freezes
the configuration and says Invalid with the parser's message while the others keep saying
what runs, and the server refused none of the controller's requests (403).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from orchestrator.adapters.files.manifests import load_directory
from orchestrator.adapters.kube.conditions import KubeObjectConditions
from orchestrator.adapters.kube.informer import Informers
from orchestrator.adapters.kube.leases import KubeLeases
from orchestrator.adapters.kube.resources import MODULE_CONFIG, SNAPSHOT_KINDS
from orchestrator.adapters.kube.source import KubeSource
from orchestrator.adapters.kube.status import KubeStatusWriter
from orchestrator.adapters.kube.store import KubeStore
from orchestrator.cli._where import cluster_informers
from orchestrator.runtime.controller import Controller
from tests.cluster.conftest import Started
from tests.harness.cluster import NAMESPACE as NS
from tests.harness.cluster import ROOT
from tests.harness.polling import poll
from tests.harness.realapi import RealApi

EXAMPLE = ROOT / "examples" / "deckhouse-v3"
PLURALS = {r.kind: r.plural for r in SNAPSHOT_KINDS}
GROUP = "network.deckhouse.io"


def dh(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/v1alpha1",
        "kind": kind,
        "metadata": {"name": name},
        "spec": spec,
    }


@pytest.fixture(scope="module")
def moduleconfigs(real: RealApi) -> None:
    """Deckhouse's ModuleConfig kind (the example has one), served from the start."""
    real.install_crd(MODULE_CONFIG)


def in_use(api: RealApi, plural: str, name: str) -> dict[str, Any]:
    obj = api.get(GROUP, plural, name)
    assert obj is not None
    conditions = {c["type"]: c for c in (obj.get("status") or {}).get("conditions", [])}
    found: dict[str, Any] = conditions.get("InUse", {})
    return found


def patches(api: RealApi) -> list[str]:
    """The controller's patches of the Deckhouse objects so far (the audit log)."""
    return [q.uri for q in api.requests("controller") if q.verb == "patch" and GROUP in q.uri]


def test_controller_writes_in_use_on_every_deckhouse_object(
    moduleconfigs: None, api: RealApi, started: Started
) -> None:
    controller_client = api.client("controller")
    for _, doc in load_directory(EXAMPLE).documents:
        api.apply(PLURALS[doc["kind"]], copy.deepcopy(dict(doc)))
    api.apply(
        PLURALS["MetalLoadBalancerBGPPeer"],
        dh(
            "MetalLoadBalancerBGPPeer",
            "spare",
            {"peerAddress": "198.51.100.9", "peerASN": 64512, "myASN": 64513},
        ),
    )
    foreign = {
        "type": "Someone/Else",
        "status": "True",
        "reason": "X",
        "message": "",
        "lastTransitionTime": "2020-01-01T00:00:00Z",
    }
    pool = api.get(GROUP, "metalloadbalancerpools", "public")
    assert pool is not None
    api.apply("metalloadbalancerpools", {**pool, "status": {"conditions": [foreign]}})

    infs: Informers = started(cluster_informers(controller_client, NS))
    assert infs.wait_synced(10)
    source = KubeSource(infs)
    poll("a snapshot", lambda: source.load().snapshot is not None, 10)
    store = KubeStore(
        KubeStatusWriter(controller_client), KubeLeases(controller_client, namespace=NS)
    )
    times = iter(f"2026-01-01T00:00:0{i}Z" for i in range(10))
    conditions = KubeObjectConditions(controller_client, clock=lambda: next(times))
    controller = Controller(source, store, conditions=conditions)
    controller.reconcile()
    assert conditions.sync()

    public = in_use(api, "metalloadbalancerpools", "public")
    assert (public["status"], public["reason"]) == ("True", "InUse")
    assert public["message"] == "announced by BGPAdvertisement edge-adv-0"
    first_time = public["lastTransitionTime"]
    stored = api.get(GROUP, "metalloadbalancerpools", "public")
    assert stored is not None
    assert [c["type"] for c in stored["status"]["conditions"]] == ["Someone/Else", "InUse"]
    assert stored["spec"] == pool["spec"]
    router = in_use(api, "metalloadbalancerbgppeers", "router-a")
    assert router["message"] == "sessions from nodes node-1, node-2"
    spare = in_use(api, "metalloadbalancerbgppeers", "spare")
    assert (spare["status"], spare["reason"]) == ("False", "NotReferenced")
    edge = in_use(api, "metalloadbalancerconfigurations", "edge")
    assert edge["reason"] == "InUse" and "3 sessions" in edge["message"]
    assert all(p.endswith("/status") for p in patches(api))
    written = len(patches(api))
    assert written == 6

    # nothing changed: nothing written, also not after a resync of the writer's memory
    controller.reconcile()
    assert conditions.sync() and len(patches(api)) == written
    conditions._written.clear()
    assert conditions.sync() and len(patches(api)) == written

    # the configuration stops naming router-b: its peer goes NotReferenced (new time),
    # the pool's unchanged InUse keeps its time; a deleted object is skipped quietly
    config = api.get(GROUP, "metalloadbalancerconfigurations", "edge")
    assert config is not None
    config["spec"]["bgp"]["peerNames"] = ["router-a"]
    api.apply("metalloadbalancerconfigurations", config)
    api.remove(GROUP, "metalloadbalancerbgppeers", "spare")
    poll(
        "the changed configuration",
        lambda: (
            (s := source.load().snapshot) is not None
            and "MetalLoadBalancerBGPPeer/spare" not in s.crd_objects
            and not any(
                "router-b" in p for p in s.crd_objects["MetalLoadBalancerConfiguration/edge"]
            )
        ),
        10,
    )
    controller.reconcile()
    assert conditions.sync()
    b = in_use(api, "metalloadbalancerbgppeers", "router-b")
    assert b["reason"] == "NotReferenced" and b["lastTransitionTime"] > first_time
    assert in_use(api, "metalloadbalancerpools", "public")["lastTransitionTime"] == first_time

    # a broken pool is left out (isolation): it says Invalid with the parser's message,
    # the others what is running
    broken = dh("MetalLoadBalancerPool", "broken", {"addresses": ["203.0.113.300/32"]})
    api.apply("metalloadbalancerpools", broken)
    poll(
        "the broken pool reported",
        lambda: any(p.obj == "MetalLoadBalancerPool/broken" for p in source.load().problems),
        10,
    )
    assert not source.load().stale  # nothing runs on a last good version: it never had one
    controller.reconcile()
    assert conditions.sync()
    bad = in_use(api, "metalloadbalancerpools", "broken")
    assert (bad["status"], bad["reason"]) == ("False", "Invalid")
    assert '"203.0.113.300/32"' in bad["message"]
    assert in_use(api, "metalloadbalancerpools", "public")["reason"] == "InUse"
    api.assert_rbac()
