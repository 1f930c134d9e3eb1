"""``KubeSource`` on a real kube-apiserver, its informers scoped as ``mlb controller`` runs
them (``cluster_informers``) on the controller's token. The matrix covered:

- the snapshot equals what ``parse_snapshot`` gives for the same objects, read from the
  server by another client (the seed example, with a status written on the Service; the
  server fills in defaults, and has objects of its own and of the Helm release: the
  ``kubernetes`` Service, the system Namespaces, the metrics Services; both sides see
  them), and ``statuses`` is read back from the Service in ``StatusRecord.to_dict`` shape;
- an invalid pool/class does not replace the running config: the last good one is used and
  marked stale; a Service edit still shows through;
- before every informer has listed once there is no snapshot;
- after one Service edit, only that Service is parsed again (``ParseMemo``), and the result
  equals a parse of the same objects from scratch.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from orchestrator.adapters.files.manifests import load_directory
from orchestrator.adapters.kube.errors import KubeNotFound
from orchestrator.adapters.kube.informer import Informers
from orchestrator.adapters.kube.resources import SNAPSHOT_KINDS, key_of
from orchestrator.adapters.kube.source import MEMBERSHIP_KINDS, KubeSource
from orchestrator.cli._where import cluster_informers
from orchestrator.core.parse import parse_snapshot
from tests.cluster.conftest import Started
from tests.harness.cluster import NAMESPACE as NS
from tests.harness.cluster import ROOT
from tests.harness.polling import poll
from tests.harness.realapi import RealApi

SEED = ROOT / "examples" / "seed"
PLURALS = {r.kind: r.plural for r in SNAPSHOT_KINDS}
STATUS = {"loadBalancer": {"ingress": [{"ip": "192.168.2.100"}]}}
POOL = {"metallb.io/ip-allocated-from-pool": "ingress"}
COUNT = "network.deckhouse.io/l2-load-balancer-external-ips-count"

Document = tuple[str, Mapping[str, Any]]


def seed() -> list[dict[str, Any]]:
    docs = [copy.deepcopy(dict(d)) for _, d in load_directory(SEED).documents]
    for d in docs:
        if d["kind"] == "Service":
            d["status"] = copy.deepcopy(STATUS)
            d["metadata"]["annotations"].update(POOL)
    return docs


def server_documents(api: RealApi, informers: Informers) -> list[Document]:
    """What the source should see: every object of its kinds and scopes, as the server
    holds it, listed by the admin; in the source's order (kind, then key)."""
    out: list[Document] = []
    for inf in informers.by_kind.values():
        if inf.resource.kind in MEMBERSHIP_KINDS:
            continue
        try:
            items, _ = api.admin.list(
                inf.resource, inf.namespace, label_selector=inf.label_selector
            )
        except KubeNotFound:  # not served here (ModuleConfig is Deckhouse's): none
            items = []
        out += [(inf.resource.ref(o), o) for o in sorted(items, key=key_of)]
    return out


def versions(docs: list[Document]) -> list[tuple[str, str]]:
    return [(ref, str(d["metadata"].get("resourceVersion"))) for ref, d in docs]


def caught_up(api: RealApi, informers: Informers, source: KubeSource) -> list[Document]:
    """Wait until the source's cache holds exactly what the server holds; return that."""
    docs: list[Document] = []

    def same() -> bool:
        nonlocal docs
        docs = server_documents(api, informers)
        return versions(source.documents()) == versions(docs)

    poll("the cache as the server holds it", same, 10)
    return docs


def started_with(
    api: RealApi, informers: Informers, docs: list[dict[str, Any]]
) -> tuple[KubeSource, list[Document]]:
    """``docs`` on the server, the informers started, and everything cached."""
    for d in docs:
        api.apply(PLURALS[d["kind"]], d)
    source = KubeSource(informers)
    informers.start()
    assert informers.wait_synced(10)
    return source, caught_up(api, informers, source)


@pytest.fixture
def informers(api: RealApi, started: Started) -> Iterator[Informers]:
    infs = cluster_informers(api.client("controller"), NS)
    for inf in infs.by_kind.values():
        inf.timeout_seconds = 2
    started.informers.append(infs)  # started by the test (stopped at teardown)
    yield infs


