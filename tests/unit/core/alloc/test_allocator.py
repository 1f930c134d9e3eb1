"""Allocation for plain (class-less) Services: which Services, pool order, explicit IPs, the
pool annotation, dual-stack policies, avoidBuggyIPs, failures with reasons, events, counters.

Matrix: type (LoadBalancer / other) x request (none / pool / IPs / pool+IPs) x pool
(autoAssign, serviceAllocation: namespaces, namespaceSelectors, serviceSelectors, priority;
class pool) x ipFamilyPolicy (Single v4/v6, PreferDual, RequireDual) x avoidBuggyIPs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from ipaddress import ip_address

from orchestrator.core.alloc.allocator import allocate
from orchestrator.core.alloc.result import MAX_INT64, EventKind, Reason
from orchestrator.core.model.cluster import IPFamilyPolicy, ServiceAllocation
from orchestrator.core.model.errors import FieldError
from orchestrator.core.model.selectors import LabelSelector
from tests.unit.core.alloc.test_allocator_support import ips, mlbc, pool, snap, svc

DUAL = IPFamilyPolicy.REQUIRE_DUAL
PREFER = IPFamilyPolicy.PREFER_DUAL


def only(namespaces: set[str] | None = None, priority: int = 0) -> ServiceAllocation:
    return ServiceAllocation(priority=priority, namespaces=frozenset(namespaces or ()))


# --------------------------------------------------------------------------- which Services


def test_not_a_load_balancer_gets_nothing_and_releases_its_ips() -> None:
    s = snap(
        [svc("web", type="ClusterIP", status=["192.0.2.0"]), svc("api")],
        pools=[pool("p", "192.0.2.0/30")],
    )
    result = allocate(s)
    web = result.outcomes["demo/web"]
    assert web.reason is Reason.NOT_LOAD_BALANCER and web.assignment is None
    assert web.changed and web.decided
    assert [e.kind for e in web.events] == [EventKind.CLEAR_ASSIGNMENT]
    assert web.events[0].message == 'Released IP ["192.0.2.0"]: type ClusterIP is not LoadBalancer'
    # The released IP was in use before, so a never-used one goes to the new Service.
    assert ips(result, "demo/api") == ["192.0.2.1"]


def test_class_pools_are_never_used_for_plain_services() -> None:
    cls, cls_pool = mlbc("l2", "192.0.2.0/30")
    s = snap([svc("web", lb_class="other")], pools=[cls_pool], classes=[cls])
    assert allocate(s).outcomes["demo/web"].reason is Reason.NOT_OUR_CLASS
    s = snap([svc("web")], pools=[cls_pool], classes=[])
    outcome = allocate(s).outcomes["demo/web"]
    assert outcome.reason is Reason.NO_POOL and outcome.assignment is None


def test_status_ips_of_services_not_ours_stay_reserved() -> None:
    s = snap(
        [svc("ext", lb_class="other.io/lb", status=["192.0.2.0"]), svc("web")],
        pools=[pool("p", "192.0.2.0/30")],
    )
    result = allocate(s)
    ext = result.outcomes["demo/ext"]
    assert ext.reason is Reason.NOT_OUR_CLASS and not ext.decided and ext.assignment is None
    assert ext.events == () and "reserved" in ext.message
    assert ips(result, "demo/web") == ["192.0.2.1"]


def test_invalid_service_keeps_its_ips_and_nobody_takes_them() -> None:
    error = FieldError("Service/demo/bad", "metadata.annotations", "not a number")
    bad = dataclasses.replace(svc("bad", status=["192.0.2.0"]), errors=(error,))
    s = snap([bad, svc("new")], pools=[pool("p", "192.0.2.0/30")])
    result = allocate(s)
    outcome = result.outcomes["demo/bad"]
    assert outcome.reason is Reason.INVALID_SERVICE and not outcome.decided
    assert outcome.ips == ("192.0.2.0",) and not outcome.changed
    assert "not a number" in outcome.message
    assert ips(result, "demo/new") == ["192.0.2.1"]


# --------------------------------------------------------------------------- pool order


def test_unpinned_pools_in_name_order() -> None:
    s = snap([svc("web")], pools=[pool("zz", "192.0.2.0/30"), pool("aa", "198.51.100.0/30")])
    a = allocate(s).assignment("demo/web")
    assert a is not None and a.pool == "aa" and [str(i) for i in a.ips] == ["198.51.100.0"]


def test_auto_assign_false_is_skipped() -> None:
    s = snap(
        [svc("web")],
        pools=[pool("aa", "192.0.2.0/30", auto_assign=False), pool("bb", "198.51.100.0/30")],
    )
    assert ips(allocate(s), "demo/web") == ["198.51.100.0"]


def test_pinned_pools_first_by_priority_zero_last_then_name() -> None:
    pools = [
        pool("open", "192.0.2.0/30"),
        pool("p0", "198.51.100.0/30", allocation=only({"demo"}, 0)),
        pool("p2", "198.51.100.4/30", allocation=only({"demo"}, 2)),
        pool("p1b", "198.51.100.8/30", allocation=only({"demo"}, 1)),
        pool("p1a", "198.51.100.12/30", allocation=only({"demo"}, 1)),
    ]
    order = []
    services = [svc(f"s{i:02}") for i in range(20)]
    result = allocate(snap(services, pools=pools))
    for s in services:
        a = result.assignment(s.key)
        assert a is not None
        if a.pool not in order:
            order.append(a.pool)
    assert order == ["p1a", "p1b", "p2", "p0", "open"]


def test_pinned_pool_of_another_namespace_is_not_used() -> None:
    pools = [pool("team", "192.0.2.0/30", allocation=only({"team"})), pool("z", "198.51.100.0/30")]
    result = allocate(snap([svc("web", "demo"), svc("web", "team")], pools=pools))
    assert result.assignment("demo/web").pool == "z"  # type: ignore[union-attr]
    assert result.assignment("team/web").pool == "team"  # type: ignore[union-attr]


def test_pinned_pool_needs_auto_assign() -> None:
    p = pool("team", "192.0.2.0/30", allocation=only({"demo"}), auto_assign=False)
    assert allocate(snap([svc("web")], pools=[p])).outcomes["demo/web"].reason is Reason.NO_POOL


def test_namespace_selectors_use_namespace_labels() -> None:
    alloc = ServiceAllocation(namespace_selectors=(LabelSelector({"tier": "edge"}),))
    pools = [pool("edge", "192.0.2.0/30", allocation=alloc), pool("z", "198.51.100.0/30")]
    s = snap(
        [svc("a", "front"), svc("b", "back")],
        pools=pools,
        namespaces={"front": {"tier": "edge"}, "back": {}},
    )
    result = allocate(s)
    assert result.assignment("front/a").pool == "edge"  # type: ignore[union-attr]
    assert result.assignment("back/b").pool == "z"  # type: ignore[union-attr]


def test_namespace_selectors_matching_nothing_close_the_pool() -> None:
    alloc = ServiceAllocation(namespace_selectors=(LabelSelector({"tier": "none"}),))
    s = snap([svc("a")], pools=[pool("edge", "192.0.2.0/30", allocation=alloc)])
    assert allocate(s).outcomes["demo/a"].reason is Reason.NO_POOL


def test_service_selectors_and_namespaces_both_apply() -> None:
    alloc = ServiceAllocation(
        namespaces=frozenset({"demo"}), service_selectors=(LabelSelector({"lb": "edge"}),)
    )
    pools = [pool("edge", "192.0.2.0/30", allocation=alloc), pool("z", "198.51.100.0/30")]
    s = snap(
        [
            svc("yes", labels={"lb": "edge"}),
            svc("nolabel"),
            svc("otherns", "other", labels={"lb": "edge"}),
        ],
        pools=pools,
    )
    result = allocate(s)
    assert result.assignment("demo/yes").pool == "edge"  # type: ignore[union-attr]
    assert result.assignment("demo/nolabel").pool == "z"  # type: ignore[union-attr]
    assert result.assignment("other/otherns").pool == "z"  # type: ignore[union-attr]


# --------------------------------------------------------------------------- pool annotation


def test_pool_annotation_ignores_auto_assign() -> None:
    pools = [pool("a", "192.0.2.0/30"), pool("manual", "198.51.100.0/30", auto_assign=False)]
    a = allocate(snap([svc("web", pool="manual")], pools=pools)).assignment("demo/web")
    assert a is not None and a.pool == "manual"


def test_pool_annotation_checks_service_allocation() -> None:
    p = pool("team", "192.0.2.0/30", allocation=only({"team"}))
    outcome = allocate(snap([svc("web", pool="team")], pools=[p])).outcomes["demo/web"]
    assert outcome.reason is Reason.POOL_NOT_ALLOWED and "team" in outcome.message


def test_unknown_pool() -> None:
    s = snap([svc("web", pool="nope")], pools=[pool("a", "192.0.2.0/30")])
    outcome = allocate(s).outcomes["demo/web"]
    assert outcome.reason is Reason.UNKNOWN_POOL and "nope" in outcome.message
    assert [e.kind for e in outcome.events] == [EventKind.ALLOCATION_FAILED]
    assert outcome.events[0].message.startswith('Failed to allocate IP for "demo/web": ')
    assert outcome.events[0].type == "Warning"


def test_pool_annotation_naming_a_class_pool() -> None:
    _, cls_pool = mlbc("l2", "192.0.2.0/30")
    s = snap([svc("web", pool="l2")], pools=[cls_pool, pool("a", "198.51.100.0/30")])
    assert allocate(s).outcomes["demo/web"].reason is Reason.POOL_NOT_ALLOWED


def test_pool_exhausted_names_the_pool() -> None:
    s = snap([svc("a"), svc("b")], pools=[pool("tiny", "192.0.2.7/32")])
    result = allocate(s)
    assert ips(result, "demo/a") == ["192.0.2.7"]
    outcome = result.outcomes["demo/b"]
    assert outcome.reason is Reason.POOL_EXHAUSTED and "tiny" in outcome.message


def test_no_pools_at_all() -> None:
    assert allocate(snap([svc("web")])).outcomes["demo/web"].reason is Reason.NO_POOL


# --------------------------------------------------------------------------- explicit IPs


def test_explicit_ip_from_any_pool_even_without_auto_assign() -> None:
    pools = [pool("a", "192.0.2.0/30"), pool("m", "198.51.100.0/30", auto_assign=False)]
    result = allocate(snap([svc("web", ips=["198.51.100.3"])], pools=pools))
    a = result.assignment("demo/web")
    assert a is not None and a.pool == "m" and [str(i) for i in a.ips] == ["198.51.100.3"]


def test_explicit_ip_not_in_any_pool() -> None:
    s = snap([svc("web", ips=["203.0.113.9"])], pools=[pool("a", "192.0.2.0/30")])
    outcome = allocate(s).outcomes["demo/web"]
    assert outcome.reason is Reason.IP_NOT_IN_ANY_POOL and "203.0.113.9" in outcome.message


def test_explicit_ip_in_a_class_pool_is_not_for_plain_services() -> None:
    _, cls_pool = mlbc("l2", "192.0.2.0/30")
    s = snap([svc("web", ips=["192.0.2.1"])], pools=[cls_pool])
    outcome = allocate(s).outcomes["demo/web"]
    assert outcome.reason is Reason.IP_NOT_IN_ANY_POOL and "l2" in outcome.message


def test_explicit_ip_outside_requested_pool() -> None:
    pools = [pool("a", "192.0.2.0/30"), pool("b", "198.51.100.0/30")]
    outcome = allocate(snap([svc("web", pool="a", ips=["198.51.100.1"])], pools=pools)).outcomes[
        "demo/web"
    ]
    assert outcome.reason is Reason.IP_NOT_IN_REQUESTED_POOL
    ok = allocate(snap([svc("web", pool="b", ips=["198.51.100.1"])], pools=pools))
    assert ips(ok, "demo/web") == ["198.51.100.1"]


def test_explicit_ip_family_must_match_cluster_ip_family() -> None:
    s = snap([svc("web", ips=["2001:db8::5"])], pools=[pool("a", "2001:db8::/120")])
    outcome = allocate(s).outcomes["demo/web"]
    assert outcome.reason is Reason.FAMILY_MISMATCH and "IPv6" in outcome.message


def test_explicit_ip_checks_service_allocation() -> None:
    p = pool("team", "192.0.2.0/30", allocation=only({"team"}))
    outcome = allocate(snap([svc("web", ips=["192.0.2.1"])], pools=[p])).outcomes["demo/web"]
    assert outcome.reason is Reason.POOL_NOT_ALLOWED


def test_explicit_dual_stack_ips_must_share_a_pool() -> None:
    pools = [pool("v4", "192.0.2.0/30"), pool("v6", "2001:db8::/126")]
    web = svc("web", policy=DUAL, families=(4, 6), ips=["192.0.2.1", "2001:db8::1"])
    outcome = allocate(snap([web], pools=pools)).outcomes["demo/web"]
    assert outcome.reason is Reason.IP_NOT_IN_ANY_POOL and "one pool" in outcome.message
    both = pool("both", "192.0.2.0/30", "2001:db8::/126")
    assert ips(allocate(snap([web], pools=[both])), "demo/web") == ["192.0.2.1", "2001:db8::1"]


def test_explicit_ips_must_name_the_families_except_for_prefer_dual_stack() -> None:
    both = pool("both", "192.0.2.0/30", "2001:db8::/126")
    single_two = svc("a", ips=["192.0.2.1", "2001:db8::1"])
    require_one = svc("b", policy=DUAL, families=(4, 6), ips=["192.0.2.2"])
    prefer_one = svc("c", policy=PREFER, families=(4, 6), ips=["2001:db8::3"])
    result = allocate(snap([single_two, require_one, prefer_one], pools=[both]))
    assert result.outcomes["demo/a"].reason is Reason.FAMILY_MISMATCH
    assert result.outcomes["demo/b"].reason is Reason.FAMILY_MISMATCH
    assert result.outcomes["demo/c"].ok and ips(result, "demo/c") == ["2001:db8::3"]


# --------------------------------------------------------------------------- dual-stack


def test_single_stack_ipv6_primary() -> None:
    p = pool("both", "192.0.2.0/30", "2001:db8::/126")
    s = snap([svc("web", families=(6, 4))], pools=[p])
    assert ips(allocate(s), "demo/web") == ["2001:db8::"]


def test_require_dual_stack_from_one_pool() -> None:
    pools = [pool("a4", "192.0.2.0/30"), pool("b6", "2001:db8::/126")]
    web = svc("web", policy=DUAL, families=(6, 4))
    outcome = allocate(snap([web], pools=pools)).outcomes["demo/web"]
    assert outcome.reason is Reason.DUAL_STACK_UNAVAILABLE and outcome.assignment is None
    pools.append(pool("c", "198.51.100.0/30", "2001:db8:1::/126"))
    result = allocate(snap([web], pools=pools))
    assert ips(result, "demo/web") == ["2001:db8:1::", "198.51.100.0"]  # primary first
    assert result.outcomes["demo/web"].wanted == 2


def test_require_dual_stack_exhausted() -> None:
    p = pool("c", "198.51.100.0/32", "2001:db8:1::/126")
    s = snap([svc("a", policy=DUAL, families=(4, 6)), svc("b", policy=DUAL, families=(4, 6))])
    s = snap(list(s.services), pools=[p])
    assert allocate(s).outcomes["demo/b"].reason is Reason.POOL_EXHAUSTED


def test_prefer_dual_stack_takes_both_from_a_later_pool_that_has_both() -> None:
    pools = [pool("a4", "192.0.2.0/30"), pool("b", "198.51.100.0/30", "2001:db8::/126")]
    result = allocate(snap([svc("web", policy=PREFER, families=(4, 6))], pools=pools))
    a = result.assignment("demo/web")
    assert a is not None and a.pool == "b" and len(a.ips) == 2
    assert result.outcomes["demo/web"].ok


def test_prefer_dual_stack_falls_back_to_primary_then_secondary() -> None:
    pools = [pool("a6", "2001:db8::/126"), pool("b4", "192.0.2.0/30")]
    result = allocate(snap([svc("web", policy=PREFER, families=(4, 6))], pools=pools))
    assert ips(result, "demo/web") == ["192.0.2.0"]
    assert result.outcomes["demo/web"].reason is None
    only6 = [pool("a6", "2001:db8::/126")]
    result = allocate(snap([svc("web", policy=PREFER, families=(4, 6))], pools=only6))
    assert ips(result, "demo/web") == ["2001:db8::"]


def test_single_stack_family_missing_everywhere() -> None:
    s = snap([svc("web", families=(6,))], pools=[pool("a", "192.0.2.0/30")])
    assert allocate(s).outcomes["demo/web"].reason is Reason.NO_POOL


# --------------------------------------------------------------------------- avoidBuggyIPs


def test_network_and_broadcast_addresses_are_allocatable() -> None:
    s = snap([svc(f"s{i}") for i in range(4)], pools=[pool("a", "192.0.2.0/30")])
    result = allocate(s)
    got = sorted(ips(result, f"demo/s{i}")[0] for i in range(4))
    assert got == ["192.0.2.0", "192.0.2.1", "192.0.2.2", "192.0.2.3"]


def test_avoid_buggy_ips_skips_dot_zero_and_dot_255_only_for_ipv4() -> None:
    p = pool("a", "192.0.2.255/32", "198.51.100.0/31", "2001:db8::ff/128", avoid_buggy=True)
    services = [svc("v4a"), svc("v4b"), svc("v6", families=(6,))]
    result = allocate(snap(services, pools=[p]))
    assert ips(result, "demo/v4a") == ["198.51.100.1"]
    assert result.outcomes["demo/v4b"].reason is Reason.POOL_EXHAUSTED
    assert ips(result, "demo/v6") == ["2001:db8::ff"]


def test_explicit_buggy_ip_is_refused() -> None:
    p = pool("a", "192.0.2.0/24", avoid_buggy=True)
    outcome = allocate(snap([svc("web", ips=["192.0.2.255"])], pools=[p])).outcomes["demo/web"]
    assert outcome.reason is Reason.IP_NOT_IN_ANY_POOL and "avoidBuggyIPs" in outcome.message


# --------------------------------------------------------------------------- report


def test_events_and_messages_for_a_new_assignment() -> None:
    result = allocate(snap([svc("web")], pools=[pool("a", "192.0.2.0/30")]))
    outcome = result.outcomes["demo/web"]
    assert outcome.ok and outcome.changed and outcome.wanted == 1
    assert [(e.kind, e.type) for e in outcome.events] == [(EventKind.IP_ALLOCATED, "Normal")]
    assert outcome.events[0].message == 'Assigned IP ["192.0.2.0"] from pool a'
    assert result.events == outcome.events


def test_pool_stats_follow_metallb_counting() -> None:
    pools = [
        pool("v4", "192.0.2.0/24", "198.51.100.0/30", avoid_buggy=True),
        pool("v6", "2001:db8::/64"),
        pool("small6", "2001:db8:1::/120", "2001:db8:2::/126"),
        pool("range", "203.0.113.252/30", avoid_buggy=True),
    ]
    s = snap([svc("a", pool="v4"), svc("b", families=(6,), pool="v6")], pools=pools)
    stats = allocate(s).pools
    assert (stats["v4"].ipv4_total, stats["v4"].ipv4_in_use) == (254 + 3, 1)
    assert (stats["v6"].ipv6_total, stats["v6"].ipv6_in_use) == (MAX_INT64, 1)
    assert stats["v6"].total == MAX_INT64
    assert stats["small6"].ipv6_total == 256 + 4
    assert stats["range"].ipv4_total == 3  # .255 excluded
    assert stats["v4"].in_use == 1


def test_require_dual_stack_with_a_single_family_cluster_ip_gets_no_ip_and_a_reason() -> None:
    """MetalLB refuses it; handing out one IPv4 would look served as asked."""
    p = pool("c", "198.51.100.0/30", "2001:db8:1::/126")
    single = replace(svc("a", policy=DUAL, families=(4,)), cluster_ips=(ip_address("192.0.2.80"),))
    outcome = allocate(snap([single], pools=[p])).outcomes["demo/a"]
    assert outcome.assignment is None and outcome.reason is Reason.DUAL_STACK_UNAVAILABLE
    assert "IPv4 and an IPv6 ClusterIP; the Service has 192.0.2.80" in outcome.message
    both = replace(single, cluster_ips=(ip_address("192.0.2.80"), ip_address("2001:db8::80")))
    both = replace(both, ip_families=(4, 6))
    assert ips(allocate(snap([both], pools=[p])), "demo/a") == ["198.51.100.0", "2001:db8:1::"]
