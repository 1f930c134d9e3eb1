"""Serialize applies, coalesce bursts, retry with backoff, check drift periodically.

Two parts, so that the timing rules are testable without threads or sleeps:

``Scheduler`` is a pure state machine over a caller-supplied ``now``. ``submit(intent)``
replaces any pending intent (the latest snapshot is all that matters: level-triggered, like
frr-k8s), so a burst of N events costs one apply once the burst has been quiet for
``debounce`` seconds, or at most ``max_delay`` after its first event. ``next_action(now)``
says what to run: an apply of the pending intent, a retry of the last failed one after
exponential backoff, or a drift check every ``drift_interval`` seconds once an apply has
succeeded. A conversion error is not retried (the user fixes the input; the next submit
brings a new intent); transient vtysh failures are.

``FrrReconciler`` runs a ``Scheduler`` on one worker thread against an ``FrrBackend``:
only that thread talks to FRR, so applies never overlap.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from frr.driver import FrrBackend
from frr.errors import ConversionError, VtyshError
from orchestrator.core.bgp.intent import NodeBGPIntent

log = logging.getLogger("mlb.frr")


class ActionKind(StrEnum):
    APPLY = "apply"
    DRIFT = "drift"


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    intent: NodeBGPIntent | None = None


class Outcome(StrEnum):
    OK = "ok"
    TRANSIENT = "transient"  # retry with backoff
    INVALID = "invalid"  # user input: wait for a new intent


@dataclass(frozen=True)
class Backoff:
    initial: float = 0.5
    factor: float = 2.0
    maximum: float = 30.0

    def delay(self, failures: int) -> float:
        return float(min(self.maximum, self.initial * self.factor ** max(0, failures - 1)))


class Scheduler:
    def __init__(
        self,
        *,
        debounce: float = 0.05,
        max_delay: float = 1.0,
        drift_interval: float = 10.0,
        backoff: Backoff | None = None,
    ) -> None:
        self.debounce = debounce
        self.max_delay = max_delay
        self.drift_interval = drift_interval
        self.backoff = backoff or Backoff()
        self._pending: NodeBGPIntent | None = None
        self._first_at = 0.0
        self._last_at = 0.0
        self._retry: NodeBGPIntent | None = None
        self._retry_at: float | None = None
        self._failures = 0
        self._drift_at: float | None = None
        self._busy = False

    @property
    def idle(self) -> bool:
        """Nothing pending, nothing to retry, nothing running."""
        return self._pending is None and self._retry is None and not self._busy

    @property
    def failures(self) -> int:
        return self._failures

    def submit(self, intent: NodeBGPIntent, now: float) -> None:
        if self._pending is None:
            self._first_at = now
        self._pending = intent
        self._last_at = now
        self._retry = None  # the new intent supersedes a failed one

    def _apply_due(self, now: float) -> float | None:
        if self._pending is None:
            return None
        due = min(self._last_at + self.debounce, self._first_at + self.max_delay)
        if self._retry_at is not None:  # in backoff: do not hammer a failing FRR
            due = max(due, self._retry_at)
        return due

    def next_action(self, now: float) -> Action | None:
        if self._busy:
            return None
        due = self._apply_due(now)
        if due is not None and now >= due:
            intent, self._pending = self._pending, None
            self._busy = True
            return Action(ActionKind.APPLY, intent)
        if self._retry is not None and self._retry_at is not None and now >= self._retry_at:
            intent, self._retry = self._retry, None
            self._busy = True
            return Action(ActionKind.APPLY, intent)
        idle = self._pending is None and self._retry is None  # never repair toward a stale target
        if idle and self._drift_at is not None and now >= self._drift_at:
            self._busy = True
            return Action(ActionKind.DRIFT)
        return None

    def finished(self, action: Action, outcome: Outcome, now: float) -> None:
        self._busy = False
        if outcome is Outcome.OK:
            self._failures = 0
            self._retry_at = None
            self._drift_at = now + self.drift_interval
            return
        if outcome is Outcome.INVALID:
            # FRR still runs the last good config; drift checks of it go on as scheduled
            self._retry_at = None
            return
        self._failures += 1
        self._retry_at = now + self.backoff.delay(self._failures)
        if action.kind is ActionKind.APPLY and self._pending is None:
            self._retry = action.intent
        elif action.kind is ActionKind.DRIFT:
            self._drift_at = self._retry_at

    def wakeup(self, now: float) -> float | None:
        """Seconds until ``next_action`` may return something (None: only on submit)."""
        if self._busy:
            return None
        times = [t for t in (self._apply_due(now),) if t is not None]
        if self._retry is not None and self._retry_at is not None:
            times.append(self._retry_at)
        elif self._pending is None and self._drift_at is not None:
            times.append(self._drift_at)  # drift only counts when nothing else waits
        return max(0.0, min(times) - now) if times else None


class FrrReconciler:
    """One worker thread that owns all FRR traffic."""

    def __init__(
        self,
        backend: FrrBackend,
        *,
        scheduler: Scheduler | None = None,
        clock: Callable[[], float] = time.monotonic,
        status_interval: float = 5.0,
    ) -> None:
        self.backend = backend
        self.scheduler = scheduler or Scheduler()
        self._clock = clock
        self._cond = threading.Condition()
        self._stop = False
        self._thread: threading.Thread | None = None
        self._status_interval = status_interval
        self._status_at = 0.0

    def submit(self, intent: NodeBGPIntent) -> None:
        with self._cond:
            self.scheduler.submit(intent, self._clock())
            self._cond.notify()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="frr-reconciler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout)

    def wait_idle(self, timeout: float) -> bool:
        """True once nothing is pending or running (tests, shutdown)."""
        deadline = self._clock() + timeout
        with self._cond:
            while not self.scheduler.idle:
                left = deadline - self._clock()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
        return True

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._stop:
                    return
                now = self._clock()
                action = self.scheduler.next_action(now)
                status_due = action is None and now >= self._status_at
                if action is None and not status_due:
                    wait = self.scheduler.wakeup(now)
                    limit = self._status_at - now
                    self._cond.wait(limit if wait is None else min(wait, limit))
                    continue
            if action is not None:
                outcome = self._execute(action)
                with self._cond:
                    self.scheduler.finished(action, outcome, self._clock())
                    self._cond.notify_all()
            else:
                self._status_at = now + self._status_interval
                self._refresh_status()

    def _execute(self, action: Action) -> Outcome:
        try:
            if action.kind is ActionKind.APPLY:
                assert action.intent is not None
                self.backend.apply(action.intent)
            else:
                self.backend.check_drift()
        except ConversionError:
            return Outcome.INVALID
        except VtyshError:
            return Outcome.TRANSIENT
        except Exception:  # a bug must not kill the only thread that drives FRR
            log.exception("event=reconcile backend=frr result=error")
            return Outcome.TRANSIENT
        return Outcome.OK

    def _refresh_status(self) -> None:
        try:
            self.backend.status()
        except VtyshError as e:
            log.info("event=status backend=frr result=error reason=%r", str(e))
