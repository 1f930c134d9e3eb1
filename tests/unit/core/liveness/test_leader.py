"""Leader election decisions in virtual time: create, renew, wait while the holder renews,
take over only after it stopped for its duration, and never two leaders at once (a leader
gives up a margin before anyone may take over)."""

from orchestrator.core.liveness.leader import Action, LeaderElector, LeaderLease


def lease(holder: str, token: int, duration: float = 15.0) -> LeaderLease:
    return LeaderLease(holder=holder, token=str(token), duration=duration)


def test_create_renew_and_wait() -> None:
    a, b = LeaderElector("a"), LeaderElector("b")
    assert a.next_action(None, 0.0) is Action.CREATE
    a.written(0.0)
    assert a.is_leader(1.0)
    assert a.next_action(lease("a", 1), 5.0) is Action.RENEW
    assert b.next_action(lease("a", 1), 5.0) is Action.WAIT
    assert b.next_action(lease("a", 2), 12.0) is Action.WAIT  # renewed: the clock restarts
    assert b.next_action(lease("a", 2), 26.9) is Action.WAIT
    assert b.next_action(lease("a", 2), 27.0) is Action.TAKE_OVER


def test_a_stalled_leader_stops_before_the_takeover() -> None:
    a, b = LeaderElector("a"), LeaderElector("b")
    a.written(0.0)  # a's last successful renewal; then a stalls
    b.next_action(lease("a", 1), 0.0)
    for step in range(0, 400):
        now = step * 0.1
        takeover = b.next_action(lease("a", 1), now) is Action.TAKE_OVER
        if takeover:
            b.written(now)
        assert not (a.is_leader(now) and b.is_leader(now)), now
    assert b.is_leader(39.9) and not a.is_leader(39.9)


def test_a_refused_write_means_not_leader() -> None:
    a = LeaderElector("a")
    a.written(0.0)
    a.lost()
    assert not a.is_leader(0.1)
