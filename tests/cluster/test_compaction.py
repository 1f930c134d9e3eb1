"""A watch that expires after etcd compaction: 410 Gone from a real server, and a relist.

With its watch cache on, kube-apiserver serves a watch from a window of recent events in
memory and answers 410 only when the client's version fell out of that window, which no
test can arrange on demand. This module's control plane runs with ``--watch-cache=false``:
every watch is served by etcd itself, and a watch from a version older than etcd's last
compaction is answered with an ``ERROR`` event carrying a 410 ``Status`` ("too old
resource version"), as a busy cluster answers an informer that fell behind.

To have the informer fall behind, its own client holds its next watch request (client
side) until the world has changed and etcd is compacted. The server then does the rest:

- the held watch, sent from the old version, gets 410 and the informer relists at once
  (``relists`` is 1; 410 is no error to back off from: ``on_error`` never ran);
- the cache ends right, including a deletion it never saw as an event, and an edit;
- an object the relist did not change stays the same object (``shared``: its parse is
  reused), the edited one is replaced;
- it watches on from the relisted version (an object created after arrives), and the
  server's audit log shows list, watch, watch (the one answered 410), list.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from orchestrator.adapters.kube.client import KubeClient
from orchestrator.adapters.kube.informer import Informer
from orchestrator.adapters.kube.resources import SERVICE
from tests.cluster.conftest import Started
from tests.cluster.test_informer import service
from tests.harness.cluster import Cluster
from tests.harness.polling import poll
from tests.harness.realapi import RealApi


@pytest.fixture(scope="module")
def apiserver_args() -> tuple[str, ...]:
    return ("--watch-cache=false",)


class HeldWatch(KubeClient):
    """A client whose next watch, once ``hold`` is set, waits for ``release`` before it is
    sent (``held`` says it is waiting)."""

    def __init__(self, inner: KubeClient) -> None:
        super().__init__(inner.api, timeout=inner.timeout)
        self.hold, self.held, self.release = threading.Event(), threading.Event(), threading.Event()

    def watch(self, *args: Any, **kwargs: Any) -> Any:
        if self.hold.is_set():
            self.hold.clear()
            self.held.set()
            self.release.wait(10)
        return super().watch(*args, **kwargs)


def test_gone_triggers_relist_and_cache_ends_correct(
    installed: Cluster, api: RealApi, ns: str, started: Started
) -> None:
    for name in ("keep", "drop", "same"):
        api.apply("services", service(name, ns))
    errors: list[str] = []
    client = HeldWatch(api.client("controller"))
    inf = started(
        Informer(
            client,
            SERVICE,
            namespace=ns,
            timeout_seconds=1,  # the server ends each watch after 1 s
            on_error=lambda r, e: errors.append(str(e)),
        )
    )
    assert inf.synced.wait(10)
    before = {o["metadata"]["name"]: o for o in inf.shared()}
    known = inf.resource_version

    # the next watch (after the server ended this one) waits while the world changes
    client.hold.set()
    assert client.held.wait(5), "the informer never watched again"
    api.remove("", "services", f"{ns}/drop")
    api.apply("services", service("new", ns))
    api.apply("services", service("keep", ns, changed="yes"))
    revision = installed.compact_etcd()
    assert revision > int(known) + 1  # the informer's version is history now
    client.release.set()

    poll("a relist after 410", lambda: inf.relists >= 1, 10)

    def names() -> list[str]:
        return sorted(o["metadata"]["name"] for o in inf.items())

    poll("the cache as the server holds it", lambda: names() == ["keep", "new", "same"], 5)
    assert (inf.get(f"{ns}/keep") or {})["metadata"]["annotations"] == {"changed": "yes"}
    after = {o["metadata"]["name"]: o for o in inf.shared()}
    assert after["same"] is before["same"] and after["keep"] is not before["keep"]
    # and it watches on from the relisted version
    api.apply("services", service("after", ns))
    poll("the event after the relist", lambda: inf.get(f"{ns}/after") is not None, 5)
    assert errors == []  # 410 is not an error to back off from: relisted at once
    assert inf.relists == 1

    path = f"/api/v1/namespaces/{ns}/services"
    verbs = [q.verb for q in api.requests("controller") if q.path == path]
    assert verbs[:4] == ["list", "watch", "watch", "list"], verbs
    assert verbs.count("list") == 2, verbs
    api.assert_rbac()
