"""How ``mlb controller|speaker --kubeconfig`` reads the cluster (``_where.cluster_informers``),
over real HTTP. Matrix:

- the settings Secret (``--settings-secret``, what the Helm chart renders): its
  ``moduleconfig.yaml`` gives the same pools, peers and classes as the ModuleConfig example;
  a same-named Secret in another namespace is not read; a ModuleConfig ``metallb`` in the
  cluster as well is ignored with a warning (not a freezing "defined again"); broken YAML
  there is reported with the Secret's path and keeps the last good configuration (stale),
  nothing withdrawn;
- Secrets and MetalLB's objects are read only in our namespace (a pool elsewhere is not);
- speakers' Leases come from a label-selected informer: the leader election's Lease
  ``mlb-controller`` and foreign Leases are not nodes; a renewal after the first is one
  request (a PUT with the last resourceVersion);
- Lease renewals do not make the source parse again (same ``Loaded`` object), a pool edit
  does.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator.adapters.kube.client import KubeClient
from orchestrator.adapters.kube.informer import Informers
from orchestrator.adapters.kube.leases import KubeLeases
from orchestrator.adapters.kube.resources import LEASE
from orchestrator.adapters.kube.source import KubeSource
from orchestrator.cli._where import cluster_informers
from orchestrator.core.liveness.leases import LeaseTracker
from tests.contract.conftest import stop_informers, wait_for
from tests.harness.apiserver import ApiServer

NS = "metallb-system"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "moduleconfig" / "moduleconfig.yaml"


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


@pytest.fixture
def informers(api: ApiServer, kube: KubeClient) -> Iterator[Informers]:
    infs = cluster_informers(kube, NS)
    for inf in infs.by_kind.values():
        inf.timeout_seconds = 2
    infs.start()
    yield infs
    stop_informers(api, [infs])


def pools_of(source: KubeSource) -> set[str]:
    loaded = source.load()
    assert loaded.snapshot is not None
    return set(loaded.snapshot.config.pools)


def test_settings_secret_is_the_moduleconfig(api: ApiServer, informers: Informers) -> None:
    mc, nodes = example()
    for node in nodes:
        api.apply("nodes", node)
    api.apply("secrets", settings_secret(yaml.safe_dump(mc)))
    other = copy.deepcopy(mc)
    other["spec"]["settings"]["addressPools"][0]["name"] = "elsewhere"
    api.apply("secrets", settings_secret(yaml.safe_dump(other), namespace="default"))
    assert informers.wait_synced(5)
    source = KubeSource(informers, settings=f"{NS}/mlb-settings")
    wait_for(lambda: pools_of(source) == {"public"}, what="the settings' pools")
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
    wait_for(
        lambda: any("ModuleConfig/metallb" in str(p) for p in source.load().problems),
        what="the warning about the cluster's ModuleConfig",
    )
    loaded = source.load()
    assert not loaded.stale
    warning = next(p for p in loaded.problems if p.obj == "ModuleConfig/metallb")
    assert warning.severity.name == "WARNING"
    assert pools_of(source) == {"public"}

    # broken YAML in the Secret: reported at the Secret, the last good config stays
    api.apply("secrets", settings_secret("spec: [unclosed\n"))
    wait_for(lambda: source.load().stale, what="the stale snapshot")
    loaded = source.load()
    problems = [str(p) for p in loaded.problems]
    assert any(p.startswith(f"Secret/{NS}/mlb-settings:moduleconfig.yaml") for p in problems)
    assert "spec: [unclosed" not in " ".join(problems)  # the text itself is never echoed
    assert pools_of(source) == {"public"}


def test_metallb_objects_only_from_our_namespace(api: ApiServer, informers: Informers) -> None:
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
    assert informers.wait_synced(5)
    source = KubeSource(informers)
    wait_for(lambda: source.load().snapshot is not None, what="a snapshot")
    wait_for(lambda: pools_of(source) == {"ours"}, what=f"pool 'ours': {source.load().problems}")
    paths = {p for _, p in api.requests if "ipaddresspools" in p or "secrets" in p}
    assert paths == {
        f"/apis/metallb.io/v1beta1/namespaces/{NS}/ipaddresspools",
        f"/api/v1/namespaces/{NS}/secrets",
    }


def test_speaker_leases_from_the_informer(
    api: ApiServer, kube: KubeClient, informers: Informers
) -> None:
    for name in ("mlb-controller", "kube-scheduler"):  # the leader's Lease, someone else's
        kube.create(
            LEASE,
            {
                "metadata": {"name": name, "namespace": NS},
                "spec": {"holderIdentity": "controller-7f9", "leaseDurationSeconds": 15},
            },
        )
    leases = KubeLeases(kube, namespace=NS, cache=informers.by_kind["Lease"])
    assert informers.wait_synced(5)
    leases.renew("node-a", duration=2)
    wait_for(lambda: [r.node for r in leases.read()] == ["node-a"], what="node-a's Lease")
    before = len(api.requests)
    leases.renew("node-a", duration=2)
    assert api.requests[before:] == [
        ("PUT", f"/apis/coordination.k8s.io/v1/namespaces/{NS}/leases/mlb-node-a")
    ]
    tracker = LeaseTracker()
    wait_for(lambda: tracker.observe(leases.read(), now=0.0) == {"node-a"}, what="live node-a only")
    # someone deletes our Lease: the next renewal creates it again
    api.remove("coordination.k8s.io", "leases", f"{NS}/mlb-node-a")
    leases.renew("node-a", duration=2)
    assert kube.get(LEASE, "mlb-node-a", NS)["metadata"]["labels"] == {
        "metallb-orchestrator.io/lease": "speaker"
    }


def test_lease_renewals_do_not_reparse(
    api: ApiServer, kube: KubeClient, informers: Informers
) -> None:
    mc, nodes = example()
    for node in nodes:
        api.apply("nodes", node)
    api.apply("secrets", settings_secret(yaml.safe_dump(mc)))
    assert informers.wait_synced(5)
    source = KubeSource(informers, settings=f"{NS}/mlb-settings")
    wait_for(lambda: pools_of(source) == {"public"}, what="the settings' pools")
    first = source.load()
    leases = KubeLeases(kube, namespace=NS, cache=informers.by_kind["Lease"])
    for _ in range(3):
        leases.renew("edge-1", duration=2)
    wait_for(lambda: len(leases.read()) == 1, what="the lease in the cache")
    assert source.load() is first
    mc["spec"]["settings"]["addressPools"][0]["addresses"] = ["203.0.113.64/26"]
    api.apply("secrets", settings_secret(yaml.safe_dump(mc)))
    wait_for(lambda: source.load() is not first, what="a new parse after the edit")
