"""MetalLoadBalancerClass Services: N IPs from the class pool (Deckhouse §7.3).

Matrix: count (1 / 3 / more than the pool) x requested IPs (none / some slots / wrong family /
outside the pool / in another pool / listed twice) x restore per slot (unchanged / one slot's
request changed / count lowered / count raised / IP no longer in the pool) x family (IPv4,
IPv6) x class pool missing x class nodeSelector matching no Node.
"""

from __future__ import annotations

from dataclasses import replace

from orchestrator.core.alloc.allocator import allocate
from orchestrator.core.alloc.result import EventKind, Reason
from orchestrator.core.model.cluster import L2Class, Node
from tests.unit.core.alloc.test_allocator_support import ips, mlbc, pool, snap, svc

L2, L2_POOL = mlbc("l2", "192.0.2.0/29")
V6, V6_POOL = mlbc("l2v6", "2001:db8::/64")


def test_three_ips_from_the_class_pool() -> None:
    result = allocate(snap([svc("web", lb_class="l2", count=3)], pools=[L2_POOL], classes=[L2]))
    outcome = result.outcomes["demo/web"]
    assert outcome.ok and outcome.wanted == 3
    assert outcome.ips == ("192.0.2.0", "192.0.2.1", "192.0.2.2")
    assert outcome.assignment is not None
    assert (outcome.assignment.pool, outcome.assignment.class_name) == ("l2", "l2")
    assert outcome.message == "3 of 3 public IPs were assigned"
    assert [e.kind for e in outcome.events] == [EventKind.IP_ALLOCATED]


def test_ipv6_class_service() -> None:
    s = snap([svc("web", lb_class="l2v6", count=2, families=(6,))], pools=[V6_POOL], classes=[V6])
    assert ips(allocate(s), "demo/web") == ["2001:db8::", "2001:db8::1"]


def test_partial_keeps_what_it_got() -> None:
    small, small_pool = mlbc("small", "192.0.2.0/31")
    s = snap([svc("web", lb_class="small", count=3)], pools=[small_pool], classes=[small])
    outcome = allocate(s).outcomes["demo/web"]
    assert outcome.reason is Reason.PARTIAL
    assert outcome.ips == ("192.0.2.0", "192.0.2.1")
    assert outcome.message.startswith("2 of 3 public IPs were assigned")
    assert [e.kind for e in outcome.events] == [EventKind.IP_ALLOCATED, EventKind.ALLOCATION_FAILED]


def test_nothing_left_is_pool_exhausted() -> None:
    tiny, tiny_pool = mlbc("tiny", "192.0.2.0/32")
    s = snap(
        [svc("a", lb_class="tiny"), svc("b", lb_class="tiny")], pools=[tiny_pool], classes=[tiny]
    )
    outcome = allocate(s).outcomes["demo/b"]
    assert outcome.reason is Reason.POOL_EXHAUSTED and "tiny" in outcome.message


def test_requested_ips_go_to_their_slots() -> None:
    web = svc("web", lb_class="l2", count=3, ips=["192.0.2.0", "192.0.2.5"])
    assert ips(allocate(snap([web], pools=[L2_POOL], classes=[L2])), "demo/web") == [
        "192.0.2.0",
        "192.0.2.5",
        "192.0.2.1",
    ]


def test_automatic_slot_never_takes_an_ip_another_slot_asked_for() -> None:
    # Slot 0 asks for .0, the address the cursor would hand to the automatic slot 1 first.
    web = svc("web", lb_class="l2", count=2, ips=["192.0.2.0"])
    got = ips(allocate(snap([web], pools=[L2_POOL], classes=[L2])), "demo/web")
    assert got == ["192.0.2.0", "192.0.2.1"]


def test_explicit_requests_are_served_before_automatic_ones() -> None:
    # "a" sorts first and would take .0 automatically; "b" asked for .0 explicitly.
    a = svc("a", lb_class="l2")
    b = svc("b", lb_class="l2", ips=["192.0.2.0"])
    result = allocate(snap([a, b], pools=[L2_POOL], classes=[L2]))
    assert ips(result, "demo/b") == ["192.0.2.0"] and ips(result, "demo/a") == ["192.0.2.1"]


def test_requested_ip_outside_the_class_pool() -> None:
    other = pool("other", "198.51.100.0/30")
    s = snap(
        [
            svc("a", lb_class="l2", ips=["198.51.100.1"]),
            svc("b", lb_class="l2", ips=["203.0.113.1"]),
        ],
        pools=[L2_POOL, other],
        classes=[L2],
    )
    result = allocate(s)
    assert result.outcomes["demo/a"].reason is Reason.IP_NOT_IN_REQUESTED_POOL
    assert result.outcomes["demo/b"].reason is Reason.IP_NOT_IN_ANY_POOL


def test_requested_ip_of_the_wrong_family() -> None:
    s = snap(
        [svc("web", lb_class="l2", count=2, ips=["2001:db8::1"])], pools=[L2_POOL], classes=[L2]
    )
    outcome = allocate(s).outcomes["demo/web"]
    assert outcome.reason is Reason.PARTIAL and outcome.ips == ("192.0.2.0",)
    assert "IPv6" in outcome.message


