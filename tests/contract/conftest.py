"""Contract tier: the Kubernetes adapter against an API emulator, kept only for what a
real kube-apiserver cannot be made to do on demand.

Everything a real server can serve runs on one, in ``tests/cluster`` (a real
kube-apiserver + etcd, RBAC from the Helm chart enforced by the server, requests checked
in its audit log): list and watch, a watch the server ends, 410 after an etcd
compaction, a kind not served, status writes, real 409 conflicts, 404 and 403, Leases,
leader election, the source, the runtime's loops. What stays here, and why:

- ``test_informer.py``: a server that answers **500** to the first lists and then
  recovers. A real server answers 500 only when it is broken; it cannot be told to fail
  one chosen request and then serve the next.
- ``test_status.py``: a **503** (overloaded, shutting down) for one request, for the same
  reason; and a refused connection, which needs no server at all.

The emulator (``tests/harness/apiserver.py``) fails chosen requests through its
``on_request`` hook; that is all these tests need of it. Fixtures: a fresh emulator per
test and a real ``kubernetes`` client pointed at it through a kubeconfig. The machine may
set ``http_proxy``: localhost traffic must not go there, so ``no_proxy`` is set and the
client's proxy is cleared anyway.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.adapters.kube.client import KubeClient
from orchestrator.adapters.kube.informer import Informer
from tests.harness.apiserver import ApiServer


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[ApiServer]:
    for var in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(var, "127.0.0.1,localhost")
    server = ApiServer().start()
    yield server
    server.stop()


@pytest.fixture
def kube(api: ApiServer, tmp_path: Path) -> Iterator[KubeClient]:
    client = KubeClient.from_kubeconfig(str(api.kubeconfig(tmp_path / "kubeconfig")), timeout=5)
    yield client
    client.close()


class Running:
    """Informers started by a test, stopped (and their watch streams ended) in teardown."""

    def __init__(self, api: ApiServer) -> None:
        self.api = api
        self.informers: list[Informer] = []

    def start(self, informer: Informer) -> Informer:
        self.informers.append(informer)
        informer.start()
        return informer

    def stop(self) -> None:
        for inf in self.informers:
            inf.stop(timeout=0)
        self.api.on_request = None
        # A watch that starts just after ``end_watches`` would run to its timeout: keep
        # ending them until every informer thread is gone (bounded).
        deadline = time.monotonic() + 5
        for inf in self.informers:
            while inf._thread is not None and inf._thread.is_alive():
                assert time.monotonic() < deadline, "informer did not stop"
                self.api.end_watches()
                inf._thread.join(0.02)


@pytest.fixture
def running(api: ApiServer) -> Iterator[Running]:
    r = Running(api)
    yield r
    r.stop()
