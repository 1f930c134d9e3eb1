"""Status writes and error translation on a real kube-apiserver, with the controller's
token (the chart's RBAC). The matrix covered:

- a ``StatusRecord`` lands: ingress IPs and our conditions through the status subresource,
  our annotations through a merge patch (``None`` removes); foreign annotations and
  conditions stay; an unchanged condition keeps its ``lastTransitionTime``; the same
  record again writes no status at all. (The server adds ``ipMode: VIP`` to every ingress
  entry, the default since Kubernetes 1.30; an entry we keep keeps it.)
- a concurrent writer between our read and our write causes a real 409: another client
  writes the Service for real the moment our writer has read it (``Racing``); our write
  is refused, re-read, retried and lands, and nothing of the other writer is lost (its
  annotation, its condition); the server's audit log shows exactly two reads and two
  status writes, the first refused with 409;
- endless conflicts (the other writer writes after every read) end after ``attempts``
  with ``KubeConflict``: three status writes, each refused with 409;
- the server's refusals come out as ``KubeNotFound`` (404) and ``KubeRejected`` (403, a
  request the chart's RBAC does not allow: the speaker listing Secrets cluster-wide).
  503 and a refused connection are the contract tier's (``tests/contract/test_status.py``):
  a real server does not answer 503 on demand.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from orchestrator.adapters.kube.client import KubeClient
from orchestrator.adapters.kube.errors import KubeConflict, KubeNotFound, KubeRejected
from orchestrator.adapters.kube.resources import SECRET, SERVICE, Resource
from orchestrator.adapters.kube.status import KubeStatusWriter
from orchestrator.core.status.records import Condition, StatusRecord
from tests.cluster.test_informer import service
from tests.harness.realapi import RealApi

POOL = "metallb.io/ip-allocated-from-pool"
HOMES = "metallb-orchestrator.io/l2-homes"
ASSIGNED = Condition("AllPublicIPsAssigned", "True", "AllIPsAssigned", "2 of 2 public IPs")


def condition(kind: str) -> dict[str, str]:
    """Another writer's condition, complete as a ``metav1.Condition``."""
    return {
        "type": kind,
        "status": "True",
        "reason": "X",
        "message": "theirs",
        "lastTransitionTime": "2025-01-01T00:00:00Z",
    }


def record(*ips: str, homes: str | None = '{"192.0.2.10":"n1"}') -> StatusRecord:
    return StatusRecord(
        ingress=ips, annotations={POOL: "pool-a", HOMES: homes}, conditions=(ASSIGNED,)
    )


class Racing(KubeClient):
    """The controller's client; right after it read a Service (``times`` times), another
    client writes that Service for real (``race``), so our next write is stale."""

    def __init__(self, inner: KubeClient, race: Callable[[dict[str, Any]], None], times: int):
        super().__init__(inner.api, timeout=inner.timeout)
        self.race, self.times = race, times

    def get(
        self, res: Resource, name: str, namespace: str | None = None, *, subresource: str = ""
    ) -> dict[str, Any]:
        obj = super().get(res, name, namespace, subresource=subresource)
        if self.times > 0:
            self.times -= 1
            self.race(obj)
        return obj


def status_requests(api: RealApi, ns: str) -> list[tuple[str, int]]:
    """(verb, code) of the controller's requests on ``ns/web`` and its status."""
    path = f"/api/v1/namespaces/{ns}/services/web"
    asked = api.requests("controller")
    return [
        (q.verb + ("/status" if q.subresource else ""), q.code)
        for q in asked
        if q.path.startswith(path)
    ]


