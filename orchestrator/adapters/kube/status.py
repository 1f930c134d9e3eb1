"""``KubeStatusWriter``: a ``StatusRecord`` onto a Service, the cluster's source of truth.

Two writes, because Kubernetes keeps them apart:

- ``status.loadBalancer.ingress`` and ``status.conditions`` go through the ``status``
  subresource as a *replace* carrying the ``resourceVersion`` we read: if anyone changed the
  Service in between, the server answers 409 and we re-read and try again (bounded by
  ``attempts``), so we never overwrite a status we have not seen. Conditions of other
  writers are kept; ours are replaced, keeping ``lastTransitionTime`` when the condition's
  status did not change (``metav1.Condition`` requires the field).
- our annotations go through a JSON merge patch of ``metadata.annotations``; a ``None``
  value is sent as ``null``, which removes the annotation. A merge patch needs no version:
  it touches only our keys.

The status is written first: the IPs are what a restarted controller restores from.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from typing import Any

from orchestrator.adapters.kube.client import KubeClient
from orchestrator.adapters.kube.errors import KubeConflict
from orchestrator.adapters.kube.resources import SERVICE
from orchestrator.core.model.cluster import CLASS_CONDITION
from orchestrator.core.status.records import ALL_ASSIGNED, StatusRecord

#: Condition types the controller writes (and so may remove).
OUR_CONDITIONS = (CLASS_CONDITION, ALL_ASSIGNED)


def _utcnow() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class KubeStatusWriter:
    def __init__(
        self,
        client: KubeClient,
        *,
        attempts: int = 5,
        clock: Callable[[], str] = _utcnow,
    ) -> None:
        self.client = client
        self.attempts = attempts
        self.clock = clock

    def write_status(self, key: str, record: StatusRecord) -> None:
        """Write ``record`` to Service ``namespace/name``. Raises ``KubeConflict`` when every
        attempt conflicted, and the adapter's other errors as they come."""
        namespace, name = key.split("/", 1)
        self._write_status(namespace, name, record)
        if record.annotations:
            patch = {"metadata": {"annotations": dict(record.annotations)}}
            self.client.merge_patch(SERVICE, name, patch, namespace)

    def _write_status(self, namespace: str, name: str, record: StatusRecord) -> None:
        last: KubeConflict | None = None
        for _ in range(self.attempts):
            current = self.client.get(SERVICE, name, namespace)
            wanted = self._status(current.get("status") or {}, record)
            if wanted == (current.get("status") or {}):
                return
            # the object as read, status replaced: a status update of a built-in kind keeps
            # the metadata it is sent (a bare name+resourceVersion wiped every annotation,
            # the user's included, on a real kube-apiserver)
            body = {**current, "apiVersion": "v1", "kind": "Service", "status": wanted}
            try:
                self.client.replace(SERVICE, body, subresource="status")
                return
            except KubeConflict as e:
                last = e
        assert last is not None
        raise last

    def _status(self, current: Mapping[str, Any], record: StatusRecord) -> dict[str, Any]:
        status = dict(current)
        # an entry already there for one of our IPs is kept as it is: the API server adds
        # ``ipMode: VIP`` to every entry (the default since Kubernetes 1.30), and a bare
        # ``{"ip": ...}`` never equalled it, so every unchanged status was written again
        before = {
            e.get("ip"): e
            for e in (current.get("loadBalancer") or {}).get("ingress") or []
            if isinstance(e, Mapping)
        }
        ingress = [dict(before.get(ip) or {"ip": ip}) for ip in record.ingress]
        status["loadBalancer"] = {"ingress": ingress} if ingress else {}
        # every condition type we ever write is ours to remove: a Service that stopped being
        # a LoadBalancer (or left its class) must not keep "3 of 3 public IPs were assigned"
        ours = {c.type for c in record.conditions} | set(OUR_CONDITIONS)
        before = {
            c.get("type"): c for c in current.get("conditions") or [] if isinstance(c, Mapping)
        }
        conditions = [dict(c) for t, c in before.items() if t not in ours]
        for c in record.conditions:
            old = before.get(c.type) or {}
            changed = old.get("status") != c.status
            conditions.append(
                {
                    **c.to_dict(),
                    "lastTransitionTime": self.clock()
                    if changed
                    else old.get("lastTransitionTime") or self.clock(),
                }
            )
        if conditions:
            status["conditions"] = conditions
        else:
            status.pop("conditions", None)
        return status
