"""Routing scheduling (orchestrator.routing.scheduler) in virtual time.

Matrix: a burst coalesces into one apply of the latest intent (debounce, bounded by
max_delay); one action at a time; failures retry with exponential backoff up to a cap, a
newer intent supersedes the failed one but still waits out the backoff; invalid input is
not retried; drift checks run periodically after a success, never while a retry waits;
probes and status reads run on their own timers; a probe that sees the daemon replaced or
back cuts the backoff short and asks for a repair once something was applied, and a
repair that fails is retried with backoff.
"""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.backoff import Backoff
from orchestrator.core.bgp.intent import EMPTY_INTENT, NodeBGPIntent
from orchestrator.routing.scheduler import Action, ActionKind, Outcome, Scheduler, Trigger


def sched(**kw: Any) -> Scheduler:
    """A scheduler without probes and status reads, unless a test asks for them."""
    return Scheduler(**{"probe_interval": None, "status_interval": None, **kw})


def intent(n: int) -> NodeBGPIntent:
    return EMPTY_INTENT.__class__(**{**EMPTY_INTENT.__dict__, "node": f"v{n}"})


def test_burst_coalesces_into_one_apply_of_the_latest() -> None:
    s = sched(debounce=0.1, max_delay=1.0, drift_interval=10)
    for i in range(5):
        s.submit(intent(i), now=i * 0.01)
    assert s.next_action(0.05) is None
    assert s.wakeup(0.05) == pytest.approx(0.09)  # 0.1 after the last submit (at 0.04)
    action = s.next_action(0.2)
    assert action == Action(ActionKind.APPLY, intent(4))
    assert s.next_action(0.2) is None  # busy: never two at once
    s.finished(action, Outcome.OK, now=0.3)
    assert s.idle


def test_max_delay_bounds_an_endless_burst() -> None:
    s = sched(debounce=0.1, max_delay=0.5)
    t = 0.0
    s.submit(intent(0), now=t)
    action = None
    while action is None:
        t += 0.05
        s.submit(intent(int(t * 100)), now=t)
        action = s.next_action(t)
    assert t < 0.5 + 0.05 + 1e-9  # the first check at or after max_delay


def test_transient_failures_back_off_exponentially_with_a_cap() -> None:
    s = sched(debounce=0, backoff=Backoff(initial=0.5, factor=2, maximum=2.0))
    s.submit(intent(1), now=0)
    now = 0.0
    delays = []
    for _ in range(5):
        action = s.next_action(now)
        assert action is not None and action.intent == intent(1)
        s.finished(action, Outcome.FAILED, now)
        wait = s.wakeup(now)
        assert wait is not None
        delays.append(wait)
        assert s.next_action(now + wait - 0.01) is None
        now += wait
    assert delays == [0.5, 1.0, 2.0, 2.0, 2.0]
    assert s.failures == 5
    action = s.next_action(now)
    assert action is not None
    s.finished(action, Outcome.OK, now)
    assert s.failures == 0 and s.idle


def test_newer_intent_supersedes_a_failed_one_after_the_backoff() -> None:
    s = sched(debounce=0, backoff=Backoff(initial=1.0))
    s.submit(intent(1), now=0)
    action = s.next_action(0)
    assert action is not None
    s.finished(action, Outcome.FAILED, now=0)
    s.submit(intent(2), now=0.1)
    assert s.next_action(0.5) is None  # still backing off
    assert s.next_action(1.0) == Action(ActionKind.APPLY, intent(2))


def test_invalid_input_is_not_retried() -> None:
    s = sched(debounce=0, drift_interval=5)
    s.submit(intent(1), now=0)
    action = s.next_action(0)
    assert action is not None
    s.finished(action, Outcome.INVALID, now=0)
    assert s.idle and s.next_action(100) is None and s.wakeup(100) is None


def test_drift_checks_follow_a_success() -> None:
    s = sched(debounce=0, drift_interval=5)
    assert s.next_action(100) is None  # nothing applied yet: nothing to check
    s.submit(intent(1), now=0)
    action = s.next_action(0)
    assert action is not None
    s.finished(action, Outcome.OK, now=1)
    assert s.next_action(5.9) is None
    drift = s.next_action(6)
    assert drift == Action(ActionKind.DRIFT, trigger=Trigger.PERIODIC)
    s.finished(drift, Outcome.FAILED, now=6)
    assert s.next_action(6.4) is None
    assert s.next_action(6.5) == Action(ActionKind.DRIFT, trigger=Trigger.PERIODIC)


