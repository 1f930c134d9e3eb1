"""Informer against the emulator: only what a real kube-apiserver cannot be made to do on
demand. Everything else an informer does (list and watch events, a watch the server ends,
410 after compaction, a kind not served) runs on a real server in ``tests/cluster``.

- a failing API server (500 to the first three lists, then answers) is retried with
  backoff until the list succeeds, each failure reported as ``KubeTransient``: a real
  server answers 500 only when it is broken, never to one chosen request.
"""

from __future__ import annotations

from typing import Any

from orchestrator.adapters.kube.client import KubeClient
from orchestrator.adapters.kube.informer import Informer
from orchestrator.adapters.kube.resources import SERVICE
from tests.contract.conftest import Running
from tests.harness.apiserver import ApiServer


def service(name: str, namespace: str = "demo", **annotations: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "annotations": annotations},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80, "protocol": "TCP"}]},
    }


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
