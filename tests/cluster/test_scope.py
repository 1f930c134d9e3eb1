"""How ``mlb controller|speaker --kubeconfig`` reads the cluster (``_where.cluster_informers``),
on a real kube-apiserver with the controller's token (the chart's RBAC). Matrix:

- the settings Secret (``--settings-secret``, what the Helm chart renders): its
  ``moduleconfig.yaml`` gives the same pools, peers and classes as the ModuleConfig example;
  a same-named Secret in another namespace is not read; a ModuleConfig ``metallb`` in the
  cluster as well is ignored with a warning (not a freezing "defined again"); broken YAML
  there is reported with the Secret's path and keeps the last good configuration (stale),
  nothing withdrawn (ModuleConfig is Deckhouse's CRD: the module installs a stand-in with
  an open schema, as a Deckhouse cluster has it);
- Secrets and MetalLB's objects are read only in our namespace (a pool elsewhere is not):
  the server's audit log shows every list and watch of theirs under our namespace, and
  none refused;
- speakers' Leases come from a label-selected informer: the leader election's Lease
  ``mlb-controller`` and foreign Leases are not nodes; a renewal after the first is one
  request, a PUT (audit log); that PUT carries the last resourceVersion: after someone
  else wrote the Lease it is refused with 409, read again and written once more; after
  someone deleted it (the server answers that PUT 409 as well), it is created again;
- Lease renewals do not make the source parse again (same ``Loaded`` object), a pool edit
  does.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from orchestrator.adapters.kube.informer import Informers
from orchestrator.adapters.kube.leases import KubeLeases
from orchestrator.adapters.kube.resources import LEASE, MODULE_CONFIG
from orchestrator.adapters.kube.source import KubeSource
from orchestrator.cli._where import cluster_informers
from orchestrator.core.liveness.leases import LeaseTracker
from tests.cluster.conftest import Started
from tests.harness.cluster import NAMESPACE as NS
from tests.harness.cluster import ROOT
from tests.harness.polling import poll
from tests.harness.realapi import RealApi

EXAMPLE = ROOT / "examples" / "moduleconfig" / "moduleconfig.yaml"


def example() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    docs = [d for d in yaml.safe_load_all(EXAMPLE.read_text()) if d]
    (mc,) = [d for d in docs if d["kind"] == "ModuleConfig"]
    return mc, [d for d in docs if d["kind"] == "Node"]


def settings_secret(text: str, namespace: str = NS) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "mlb-settings", "namespace": namespace},
        "type": "Opaque",
        "data": {"moduleconfig.yaml": base64.b64encode(text.encode()).decode()},
    }


@pytest.fixture(scope="module")
def moduleconfigs(real: RealApi) -> None:
    """Deckhouse's ModuleConfig kind, served from before the informers start."""
    real.install_crd(MODULE_CONFIG)


@pytest.fixture
def informers(moduleconfigs: None, api: RealApi, started: Started) -> Iterator[Informers]:
    infs = cluster_informers(api.client("controller"), NS)
    for inf in infs.by_kind.values():
        inf.timeout_seconds = 2
    yield started(infs)


def pools_of(source: KubeSource) -> set[str]:
    loaded = source.load()
    assert loaded.snapshot is not None
    return set(loaded.snapshot.config.pools)


def test_settings_secret_is_the_moduleconfig(api: RealApi, informers: Informers) -> None:
    mc, nodes = example()
    for node in nodes:
        api.apply("nodes", node)
    api.apply("secrets", settings_secret(yaml.safe_dump(mc)))
    other = copy.deepcopy(mc)
    other["spec"]["settings"]["addressPools"][0]["name"] = "elsewhere"
    api.apply("secrets", settings_secret(yaml.safe_dump(other), namespace="default"))
    assert informers.wait_synced(10)
    source = KubeSource(informers, settings=f"{NS}/mlb-settings")
    poll("the settings' pools", lambda: pools_of(source) == {"public"}, 10)
    loaded = source.load()
    assert loaded.snapshot is not None and not loaded.stale
    assert [str(p) for p in loaded.problems if p.severity.name == "ERROR"] == []
    assert set(loaded.snapshot.config.classes) == set()
    assert {p.name for p in loaded.snapshot.config.bgp_peers} == {"mc-peer-0"}

    # a ModuleConfig metallb in the cluster too (Deckhouse's own module): the Secret wins,
    # the other is ignored with a warning instead of "defined again" freezing everything
    theirs = copy.deepcopy(mc)
    theirs["spec"]["settings"]["addressPools"] = [
        {"name": "deckhouse", "protocol": "bgp", "addresses": ["198.51.100.0/28"]}
    ]
    api.apply("moduleconfigs", theirs)
    poll(
        "the warning about the cluster's ModuleConfig",
        lambda: any("ModuleConfig/metallb" in str(p) for p in source.load().problems),
        10,
    )
    loaded = source.load()
    assert not loaded.stale
    warning = next(p for p in loaded.problems if p.obj == "ModuleConfig/metallb")
    assert warning.severity.name == "WARNING"
    assert pools_of(source) == {"public"}

    # broken YAML in the Secret: reported at the Secret, its last good documents stay (held)
    api.apply("secrets", settings_secret("spec: [unclosed\n"))
    poll("the stale snapshot", lambda: source.load().stale, 10)
    loaded = source.load()
    problems = [str(p) for p in loaded.problems]
    assert any(p.startswith(f"Secret/{NS}/mlb-settings:moduleconfig.yaml") for p in problems)
    assert "spec: [unclosed" not in " ".join(problems)  # the text itself is never echoed
    assert pools_of(source) == {"public"}
    api.assert_rbac()


