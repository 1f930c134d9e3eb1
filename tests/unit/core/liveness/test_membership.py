"""Lease liveness judged on the observer's clock: fresh while the lease keeps changing,
dead once it stops changing for its duration, dead at once when deleted."""

from orchestrator.core.liveness.leases import LeaseRecord, LeaseTracker


def lease(node: str, token: int, duration: float = 2.0) -> LeaseRecord:
    return LeaseRecord(node=node, token=str(token), duration=duration)


def test_a_renewing_lease_stays_live_and_a_stopped_one_expires() -> None:
    t = LeaseTracker()
    assert t.observe([lease("a", 1), lease("b", 1)], now=100.0) == {"a", "b"}
    assert t.observe([lease("a", 2), lease("b", 1)], now=101.5) == {"a", "b"}
    # b stopped renewing at 100.0; a renewed at 101.5
    assert t.observe([lease("a", 3), lease("b", 1)], now=102.1) == {"a"}
    assert t.expires_in(102.1) == 2.0


def test_deleted_lease_is_dead_immediately_and_comes_back_on_renewal() -> None:
    t = LeaseTracker()
    t.observe([lease("a", 1)], now=0.0)
    assert t.observe([], now=0.1) == frozenset()
    assert t.observe([lease("a", 1)], now=0.2) == {"a"}  # reappearing counts as a change


def test_the_renew_token_not_the_clock_decides() -> None:
    # a lease observed for the first time late is fresh from the observer's point of view
    t = LeaseTracker()
    assert t.observe([lease("a", 7, duration=1.0)], now=5000.0) == {"a"}
    assert t.observe([lease("a", 7, duration=1.0)], now=5000.99) == {"a"}
    assert t.observe([lease("a", 7, duration=1.0)], now=5001.0) == frozenset()


def test_a_stale_now_never_stamps_a_renewal_in_the_past() -> None:
    # a caller that read its clock before a slow load passes an older ``now``: the renewal
    # counts as seen at the latest moment already observed, so it cannot look expired
    t = LeaseTracker()
    t.observe([lease("a", 1)], now=110.0)
    assert t.observe([lease("a", 2)], now=100.0) == {"a"}
    assert t.observe([lease("a", 2)], now=111.5) == {"a"}
    assert t.observe([lease("a", 2)], now=112.0) == frozenset()
