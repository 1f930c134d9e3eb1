"""The controller loop: allocate IPs, place L2 homes, record both on the Services.

Level-triggered: every wake-up (a file changed, a lease changed, or the periodic tick)
re-reads the whole snapshot and runs the pure ``plan``. The ``Allocator`` lives as long as
the process (its sticky cursors), but correctness never depends on it: a new process
rebuilds everything from the recorded status first (``Allocator.reconcile`` restores before
it allocates), so a restart moves no IP.

The InUse condition of each Deckhouse CRD object (``core.crd_usage``) is computed once per
new snapshot and handed to the ``ObjectConditions`` port, which writes it off the loop.

Only differences are written: a Service whose record is unchanged is not touched, so the
speakers' watchers stay quiet in steady state. Events are logged once per change of text,
not on every pass.

Every lease renewal of every node wakes the loop. A pass that wrote nothing is a fixed
point: while the source returns the very same snapshot, the live nodes are the same and
the allocator is the same object, ``plan`` would decide the same again, so the pass stops
there (``_settled``). With 10,000 Services a plan costs ~0.5 s.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry

from orchestrator.core.alloc.allocator import Allocator
from orchestrator.core.l2.placement import Homes
from orchestrator.core.model.cluster import ClusterSnapshot
from orchestrator.core.plan import plan
from orchestrator.core.status.crd_usage import crd_conditions
from orchestrator.core.status.records import desired_status
from orchestrator.log import Logger
from orchestrator.ports import EventSink, ObjectConditions, Source, Store, Waker
from orchestrator.runtime.membership import Clock, Membership
from orchestrator.runtime.metrics import AllocatorMetrics, ConfigMetrics

DEPRECATED = "deprecatedAnnotation"


class Controller:
    def __init__(
        self,
        source: Source,
        state: Store,
        *,
        log: Logger | None = None,
        registry: CollectorRegistry | None = None,
        events: EventSink | None = None,
        conditions: ObjectConditions | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self.source = source
        self.state = state
        self.events = events
        self.conditions = conditions
        #: the snapshot whose object conditions were last reported (idle passes skip them)
        self._conditions_of: tuple[ClusterSnapshot, Any] | None = None
        self.log = log or Logger("controller")
        self.allocator = Allocator()
        #: leases stamped when read, on a thread of their own while running (§15)
        self.membership = Membership(state.read_leases, clock=clock, log=self.log)
        self.homes: Homes = {}
        self._reported: dict[str, str] = {}
        self._problems: tuple[str, ...] = ()
        self._problems_of: object = None  # the problems object last reported
        self._deprecated: set[tuple[str, str]] = set()
        #: inputs of the last pass, if it wrote nothing: the same inputs decide the same
        self._settled: tuple[ClusterSnapshot, frozenset[str], Allocator] | None = None
        self.retry_in: float | None = None  # the source asked to be read again this soon
        self.registry = registry or CollectorRegistry()
        self._config_metrics = ConfigMetrics(self.registry)
        self._alloc_metrics = AllocatorMetrics(self.registry)

    def reconcile(self, now: float | None = None) -> int:
        """One full pass; returns how many Service records were written or removed. The
        leases are read, and the clock (or ``now``, in virtual-time tests) after them, only
        once the snapshot is loaded: a load may take seconds (§15)."""
        started = time.time()
        loaded = self.source.load()
        loaded_at = time.time()
        self.retry_in = loaded.retry_in
        self._report_problems(loaded.problems, stale=loaded.stale)
        self._config_metrics.observe(loaded=loaded.snapshot is not None, stale=loaded.stale)
        if loaded.snapshot is None:
            return 0
        snapshot = loaded.snapshot
        seen = self._conditions_of
        if self.conditions is not None and (
            seen is None or seen[0] is not snapshot or seen[1] is not loaded.problems
        ):
            self._conditions_of = (snapshot, loaded.problems)
            found = crd_conditions(snapshot, loaded.problems)
            self.conditions.report({ref: (c,) for ref, c in found.items()})
        live = self.membership.observe(now)
        settled, self._settled = self._settled, None
        if (
            settled is not None
            and settled[0] is snapshot
            and settled[1] == live
            and settled[2] is self.allocator
        ):
            self._settled = settled
            return 0
        result = plan(
            snapshot, allocator=self.allocator, live_nodes=live, previous_homes=self.homes
        )
        self.homes = result.homes
        planned_at = time.time()
        self._alloc_metrics.publish(result.allocation.pools)
        writes = 0
        present = set()
        for row in result.services:
            key = row.service.key
            present.add(key)
            record = desired_status(row.service, row.outcome, row.homes)
            for event in row.outcome.events:
                self._event(key, event.kind.value, event.message, event.type)
            if record is None:
                continue
            if _same(loaded.statuses.get(key), record.to_dict()):
                continue
            if not record.ingress and key not in loaded.statuses:
                continue  # nothing recorded and nothing to record
            self.state.write_status(key, record)
            writes += 1
            self.log(
                "statusWritten",
                service=key,
                ip=",".join(record.ingress) or "-",
                homes=",".join(
                    row.homes.get(ip, "-") for ip in (row.assignment.ips if row.assignment else ())
                )
                or None,
            )
        # Services that no longer exist: their record goes, their IPs are free.
        known = {s.key for s in snapshot.services}
        for key in loaded.statuses:
            if key not in known and key not in present:
                self.state.delete_status(key)
                writes += 1
                self.log("serviceDeleted", service=key)
        if writes == 0:
            self._settled = (snapshot, live, self.allocator)
        else:
            # the stages of a pass that changed something, for ``make bench-e2e``
            self.log(
                "passTimes",
                level="debug",
                services=len(snapshot.services),
                writes=writes,
                start=f"{started:.3f}",
                loaded=f"{loaded_at:.3f}",
                planned=f"{planned_at:.3f}",
                written=f"{time.time():.3f}",
            )
        return writes

    def run(
        self,
        stop: threading.Event,
        waker: Waker,
        *,
        tick: float = 0.5,
        leader: Callable[[float], bool] | None = None,
    ) -> None:
        """Reconcile on every wake-up; with ``leader``, only while it says this replica
        leads (two replicas must never both allocate)."""
        waker.start()
        self.membership.run(stop)
        self.log("started")
        leading = leader is None
        try:
            while not stop.is_set():
                if leader is not None:
                    now_leading = leader(time.monotonic())
                    if now_leading != leading:
                        self.log("leaderElection", msg="leading" if now_leading else "standby")
                        leading = now_leading
                        self.allocator = Allocator()  # rebuild from status when we lead again
                if not leading:
                    waker.wait(tick)
                    continue
                try:
                    self.reconcile()
                except Exception as e:  # a bug must not kill the loop; report it
                    self.log("InternalError", level="error", reason=type(e).__name__, msg=str(e))
                waker.wait(tick if self.retry_in is None else min(tick, self.retry_in))
        finally:
            waker.stop()

    def _event(self, service: str, kind: str, message: str, type_: str) -> None:
        text = f"{kind}:{message}"
        if self._reported.get(service) == text:
            return
        self._reported[service] = text
        self.log(
            kind, level="warning" if type_ == "Warning" else "info", service=service, msg=message
        )
        if self.events is not None:
            self.events.event(service, kind, message, warning=type_ == "Warning")

    def _report_problems(self, problems: Any, *, stale: bool) -> None:
        if problems is self._problems_of:
            return  # the source's very same list: nothing new (idle passes end here)
        self._problems_of = problems
        lines = tuple(sorted(str(p) for p in problems))
        if lines == self._problems:
            return
        before = set(self._problems)
        self._problems = lines
        for line in lines:
            if line not in before:  # once per problem, not all again on every change
                self.log("configProblem", level="warning", msg=line)
        if self.events is not None:
            for p in problems:
                # MetalLB posts one on every Service that still uses metallb.universe.tf/*
                if not (p.obj.startswith("Service/") and p.message.startswith(DEPRECATED)):
                    continue
                if (p.obj, p.path) in self._deprecated:
                    continue
                self._deprecated.add((p.obj, p.path))
                service = p.obj.removeprefix("Service/")
                detail = p.message.removeprefix(DEPRECATED).lstrip(": ")
                self.events.event(service, DEPRECATED, f"{p.path}: {detail}", warning=True)
        if stale:
            self.log(
                "configStale",
                level="error",
                msg="invalid objects run on their last good version until fixed (configProblem)",
            )


def _same(current: Mapping[str, Any] | None, wanted: Mapping[str, Any]) -> bool:
    return current is not None and dict(current) == dict(wanted)