def test_requested_ip_listed_twice() -> None:
    web = svc("web", lb_class="l2", count=2, ips=["192.0.2.3", "192.0.2.3"])
    outcome = allocate(snap([web], pools=[L2_POOL], classes=[L2])).outcomes["demo/web"]
    assert outcome.reason is Reason.PARTIAL and outcome.ips == ("192.0.2.3",)


def test_restore_per_slot_only_the_changed_slot_moves() -> None:
    web = svc(
        "web",
        lb_class="l2",
        count=3,
        ips=["192.0.2.0", "192.0.2.6", "192.0.2.2"],
        status=["192.0.2.0", "192.0.2.1", "192.0.2.2"],
        bound="l2",
    )
    outcome = allocate(snap([web], pools=[L2_POOL], classes=[L2])).outcomes["demo/web"]
    assert outcome.ips == ("192.0.2.0", "192.0.2.6", "192.0.2.2")
    assert outcome.events[0].kind is EventKind.CLEAR_ASSIGNMENT
    assert '"192.0.2.1"' in outcome.events[0].message


def test_count_lowered_releases_the_last_ips() -> None:
    web = svc("web", lb_class="l2", count=2, status=["192.0.2.4", "192.0.2.1", "192.0.2.2"])
    outcome = allocate(snap([web], pools=[L2_POOL], classes=[L2])).outcomes["demo/web"]
    assert outcome.ips == ("192.0.2.4", "192.0.2.1") and outcome.ok


def test_count_raised_keeps_existing_ips() -> None:
    web = svc("web", lb_class="l2", count=3, status=["192.0.2.4"])
    outcome = allocate(snap([web], pools=[L2_POOL], classes=[L2])).outcomes["demo/web"]
    assert outcome.ips == ("192.0.2.4", "192.0.2.5", "192.0.2.6")


def test_ip_outside_the_class_pool_is_replaced_alone() -> None:
    web = svc("web", lb_class="l2", count=2, status=["198.51.100.1", "192.0.2.3"])
    outcome = allocate(snap([web], pools=[L2_POOL], classes=[L2])).outcomes["demo/web"]
    assert outcome.ips == ("192.0.2.3", "192.0.2.4")
    assert "MetalLoadBalancerClass l2" in outcome.events[0].message


def test_class_whose_pool_is_missing_is_held() -> None:
    broken = L2Class("broken", is_default=False, pool="nowhere")
    s = snap(
        [svc("web", lb_class="broken", status=["192.0.2.1"])], pools=[L2_POOL], classes=[broken]
    )
    outcome = allocate(s).outcomes["demo/web"]
    assert outcome.reason is Reason.UNKNOWN_POOL and not outcome.decided
    assert outcome.ips == ("192.0.2.1",)


def test_class_whose_node_selector_matches_no_node_gets_no_ip() -> None:
    """Deckhouse skips such a Service; an IP with no node to answer for it would be a black
    hole. What the Service already holds stays (a relabelled node is not a reason to take an
    IP away); and the rule needs Nodes to judge by."""
    picky = L2Class("picky", is_default=False, pool="l2", node_selector={"role": "lb"})
    services = [svc("new", lb_class="picky"), svc("old", lb_class="picky", status=["192.0.2.3"])]
    others = Node("n1", labels={"role": "web"})
    s = replace(snap(services, pools=[L2_POOL], classes=[picky]), nodes={"n1": others})
    new, old = allocate(s).outcomes["demo/new"], allocate(s).outcomes["demo/old"]
    assert new.reason is Reason.NO_CLASS_NODES and new.ips == () and not new.decided
    assert new.message == (
        "no Node matches the nodeSelector of MetalLoadBalancerClass picky; nothing allocated"
    )
    assert old.reason is Reason.NO_CLASS_NODES and old.ips == ("192.0.2.3",)
    matching = replace(s, nodes={"n1": others, "n2": Node("n2", labels={"role": "lb"})})
    assert allocate(matching).outcomes["demo/new"].ok
    assert allocate(replace(s, nodes={})).outcomes["demo/new"].ok  # no Node: not judged


def test_count_above_the_pool_size_is_limited_by_the_addresses() -> None:
    s = snap([svc("web", lb_class="l2", count=1000)], pools=[L2_POOL], classes=[L2])
    outcome = allocate(s).outcomes["demo/web"]
    assert len(outcome.ips) == 8 and outcome.wanted == 1000
    assert outcome.reason is Reason.PARTIAL
    assert outcome.message == (
        "8 of 1000 public IPs were assigned: pool l2 has 8 addresses, fewer than the 1000 asked for"
    )
    big = snap(
        [svc("v6", lb_class="l2v6", count=300, families=(6,))], pools=[V6_POOL], classes=[V6]
    )
    assert allocate(big).outcomes["demo/v6"].ok  # an IPv6 pool has room: no limit met
