"""Error translation against the emulator: only what a real kube-apiserver cannot be made
to answer on demand. A 404, a 403 (RBAC) and real 409 conflicts come from a real server in
``tests/cluster/test_status.py``.

- a 503 from the server (overloaded, shutting down) comes out as ``KubeTransient``, with
  the status code; a real server answers 503 only when it is in trouble, never to one
  chosen request;
- a refused connection (nothing listening) comes out as ``KubeTransient`` too, with the
  transport error as its cause: no server at all, the emulator only gives the kubeconfig
  its shape.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from orchestrator.adapters.kube.client import KubeClient
from orchestrator.adapters.kube.errors import KubeTransient
from orchestrator.adapters.kube.resources import SERVICE
from tests.harness.apiserver import ApiServer


def test_unavailable_server_is_transient(api: ApiServer, kube: KubeClient) -> None:
    api.on_request = lambda m, p: 503
    with pytest.raises(KubeTransient) as unavailable:
        kube.list(SERVICE)
    assert unavailable.value.status == 503
    assert "injected 503" in str(unavailable.value)


def test_refused_connection_is_transient(api: ApiServer, tmp_path: Path) -> None:
    with socket.socket() as s:  # a port with nothing listening: connection refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = api.kubeconfig(tmp_path / "refused")
    config.write_text(config.read_text().replace(api.url, f"http://127.0.0.1:{port}"))
    refused = KubeClient.from_kubeconfig(str(config), timeout=2)
    try:
        with pytest.raises(KubeTransient) as down:
            refused.list(SERVICE)
        assert isinstance(down.value.__cause__, Exception)
    finally:
        refused.close()