def test_snapshot_equals_parse_of_same_objects(api: RealApi, informers: Informers) -> None:
    docs = seed()
    for d in docs:
        api.apply(PLURALS[d["kind"]], d)
    source = KubeSource(informers)
    assert source.load().snapshot is None  # not started: nothing listed yet
    informers.start()
    assert informers.wait_synced(10)
    held = caught_up(api, informers, source)

    loaded = source.load()
    expected = parse_snapshot(held)
    assert loaded.snapshot == expected
    assert {s.key for s in expected.services} == {
        "demo/web",
        "default/kubernetes",
        f"{NS}/mlb-metallb-orchestrator-controller-metrics",  # the release's
        f"{NS}/mlb-metallb-orchestrator-speaker-metrics",
    }
    assert not loaded.stale and loaded.problems == expected.problems
    assert dict(loaded.statuses) == {
        "demo/web": {"ingress": ["192.168.2.100"], "annotations": POOL, "conditions": []}
    }
    api.assert_rbac()


def test_invalid_config_keeps_last_good(api: RealApi, informers: Informers) -> None:
    docs = seed()
    source, _ = started_with(api, informers, docs)
    good = source.load()
    assert good.snapshot is not None and not good.stale

    (cls,) = [d for d in docs if d["kind"] == "MetalLoadBalancerClass"]
    broken = copy.deepcopy(cls)
    broken["spec"]["addressPool"] = ["not-an-ip"]
    api.apply("metalloadbalancerclasses", broken)
    (svc,) = [d for d in docs if d["kind"] == "Service"]
    edited = copy.deepcopy(svc)
    edited["metadata"]["annotations"][COUNT] = "2"
    api.apply("services", edited)

    poll("stale after a broken class", lambda: source.load().stale, 10)
    held = caught_up(api, informers, source)
    (web,) = [d for ref, d in held if ref == "Service/demo/web"]
    assert web["metadata"]["annotations"][COUNT] == "2"
    loaded = source.load()
    assert loaded.stale and any("addressPool" in str(p) for p in loaded.problems)
    # the class as it was (held: its IPs stay, none new), the cluster's state as it is now
    assert loaded.snapshot is not None and good.snapshot is not None
    name = cls["metadata"]["name"]
    assert loaded.snapshot.config.classes == good.snapshot.config.classes
    (pool,) = [p for p in loaded.snapshot.config.pools.values() if p.class_name == name]
    assert pool.held and pool.cidrs == good.snapshot.config.pools[pool.name].cidrs
    (service,) = [s for s in loaded.snapshot.services if s.key == "demo/web"]
    assert service.request.ips_count == 2
    assert any("last good version" in str(p) for p in loaded.problems)
    api.assert_rbac()


def test_one_service_edit_parses_one_service(api: RealApi, informers: Informers) -> None:
    docs = seed()
    extra = []
    for i in range(20):
        svc = copy.deepcopy(next(d for d in docs if d["kind"] == "Service"))
        svc["metadata"]["name"] = f"web-{i}"
        for field in ("clusterIP", "clusterIPs"):  # each Service gets its own from the server
            del svc["spec"][field]
        extra.append(svc)
    docs.extend(extra)
    source, held = started_with(api, informers, docs)
    source.load()
    leaves = sum(1 for _, d in held if d["kind"] in ("Service", "EndpointSlice"))
    assert leaves == 25  # web, web-0..19, kubernetes, the release's two; one EndpointSlice
    assert (source.memo.hits, source.memo.misses) == (0, leaves)

    edited = copy.deepcopy(extra[7])
    edited["metadata"]["annotations"][COUNT] = "2"
    edited["status"] = {"loadBalancer": {"ingress": [{"ip": "192.168.2.107"}]}}
    api.apply("services", edited)  # two writes: the Service, then its status
    held = caught_up(api, informers, source)
    (web7,) = [d for ref, d in held if ref == "Service/demo/web-7"]
    assert web7["metadata"]["annotations"][COUNT] == "2"
    assert web7["status"]["loadBalancer"]["ingress"][0]["ip"] == "192.168.2.107"
    loaded = source.load()
    assert (source.memo.hits, source.memo.misses) == (leaves - 1, leaves + 1)
    assert loaded.snapshot == parse_snapshot(held)
    # statuses are kept per object too: the edited one is read again, the rest reused
    assert loaded.statuses["demo/web-7"]["ingress"] == ["192.168.2.107"]
    assert loaded.statuses["demo/web-6"]["ingress"] == ["192.168.2.100"]
    assert len(loaded.statuses) == 21
    api.assert_rbac()
