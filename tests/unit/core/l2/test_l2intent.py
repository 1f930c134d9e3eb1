"""One node's L2 intent: what it announces (and where), and a reason for every IP it skips.

Matrix: every eligibility reason (unknownNode, nodeSelectorMismatch,
nodeLabeledExcludeBalancers and its override, nodeNetworkUnavailable, speakerNotLive,
noEndpoints, noLocalEndpoints), every placement reason (homeLive, lostFallback,
noL2Advertisement, unknownPool, unknownClass, unknownService, sharedIPWithServiceSelector),
announcements as home and as fallback with their interfaces, shared IPs answered on the union
of interfaces, and the one-line explanations.
"""

from __future__ import annotations

from ipaddress import ip_address

from orchestrator.core.eligibility import Reason
from orchestrator.core.l2.intent import Announcement, L2Intent, explain, l2_announcements
from orchestrator.core.l2.placement import HomesInput, L2Reason, Role, WhyNot, fallback_winner
from orchestrator.core.model.cluster import (
    EXCLUDE_LABEL,
    Assignment,
    ClusterSnapshot,
    IPAddress,
    L2Advertisement,
    Node,
)
from orchestrator.core.model.selectors import LabelSelector
from tests.unit.core.l2.test_placement import (
    assign,
    endpoints,
    ips,
    l2_class,
    node,
    plain_pool,
    service,
    world,
)

A1 = ips(1)[0]


def intent(
    snap: ClusterSnapshot,
    assignments: list[Assignment],
    homes: HomesInput,
    at: str,
    *,
    live: set[str] | None = None,
    ignore_exclude_label: bool = False,
) -> L2Intent:
    return l2_announcements(
        snap,
        assignments,
        homes,
        node=at,
        live_nodes=set(snap.nodes) if live is None else live,
        ignore_exclude_label=ignore_exclude_label,
    )


def reason(got: L2Intent, addr: IPAddress = A1) -> WhyNot:
    (skipped,) = got.reasons(addr)
    assert not got.announcements
    return skipped.reason


HOMED = {"ns/s": {A1: "a"}}


def test_home_announces_on_class_interfaces() -> None:
    snap = world([node("a"), node("b")], [service("s")], classes=[l2_class(interfaces=("eth1",))])
    got = intent(snap, [assign("s", (A1,))], HOMED, "a")
    assert got.announcements == (Announcement(A1, "ns/s", ("eth1",), Role.HOME),)
    assert got.not_announced == ()
    assert got.interfaces_by_ip() == {A1: ("eth1",)}


def test_other_node_skips_with_home_live() -> None:
    snap = world([node("a"), node("b")], [service("s")])
    got = intent(snap, [assign("s", (A1,))], HOMED, "b")
    assert reason(got) is L2Reason.HOME_LIVE
    assert got.not_announced[0].announcer == "a"


def test_dead_home_fallback_winner_announces_losers_say_lost_fallback() -> None:
    snap = world([node("a"), node("b"), node("c")], [service("s")])
    live = {"b", "c"}
    winner = fallback_winner(A1, ["b", "c"], set())
    loser = ({"b", "c"} - {winner}).pop()
    got = intent(snap, [assign("s", (A1,))], HOMED, str(winner), live=live)
    assert got.announcements == (Announcement(A1, "ns/s", (), Role.FALLBACK),)
    assert reason(intent(snap, [assign("s", (A1,))], HOMED, loser, live=live)) is (
        L2Reason.LOST_FALLBACK
    )
    assert reason(intent(snap, [assign("s", (A1,))], HOMED, "a", live=live)) is Reason.NOT_LIVE


def test_node_eligibility_reasons() -> None:
    nodes = [
        node("a", role="lb"),
        node("other"),
        Node("excl", labels={"role": "lb", EXCLUDE_LABEL: ""}),
        node("down", unavailable=True, role="lb"),
    ]
    snap = world(nodes, [service("s")], classes=[l2_class(role="lb")])
    a = [assign("s", (A1,))]
    assert reason(intent(snap, a, HOMED, "ghost")) is Reason.UNKNOWN_NODE
    assert reason(intent(snap, a, HOMED, "other")) is Reason.NODE_SELECTOR
    assert reason(intent(snap, a, HOMED, "excl")) is Reason.EXCLUDED
    assert reason(intent(snap, a, HOMED, "down")) is Reason.NETWORK_UNAVAILABLE
    assert reason(intent(snap, a, HOMED, "a", live={"excl"})) is Reason.NOT_LIVE


def test_exclude_label_can_be_ignored() -> None:
    snap = world([Node("x", labels={EXCLUDE_LABEL: ""})], [service("s")])
    homes = {"ns/s": {A1: "x"}}
    assert reason(intent(snap, [assign("s", (A1,))], homes, "x")) is Reason.EXCLUDED
    got = intent(snap, [assign("s", (A1,))], homes, "x", ignore_exclude_label=True)
    assert [a.ip for a in got.announcements] == [A1]


