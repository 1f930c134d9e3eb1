"""Informer over real HTTP: the matrix covered.

- list fills the cache (items stamped with kind/apiVersion), sets ``synced`` and ``changed``;
- ADDED / MODIFIED / DELETED watch events update the cache and set ``changed``;
- a watch from a compacted version gets 410 Gone in the stream: the informer relists and the
  cache ends correct, including a deletion it never saw as an event; an object the relist
  did not change stays the same object (``shared``);
- a failing API server (500) is retried with backoff until the list succeeds;
- a kind that is not served (404: CRD not installed) counts as synced and empty.
"""

from __future__ import annotations

import threading
from typing import Any

from orchestrator.adapters.kube.client import KubeClient
from orchestrator.adapters.kube.informer import Informer
from orchestrator.adapters.kube.resources import BGP_PEER, SERVICE
from tests.contract.conftest import Running, wait_for
from tests.harness.apiserver import ApiServer


def service(name: str, namespace: str = "demo", **annotations: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "annotations": annotations},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80, "protocol": "TCP"}]},
    }


def test_list_then_watch_events_drive_cache_and_notification(
    api: ApiServer, kube: KubeClient, running: Running
) -> None:
    api.apply("services", service("a"))
    inf = running.start(Informer(kube, SERVICE, timeout_seconds=2))
    assert inf.synced.wait(5)
    wait_for(lambda: inf.changed.is_set(), what="initial change")
    (item,) = inf.items()
    assert item["kind"] == "Service" and item["apiVersion"] == "v1"

    inf.changed.clear()
    api.apply("services", service("b"))
    wait_for(lambda: inf.get("demo/b") is not None, what="ADDED")
    assert inf.changed.is_set()

    inf.changed.clear()
    api.apply("services", service("b", note="x"))
    wait_for(lambda: (inf.get("demo/b") or {})["metadata"]["annotations"] == {"note": "x"})
    assert inf.changed.is_set()

    inf.changed.clear()
    api.remove("", "services", "demo/a")
    wait_for(lambda: inf.get("demo/a") is None, what="DELETED")
    assert inf.changed.is_set()
    assert [o["metadata"]["name"] for o in inf.items()] == ["b"]
    assert inf.resource_version == str(api.store.rv)
    assert inf.relists == 0


def test_watch_timeout_rewatches_from_last_version(
    api: ApiServer, kube: KubeClient, running: Running
) -> None:
    inf = running.start(Informer(kube, SERVICE, timeout_seconds=1))
    assert inf.synced.wait(5)
    api.end_watches()  # the server ends the stream, as at timeoutSeconds
    api.apply("services", service("late"))
    wait_for(lambda: inf.get("demo/late") is not None, what="event after re-watch")
    assert inf.relists == 0


def test_gone_triggers_relist_and_cache_ends_correct(
    api: ApiServer, kube: KubeClient, running: Running
) -> None:
    api.apply("services", service("keep"))
    api.apply("services", service("drop"))
    api.apply("services", service("same"))
    errors: list[str] = []
    inf = running.start(
        Informer(kube, SERVICE, timeout_seconds=2, on_error=lambda r, e: errors.append(str(e)))
    )
    assert inf.synced.wait(5)
    before = {o["metadata"]["name"]: o for o in inf.shared()}

    # Hold the next watch request while the world changes and history is compacted: it then
    # asks for a version older than the compaction and must get 410 Gone.
    release = threading.Event()
    held = threading.Event()

    def hold(method: str, path: str) -> int | None:
        if "watch=1" in path:
            held.set()
            release.wait(5)
        return None

    api.on_request = hold
    api.end_watches()
    assert held.wait(5)
    api.remove("", "services", "demo/drop")
    api.apply("services", service("new"))
    api.apply("services", service("keep", changed="yes"))
    api.compact()
    api.on_request = None
    release.set()

    wait_for(lambda: inf.relists >= 1, what="relist after 410")
    wait_for(lambda: sorted(o["metadata"]["name"] for o in inf.items()) == ["keep", "new", "same"])
    assert (inf.get("demo/keep") or {})["metadata"]["annotations"] == {"changed": "yes"}
    # the relist kept the unchanged object itself (ParseMemo reuses its parse), not the changed
    after = {o["metadata"]["name"]: o for o in inf.shared()}
    assert after["same"] is before["same"] and after["keep"] is not before["keep"]
    # and it watches again from the relisted version
    api.apply("services", service("after"))
    wait_for(lambda: inf.get("demo/after") is not None, what="event after relist")
    assert errors == []  # 410 is not an error to back off from: relisted at once
    assert inf.relists == 1


def test_server_errors_are_retried_with_backoff(
    api: ApiServer, kube: KubeClient, running: Running
) -> None:
    failures = [0]
    errors: list[str] = []

    def flaky(method: str, path: str) -> int | None:
        if "watch" not in path and failures[0] < 3:
            failures[0] += 1
            return 500
        return None

    api.on_request = flaky
    api.apply("services", service("a"))
    inf = running.start(
        Informer(
            kube,
            SERVICE,
            timeout_seconds=2,
            backoff=(0.01, 0.05),
            on_error=lambda res, e: errors.append(type(e).__name__),
        )
    )
    assert inf.synced.wait(5)
    assert inf.get("demo/a") is not None
    assert errors == ["KubeTransient"] * 3


def test_unserved_kind_is_synced_and_empty(
    api: ApiServer, kube: KubeClient, running: Running
) -> None:
    api.on_request = lambda m, p: 404 if "bgppeers" in p else None
    inf = running.start(Informer(kube, BGP_PEER, timeout_seconds=2, backoff=(0.01, 0.05)))
    assert inf.synced.wait(5)
    assert inf.items() == []
    api.on_request = None
    api.apply(
        "bgppeers",
        {
            "apiVersion": "metallb.io/v1beta2",
            "kind": "BGPPeer",
            "metadata": {"name": "r1", "namespace": "d8-metallb"},
            "spec": {"myASN": 64512, "peerASN": 64513, "peerAddress": "192.0.2.1"},
        },
    )
    wait_for(lambda: inf.get("d8-metallb/r1") is not None, what="CRD appeared")
