"""When the routing worker does what: a pure state machine over a caller-supplied ``now``.

Both backends are scheduled by these rules, so that the timing is the same for FRR and
GoBGP and testable without threads or sleeps:

- ``submit(intent)`` replaces any pending intent (the latest snapshot is all that
  matters: level-triggered, like frr-k8s). A burst of N events costs one apply once it has
  been quiet for ``debounce`` seconds, or at most ``max_delay`` after its first event.
- A failed apply is retried after exponential backoff (``orchestrator.backoff``); a newer
  intent supersedes it but still waits out the backoff, so a failing daemon is never
  hammered (and a rejected config is never re-sent in a loop). Invalid input is not
  retried: the user fixes it and the next submit brings a new intent.
- Every ``probe_interval`` the daemon's identity is probed (``probed``). When it changed
  (the process was replaced) or the daemon is reachable again after being unreachable,
  whatever waits in backoff is retried at once and, once something was applied, a repair
  (a drift check against the last good target) runs next: a daemon restarted bare is
  configured again within a probe interval, not at the next periodic check.
- Every ``drift_interval`` after a success, a drift check (hand edits, anything the probe
  cannot see); never while an apply is pending, so nothing is repaired toward a stale
  target.
- Every ``status_interval``, a session status refresh.

``next_action(now)`` says what to run (one action at a time), ``finished``/``probed`` record
how it went, ``wakeup(now)`` how long the caller may sleep.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from enum import StrEnum

from orchestrator.backoff import Backoff
from orchestrator.core.bgp.intent import NodeBGPIntent


class ActionKind(StrEnum):
    APPLY = "apply"
    DRIFT = "drift"
    PROBE = "probe"
    STATUS = "status"


class Trigger(StrEnum):
    """Why an action runs (the ``reason`` of the log line)."""

    INTENT = "intent"
    RETRY = "retry"
    PERIODIC = "periodic"
    DAEMON_RESTARTED = "daemonRestarted"  # the probe saw another daemon process
    DAEMON_BACK = "daemonBack"  # reachable again after being unreachable


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    intent: NodeBGPIntent | None = None
    trigger: Trigger = Trigger.INTENT


class Outcome(StrEnum):
    OK = "ok"
    FAILED = "failed"  # retry with backoff
    INVALID = "invalid"  # user input: wait for a new intent


_UNSET = object()  # no identity seen yet


class Scheduler:
    def __init__(
        self,
        *,
        debounce: float = 0.05,
        max_delay: float = 1.0,
        drift_interval: float = 10.0,
        probe_interval: float | None = 1.0,
        status_interval: float | None = 5.0,
        backoff: Backoff | None = None,
    ) -> None:
        self.debounce = debounce
        self.max_delay = max_delay
        self.drift_interval = drift_interval
        self.probe_interval = probe_interval
        self.status_interval = status_interval
        self.backoff = backoff or Backoff()
        self._pending: NodeBGPIntent | None = None
        self._first_at = 0.0
        self._last_at = 0.0
        self._retry: NodeBGPIntent | None = None
        self._retry_at: float | None = None
        self._failures = 0
        self._drift_at: float | None = None  # None until something was applied
        self._repair: Trigger | None = None  # a repair the probe asked for
        self._probe_at: float | None = 0.0 if probe_interval else None
        self._status_at: float | None = 0.0 if status_interval else None
        self._identity: object = _UNSET
        self._up: bool | None = None
        self._busy = False

    @property
    def idle(self) -> bool:
        """Nothing pending, nothing to retry or repair, nothing running."""
        return (
            self._pending is None
            and self._retry is None
            and self._repair is None
            and not self._busy
        )

    @property
    def failures(self) -> int:
        return self._failures

    @property
    def up(self) -> bool | None:
        """The last probe reached the daemon (None: not probed yet)."""
        return self._up

    def retry_in(self, now: float) -> float | None:
        return None if self._retry_at is None else max(0.0, self._retry_at - now)

    def submit(self, intent: NodeBGPIntent, now: float) -> None:
        if self._pending is None:
            self._first_at = now
        self._pending = intent
        self._last_at = now
        self._retry = None  # the new intent supersedes a failed one

    def _apply_due(self) -> float | None:
        if self._pending is None:
            return None
        due = min(self._last_at + self.debounce, self._first_at + self.max_delay)
        if self._retry_at is not None:  # in backoff: do not hammer a failing daemon
            due = max(due, self._retry_at)
        return due

    def _repair_due(self) -> float | None:
        if self._repair is None or self._pending is not None or self._retry is not None:
            return None  # an apply goes first; it repairs too (see ``probed``)
        return self._retry_at if self._retry_at is not None else float("-inf")

    def _take(self, action: Action) -> Action:
        self._busy = True
        return action

    def next_action(self, now: float) -> Action | None:
        if self._busy:
            return None
        due = self._apply_due()
        if due is not None and now >= due:
            intent, self._pending = self._pending, None
            return self._take(Action(ActionKind.APPLY, intent))
        if self._retry is not None and self._retry_at is not None and now >= self._retry_at:
            intent, self._retry = self._retry, None
            return self._take(Action(ActionKind.APPLY, intent, Trigger.RETRY))
        repair = self._repair_due()
        if repair is not None and now >= repair:
            assert self._repair is not None
            return self._take(Action(ActionKind.DRIFT, trigger=self._repair))
        idle = self._pending is None and self._retry is None
        if idle and self._drift_at is not None and now >= self._drift_at:
            return self._take(Action(ActionKind.DRIFT, trigger=Trigger.PERIODIC))
        if self._probe_at is not None and now >= self._probe_at:
            return self._take(Action(ActionKind.PROBE))
        if self._status_at is not None and now >= self._status_at:
            return self._take(Action(ActionKind.STATUS))
        return None

    def finished(self, action: Action, outcome: Outcome, now: float) -> None:
        self._busy = False
        if action.kind is ActionKind.PROBE:
            self._probe_at = None if self.probe_interval is None else now + self.probe_interval
            return
        if action.kind is ActionKind.STATUS:
            interval = self.status_interval
            self._status_at = None if interval is None else now + interval
            return
        if outcome is Outcome.OK:
            self._failures = 0
            self._retry_at = None
            self._drift_at = now + self.drift_interval
            self._repair = None  # an apply after ``forget`` read the daemon back, too
            return
        if outcome is Outcome.INVALID:
            # the daemon still runs the last good config; drift checks of it go on
            self._retry_at = None
            return
        self._failures += 1
        self._retry_at = now + self.backoff.delay(self._failures)
        if action.kind is ActionKind.APPLY and self._pending is None:
            self._retry = action.intent
        elif action.kind is ActionKind.DRIFT and self._drift_at is not None:
            self._drift_at = max(self._drift_at, self._retry_at)

    def probed(self, identity: Hashable | None, now: float) -> Trigger | None:
        """Record a probe (``identity`` None: unreachable). Returns the trigger when the
        daemon was replaced or came back; the caller then makes the driver forget what
        the daemon held, so the next apply or repair reads it back."""
        self.finished(Action(ActionKind.PROBE), Outcome.OK, now)
        if identity is None:
            self._up = False
            return None
        back = self._up is False
        replaced = self._identity is not _UNSET and identity != self._identity
        self._identity, self._up = identity, True
        if not (back or replaced):
            return None
        trigger = Trigger.DAEMON_RESTARTED if replaced else Trigger.DAEMON_BACK
        self._failures = 0
        if self._retry_at is not None:
            self._retry_at = now  # what waits in backoff for this daemon: at once
        if self._drift_at is not None:
            self._repair = trigger
        if self._status_at is not None:
            self._status_at = now  # sessions are down now: say so without waiting
        return trigger

    def wakeup(self, now: float) -> float | None:
        """Seconds until ``next_action`` may return something (None: only on submit)."""
        if self._busy:
            return None
        times = [t for t in (self._apply_due(), self._probe_at, self._status_at) if t is not None]
        if self._retry is not None and self._retry_at is not None:
            times.append(self._retry_at)
        if (repair := self._repair_due()) is not None:
            times.append(repair)
        elif self._pending is None and self._retry is None and self._drift_at is not None:
            times.append(self._drift_at)  # drift only counts when nothing else waits
        return max(0.0, min(times) - now) if times else None
