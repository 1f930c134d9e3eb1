"""Contract tier fixtures: a fresh API emulator per test and a real ``kubernetes`` client
pointed at it through a kubeconfig. The machine may set ``http_proxy``: localhost traffic
must not go there, so ``no_proxy`` is set and the client's proxy is cleared anyway."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from orchestrator.adapters.kube.client import KubeClient
from orchestrator.adapters.kube.informer import Informer, Informers
from tests.harness.apiserver import ApiServer


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0, what: str = "") -> None:
    """Bounded poll."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what or predicate}")


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


def stop_informers(api: ApiServer, sets: list[Informers]) -> None:
    """Stop every informer of ``sets`` (bounded): a watch that starts just after
    ``end_watches`` would run to its timeout, so keep ending them until all are gone."""
    every = [i for infs in sets for i in infs.by_kind.values()]
    for inf in every:
        inf.signal_stop()
    for _ in range(100):
        if not any(i._thread and i._thread.is_alive() for i in every):
            return
        api.end_watches()
        for infs in sets:
            infs.stop(timeout=0.02)
    raise AssertionError("informers did not stop")


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
