"""Errors on the objects themselves: ConfigurationState, IPAddressPool counters, Events.

What the controller's loop knows about the configuration, written where ``kubectl`` shows it
(every write in a background thread, as ``KubeObjectConditions`` does, so the loop never
waits on the API server):

- **ConfigurationState** ``controller`` in our namespace, and ``speaker-<node>`` from each
  speaker (``metallb.io/v1beta1``, as MetalLB HEAD writes them; labels
  ``metallb.io/component-type`` and, for a speaker, ``metallb.io/node-name``):
  ``status.result`` ``Valid``, ``Invalid`` (``errorSummary``: every error line, as
  ``mlb validate`` prints them) or ``Unknown`` (the cluster not read yet), and a ``Valid``
  condition saying the same. Created when missing; its status written through the status
  subresource.
- (controller only) **IPAddressPool status** counters (``core.status.pool_usage``) on every
  valid pool in our namespace: ``kubectl get ipaddresspools`` shows them.
- (controller only) a **Warning Event** ``InvalidConfiguration`` on each object with an
  error (IPAddressPool, BGPPeer, MetalLoadBalancerClass...), with its uid so ``kubectl
  describe`` lists it; sent once per distinct message while it lasts (again if it goes away
  and comes back).

Only what changed since the last successful write is sent; failures are reported once per
target and retried every ``resync`` seconds.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import hashlib
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from orchestrator.adapters.kube.client import KubeClient
from orchestrator.adapters.kube.errors import KubeConflict, KubeError, KubeNotFound
from orchestrator.adapters.kube.resources import EVENT, IP_ADDRESS_POOL, Resource
from orchestrator.adapters.kube.resync import ResyncLoop
from orchestrator.core.model.errors import FieldError, Severity
from orchestrator.core.parse.documents import KINDS, read_document

CONFIGURATION_STATE = Resource(
    "ConfigurationState", "metallb.io", "v1beta1", "configurationstates", True
)
#: errorSummary is for a human: the first lines, then how many more
SUMMARY_LINES = 20

Document = tuple[str, Mapping[str, Any]]


def _utcnow() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Wanted:
    """What the objects should say: ``result`` None while the cluster is not read."""

    errors: tuple[FieldError, ...] = ()
    synced: bool = False
    pools: Mapping[str, dict[str, int]] = field(default_factory=dict)


def state_status(wanted: Wanted, stamp: str) -> dict[str, Any]:
    """The ConfigurationState ``status`` for ``wanted``."""
    lines = sorted(str(e) for e in wanted.errors)
    if not wanted.synced:
        result, summary, reason = "Unknown", "the cluster has not been read yet", "NotSynced"
    elif lines:
        more = len(lines) - SUMMARY_LINES
        summary = "\n".join(lines[:SUMMARY_LINES]) + (f"\n(and {more} more)" if more > 0 else "")
        result, reason = "Invalid", "ConfigError"
    else:
        result, summary, reason = "Valid", "", "SyncStateSuccess"
    status = {"Valid": "True", "Invalid": "False"}.get(result, "Unknown")
    condition = {
        "type": "Valid",
        "status": status,
        "reason": reason,
        "message": summary,
        "lastTransitionTime": stamp,
    }
    return {"result": result, "errorSummary": summary, "conditions": [condition]}


class ConfigStateWriter(ResyncLoop):
    thread_name = "config-state"

    def __init__(
        self,
        client: KubeClient,
        *,
        namespace: str,
        documents: Callable[[], Sequence[Document]],
        component: str = "metallb-controller",
        node: str | None = None,
        resync: float = 60.0,
        clock: Callable[[], str] = _utcnow,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(resync)
        self.client = client
        self.namespace = namespace
        self.documents = documents
        self.component = component
        #: a speaker writes ``speaker-<node>`` and leaves pools and Events to the controller
        self.node = node
        self.name = f"speaker-{node}" if node else "controller"
        self.clock = clock
        self.on_error = on_error
        self._lock = threading.Lock()
        self._wanted: Wanted | None = None
        self._written: dict[str, Any] = {}
        self._evented: set[tuple[str, str]] = set()
        self._reported: set[str] = set()

    def report(self, wanted: Wanted) -> None:
        with self._lock:
            if wanted == self._wanted:
                return
            self._wanted = wanted
        self._poke()

    def _forget(self) -> None:
        self._written.clear()

    def sync(self) -> bool:
        with self._lock:
            wanted = self._wanted
        if wanted is None:
            return True
        ok = self._try(f"ConfigurationState/{self.name}", lambda: self._state(wanted))
        if self.node is None:
            for name, counters in wanted.pools.items():
                ok &= self._try(
                    f"IPAddressPool/{name}", functools.partial(self._pool, name, counters)
                )
            ok &= self._try("events", lambda: self._events(wanted))
        if ok:
            self.synced.set()
        return ok

    def _try(self, what: str, write: Callable[[], None]) -> bool:
        try:
            write()
        except KubeNotFound:
            return True  # gone meanwhile, or its CRD is not installed
        except KubeError as e:
            key = f"{what}:{type(e).__name__}"
            if self.on_error is not None and key not in self._reported:
                self._reported.add(key)
                self.on_error(f"cannot write {what}: {e}")
            return False
        return True

    def _state(self, wanted: Wanted) -> None:
        status = state_status(wanted, self.clock())
        key = (status["result"], status["errorSummary"])
        if self._written.get("state") == key:
            return
        try:
            current = self.client.get(CONFIGURATION_STATE, self.name, self.namespace)
        except KubeNotFound:
            labels = {"metallb.io/component-type": "speaker" if self.node else "controller"}
            if self.node:
                labels["metallb.io/node-name"] = self.node
            body = {"metadata": {"name": self.name, "namespace": self.namespace, "labels": labels}}
            current = self.client.create(CONFIGURATION_STATE, body)
        before = ((current.get("status") or {}).get("conditions") or [{}])[0]
        if before.get("status") == status["conditions"][0]["status"]:
            status["conditions"][0]["lastTransitionTime"] = before.get(
                "lastTransitionTime", status["conditions"][0]["lastTransitionTime"]
            )
        self.client.merge_patch(
            CONFIGURATION_STATE,
            self.name,
            {"status": status},
            self.namespace,
            subresource="status",
        )
        self._written["state"] = key

    def _pool(self, name: str, counters: dict[str, int]) -> None:
        if self._written.get(f"pool/{name}") == counters:
            return
        self.client.merge_patch(
            IP_ADDRESS_POOL, name, {"status": counters}, self.namespace, subresource="status"
        )
        self._written[f"pool/{name}"] = counters

    def _events(self, wanted: Wanted) -> None:
        by_ref: dict[str, list[str]] = {}
        for e in wanted.errors:
            if e.severity is Severity.ERROR:
                by_ref.setdefault(e.obj, []).append(str(e))
        current = {(ref, "\n".join(sorted(lines))) for ref, lines in by_ref.items()}
        self._evented &= current  # an error gone and back is told again
        todo = current - self._evented
        if not todo:
            return
        objects = self._objects()
        for ref, message in sorted(todo):
            obj = objects.get(ref)
            if obj is None:
                self._evented.add((ref, message))  # not an object of the cluster (a file)
                continue
            # a conflict: the same message told already (a restarted controller; the
            # Event's name is a digest of it)
            with contextlib.suppress(KubeConflict):
                self.client.create(EVENT, self._event(obj, message))
            self._evented.add((ref, message))

    def _objects(self) -> dict[str, Mapping[str, Any]]:
        """Error ref (``Kind/name``) -> the cluster object, for the kinds errors name."""
        out: dict[str, Mapping[str, Any]] = {}
        for source, raw in self.documents():
            if raw.get("kind") not in KINDS or raw.get("kind") in ("Service", "EndpointSlice"):
                continue
            found = read_document(source, raw, [])
            if found is not None:
                out.setdefault(found[0].ref, raw)
        return out

    def _event(self, obj: Mapping[str, Any], message: str) -> dict[str, Any]:
        meta = obj.get("metadata") or {}
        namespace = str(meta.get("namespace") or "default")
        name = str(meta.get("name"))
        kind = str(obj.get("kind"))
        digest = hashlib.sha256(f"{kind}/{name}/{message}".encode()).hexdigest()[:10]
        stamp = self.clock()
        involved = {
            "apiVersion": str(obj.get("apiVersion")),
            "kind": kind,
            "name": name,
            "uid": str(meta.get("uid", "")),
        }
        if meta.get("namespace"):
            involved["namespace"] = namespace
        return {
            "metadata": {"name": f"{name[:200]}.{digest}", "namespace": namespace},
            "involvedObject": involved,
            "reason": "InvalidConfiguration",
            "message": message[:1024],
            "type": "Warning",
            "source": {"component": self.component},
            "reportingComponent": self.component,
            "reportingInstance": self.component,
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
        }


def wanted_of(loaded: Any, *, synced: bool) -> Wanted:
    """What to write for one ``Loaded`` of ``KubeSource``: the errors outside Services, and
    the counters of the pools in the snapshot (the running configuration)."""
    from orchestrator.core.model.errors import Severity
    from orchestrator.core.status.pool_usage import pool_usage

    errors = tuple(
        p
        for p in loaded.problems
        if p.severity is Severity.ERROR and not p.obj.startswith("Service/")
    )
    snapshot = loaded.snapshot
    if snapshot is None:
        return Wanted(errors, synced=synced)
    ingress = [ip for s in loaded.statuses.values() for ip in s.get("ingress") or []]
    usage = pool_usage(snapshot.config.pools, ingress)
    return Wanted(errors, synced=synced, pools={n: u.to_status() for n, u in usage.items()})
