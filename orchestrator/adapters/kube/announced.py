"""``KubeAnnounced``: one node's ServiceL2Status and ServiceBGPStatus objects, so that
``kubectl get servicel2statuses -A`` shows which node announces which Service, as MetalLB's
speaker does.

One object per (this node, Service, protocol), in our namespace, created with
``generateName`` ``l2-`` / ``bgp-`` and the labels ``metallb.io/node``,
``metallb.io/service-name``, ``metallb.io/service-namespace``. Everything is in ``status``
(``node``, ``serviceName``, ``serviceNamespace``, and ``interfaces[].name`` for L2 or
``peers[]`` for BGP), written through the status subresource: the API server drops
``status`` on create when the CRD has that subresource, so a new object is created bare and
its status written next.

``report(l2, bgp)`` only records what should exist and wakes a background thread, so the
speaker's loop never waits on the API server. The thread makes the objects match: it lists
this node's objects by label (so objects left by a previous run of this speaker are found
and removed), creates the missing ones, rewrites changed statuses and deletes the rest. It
also re-checks every ``resync`` seconds, which repairs objects someone else deleted or
edited. When the CRDs are not installed (404), it reports that once and keeps trying at the
resync pace: announcing does not depend on it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping
from typing import Any

from orchestrator.adapters.kube.client import KubeClient
from orchestrator.adapters.kube.errors import KubeError, KubeNotFound
from orchestrator.adapters.kube.resources import SERVICE_BGP_STATUS, SERVICE_L2_STATUS, Resource

NODE_LABEL = "metallb.io/node"
NAME_LABEL = "metallb.io/service-name"
NAMESPACE_LABEL = "metallb.io/service-namespace"

#: service "namespace/name" -> interfaces (L2) or peers (BGP), sorted
Wanted = Mapping[str, tuple[str, ...]]


class KubeAnnounced:
    def __init__(
        self,
        client: KubeClient,
        *,
        namespace: str,
        node: str,
        resync: float = 30.0,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.node = node
        self.resync = resync
        self.on_error = on_error
        self._lock = threading.Lock()
        self._wanted: dict[Resource, dict[str, tuple[str, ...]]] = {
            SERVICE_L2_STATUS: {},
            SERVICE_BGP_STATUS: {},
        }
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._reported: set[str] = set()
        self.synced = threading.Event()  # set after each pass that met no error (tests)

    # -- the port (the speaker's loop)
    def report(self, l2: Wanted, bgp: Wanted) -> None:
        with self._lock:
            self._wanted = {SERVICE_L2_STATUS: dict(l2), SERVICE_BGP_STATUS: dict(bgp)}
        self.synced.clear()
        self._wake.set()

    # -- lifecycle
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="announced-status", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Remove this node's objects (it announces nothing any more), then stop."""
        self.report({}, {})
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        """Sync on every report, and every ``resync`` seconds; after a failure again soon
        (0.5 s, doubling up to ``resync``): an API server that answered 429 while our CRDs
        were being established must not cost 30 s of missing status objects."""
        retry = None
        while True:
            self._wake.wait(self.resync if retry is None else retry)
            self._wake.clear()
            ok = self.sync()
            if self._stop.is_set():
                return
            retry = None if ok else min(self.resync, 0.5 if retry is None else retry * 2)

    # -- the work (background thread; tests may call it directly)
    def sync(self) -> bool:
        with self._lock:
            wanted = {r: dict(w) for r, w in self._wanted.items()}
        ok = True
        for resource, services in wanted.items():
            try:
                self._sync_kind(resource, services)
            except KubeError as e:
                ok = False
                key = f"{resource.kind}:{type(e).__name__}"
                if self.on_error is not None and key not in self._reported:
                    self._reported.add(key)
                    hint = " (is the CRD installed?)" if isinstance(e, KubeNotFound) else ""
                    self.on_error(f"cannot write {resource.kind}{hint}: {e}")
        if ok:
            self.synced.set()
        return ok

    def _sync_kind(self, resource: Resource, wanted: Mapping[str, tuple[str, ...]]) -> None:
        items, _ = self.client.list(
            resource, self.namespace, label_selector=f"{NODE_LABEL}={self.node}"
        )
        existing: dict[str, dict[str, Any]] = {}
        for obj in sorted(items, key=lambda o: str((o.get("metadata") or {}).get("name"))):
            labels = (obj.get("metadata") or {}).get("labels") or {}
            key = f"{labels.get(NAMESPACE_LABEL)}/{labels.get(NAME_LABEL)}"
            if key in wanted and key not in existing:
                existing[key] = obj
            else:  # not wanted any more, or a duplicate
                self._delete(resource, obj)
        for service, values in sorted(wanted.items()):
            status = self._status(resource, service, values)
            current = existing.get(service)
            if current is None:
                current = self.client.create(resource, self._object(resource, service))
            elif current.get("status") == status:
                continue
            self.client.replace(resource, {**current, "status": status}, subresource="status")

    def _delete(self, resource: Resource, obj: Mapping[str, Any]) -> None:
        name = str((obj.get("metadata") or {}).get("name"))
        with contextlib.suppress(KubeNotFound):
            self.client.delete(resource, name, self.namespace)

    def _object(self, resource: Resource, service: str) -> dict[str, Any]:
        namespace, name = service.split("/", 1)
        prefix = "l2-" if resource is SERVICE_L2_STATUS else "bgp-"
        return {
            "metadata": {
                "generateName": prefix,
                "namespace": self.namespace,
                "labels": {NODE_LABEL: self.node, NAME_LABEL: name, NAMESPACE_LABEL: namespace},
            },
            "spec": {},
        }

    def _status(self, resource: Resource, service: str, values: tuple[str, ...]) -> dict[str, Any]:
        namespace, name = service.split("/", 1)
        status: dict[str, Any] = {
            "node": self.node,
            "serviceName": name,
            "serviceNamespace": namespace,
        }
        if resource is SERVICE_L2_STATUS:
            status["interfaces"] = [{"name": i} for i in values]
        else:
            status["peers"] = list(values)
        return status
