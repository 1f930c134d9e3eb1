"""Restore first (docs/design.md §1): status IPs come back before anything new is handed out.

Matrix: status IP (still valid / pool gone / pool shrunk / pool no longer allowed / other
family) x request (unchanged / explicit IPs changed / pool annotation changed) x order
(assigned before pending, more IPs first) x families (SingleStack shrink, PreferDual and
RequireDual completion) x status conflicts between Services.
"""

from __future__ import annotations

from orchestrator.core.alloc.allocator import Allocator, allocate
from orchestrator.core.alloc.result import EventKind, Reason
from orchestrator.core.model.cluster import IPFamilyPolicy, ServiceAllocation
from tests.unit.core.alloc.test_allocator_support import ips, plus, pool, run, snap, svc, written

P = pool("p", "192.0.2.0/28")


def test_status_ips_are_kept_and_nothing_changes() -> None:
    s = snap([svc("web", status=["192.0.2.9"], allocated_pool="p")], pools=[P])
    outcome = allocate(s).outcomes["demo/web"]
    assert outcome.ok and outcome.ips == ("192.0.2.9",)
    assert not outcome.changed and outcome.events == ()


def test_assigned_services_are_restored_before_pending_ones() -> None:
    # "a-new" sorts first and asks for the IP "z-old" already shows in its status.
    s = snap(
        [svc("a-new", ips=["192.0.2.0"]), svc("b-auto"), svc("z-old", status=["192.0.2.0"])],
        pools=[P],
    )
    result = allocate(s)
    assert ips(result, "demo/z-old") == ["192.0.2.0"]
    outcome = result.outcomes["demo/a-new"]
    assert outcome.reason is Reason.SHARING_CONFLICT
    assert "demo/z-old" in outcome.message
    # After a restart the cursor continues after the highest IP in use, not at the bottom.
    assert ips(result, "demo/b-auto") == ["192.0.2.1"]


def test_cursor_is_rebuilt_after_the_highest_ip_in_use() -> None:
    s = snap([svc("old", status=["192.0.2.9"]), svc("new")], pools=[P])
    assert ips(allocate(s), "demo/new") == ["192.0.2.10"]


def test_more_ips_first_wins_a_status_conflict() -> None:
    both = pool("both", "192.0.2.0/28", "2001:db8::/124")
    dual = svc(
        "z-dual",
        policy=IPFamilyPolicy.REQUIRE_DUAL,
        families=(4, 6),
        status=["192.0.2.3", "2001:db8::3"],
    )
    single = svc("a-single", status=["192.0.2.3"])
    result = allocate(snap([single, dual], pools=[both]))
    assert ips(result, "demo/z-dual") == ["192.0.2.3", "2001:db8::3"]
    outcome = result.outcomes["demo/a-single"]
    assert outcome.ips != ("192.0.2.3",) and outcome.ok and outcome.changed
    kinds = [e.kind for e in outcome.events]
    assert kinds == [EventKind.CLEAR_ASSIGNMENT, EventKind.IP_ALLOCATED]
    assert "sharing conflict with demo/z-dual" in outcome.events[0].message


def test_explicit_ips_changed_clears_and_reallocates() -> None:
    s = snap([svc("web", ips=["192.0.2.5"], status=["192.0.2.4"])], pools=[P])
    outcome = allocate(s).outcomes["demo/web"]
    assert outcome.ips == ("192.0.2.5",) and outcome.changed
    assert outcome.events[0].kind is EventKind.CLEAR_ASSIGNMENT
    assert "requested IPs changed" in outcome.events[0].message


def test_pool_annotation_changed_clears_and_reallocates() -> None:
    q = pool("q", "198.51.100.0/30")
    s = snap([svc("web", pool="q", status=["192.0.2.4"], allocated_pool="p")], pools=[P, q])
    a = allocate(s).assignment("demo/web")
    assert a is not None and a.pool == "q"


def test_pool_annotation_removed_keeps_the_ip() -> None:
    manual = pool("manual", "198.51.100.0/30", auto_assign=False)
    s = snap([svc("web", status=["198.51.100.2"], allocated_pool="manual")], pools=[P, manual])
    a = allocate(s).assignment("demo/web")
    assert a is not None and a.pool == "manual" and [str(i) for i in a.ips] == ["198.51.100.2"]


def test_ip_in_no_pool_any_more_is_released_and_reallocated() -> None:
    shrunk = pool("p", "192.0.2.0/29")
    s = snap([svc("web", status=["192.0.2.12"], allocated_pool="p")], pools=[shrunk])
    outcome = allocate(s).outcomes["demo/web"]
    assert outcome.ok and outcome.ips == ("192.0.2.0",)
    assert "no longer in any pool" in outcome.events[0].message


