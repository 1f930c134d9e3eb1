"""Status writes and error translation over real HTTP: the matrix covered.

- a ``StatusRecord`` lands: ingress IPs and our conditions through the status subresource,
  our annotations through a merge patch (``None`` removes); foreign annotations and
  conditions stay; an unchanged condition keeps its ``lastTransitionTime``;
- a concurrent writer between our read and our write causes a 409: re-read, retried, lands,
  and the other writer's change is kept;
- endless conflicts end after ``attempts`` with ``KubeConflict``;
- HTTP and transport failures come out as ``KubeNotFound`` / ``KubeRejected`` /
  ``KubeTransient``.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from orchestrator.adapters.kube.client import KubeClient
from orchestrator.adapters.kube.errors import (
    KubeConflict,
    KubeNotFound,
    KubeRejected,
    KubeTransient,
)
from orchestrator.adapters.kube.resources import SERVICE
from orchestrator.adapters.kube.status import KubeStatusWriter
from orchestrator.core.status.records import Condition, StatusRecord
from tests.contract.test_informer import service
from tests.harness.apiserver import ApiServer

POOL = "metallb.io/ip-allocated-from-pool"
HOMES = "metallb-orchestrator.io/l2-homes"
ASSIGNED = Condition("AllPublicIPsAssigned", "True", "AllIPsAssigned", "2 of 2 public IPs")


def record(*ips: str, homes: str | None = '{"192.0.2.10":"n1"}') -> StatusRecord:
    return StatusRecord(
        ingress=ips, annotations={POOL: "pool-a", HOMES: homes}, conditions=(ASSIGNED,)
    )


def stored(api: ApiServer) -> dict[str, object]:
    obj = api.get("", "services", "demo/web")
    assert obj is not None
    return obj


def test_status_record_lands(api: ApiServer, kube: KubeClient) -> None:
    svc = service("web", user="kept", **{HOMES: "old"})
    svc["status"] = {"conditions": [{"type": "Foreign", "status": "True", "reason": "X"}]}
    api.apply("services", svc)
    writer = KubeStatusWriter(kube, clock=lambda: "2026-01-01T00:00:00Z")
    writer.write_status("demo/web", record("192.0.2.10", "192.0.2.11"))

    obj = kube.get(SERVICE, "web", "demo")
    assert obj["status"]["loadBalancer"] == {
        "ingress": [{"ip": "192.0.2.10"}, {"ip": "192.0.2.11"}]
    }
    conditions = {c["type"]: c for c in obj["status"]["conditions"]}
    assert conditions["Foreign"]["reason"] == "X"
    assert conditions["AllPublicIPsAssigned"] == {
        **ASSIGNED.to_dict(),
        "lastTransitionTime": "2026-01-01T00:00:00Z",
    }
    annotations = obj["metadata"]["annotations"]
    assert annotations == {"user": "kept", POOL: "pool-a", HOMES: '{"192.0.2.10":"n1"}'}

    # an unchanged condition keeps its transition time; None removes our annotation
    later = KubeStatusWriter(kube, clock=lambda: "2030-01-01T00:00:00Z")
    later.write_status("demo/web", record("192.0.2.10", homes=None))
    obj = kube.get(SERVICE, "web", "demo")
    assert obj["status"]["loadBalancer"]["ingress"] == [{"ip": "192.0.2.10"}]
    again = {c["type"]: c for c in obj["status"]["conditions"]}
    assert again["AllPublicIPsAssigned"]["lastTransitionTime"] == "2026-01-01T00:00:00Z"
    assert HOMES not in obj["metadata"]["annotations"]


def test_conflict_is_retried_and_lands(api: ApiServer, kube: KubeClient) -> None:
    api.apply("services", service("web"))
    puts: list[str] = []

    def concurrent_writer(method: str, path: str) -> int | None:
        if method == "PUT" and path.endswith("/status"):
            puts.append(path)
            if len(puts) == 1:  # someone else writes between our read and our write
                api.apply("services", service("web", other="writer"))
        return None

    api.on_request = concurrent_writer
    KubeStatusWriter(kube).write_status("demo/web", record("192.0.2.10"))
    assert len(puts) == 2
    obj = stored(api)
    assert obj["status"]["loadBalancer"]["ingress"] == [{"ip": "192.0.2.10"}]  # type: ignore[index]
    assert obj["metadata"]["annotations"]["other"] == "writer"  # type: ignore[index]


def test_endless_conflicts_are_bounded(api: ApiServer, kube: KubeClient) -> None:
    api.apply("services", service("web"))
    count = [0]

    def always(method: str, path: str) -> int | None:
        if method == "PUT":
            count[0] += 1
            api.apply("services", service("web", n=str(count[0])))
        return None

    api.on_request = always
    with pytest.raises(KubeConflict):
        KubeStatusWriter(kube, attempts=3).write_status("demo/web", record("192.0.2.10"))
    assert count[0] == 3


def test_errors_are_translated(api: ApiServer, kube: KubeClient, tmp_path: Path) -> None:
    with pytest.raises(KubeNotFound):
        kube.get(SERVICE, "missing", "demo")
    api.on_request = lambda m, p: 403
    with pytest.raises(KubeRejected) as rejected:
        kube.list(SERVICE)
    assert "injected 403" in str(rejected.value)
    api.on_request = lambda m, p: 503
    with pytest.raises(KubeTransient):
        kube.list(SERVICE)
    api.on_request = None

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
