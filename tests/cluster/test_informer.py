"""``Informer`` on a real kube-apiserver (the controller's token, one Namespace per test).
The matrix covered:

- list fills the cache (items stamped with kind/apiVersion), sets ``synced`` and
  ``changed``;
- ADDED / MODIFIED / DELETED watch events update the cache and set ``changed``; the
  informer's version moves on with them;
- a watch the server ends (at ``timeoutSeconds``; the rig's server also ends watches that
  ask for no timeout after 5-10 s) is resumed from the last version: the server's audit
  log shows one list, then watch after watch, each from a version no older than the one
  before, and an object created later still arrives;
- a kind whose API group is not installed (404) counts as synced and empty, and once its
  CRD is installed the informer finds the new object. (Played by the admin: with the
  chart's token RBAC answers 403 for a group it grants nothing in, before the server looks
  whether the group exists.)

A watch that expires after etcd compaction (410 Gone, relist) is ``test_compaction.py``:
it needs a server whose watches etcd serves. A server answering 500 to one list is the
contract tier's (``tests/contract/test_informer.py``).
"""

from __future__ import annotations

from typing import Any

from orchestrator.adapters.kube.informer import Informer
from orchestrator.adapters.kube.resources import SERVICE, Resource
from tests.cluster.conftest import Started
from tests.harness.polling import poll
from tests.harness.realapi import RealApi

#: a kind of a group no one installed (until the test does)
WIDGET = Resource("Widget", "mlb-test.example.com", "v1", "widgets", namespaced=True)


def service(name: str, namespace: str = "demo", **annotations: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "annotations": annotations},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80, "protocol": "TCP"}]},
    }


def test_list_then_watch_events_drive_cache_and_notification(
    api: RealApi, ns: str, started: Started
) -> None:
    api.apply("services", service("a", ns))
    inf = started(Informer(api.client("controller"), SERVICE, namespace=ns, timeout_seconds=2))
    assert inf.synced.wait(10)
    poll("initial change", inf.changed.is_set, 5)
    (item,) = inf.items()
    assert item["kind"] == "Service" and item["apiVersion"] == "v1"

    inf.changed.clear()
    api.apply("services", service("b", ns))
    poll("ADDED", lambda: inf.get(f"{ns}/b") is not None, 5)
    assert inf.changed.is_set()

    inf.changed.clear()
    modified = api.apply("services", service("b", ns, note="x"))
    poll(
        "MODIFIED",
        lambda: (inf.get(f"{ns}/b") or {})["metadata"].get("annotations") == {"note": "x"},
        5,
    )
    assert inf.changed.is_set()

    inf.changed.clear()
    api.remove("", "services", f"{ns}/a")
    poll("DELETED", lambda: inf.get(f"{ns}/a") is None, 5)
    assert inf.changed.is_set()
    assert [o["metadata"]["name"] for o in inf.items()] == ["b"]
    # the deletion came after the edit: the informer's version is past the edit's
    assert int(inf.resource_version) > int(modified["metadata"]["resourceVersion"])
    assert inf.relists == 0
    api.assert_rbac()


def test_watch_timeout_rewatches_from_last_version(api: RealApi, ns: str, started: Started) -> None:
    inf = started(Informer(api.client("controller"), SERVICE, namespace=ns, timeout_seconds=1))
    assert inf.synced.wait(10)
    path = f"/api/v1/namespaces/{ns}/services"

    def ours() -> list[tuple[str, str]]:
        """(verb, resourceVersion) of the informer's requests, as the server saw them."""
        asked = [q for q in api.requests("controller") if q.path == path]
        return [(q.verb, q.query.get("resourceVersion", "")) for q in asked]

    poll("a watch ended by the server and opened again", lambda: len(ours()) >= 3, 10, interval=0.2)
    api.apply("services", service("late", ns))
    poll("the event after the re-watch", lambda: inf.get(f"{ns}/late") is not None, 5)
    asked = ours()
    assert [verb for verb, _ in asked[:3]] == ["list", "watch", "watch"], asked
    assert [verb for verb, _ in asked].count("list") == 1, asked  # never listed again
    watched = [int(version) for verb, version in asked if verb == "watch"]
    assert watched == sorted(watched), asked  # each from where the last one got to
    assert inf.relists == 0
    api.assert_rbac()


def test_unserved_kind_is_synced_and_empty(api: RealApi, ns: str, started: Started) -> None:
    inf = started(Informer(api.admin, WIDGET, namespace=ns, timeout_seconds=2, backoff=(0.01, 0.3)))
    assert inf.synced.wait(10)
    assert inf.items() == []
    api.install_crd(WIDGET)
    api.apply(
        "widgets",
        {
            "apiVersion": "mlb-test.example.com/v1",
            "kind": "Widget",
            "metadata": {"name": "w1", "namespace": ns},
            "spec": {"size": 3},
        },
    )
    poll("the object once the CRD appeared", lambda: inf.get(f"{ns}/w1") is not None, 10)
