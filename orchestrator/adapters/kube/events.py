"""``KubeEvents``: Kubernetes Events on Services, what ``kubectl describe service`` shows.

The loops call ``event(service, reason, message)`` and go on: posting happens on a
background thread from a bounded queue, so a slow or failing API server never delays a
reconcile pass (10,000 Services allocated at start would otherwise wait for 10,000 POSTs).
When the queue is full the event is dropped and counted (``dropped``); Events are a
courtesy, the Service's status is the record.

Each Event is a ``core/v1`` Event in the Service's namespace with ``involvedObject`` naming
the Service (with its uid when the informer cache knows it: ``kubectl describe`` matches on
it), ``source.component`` (``metallb-controller`` / ``metallb-speaker``, MetalLB's) and
``source.host`` (the speaker's node). The same (Service, reason, message) again within
``aggregate_for`` seconds bumps ``count`` and ``lastTimestamp`` of the Event already posted
(a merge patch), as client-go's recorder does, instead of adding a new object.

Failures are reported through ``on_error`` once per kind of failure and otherwise dropped:
an Event that cannot be posted is not worth a retry storm.
"""

from __future__ import annotations

import contextlib
import datetime
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from orchestrator.adapters.kube.client import KubeClient
from orchestrator.adapters.kube.errors import KubeError
from orchestrator.adapters.kube.resources import EVENT

MAX_MESSAGE = 1024


def _utcnow() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class _Item:
    service: str
    reason: str
    message: str
    warning: bool


class KubeEvents:
    def __init__(
        self,
        client: KubeClient,
        *,
        component: str,
        host: str | None = None,
        uid_of: Callable[[str], str | None] = lambda key: None,
        on_error: Callable[[str], None] | None = None,
        capacity: int = 1024,
        aggregate_for: float = 600.0,
        remember: int = 10_000,
        clock: Callable[[], str] = _utcnow,
    ) -> None:
        self.client = client
        self.component = component
        self.host = host
        self.uid_of = uid_of
        self.on_error = on_error
        self.aggregate_for = aggregate_for
        self.remember = remember  # events kept for aggregation (memory stays bounded)
        self.clock = clock
        self.dropped = 0
        self.posted = 0
        self._queue: queue.Queue[_Item | None] = queue.Queue(maxsize=capacity)
        self._seen: dict[tuple[str, str, str], tuple[str, int, float]] = {}
        self._reported: set[str] = set()
        self._thread: threading.Thread | None = None

    # -- the port (any thread)
    def event(self, service: str, reason: str, message: str, *, warning: bool = False) -> None:
        try:
            self._queue.put_nowait(_Item(service, reason, message[:MAX_MESSAGE], warning))
        except queue.Full:
            self.dropped += 1

    # -- lifecycle
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="events", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Post what is queued (within ``timeout``), then stop."""
        if self._thread is None:
            return
        with contextlib.suppress(queue.Full):
            self._queue.put(None, timeout=timeout)
        self._thread.join(timeout)
        self._thread = None

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything queued so far was handled (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self._queue.unfinished_tasks

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                self.post(item.service, item.reason, item.message, warning=item.warning)
            finally:
                self._queue.task_done()

    # -- posting (the background thread; tests may call it directly)
    def post(self, service: str, reason: str, message: str, *, warning: bool = False) -> None:
        namespace, _, name = service.rpartition("/")
        namespace = namespace or "default"
        key = (service, reason, message)
        now, stamp = time.monotonic(), self.clock()
        seen = self._seen.get(key)
        try:
            if seen is not None and now - seen[2] < self.aggregate_for:
                event_name, count, _ = seen
                patch = {"count": count + 1, "lastTimestamp": stamp}
                self.client.merge_patch(EVENT, event_name, patch, namespace)
                self._seen[key] = (event_name, count + 1, now)
            else:
                event_name = f"{name}.{uuid.uuid4().hex[:16]}"
                self.client.create(
                    EVENT, self._body(namespace, name, event_name, reason, message, warning, stamp)
                )
                self._seen[key] = (event_name, 1, now)
            self.posted += 1
            if len(self._seen) > 2 * self.remember:
                self._forget(now)
        except KubeError as e:
            self._seen.pop(key, None)
            kind = type(e).__name__
            if self.on_error is not None and kind not in self._reported:
                self._reported.add(kind)
                self.on_error(f"cannot post Events: {e}")

    def _forget(self, now: float) -> None:
        """Drop what can no longer be aggregated (older than ``aggregate_for``), and if that
        is not enough the oldest, so the memory stays bounded however many Services churn."""
        fresh = {k: v for k, v in self._seen.items() if now - v[2] < self.aggregate_for}
        if len(fresh) > self.remember:
            fresh = dict(sorted(fresh.items(), key=lambda kv: kv[1][2])[-self.remember :])
        self._seen = fresh

    def _body(
        self,
        namespace: str,
        name: str,
        event_name: str,
        reason: str,
        message: str,
        warning: bool,
        stamp: str,
    ) -> dict[str, object]:
        involved: dict[str, str] = {
            "apiVersion": "v1",
            "kind": "Service",
            "namespace": namespace,
            "name": name,
        }
        uid = self.uid_of(f"{namespace}/{name}")
        if uid:
            involved["uid"] = uid
        source = {"component": self.component, **({"host": self.host} if self.host else {})}
        return {
            "metadata": {"name": event_name, "namespace": namespace},
            "involvedObject": involved,
            "reason": reason,
            "message": message,
            "type": "Warning" if warning else "Normal",
            "source": source,
            "reportingComponent": self.component,
            "reportingInstance": self.host or self.component,
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
        }
