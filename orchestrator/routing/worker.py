"""The routing worker: one thread that owns all traffic to the routing daemon.

``RoutingWorker(driver)`` is what the speaker loop is given as its ``RoutingBackend`` port
(``orchestrator.ports``), for FRR and GoBGP alike: ``apply(intent)`` only submits (it never
blocks and never raises), ``ready()`` says whether the daemon answers. The thread runs the
``Scheduler``'s actions against the driver, one at a time, so applies never overlap:

- apply: the driver converges the daemon on the intent;
- drift: the driver compares the daemon with the last good target and repairs it;
- probe (every second): the daemon's identity; a replaced or returning daemon makes the
  driver forget what it held and is repaired at once (``Trigger.DAEMON_RESTARTED``);
- status (every 5 s, and at once after a change of daemon): session states.

What it reports, through one log channel (component ``routing``, key ``backend``) and one
set of metrics (``orchestrator.routing.metrics``):

- each failure, with its fault, the daemon's (redacted) message and the retry delay, at
  error; the same message in ``stages`` and in ``metallb_bgp_apply_errors_total``;
- each repair that changed the daemon, at warning, with what drifted and what triggered it;
- the daemon becoming unreachable or coming back, at warning / info;
- each session going up (info) or down (warning, with the hint), once per change;
- a failed status read marks every configured session unknown (``metallb_bgp_session_up``
  0) instead of leaving the last value in place.

Stages (``Stage``) follow the work: conversion and apply after an apply; running after a
drift check; apply again after a repair made the daemon run the target.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable

from orchestrator.core.bgp.intent import NodeBGPIntent
from orchestrator.log import Logger
from orchestrator.routing.driver import RoutingDriver
from orchestrator.routing.errors import Fault, fault_of
from orchestrator.routing.metrics import RoutingMetrics
from orchestrator.routing.report import (
    ApplyReport,
    DriftReport,
    PeerStatus,
    Stage,
    StageStatus,
    unknown_status,
)
from orchestrator.routing.scheduler import Action, ActionKind, Outcome, Scheduler, Trigger


class RoutingWorker:
    def __init__(
        self,
        driver: RoutingDriver,
        *,
        scheduler: Scheduler | None = None,
        metrics: RoutingMetrics | None = None,
        log: Logger | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.driver = driver
        self.scheduler = scheduler or Scheduler()
        self.metrics = metrics
        self.log = log or Logger("routing")
        self._clock = clock
        self._wall = wall_clock
        self._cond = threading.Condition()
        self._stop = False
        self._thread: threading.Thread | None = None
        self.stages: dict[Stage, StageStatus] = {}
        self.statuses: tuple[PeerStatus, ...] = ()
        self.repairs = 0
        self._problems: frozenset[str] = frozenset()
        self._warned: set[tuple[str, str | None]] = set()  # (neighbor, hint) logged down

    # -- the port
    def apply(self, intent: NodeBGPIntent) -> None:
        with self._cond:
            self.scheduler.submit(intent, self._clock())
            self._cond.notify()

    def ready(self) -> bool:
        """The routing daemon answered the last probe (its connection is up)."""
        return self.scheduler.up is True

    # -- lifecycle
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="routing", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout)

    def wait_idle(self, timeout: float) -> bool:
        """True once nothing is pending, retried, repaired or running (tests, shutdown)."""
        deadline = self._clock() + timeout
        with self._cond:
            while not self.scheduler.idle:
                left = deadline - self._clock()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
        return True

    def step(self) -> bool:
        """Run the next due action, if any: the thread's body (tests call it directly, with
        a clock of their own)."""
        with self._cond:
            action = self.scheduler.next_action(self._clock())
        if action is None:
            return False
        if action.kind is ActionKind.PROBE:
            self._probe()
        elif action.kind is ActionKind.STATUS:
            self._refresh_status()
            self._finish(action, Outcome.OK)
        else:
            self._finish(action, self._execute(action))
        return True

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._stop:
                    return
            if self.step():
                continue
            with self._cond:
                if self._stop:
                    return
                wait = self.scheduler.wakeup(self._clock())
                self._cond.wait(1.0 if wait is None else min(wait, 1.0))

    def _finish(self, action: Action, outcome: Outcome) -> None:
        with self._cond:
            self.scheduler.finished(action, outcome, self._clock())
            self._cond.notify_all()

    # -- the actions
    def _execute(self, action: Action) -> Outcome:
        try:
            if action.kind is ActionKind.APPLY:
                assert action.intent is not None
                self._applied(self.driver.apply(action.intent), action)
            else:
                self._checked(self.driver.check_drift(), action.trigger)
        except Exception as e:
            return self._failed(action, e)
        return Outcome.OK

    def _applied(self, report: ApplyReport, action: Action) -> None:
        self._stage(Stage.CONVERSION, True, "ok")
        summary = ", ".join(f"{k}={v}" for k, v in report.detail.items() if v) or "no change"
        self._stage(Stage.APPLY, True, summary)
        problems = frozenset(report.problems)
        for text in sorted(problems - self._problems):  # once, not on every apply
            self.log("intentProblem", level="warning", backend=self.driver.backend, msg=text)
        self._problems = problems
        self.log(
            "bgpApplied",
            level="info" if report.changed or report.full_sync else "debug",
            backend=self.driver.backend,
            reason=action.trigger,
            changes=report.changes,
            fullSync=report.full_sync,
            restarted=report.restarted or None,
            ms=f"{report.seconds * 1000:.1f}",
            msg=summary,
        )

    def _checked(self, report: DriftReport, trigger: Trigger) -> None:
        if not report.drifted:
            self._stage(Stage.RUNNING, True, "in sync")
            return
        objects = "; ".join(report.drifted)
        if not report.repaired:
            self._stage(Stage.RUNNING, False, f"drift: {objects}")
            self.log("bgpDrift", level="warning", backend=self.driver.backend, msg=objects)
            return
        self.repairs += 1
        self._stage(Stage.RUNNING, True, f"repaired: {objects}")
        self._stage(Stage.APPLY, True, f"repaired ({trigger.value})")
        if self.metrics is not None:
            self.metrics.repaired(trigger.value)
        self.log(
            "bgpRepaired",
            level="warning",
            backend=self.driver.backend,
            reason=trigger,
            changes=report.changes,
            msg=objects,
        )

    def _failed(self, action: Action, error: Exception) -> Outcome:
        fault = fault_of(error)
        message = self.driver.redact(str(error) or type(error).__name__)
        if action.kind is ActionKind.APPLY and fault is Fault.INVALID:
            self._stage(Stage.CONVERSION, False, message)
        elif action.kind is ActionKind.APPLY:
            self._stage(Stage.CONVERSION, True, "ok")
            self._stage(Stage.APPLY, False, message)
        else:
            self._stage(Stage.RUNNING, False, message)
        if self.metrics is not None:
            self.metrics.apply_error(fault.value)
        outcome = Outcome.INVALID if fault is Fault.INVALID else Outcome.FAILED
        delay = None
        if outcome is Outcome.FAILED:
            delay = self.scheduler.backoff.delay(self.scheduler.failures + 1)
        self.log(
            "bgpApplyFailed" if action.kind is ActionKind.APPLY else "bgpRepairFailed",
            level="error",
            backend=self.driver.backend,
            reason=fault,
            error=type(error).__name__ if fault is Fault.INTERNAL else None,
            retryIn=f"{delay:.1f}s" if delay is not None else None,
            msg=message,
        )
        return outcome

    def _probe(self) -> None:
        identity: Hashable | None
        reason = ""
        try:
            identity = self.driver.probe()
        except Exception as e:
            identity = None
            reason = self.driver.redact(str(e) or type(e).__name__)
        was_up = self.scheduler.up
        with self._cond:
            trigger = self.scheduler.probed(identity, self._clock())
            self._cond.notify_all()
        if self.metrics is not None:
            self.metrics.daemon(identity is not None)
        if identity is None:
            if was_up is not False:
                self.log(
                    "daemonUnavailable", level="warning", backend=self.driver.backend, msg=reason
                )
                self._mark_unknown(reason)
            return
        if trigger is not None:
            # it holds nothing we can trust: the next apply or repair reads it back
            self.driver.forget()
            self.log(
                "daemonRestarted" if trigger is Trigger.DAEMON_RESTARTED else "daemonBack",
                level="warning" if trigger is Trigger.DAEMON_RESTARTED else "info",
                backend=self.driver.backend,
                msg="configuring it again",
            )

    def _refresh_status(self) -> None:
        try:
            statuses = self.driver.status()
        except Exception as e:
            self._mark_unknown(self.driver.redact(str(e) or type(e).__name__))
            return
        self._publish(statuses)

    def _mark_unknown(self, reason: str) -> None:
        self._publish(tuple(unknown_status(s, reason) for s in self.driver.sessions()))

    def _publish(self, statuses: tuple[PeerStatus, ...]) -> None:
        """Metrics for every session; a log line when one goes up or down, and when one
        stays down with a hint (a password mismatch, a daemon that cannot be read) on two
        reads in a row, so a session that is still connecting at start is not an alarm."""
        before = {s.neighbor: s for s in self.statuses}
        for s in statuses:
            old = before.get(s.neighbor)
            fields = {"backend": self.driver.backend, "peer": s.peer, "neighbor": s.neighbor}
            if s.up:
                self._warned = {w for w in self._warned if w[0] != s.neighbor}
                if old is None or not old.up:
                    self.log("sessionUp", **fields)
                continue
            went_down = old is not None and old.up
            stays_down = old is not None and s.hint and (s.neighbor, s.hint) not in self._warned
            if went_down or stays_down:
                self.log("sessionDown", level="warning", state=s.state, msg=s.hint, **fields)
                self._warned.add((s.neighbor, s.hint))
        self.statuses = statuses
        if self.metrics is not None:
            self.metrics.publish(statuses)

    def _stage(self, stage: Stage, ok: bool, message: str) -> None:
        self.stages[stage] = StageStatus(stage, ok, message, self._wall())
        if self.metrics is not None:
            self.metrics.stage(stage.value, ok)
