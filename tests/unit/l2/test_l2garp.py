"""Gratuitous-announcement schedule (orchestrator.l2.garp) in virtual time.

Matrix: at once then every interval until the burst ends; re-assertion during a burst extends
it without an extra send; re-assertion after it starts a new burst at once; withdrawal stops
sending (also with stale heap entries); refresh keeps one send per period; the per-call
limit spreads a large burst; next_due tracks the earliest live entry; invalid timings fail.
"""

from __future__ import annotations

import itertools

import pytest

from orchestrator.l2.garp import GarpSchedule, GarpTiming


def sends(schedule: GarpSchedule[str], *, until: float, step: float = 0.05) -> list[float]:
    """Times (rounded) at which key 'a' was due, stepping a virtual clock from 0."""
    out: list[float] = []
    steps = int(until / step) + 1
    for i in range(steps):
        now = i * step
        out.extend(round(now, 2) for key in schedule.pop_due(now) if key == "a")
    return out


def test_burst_is_immediate_then_every_interval_for_five_seconds() -> None:
    s: GarpSchedule[str] = GarpSchedule()
    s.announce("a", 0.0)
    assert s.next_due() == 0.0
    assert sends(s, until=20) == [0.0, 1.1, 2.2, 3.3, 4.4]
    assert "a" not in s and s.next_due() is None


def test_sends_are_never_closer_than_the_interval() -> None:
    s: GarpSchedule[str] = GarpSchedule()
    s.announce("a", 0.0)
    times = sends(s, until=6, step=0.3)  # a coarse clock makes every send late
    assert all(b - a >= 1.1 - 1e-9 for a, b in itertools.pairwise(times))


def test_reassert_during_burst_extends_it_without_an_extra_send() -> None:
    s: GarpSchedule[str] = GarpSchedule()
    s.announce("a", 0.0)
    assert s.pop_due(0.0) == ["a"]
    assert s.pop_due(1.1) == ["a"]
    s.announce("a", 1.5)  # the burst now ends at 6.5
    assert s.pop_due(1.5) == []
    times = [t / 100 for t in range(160, 800, 5) if s.pop_due(t / 100)]
    assert len(times) == 4 and times[0] == 2.2 and 5.5 <= times[-1] <= 6.5


def test_reassert_after_burst_sends_at_once() -> None:
    s: GarpSchedule[str] = GarpSchedule()
    s.announce("a", 0.0)
    sends(s, until=6)
    s.announce("a", 10.0)
    assert s.pop_due(10.0) == ["a"]


def test_withdraw_stops_sending() -> None:
    s: GarpSchedule[str] = GarpSchedule()
    s.announce("a", 0.0)
    s.announce("b", 0.0)
    assert sorted(s.pop_due(0.0)) == ["a", "b"]
    s.withdraw("a")
    assert s.pop_due(1.1) == ["b"]
    assert "a" not in s and len(s) == 1


def test_withdraw_then_announce_does_not_double_send() -> None:
    s: GarpSchedule[str] = GarpSchedule()
    s.announce("a", 0.0)
    s.pop_due(0.0)
    s.withdraw("a")
    s.announce("a", 0.5)  # the stale entry due at 1.1 must not fire as well
    assert s.pop_due(0.5) == ["a"]
    assert s.pop_due(1.1) == []
    assert s.pop_due(1.6) == ["a"]


def test_refresh_keeps_announcing_until_withdrawn() -> None:
    s: GarpSchedule[str] = GarpSchedule(GarpTiming(refresh=30.0))
    s.announce("a", 0.0)
    times = sends(s, until=100, step=0.1)
    assert times == [0.0, 1.1, 2.2, 3.3, 4.4, 34.4, 64.4, 94.4]
    s.withdraw("a")
    assert s.next_due() is None


def test_limit_spreads_a_large_burst() -> None:
    s: GarpSchedule[int] = GarpSchedule()
    for key in range(100):
        s.announce(key, 0.0)
    first = s.pop_due(0.0, limit=32)
    assert len(first) == 32
    rest = s.pop_due(0.01)
    assert len(rest) == 68 and not set(first) & set(rest)


def test_next_due_skips_stale_entries() -> None:
    s: GarpSchedule[str] = GarpSchedule()
    s.announce("a", 0.0)
    s.announce("b", 0.5)
    s.withdraw("a")
    assert s.next_due() == 0.5


@pytest.mark.parametrize(
    "kwargs", [{"interval": 0.0}, {"burst": -1.0}, {"refresh": 0.0}, {"refresh": -5.0}]
)
def test_invalid_timing(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        GarpTiming(**kwargs)
