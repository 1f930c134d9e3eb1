"""Sticky allocation (docs/design.md §1, MetalLB issue #2723): a freed IP is handed out again
only when its pool has no never-used address left, and deleting a Service moves nobody else.

Matrix: freed by (deletion between reconciles / deletion and creation in one reconcile /
request change in the same reconcile / type change) x pool state (never-used left / only
retired left, oldest first) x cursor (wrap-around, multiple CIDRs in spec order, restart,
pool edited).
"""

from __future__ import annotations

from orchestrator.core.alloc.allocator import Allocator
from tests.unit.core.alloc.test_allocator_support import (
    ips,
    plus,
    pool,
    run,
    snap,
    svc,
    without,
    written,
)

P = pool("p", "192.0.2.0/29")  # 8 addresses


def test_deleted_ip_is_not_reused_while_never_used_ones_remain() -> None:
    alloc = Allocator()
    s = snap([svc("a"), svc("b"), svc("c")], pools=[P])
    first = run(s, alloc)
    assert [ips(first, f"demo/{n}")[0] for n in "abc"] == ["192.0.2.0", "192.0.2.1", "192.0.2.2"]
    s = written(s, first)
    second = run(plus(without(s, "demo/a"), svc("d")), alloc)
    assert ips(second, "demo/b") == ["192.0.2.1"] and ips(second, "demo/c") == ["192.0.2.2"]
    assert ips(second, "demo/d") == ["192.0.2.3"]
    assert (first.pools["p"].ipv4_in_use, second.pools["p"].ipv4_in_use) == (3, 3)


def test_deletion_between_reconciles_then_creation() -> None:
    alloc = Allocator()
    s = snap([svc("a"), svc("b")], pools=[P])
    s = written(s, run(s, alloc))
    s = written(without(s, "demo/a"), run(without(s, "demo/a"), alloc))
    third = run(plus(s, svc("c")), alloc)
    assert ips(third, "demo/c") == ["192.0.2.2"]


def test_retired_ips_come_back_oldest_first_once_the_pool_is_used_up() -> None:
    alloc = Allocator()
    s = snap([svc(f"s{i}") for i in range(8)], pools=[P])
    s = written(s, run(s, alloc))
    s = written(without(s, "demo/s5"), run(without(s, "demo/s5"), alloc))
    s = written(without(s, "demo/s2"), run(without(s, "demo/s2"), alloc))
    result = run(plus(s, svc("x"), svc("y")), alloc)
    assert ips(result, "demo/x") == ["192.0.2.5"]  # freed first
    assert ips(result, "demo/y") == ["192.0.2.2"]


def test_cursor_wraps_around_to_never_used_addresses_first() -> None:
    # After a restart with .6 in use, the cursor starts at .7, then wraps to .0.
    s = snap([svc("old", status=["192.0.2.6"]), svc("a"), svc("b"), svc("c")], pools=[P])
    result = run(s)
    assert [ips(result, f"demo/{n}")[0] for n in "abc"] == ["192.0.2.7", "192.0.2.0", "192.0.2.1"]


def test_cidrs_are_walked_in_spec_order() -> None:
    p = pool("p", "198.51.100.8/31", "192.0.2.0/31")
    result = run(snap([svc(f"s{i}") for i in range(4)], pools=[p]))
    got = [ips(result, f"demo/s{i}")[0] for i in range(4)]
    assert got == ["198.51.100.8", "198.51.100.9", "192.0.2.0", "192.0.2.1"]


def test_ip_released_by_a_request_change_is_not_handed_to_another_service() -> None:
    alloc = Allocator()
    s = snap([svc("a"), svc("b")], pools=[P])
    s = written(s, run(s, alloc))
    # "a" now asks for .5: its old .0 is released in the same reconcile "c" is created in.
    changed = [svc("a", ips=["192.0.2.5"], status=["192.0.2.0"]), svc("b", status=["192.0.2.1"])]
    result = run(plus(snap(changed, pools=[P]), svc("c")), alloc)
    assert ips(result, "demo/a") == ["192.0.2.5"]
    assert ips(result, "demo/c") == ["192.0.2.2"]


def test_type_change_release_is_retired() -> None:
    alloc = Allocator()
    s = snap([svc("a"), svc("b")], pools=[P])
    s = written(s, run(s, alloc))
    s2 = snap([svc("a", type="NodePort", status=["192.0.2.0"]), svc("b", status=["192.0.2.1"])])
    s2 = plus(snap(list(s2.services), pools=[P]), svc("c"))
    result = run(s2, alloc)
    assert result.outcomes["demo/a"].assignment is None
    assert ips(result, "demo/c") == ["192.0.2.2"]


def test_pool_edit_keeps_everybody_and_retired_history() -> None:
    alloc = Allocator()
    s = snap([svc("a"), svc("b")], pools=[P])
    s = written(s, run(s, alloc))
    s = written(without(s, "demo/a"), run(without(s, "demo/a"), alloc))
    bigger = pool("p", "192.0.2.0/29", "198.51.100.0/30")
    s = snap(list(s.services), pools=[bigger])
    result = run(plus(s, svc("c")), alloc)
    assert ips(result, "demo/b") == ["192.0.2.1"]
    assert ips(result, "demo/c") == ["192.0.2.2"]  # not .0: it was freed


def test_deleting_a_service_moves_nobody_else() -> None:
    alloc = Allocator()
    services = [
        svc(f"s{i}", key="k" if i % 3 == 0 else None, ports=(("TCP", i),)) for i in range(6)
    ]
    s = snap(services, pools=[P])
    first = run(s, alloc)
    s = written(s, first)
    for gone in ("demo/s0", "demo/s3", "demo/s4"):
        result = run(without(s, gone), alloc)
        for key, outcome in result.outcomes.items():
            assert outcome.ips == first.outcomes[key].ips
