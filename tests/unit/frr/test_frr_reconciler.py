"""Apply scheduling (frr.reconciler) in virtual time, and the worker thread briefly.

Matrix: a burst coalesces into one apply of the latest intent (debounce, bounded by
max_delay); one action at a time; transient failures retry with exponential backoff up to
a cap, a newer intent supersedes the failed one but still waits out the backoff; invalid
input is not retried; drift checks run periodically after a success; the thread applies,
coalesces and survives a backend bug.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from frr.errors import ConversionError, VtyshUnavailable
from frr.reconciler import Action, ActionKind, Backoff, FrrReconciler, Outcome, Scheduler
from orchestrator.core.bgp.intent import EMPTY_INTENT, NodeBGPIntent


def intent(n: int) -> NodeBGPIntent:
    return EMPTY_INTENT.__class__(**{**EMPTY_INTENT.__dict__, "node": f"v{n}"})


def test_burst_coalesces_into_one_apply_of_the_latest() -> None:
    s = Scheduler(debounce=0.1, max_delay=1.0, drift_interval=10)
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
    s = Scheduler(debounce=0.1, max_delay=0.5)
    t = 0.0
    s.submit(intent(0), now=t)
    action = None
    while action is None:
        t += 0.05
        s.submit(intent(int(t * 100)), now=t)
        action = s.next_action(t)
    assert t < 0.5 + 0.05 + 1e-9  # the first check at or after max_delay


def test_transient_failures_back_off_exponentially_with_a_cap() -> None:
    s = Scheduler(debounce=0, backoff=Backoff(initial=0.5, factor=2, maximum=2.0))
    s.submit(intent(1), now=0)
    now = 0.0
    delays = []
    for _ in range(5):
        action = s.next_action(now)
        assert action is not None and action.intent == intent(1)
        s.finished(action, Outcome.TRANSIENT, now)
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
    s = Scheduler(debounce=0, backoff=Backoff(initial=1.0))
    s.submit(intent(1), now=0)
    action = s.next_action(0)
    assert action is not None
    s.finished(action, Outcome.TRANSIENT, now=0)
    s.submit(intent(2), now=0.1)
    assert s.next_action(0.5) is None  # still backing off
    assert s.next_action(1.0) == Action(ActionKind.APPLY, intent(2))


def test_invalid_input_is_not_retried() -> None:
    s = Scheduler(debounce=0, drift_interval=5)
    s.submit(intent(1), now=0)
    action = s.next_action(0)
    assert action is not None
    s.finished(action, Outcome.INVALID, now=0)
    assert s.idle and s.next_action(100) is None and s.wakeup(100) is None


def test_drift_checks_follow_a_success() -> None:
    s = Scheduler(debounce=0, drift_interval=5)
    assert s.next_action(100) is None  # nothing applied yet: nothing to check
    s.submit(intent(1), now=0)
    action = s.next_action(0)
    assert action is not None
    s.finished(action, Outcome.OK, now=1)
    assert s.next_action(5.9) is None
    drift = s.next_action(6)
    assert drift == Action(ActionKind.DRIFT)
    s.finished(drift, Outcome.TRANSIENT, now=6)
    assert s.next_action(6.4) is None
    assert s.next_action(6.5) == Action(ActionKind.DRIFT)


class FakeBackend:
    def __init__(self) -> None:
        self.applied: list[NodeBGPIntent] = []
        self.gate = threading.Event()
        self.fail: list[Exception] = []
        self.drift_checks = 0

    def apply(self, intent: NodeBGPIntent) -> None:
        self.gate.wait(5)
        if self.fail:
            raise self.fail.pop(0)
        self.applied.append(intent)

    def check_drift(self) -> Any:
        self.drift_checks += 1

    def status(self) -> tuple[()]:
        return ()


def test_thread_applies_latest_and_survives_errors() -> None:
    backend = FakeBackend()
    rec = FrrReconciler(
        backend,  # type: ignore[arg-type]
        scheduler=Scheduler(debounce=0.0, drift_interval=0.05, backoff=Backoff(initial=0.01)),
    )
    rec.start()
    try:
        rec.submit(intent(1))  # picked up at once, blocks on the gate
        for i in range(2, 20):
            rec.submit(intent(i))
        backend.fail = [VtyshUnavailable("down"), RuntimeError("bug")]
        backend.gate.set()
        assert rec.wait_idle(5)
        assert backend.applied[-1] == intent(19)
        assert len(backend.applied) <= 2  # the burst coalesced behind the first apply
        backend.fail = [ConversionError(["bad"])]
        rec.submit(intent(30))
        assert rec.wait_idle(5)
        assert backend.applied[-1] == intent(19)  # invalid input kept the last good one
        deadline = time.monotonic() + 5
        while backend.drift_checks == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert backend.drift_checks >= 1  # drift checks of the last good config go on
    finally:
        rec.stop()


def test_no_drift_check_while_a_retry_waits() -> None:
    s = Scheduler(debounce=0, drift_interval=1, backoff=Backoff(initial=5.0))
    s.submit(intent(1), now=0)
    first = s.next_action(0)
    assert first is not None
    s.finished(first, Outcome.OK, now=0)
    s.submit(intent(2), now=0.5)
    second = s.next_action(0.5)
    assert second is not None
    s.finished(second, Outcome.TRANSIENT, now=0.5)
    # drift was due at 1.0, but a retry toward the newer intent is pending until 5.5
    assert s.next_action(2.0) is None
    assert s.wakeup(2.0) == pytest.approx(3.5)  # sleeps until the retry, no busy loop
    assert s.next_action(5.5) == Action(ActionKind.APPLY, intent(2))
