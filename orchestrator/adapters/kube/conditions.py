"""``KubeObjectConditions``: conditions on cluster-scoped objects of our CRDs.

The controller reports, per ``Kind/name``, the conditions it wants on the object (today the
InUse condition of MetalLoadBalancerPool, -BGPPeer, -Configuration, -Class and L2LoadBalancer;
any kind listed in ``KINDS`` with a status subresource works the same). ``report`` only
records the wish and wakes a background thread, so the controller's loop never waits on the
API server, as with ServiceL2Status.

The thread writes what changed since its last successful write: it reads the object
through the status subresource (RBAC: ``get`` and ``patch`` on ``<plural>/status`` only; to
keep the conditions other writers put there, and ``lastTransitionTime`` where the status
did not change), and sends a JSON merge patch of ``status.conditions`` to the status
subresource. A merge patch replaces a list whole, so the patch carries the other writers'
conditions too; the read-modify-write window is accepted (a status only we write in
practice). An object that is gone (404) is skipped; other errors are reported once per
object and kind of error and retried on the next report or every ``resync`` seconds.
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Callable, Mapping
from typing import Any

from orchestrator.adapters.kube.client import KubeClient
from orchestrator.adapters.kube.errors import KubeError, KubeNotFound
from orchestrator.adapters.kube.resources import (
    L2_LOAD_BALANCER,
    METAL_LB_BGP_PEER,
    METAL_LB_CLASS,
    METAL_LB_CONFIGURATION,
    METAL_LB_POOL,
    Resource,
)
from orchestrator.adapters.kube.resync import ResyncLoop
from orchestrator.core.status.records import Condition

#: Kinds whose conditions this writer may set: cluster-scoped, with a status subresource.
KINDS: dict[str, Resource] = {
    r.kind: r
    for r in (
        METAL_LB_POOL,
        METAL_LB_BGP_PEER,
        METAL_LB_CONFIGURATION,
        L2_LOAD_BALANCER,
        METAL_LB_CLASS,
    )
}

Wanted = Mapping[str, tuple[Condition, ...]]


def _utcnow() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class KubeObjectConditions(ResyncLoop):
    thread_name = "object-conditions"

    def __init__(
        self,
        client: KubeClient,
        *,
        resync: float = 60.0,
        clock: Callable[[], str] = _utcnow,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(resync)
        self.client = client
        self.clock = clock
        self.on_error = on_error
        self._lock = threading.Lock()
        self._wanted: dict[str, tuple[Condition, ...]] = {}
        self._written: dict[str, tuple[Condition, ...]] = {}
        self._reported: set[str] = set()

    # -- the port (the controller's loop)
    def report(self, conditions: Wanted) -> None:
        with self._lock:
            self._wanted = {k: v for k, v in conditions.items() if k.partition("/")[0] in KINDS}
        self._poke()

    def _forget(self) -> None:
        self._written.clear()  # resync: check every object again

    # -- the work (background thread; tests may call it directly)
    def sync(self) -> bool:
        with self._lock:
            wanted = dict(self._wanted)
        ok = True
        for ref, conditions in sorted(wanted.items()):
            if self._written.get(ref) == conditions:
                continue
            kind, _, name = ref.partition("/")
            try:
                self._write(KINDS[kind], name, conditions)
                self._written[ref] = conditions
            except KubeNotFound:
                self._written.pop(ref, None)  # gone, or its CRD is not installed
            except KubeError as e:
                ok = False
                key = f"{ref}:{type(e).__name__}"
                if self.on_error is not None and key not in self._reported:
                    self._reported.add(key)
                    self.on_error(f"cannot write the conditions of {ref}: {e}")
        for ref in set(self._written) - set(wanted):
            del self._written[ref]
        if ok:
            self.synced.set()
        return ok

    def _write(self, resource: Resource, name: str, conditions: tuple[Condition, ...]) -> None:
        current = self.client.get(resource, name, subresource="status")
        before = ((current.get("status") or {}).get("conditions")) or []
        merged = self.merge(before, conditions)
        if merged == before:
            return
        patch = {"status": {"conditions": merged}}
        self.client.merge_patch(resource, name, patch, subresource="status")

    def merge(self, before: list[Any], conditions: tuple[Condition, ...]) -> list[dict[str, Any]]:
        ours = {c.type for c in conditions}
        old = {c.get("type"): c for c in before if isinstance(c, Mapping)}
        out = [dict(c) for t, c in old.items() if t not in ours]
        for c in conditions:
            prev = old.get(c.type) or {}
            kept = prev.get("status") == c.status and prev.get("lastTransitionTime")
            out.append({**c.to_dict(), "lastTransitionTime": kept or self.clock()})
        return out