def test_metallb_objects_only_from_our_namespace(api: RealApi, informers: Informers) -> None:
    for ns, name, cidr in ((NS, "ours", "192.0.2.0/28"), ("default", "theirs", "192.0.2.16/28")):
        api.apply(
            "ipaddresspools",
            {
                "apiVersion": "metallb.io/v1beta1",
                "kind": "IPAddressPool",
                "metadata": {"name": name, "namespace": ns},
                "spec": {"addresses": [cidr]},
            },
        )
    assert informers.wait_synced(10)
    source = KubeSource(informers)
    poll("a snapshot", lambda: source.load().snapshot is not None, 10)
    poll("only pool 'ours'", lambda: pools_of(source) == {"ours"}, 10)
    asked = api.requests("controller")
    reads = {(q.verb, q.path) for q in asked if q.resource in ("ipaddresspools", "secrets")}
    assert reads == {
        (verb, path)
        for verb in ("list", "watch")
        for path in (
            f"/apis/metallb.io/v1beta1/namespaces/{NS}/ipaddresspools",
            f"/api/v1/namespaces/{NS}/secrets",
        )
    }
    assert [str(q) for q in asked if q.code == 403] == []


def test_speaker_leases_from_the_informer(api: RealApi, informers: Informers) -> None:
    kube, speaker = api.admin, api.client("speaker")
    for name in ("mlb-controller", "kube-scheduler"):  # the leader's Lease, someone else's
        kube.create(
            LEASE,
            {
                "metadata": {"name": name, "namespace": NS},
                "spec": {"holderIdentity": "controller-7f9", "leaseDurationSeconds": 15},
            },
        )
    leases = KubeLeases(speaker, namespace=NS, cache=informers.by_kind["Lease"])
    assert informers.wait_synced(10)
    leases.renew("node-a", duration=2)
    poll("node-a's Lease", lambda: [r.node for r in leases.read()] == ["node-a"], 10)
    lease = f"/apis/coordination.k8s.io/v1/namespaces/{NS}/leases/mlb-node-a"

    def renewal() -> list[tuple[str, str, int]]:
        """What one renewal asked of the server, and what it answered."""
        mark = api.mark()
        leases.renew("node-a", duration=2)
        return [(q.verb, q.path, q.code) for q in api.requests("speaker", since=mark)]

    assert renewal() == [("update", lease, 200)]
    tracker = LeaseTracker()
    poll("live node-a only", lambda: tracker.observe(leases.read(), now=0.0) == {"node-a"}, 10)
    # someone else writes our Lease: the PUT's resourceVersion no longer matches, so the
    # server refuses it; read again, written again
    kube.merge_patch(LEASE, "mlb-node-a", {"metadata": {"annotations": {"x": "y"}}}, NS)
    assert renewal() == [("update", lease, 409), ("get", lease, 200), ("update", lease, 200)]
    # someone deletes our Lease: the next renewal creates it again (the server answers a
    # PUT with a resourceVersion of a deleted object 409 too, not 404)
    api.remove("coordination.k8s.io", "leases", f"{NS}/mlb-node-a")
    collection = lease.rpartition("/")[0]
    assert renewal() == [("update", lease, 409), ("get", lease, 404), ("create", collection, 201)]
    assert kube.get(LEASE, "mlb-node-a", NS)["metadata"]["labels"] == {
        "metallb-orchestrator.io/lease": "speaker"
    }
    api.assert_rbac()


def test_lease_renewals_do_not_reparse(api: RealApi, informers: Informers) -> None:
    mc, nodes = example()
    for node in nodes:
        api.apply("nodes", node)
    api.apply("secrets", settings_secret(yaml.safe_dump(mc)))
    assert informers.wait_synced(10)
    source = KubeSource(informers, settings=f"{NS}/mlb-settings")
    poll("the settings' pools", lambda: pools_of(source) == {"public"}, 10)
    first = source.load()
    leases = KubeLeases(api.client("speaker"), namespace=NS, cache=informers.by_kind["Lease"])
    versions = set()
    for _ in range(3):
        leases.renew("edge-1", duration=2)
        versions.add(api.admin.get(LEASE, "mlb-edge-1", NS)["metadata"]["resourceVersion"])
    last = max(versions, key=int)
    poll("the last renewal in the cache", lambda: [r.token for r in leases.read()] == [last], 10)
    assert source.load() is first
    mc["spec"]["settings"]["addressPools"][0]["addresses"] = ["203.0.113.64/26"]
    api.apply("secrets", settings_secret(yaml.safe_dump(mc)))
    poll("a new parse after the edit", lambda: source.load() is not first, 10)
    api.assert_rbac()
