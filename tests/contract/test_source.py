"""``KubeSource`` over real HTTP: the matrix covered.

- the snapshot equals what ``parse_snapshot`` gives for the same objects (the seed example,
  with a status written on the Service), and ``statuses`` is read back from the Service in
  ``StatusRecord.to_dict`` shape;
- an invalid pool/class does not replace the running config: the last good one is used and
  marked stale; a Service edit still shows through;
- before every informer has listed once there is no snapshot;
- after one Service edit, only that Service is parsed again (``ParseMemo``), and the result
  equals a parse of the same objects from scratch.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from orchestrator.adapters.files.manifests import load_directory
from orchestrator.adapters.kube.client import KubeClient
from orchestrator.adapters.kube.informer import Informers
from orchestrator.adapters.kube.resources import SNAPSHOT_KINDS
from orchestrator.adapters.kube.source import KubeSource
from orchestrator.core.parse import parse_snapshot
from tests.contract.conftest import stop_informers, wait_for
from tests.harness.apiserver import ApiServer

SEED = Path(__file__).resolve().parents[2] / "examples" / "seed"
PLURALS = {r.kind: r.plural for r in SNAPSHOT_KINDS}
STATUS = {"loadBalancer": {"ingress": [{"ip": "192.168.2.100"}]}}
POOL = {"metallb.io/ip-allocated-from-pool": "ingress"}


def seed() -> list[dict[str, Any]]:
    docs = [copy.deepcopy(dict(d)) for _, d in load_directory(SEED).documents]
    for d in docs:
        if d["kind"] == "Service":
            d["status"] = copy.deepcopy(STATUS)
            d["metadata"]["annotations"].update(POOL)
    return docs


def ref(doc: Mapping[str, Any]) -> str:
    meta = doc["metadata"]
    ns = meta.get("namespace")
    return f"{doc['kind']}/{ns}/{meta['name']}" if ns else f"{doc['kind']}/{meta['name']}"


def started(api: ApiServer, informers: Informers, docs: list[dict[str, Any]]) -> KubeSource:
    """``docs`` on the server, the informers started, and all of them cached."""
    for d in docs:
        api.apply(PLURALS[d["kind"]], d)
    source = KubeSource(informers)
    informers.start()
    assert informers.wait_synced(5)
    wait_for(lambda: len(source.documents()) == len(docs), what="all objects cached")
    return source


@pytest.fixture
def informers(api: ApiServer, kube: KubeClient) -> Iterator[Informers]:
    infs = Informers(kube, SNAPSHOT_KINDS, timeout_seconds=2)
    yield infs
    stop_informers(api, [infs])


def test_snapshot_equals_parse_of_same_objects(api: ApiServer, informers: Informers) -> None:
    docs = seed()
    for d in docs:
        api.apply(PLURALS[d["kind"]], d)
    source = KubeSource(informers)
    assert source.load().snapshot is None  # not started: nothing listed yet
    informers.start()
    assert informers.wait_synced(5)
    wait_for(lambda: len(source.documents()) == len(docs), what="all objects cached")

    loaded = source.load()
    expected = parse_snapshot([(ref(d), d) for d in docs])
    assert loaded.snapshot == expected
    assert not loaded.stale and loaded.problems == expected.problems
    assert dict(loaded.statuses) == {
        "demo/web": {"ingress": ["192.168.2.100"], "annotations": POOL, "conditions": []}
    }


def test_invalid_config_keeps_last_good(api: ApiServer, informers: Informers) -> None:
    docs = seed()
    source = started(api, informers, docs)
    good = source.load()
    assert good.snapshot is not None and not good.stale

    (cls,) = [d for d in docs if d["kind"] == "MetalLoadBalancerClass"]
    broken = copy.deepcopy(cls)
    broken["spec"]["addressPool"] = ["not-an-ip"]
    api.apply("metalloadbalancerclasses", broken)
    (svc,) = [d for d in docs if d["kind"] == "Service"]
    edited = copy.deepcopy(svc)
    edited["metadata"]["annotations"][
        "network.deckhouse.io/l2-load-balancer-external-ips-count"
    ] = "2"
    api.apply("services", edited)

    def stale_now() -> bool:
        return source.load().stale

    wait_for(stale_now, what="stale after a broken class")
    wait_for(
        lambda: all(
            d[1]["metadata"]["annotations"].get(
                "network.deckhouse.io/l2-load-balancer-external-ips-count"
            )
            == "2"
            for d in source.documents()
            if d[1]["kind"] == "Service"
        )
    )
    loaded = source.load()
    assert loaded.stale and any("addressPool" in str(p) for p in loaded.problems)
    fresh = [edited if d["kind"] == "Service" else d for d in docs]
    assert loaded.snapshot == parse_snapshot([(ref(d), d) for d in fresh])


def test_one_service_edit_parses_one_service(api: ApiServer, informers: Informers) -> None:
    docs = seed()
    extra = []
    for i in range(20):
        svc = copy.deepcopy(next(d for d in docs if d["kind"] == "Service"))
        svc["metadata"]["name"] = f"web-{i}"
        extra.append(svc)
    docs.extend(extra)
    source = started(api, informers, docs)
    source.load()
    leaves = sum(1 for d in docs if d["kind"] in ("Service", "EndpointSlice"))
    assert (source.memo.hits, source.memo.misses) == (0, leaves)

    edited = copy.deepcopy(extra[7])
    edited["metadata"]["annotations"][
        "network.deckhouse.io/l2-load-balancer-external-ips-count"
    ] = "2"
    edited["status"] = {"loadBalancer": {"ingress": [{"ip": "192.168.2.107"}]}}
    api.apply("services", edited)
    wait_for(
        lambda: any(
            d[1]["metadata"]["name"] == "web-7"
            and d[1]["metadata"]["annotations"].get(
                "network.deckhouse.io/l2-load-balancer-external-ips-count"
            )
            == "2"
            for d in source.documents()
        ),
        what="the edit cached",
    )
    loaded = source.load()
    assert (source.memo.hits, source.memo.misses) == (leaves - 1, leaves + 1)
    fresh = [edited if d is extra[7] else d for d in docs]
    assert loaded.snapshot == parse_snapshot([(ref(d), d) for d in fresh])
    # statuses are kept per object too: the edited one is read again, the rest reused
    assert loaded.statuses["demo/web-7"]["ingress"] == ["192.168.2.107"]
    assert loaded.statuses["demo/web-6"]["ingress"] == ["192.168.2.100"]
    assert len(loaded.statuses) == 21