def test_endpoint_reasons() -> None:
    snap = world([node("a"), node("b")], [service("s")], slices=[])
    assert reason(intent(snap, [assign("s", (A1,))], HOMED, "a")) is Reason.NO_ENDPOINTS
    snap = world([node("a"), node("b")], [service("s", local=True)], slices=[endpoints("s", "b")])
    assert reason(intent(snap, [assign("s", (A1,))], HOMED, "a")) is Reason.NO_LOCAL_ENDPOINTS
    # ... and b, the only node with an endpoint, takes over by fallback
    assert intent(snap, [assign("s", (A1,))], HOMED, "b").announcements[0].role is Role.FALLBACK


def test_reasons_that_hold_for_every_node() -> None:
    nodes = [node("a")]
    snap = world(nodes, [service("s")], pools=[plain_pool()])
    cases: list[tuple[Assignment, L2Reason]] = [
        (assign("s", (A1,), cls=None), L2Reason.NO_L2_ADVERTISEMENT),
        (Assignment("ns/s", "nope", (A1,)), L2Reason.UNKNOWN_POOL),
        (assign("s", (A1,), cls="nope"), L2Reason.UNKNOWN_CLASS),
        (assign("ghost", (A1,)), L2Reason.UNKNOWN_SERVICE),
    ]
    for a, expected in cases:
        assert reason(intent(snap, [a], {}, "a")) is expected
    picky = L2Advertisement("x", service_selectors=(LabelSelector({"app": "web"}),))
    shared = service("s", sharing="key", labels={"app": "web"})
    snap = world(nodes, [shared], pools=[plain_pool()], ads=(picky,))
    got = intent(snap, [assign("s", (A1,), cls=None)], {}, "a")
    assert reason(got) is L2Reason.SHARED_IP_WITH_SERVICE_SELECTOR


def test_every_ip_is_either_announced_or_explained() -> None:
    snap = world([node("a"), node("b")], [service("s"), service("t")])
    assignments = [assign("s", ips(1, 2)), assign("t", ips(3))]
    homes = {"ns/s": {ips(1)[0]: "a", ips(2)[0]: "b"}, "ns/t": {ips(3)[0]: "b"}}
    got = intent(snap, assignments, homes, "b")
    assert [a.ip for a in got.announcements] == list(ips(2, 3))
    assert [(n.ip, n.reason) for n in got.not_announced] == [(ips(1)[0], L2Reason.HOME_LIVE)]


def test_shared_ip_answered_on_the_union_of_interfaces() -> None:
    # Two advertisements, different interfaces: the node answers on both. The Service that
    # shares the IP follows its owner (lowest key) and is announced by the same node.
    ads = (
        L2Advertisement("one", interfaces=("eth0",)),
        L2Advertisement("two", interfaces=("eth1",)),
    )
    snap = world(
        [node("a")],
        [service("s", sharing="k"), service("t", sharing="k")],
        pools=[plain_pool()],
        ads=ads,
    )
    both = [assign("s", (A1,), cls=None), assign("t", (A1,), cls=None)]
    got = intent(snap, both, {"ns/s": {A1: "a"}}, "a")
    assert [(a.service, a.role) for a in got.announcements] == [
        ("ns/s", Role.HOME),
        ("ns/t", Role.HOME),
    ]
    assert got.interfaces_by_ip() == {A1: ("eth0", "eth1")}
    merged = L2Intent(
        "a",
        (
            Announcement(A1, "ns/s", ("eth0",), Role.HOME),
            Announcement(A1, "ns/t", (), Role.HOME),
        ),
    )
    assert merged.interfaces_by_ip() == {A1: ()}


def test_explain_lines() -> None:
    snap = world([node("a"), node("b"), node("c", role="db")], [service("s")])
    a = [assign("s", (A1,))]
    live = {"a", "b", "c"}
    text = explain(snap, a, HOMED, node="a", ip=A1, live_nodes=live)
    assert text == "a announces 192.0.2.1 for ns/s as its home node, on all interfaces"
    text = explain(snap, a, HOMED, node="b", ip=A1, live_nodes=live)
    assert text.startswith("b does not announce 192.0.2.1 for ns/s: homeLive (")
    assert text.endswith("; a announces it (home)")
    winner = fallback_winner(A1, ["b", "c"], set())
    text = explain(snap, a, HOMED, node=str(winner), ip=A1, live_nodes={"b", "c"})
    assert text == (
        f"{winner} announces 192.0.2.1 for ns/s by fallback (home a: speakerNotLive), "
        "on all interfaces"
    )
    text = explain(snap, a, HOMED, node="a", ip=A1, live_nodes={"b", "c"})
    assert "speakerNotLive (the node's speaker lease is not fresh)" in text
    assert explain(snap, a, HOMED, node="a", ip=ip_address("192.0.2.99"), live_nodes=live) == (
        "192.0.2.99 is not assigned to any Service"
    )
    snap = world([node("a")], [service("s")], slices=[])
    text = explain(snap, a, HOMED, node="a", ip=A1, live_nodes={"a"})
    assert text.endswith("; no node announces it")
    assert "\n" not in text