def test_no_drift_check_while_a_retry_waits() -> None:
    s = sched(debounce=0, drift_interval=1, backoff=Backoff(initial=5.0))
    s.submit(intent(1), now=0)
    first = s.next_action(0)
    assert first is not None
    s.finished(first, Outcome.OK, now=0)
    s.submit(intent(2), now=0.5)
    second = s.next_action(0.5)
    assert second is not None
    s.finished(second, Outcome.FAILED, now=0.5)
    # drift was due at 1.0, but a retry toward the newer intent is pending until 5.5
    assert s.next_action(2.0) is None
    assert s.wakeup(2.0) == pytest.approx(3.5)  # sleeps until the retry, no busy loop
    assert s.next_action(5.5) == Action(ActionKind.APPLY, intent(2), Trigger.RETRY)


def _applied(s: Scheduler, now: float = 0.0) -> None:
    s.submit(intent(1), now=now)
    action = s.next_action(now)
    assert action is not None and action.kind is ActionKind.APPLY
    s.finished(action, Outcome.OK, now)


def test_probes_and_status_reads_keep_their_own_timers() -> None:
    s = Scheduler(debounce=0, probe_interval=1.0, status_interval=5.0, drift_interval=100)
    assert s.next_action(0) == Action(ActionKind.PROBE)
    assert s.next_action(0) is None  # one action at a time
    assert s.probed("a", now=0) is None and s.up is True
    assert s.next_action(0) == Action(ActionKind.STATUS)
    s.finished(Action(ActionKind.STATUS), Outcome.OK, now=0)
    assert s.wakeup(0) == pytest.approx(1.0)
    kinds = []
    for t in (1.0, 2.0, 3.0, 4.0, 4.9, 5.0):
        while (action := s.next_action(t)) is not None:
            kinds.append((t, action.kind))
            if action.kind is ActionKind.PROBE:
                s.probed("a", now=t)
            else:
                s.finished(action, Outcome.OK, now=t)
    assert kinds == [
        (1.0, ActionKind.PROBE),
        (2.0, ActionKind.PROBE),
        (3.0, ActionKind.PROBE),
        (4.0, ActionKind.PROBE),
        (5.0, ActionKind.PROBE),
        (5.0, ActionKind.STATUS),
    ]


def test_a_replaced_daemon_is_repaired_at_once() -> None:
    s = sched(debounce=0, drift_interval=10, probe_interval=1.0)
    _applied(s)
    assert s.next_action(0) == Action(ActionKind.PROBE)
    assert s.probed("pid-1", now=0) is None
    assert s.next_action(1.0) == Action(ActionKind.PROBE)
    assert s.probed("pid-2", now=1.0) is Trigger.DAEMON_RESTARTED
    assert not s.idle
    # not at the periodic check (t = 10), now
    assert s.next_action(1.0) == Action(ActionKind.DRIFT, trigger=Trigger.DAEMON_RESTARTED)
    s.finished(Action(ActionKind.DRIFT, trigger=Trigger.DAEMON_RESTARTED), Outcome.OK, 1.1)
    assert s.idle and s.next_action(1.1) is None


def test_a_daemon_that_comes_back_cuts_the_backoff_short() -> None:
    s = sched(debounce=0, probe_interval=1.0, backoff=Backoff(initial=8.0))
    _applied(s)
    s.next_action(0)
    s.probed("pid-1", now=0)
    assert s.next_action(1.0) == Action(ActionKind.PROBE)
    assert s.probed(None, now=1.0) is None and s.up is False  # killed
    s.submit(intent(2), now=1.2)
    apply = s.next_action(1.2)
    assert apply == Action(ActionKind.APPLY, intent(2))
    s.finished(apply, Outcome.FAILED, now=1.3)  # unavailable: backoff 8 s
    assert s.retry_in(1.3) == pytest.approx(8.0)
    assert s.next_action(2.3) == Action(ActionKind.PROBE)
    # started again with the same identity (nothing to tell it apart but the outage)
    assert s.probed("pid-1", now=2.3) is Trigger.DAEMON_BACK
    assert s.next_action(2.3) == Action(ActionKind.APPLY, intent(2), Trigger.RETRY)


def test_no_repair_before_anything_was_applied() -> None:
    s = sched(probe_interval=1.0)
    s.next_action(0)
    s.probed("a", now=0)
    s.next_action(1.0)
    assert s.probed("b", now=1.0) is Trigger.DAEMON_RESTARTED
    assert s.idle and s.next_action(1.0) is None  # nothing to repair toward yet


def test_a_failed_repair_is_retried_with_backoff() -> None:
    s = sched(debounce=0, drift_interval=10, probe_interval=None, backoff=Backoff(initial=2.0))
    _applied(s)
    assert s.probed("a", now=0) is None
    assert s.probed("b", now=1) is Trigger.DAEMON_RESTARTED
    repair = s.next_action(1)
    assert repair == Action(ActionKind.DRIFT, trigger=Trigger.DAEMON_RESTARTED)
    s.finished(repair, Outcome.FAILED, now=1)
    assert s.next_action(2.9) is None and s.wakeup(2.9) == pytest.approx(0.1)
    assert s.next_action(3.0) == repair