def test_status_record_lands(api: RealApi, ns: str) -> None:
    svc = service("web", ns, user="kept", **{HOMES: "old"})
    svc["status"] = {"conditions": [condition("Foreign")]}
    api.apply("services", svc)
    kube = api.client("controller")
    writer = KubeStatusWriter(kube, clock=lambda: "2026-01-01T00:00:00Z")
    writer.write_status(f"{ns}/web", record("192.0.2.10", "192.0.2.11"))

    obj = kube.get(SERVICE, "web", ns)
    assert obj["status"]["loadBalancer"] == {
        "ingress": [{"ip": "192.0.2.10", "ipMode": "VIP"}, {"ip": "192.0.2.11", "ipMode": "VIP"}]
    }
    conditions = {c["type"]: c for c in obj["status"]["conditions"]}
    assert conditions["Foreign"] == condition("Foreign")
    assert conditions["AllPublicIPsAssigned"] == {
        **ASSIGNED.to_dict(),
        "lastTransitionTime": "2026-01-01T00:00:00Z",
    }
    annotations = obj["metadata"]["annotations"]
    assert annotations == {"user": "kept", POOL: "pool-a", HOMES: '{"192.0.2.10":"n1"}'}

    # an unchanged condition keeps its transition time; None removes our annotation
    later = KubeStatusWriter(kube, clock=lambda: "2030-01-01T00:00:00Z")
    later.write_status(f"{ns}/web", record("192.0.2.10", homes=None))
    obj = kube.get(SERVICE, "web", ns)
    assert [i["ip"] for i in obj["status"]["loadBalancer"]["ingress"]] == ["192.0.2.10"]
    again = {c["type"]: c for c in obj["status"]["conditions"]}
    assert again["AllPublicIPsAssigned"]["lastTransitionTime"] == "2026-01-01T00:00:00Z"
    assert HOMES not in obj["metadata"]["annotations"]

    # the same record again: the status stands as it is, nothing is written to it
    version = obj["metadata"]["resourceVersion"]
    mark = api.mark()
    later.write_status(f"{ns}/web", record("192.0.2.10", homes=None))
    asked = [(q.verb, q.subresource) for q in api.requests("controller", since=mark)]
    assert ("update", "status") not in asked, asked
    assert kube.get(SERVICE, "web", ns)["metadata"]["resourceVersion"] == version
    api.assert_rbac()


def other_writer(api: RealApi, ns: str, mark: str) -> Callable[[dict[str, Any]], None]:
    """Another client writing the Service for real, through its status subresource (a
    status update keeps the metadata it is sent): an annotation and a condition of its
    own, tagged ``mark`` and, from the second write on, a count (the server takes a
    write that changes nothing as a no-op: no new resourceVersion, no conflict)."""
    writes = [0]

    def write(_: dict[str, Any]) -> None:
        writes[0] += 1
        mark_now = mark if writes[0] == 1 else f"{mark}-{writes[0]}"
        current = api.admin.get(SERVICE, "web", ns)
        current["metadata"].setdefault("annotations", {})["other"] = mark_now
        conditions = [c for c in current["status"].get("conditions") or [] if c["type"] != "Other"]
        current["status"]["conditions"] = [*conditions, {**condition("Other"), "message": mark_now}]
        api.admin.replace(SERVICE, current, subresource="status")

    return write


def test_conflict_is_retried_and_lands(api: RealApi, ns: str) -> None:
    api.apply("services", service("web", ns))
    racing = Racing(api.client("controller"), other_writer(api, ns, "writer"), times=1)
    KubeStatusWriter(racing).write_status(f"{ns}/web", record("192.0.2.10"))

    obj = api.admin.get(SERVICE, "web", ns)
    assert [i["ip"] for i in obj["status"]["loadBalancer"]["ingress"]] == ["192.0.2.10"]
    conditions = {c["type"]: c for c in obj["status"]["conditions"]}
    assert conditions["Other"]["message"] == "writer"  # the other writer's, kept
    assert conditions["AllPublicIPsAssigned"]["status"] == "True"  # ours, landed
    assert obj["metadata"]["annotations"]["other"] == "writer"
    assert obj["metadata"]["annotations"][POOL] == "pool-a"
    # read, written (refused: stale), read again, written; then our annotations patched
    assert status_requests(api, ns) == [
        ("get", 200),
        ("update/status", 409),
        ("get", 200),
        ("update/status", 200),
        ("patch", 200),
    ]
    api.assert_rbac()


def test_endless_conflicts_are_bounded(api: RealApi, ns: str) -> None:
    api.apply("services", service("web", ns))
    racing = Racing(api.client("controller"), other_writer(api, ns, "again"), times=1000)
    with pytest.raises(KubeConflict):
        KubeStatusWriter(racing, attempts=3).write_status(f"{ns}/web", record("192.0.2.10"))
    assert status_requests(api, ns) == [("get", 200), ("update/status", 409)] * 3
    obj = api.admin.get(SERVICE, "web", ns)
    assert not obj["status"]["loadBalancer"]  # nothing of ours landed
    api.assert_rbac()


def test_errors_are_translated(api: RealApi, ns: str) -> None:
    with pytest.raises(KubeNotFound):
        api.client("controller").get(SERVICE, "missing", ns)
    with pytest.raises(KubeRejected) as rejected:
        api.client("speaker").list(SECRET)  # its Role grants Secrets in our namespace only
    assert rejected.value.status == 403
    assert 'cannot list resource "secrets"' in str(rejected.value)
    assert api.forbidden("speaker") == ["list /api/v1/secrets -> 403"]