def test_recorded_pool_is_only_a_hint() -> None:
    q = pool("q", "198.51.100.0/30")
    s = snap([svc("web", status=["198.51.100.1"], allocated_pool="p")], pools=[P, q])
    a = allocate(s).assignment("demo/web")
    assert a is not None and a.pool == "q"


def test_pool_no_longer_allowed_for_the_namespace() -> None:
    team = pool("team", "192.0.2.0/28", allocation=ServiceAllocation(namespaces=frozenset({"x"})))
    q = pool("q", "198.51.100.0/30")
    s = snap([svc("web", status=["192.0.2.1"])], pools=[team, q])
    a = allocate(s).assignment("demo/web")
    assert a is not None and a.pool == "q"


def test_single_stack_keeps_its_primary_family_ip() -> None:
    both = pool("both", "192.0.2.0/28", "2001:db8::/124")
    s = snap([svc("web", status=["2001:db8::1", "192.0.2.1"])], pools=[both])
    outcome = allocate(s).outcomes["demo/web"]
    assert outcome.ips == ("192.0.2.1",) and outcome.changed
    assert "families changed" in outcome.events[0].message


def test_family_changed_reallocates() -> None:
    both = pool("both", "192.0.2.0/28", "2001:db8::/124")
    s = snap([svc("web", families=(6,), status=["192.0.2.1"])], pools=[both])
    assert allocate(s).outcomes["demo/web"].ips == ("2001:db8::",)


def test_prefer_dual_stack_adds_the_missing_family_from_the_same_pool() -> None:
    pools = [
        pool("a", "198.51.100.0/30", "2001:db8:1::/124"),
        pool("both", "192.0.2.0/28", "2001:db8::/124"),
    ]
    web = svc("web", policy=IPFamilyPolicy.PREFER_DUAL, families=(4, 6), status=["192.0.2.1"])
    a = allocate(snap([web], pools=pools)).assignment("demo/web")
    assert a is not None and a.pool == "both"
    assert [str(i) for i in a.ips] == ["192.0.2.1", "2001:db8::"]


def test_prefer_dual_stack_keeps_one_ip_when_its_pool_has_no_other_family() -> None:
    pools = [P, pool("b", "198.51.100.0/30", "2001:db8::/124")]
    web = svc("web", policy=IPFamilyPolicy.PREFER_DUAL, families=(4, 6), status=["192.0.2.1"])
    outcome = allocate(snap([web], pools=pools)).outcomes["demo/web"]
    assert outcome.ips == ("192.0.2.1",) and outcome.reason is None and not outcome.changed


def test_require_dual_stack_moves_when_its_pool_cannot_complete() -> None:
    pools = [P, pool("b", "198.51.100.0/30", "2001:db8::/124")]
    web = svc("web", policy=IPFamilyPolicy.REQUIRE_DUAL, families=(4, 6), status=["192.0.2.1"])
    outcome = allocate(snap([web], pools=pools)).outcomes["demo/web"]
    assert outcome.ips == ("198.51.100.0", "2001:db8::") and outcome.ok
    assert "RequireDualStack" in outcome.events[0].message


def test_restore_from_status_reproduces_the_allocation() -> None:
    pools = [P, pool("b", "198.51.100.0/30", "2001:db8::/124")]
    services = [
        svc("a"),
        svc("b", policy=IPFamilyPolicy.REQUIRE_DUAL, families=(6, 4)),
        svc("c", ips=["192.0.2.7"]),
        svc("d", pool="b"),
    ]
    first = allocate(snap(services, pools=pools))
    again = allocate(written(snap(services, pools=pools), first))
    assert again.assignments() == first.assignments()
    assert not any(o.changed for o in again.outcomes.values())
    assert again.events == ()


def test_pending_status_write_does_not_change_the_decision() -> None:
    # The controller could not write status yet: the same Allocator decides the same IPs
    # even though the next snapshot still shows none.
    alloc = Allocator()
    s = snap([svc("a"), svc("b")], pools=[P])
    first = run(s, alloc)
    s2 = plus(snap([svc("b"), svc("a")], pools=[P]), svc("0-new"))
    second = run(s2, alloc)
    assert ips(second, "demo/a") == ips(first, "demo/a")
    assert ips(second, "demo/b") == ips(first, "demo/b")
    assert ips(second, "demo/0-new") == ["192.0.2.2"]
