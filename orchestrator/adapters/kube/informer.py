"""``Informer``: one kind listed and watched into a thread-safe cache of raw dicts.

How it works (client-go's reflector, reduced to what a level-triggered loop needs):

1. **List** everything, replace the cache, remember the list's ``resourceVersion``.
2. **Watch** from that version; apply ADDED/MODIFIED/DELETED to the cache and advance the
   version (also on BOOKMARK). The server ends each watch after ``timeout_seconds``; we
   watch again from the last version, so no event is lost between watches.
3. **410 Gone** (as an HTTP status or as an ERROR event in the stream): the version was
   compacted away. Relist: the cache is rebuilt from scratch, so a deletion we never saw as
   an event still disappears.
4. **404 on the list**: the kind is not served (an optional CRD, e.g. MetalLB's, is not
   installed). That is "no objects of this kind": the cache is emptied and counts as synced,
   so one missing CRD does not hold every snapshot back; the list is retried every
   ``backoff`` maximum, in case the CRD appears.
5. **Scope**: ``namespace`` limits list and watch to one namespace (Secrets and MetalLB's
   objects are read only in our own namespace, as MetalLB does: the RBAC then needs a Role,
   not a ClusterRole); ``label_selector`` limits them to matching objects (our Leases).
6. **Any other error**: wait (exponential backoff, capped, reset after a good list), then
   relist. Nothing is lost: the reconcile loop always reads the whole cache.

Every change sets ``changed`` (a ``threading.Event`` shared by all informers of a process)
and calls the optional ``on_change``: an event only means "something changed", the loop
re-reads everything. ``synced`` is set after the first successful list; until every
informer has synced, a snapshot would be partial (a Service without its pool).
"""

from __future__ import annotations

import contextlib
import copy
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from orchestrator.adapters.kube.client import KubeClient
from orchestrator.adapters.kube.errors import KubeError, KubeGone, KubeNotFound, for_status
from orchestrator.adapters.kube.resources import Resource, key_of


class Informer:
    def __init__(
        self,
        client: KubeClient,
        resource: Resource,
        *,
        changed: threading.Event | None = None,
        on_change: Callable[[], None] | None = None,
        on_error: Callable[[Resource, KubeError], None] | None = None,
        namespace: str | None = None,
        label_selector: str = "",
        timeout_seconds: int = 30,
        backoff: tuple[float, float] = (0.2, 10.0),
    ) -> None:
        self.client = client
        self.resource = resource
        self.namespace = namespace
        self.label_selector = label_selector
        self.changed = changed or threading.Event()
        self.synced = threading.Event()
        self._on_change = on_change
        self._on_error = on_error
        self.timeout_seconds = timeout_seconds
        self._backoff_min, self._backoff_max = backoff
        self._lock = threading.Lock()
        self._cache: dict[str, dict[str, Any]] = {}
        self.resource_version = ""
        self.relists = 0  # how many lists after the first (410 Gone, errors): for tests, metrics
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._end_watch: Callable[[], None] | None = None  # ends the current watch stream

    # -- cache (any thread)
    def items(self) -> list[dict[str, Any]]:
        """A copy of the cached objects, ordered by key (deterministic snapshots)."""
        with self._lock:
            return [copy.deepcopy(self._cache[k]) for k in sorted(self._cache)]

    def shared(self) -> list[Mapping[str, Any]]:
        """The cached objects themselves, ordered by key, without a copy: **read only**.

        An event *replaces* an object in the cache, never changes it in place, so an object
        returned here never changes, and the same object comes back until the server sends a
        new version. That lets the source skip parsing unchanged Services (``ParseMemo``
        compares identity); a deep copy of 10,000 Services cost ~0.15 s per reconcile."""
        with self._lock:
            return [self._cache[k] for k in sorted(self._cache)]

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            obj = self._cache.get(key)
            return copy.deepcopy(obj) if obj is not None else None

    # -- lifecycle
    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.run, name=f"informer-{self.resource.plural}", daemon=True
        )
        self._thread.start()

    def signal_stop(self) -> None:
        self._stop.set()
        end = self._end_watch
        if end is not None:
            with contextlib.suppress(Exception):  # the stream may be closing by itself
                end()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the loop to stop: the current watch stream is shut down, so the thread ends
        at once (at the latest when a request in flight times out)."""
        self.signal_stop()
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> None:
        delay = self._backoff_min
        first = True
        while not self._stop.is_set():
            try:
                self._list(first=first)
                first = False
                delay = self._backoff_min
                self._watch_until_gone()
            except KubeGone:
                continue  # relist at once: that is the cure for 410
            except KubeNotFound as e:
                if self._on_error is not None:
                    self._on_error(self.resource, e)
                self._absent()
                self._stop.wait(self._backoff_max)
            except KubeError as e:
                if self._stop.is_set():
                    return  # the stream we shut down ourselves
                if self._on_error is not None:
                    self._on_error(self.resource, e)
                self._stop.wait(delay)
                delay = min(delay * 2, self._backoff_max)

    # -- internals
    def _notify(self) -> None:
        self.changed.set()
        if self._on_change is not None:
            self._on_change()

    def _list(self, *, first: bool) -> None:
        items, version = self.client.list(
            self.resource, self.namespace, label_selector=self.label_selector
        )
        fresh = {key_of(o): o for o in items}
        with self._lock:
            differs = fresh != self._cache
            # an object the relist did not change stays the same object (see ``shared``)
            for key, obj in fresh.items():
                old = self._cache.get(key)
                if old is not None and _version(old) == _version(obj) != "":
                    fresh[key] = old
            self._cache = fresh
            self.resource_version = version
        if not first:
            self.relists += 1
        self.synced.set()
        if differs or first:
            self._notify()

    def _absent(self) -> None:
        with self._lock:
            differs = bool(self._cache)
            self._cache = {}
            self.resource_version = ""
        self.synced.set()
        if differs:
            self._notify()

    def _watch_until_gone(self) -> None:
        """Watch again and again from the last version; returns only by raising."""
        while not self._stop.is_set():
            for event in self.client.watch(
                self.resource,
                self.resource_version,
                namespace=self.namespace,
                label_selector=self.label_selector,
                timeout_seconds=self.timeout_seconds,
                opened=self._opened,
            ):
                self._apply(event)
                if self._stop.is_set():
                    return

    def _opened(self, end: Callable[[], None]) -> None:
        self._end_watch = end
        if self._stop.is_set():  # stopped while the request was on its way
            end()

    def _apply(self, event: Mapping[str, Any]) -> None:
        kind, obj = event.get("type"), event.get("object")
        if not isinstance(obj, dict):
            return
        if kind == "ERROR":
            code = obj.get("code")
            raise for_status(code if isinstance(code, int) else 0, f"WATCH {self.resource.plural}")
        version = str((obj.get("metadata") or {}).get("resourceVersion", ""))
        if kind == "BOOKMARK":
            self.resource_version = version or self.resource_version
            return
        obj = self.resource.stamp(obj)
        key = key_of(obj)
        with self._lock:
            if kind == "DELETED":
                self._cache.pop(key, None)
            elif kind in ("ADDED", "MODIFIED"):
                self._cache[key] = obj
            else:
                return
            if version:
                self.resource_version = version
        self._notify()


def _version(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


class Informers:
    """One informer per kind sharing one ``changed`` event: the reconcile loop's inbox.

    ``namespaces`` maps a kind to the one namespace it is read from (others are read
    cluster-wide), ``selectors`` a kind to its label selector. ``generation`` counts changes
    to every kind except those in ``quiet`` (Leases): a source may reuse its last parse
    while the generation stands still, although lease renewals keep waking the loop.
    """

    def __init__(
        self,
        client: KubeClient,
        resources: tuple[Resource, ...],
        *,
        namespaces: Mapping[str, str] | None = None,
        selectors: Mapping[str, str] | None = None,
        quiet: frozenset[str] = frozenset(),
        timeout_seconds: int = 30,
        on_error: Callable[[Resource, KubeError], None] | None = None,
    ) -> None:
        self.changed = threading.Event()
        self.generation = 0
        self._gen_lock = threading.Lock()
        self.by_kind = {
            r.kind: Informer(
                client,
                r,
                changed=self.changed,
                on_change=None if r.kind in quiet else self._bump,
                on_error=on_error,
                namespace=(namespaces or {}).get(r.kind),
                label_selector=(selectors or {}).get(r.kind, ""),
                timeout_seconds=timeout_seconds,
            )
            for r in resources
        }

    def _bump(self) -> None:
        with self._gen_lock:
            self.generation += 1

    def start(self) -> None:
        for inf in self.by_kind.values():
            inf.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop every informer within ``timeout`` in all. A thread blocked reading an idle
        watch ends only when the server closes it (up to ``timeout_seconds``); it is a
        daemon thread, so after the deadline we leave it to die with the process instead of
        holding a shutdown (and a standby's takeover) for a minute."""
        for inf in self.by_kind.values():
            inf.signal_stop()
        deadline = time.monotonic() + timeout
        for inf in self.by_kind.values():
            inf.stop(max(0.0, deadline - time.monotonic()))

    def synced(self) -> bool:
        return all(inf.synced.is_set() for inf in self.by_kind.values())

    def wait_synced(self, timeout: float) -> bool:
        return all(inf.synced.wait(timeout) for inf in self.by_kind.values())
