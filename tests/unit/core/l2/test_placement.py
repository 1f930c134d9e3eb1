"""L2 placement: scope, home nodes and the announcer, one rule per test.

Matrix covered here (property tests live in ``test_placement_properties.py``):

- scope: class exact-label selector + speaker selector, class interfaces, Deckhouse node order,
  pool of kind CLASS, plain pools through advertisements (by name, by pool selector, all
  pools), serviceSelectors, per-node interface union, and every "not L2" reason;
- homes: Deckhouse preferred nodes (IP i -> nodes[i % n]), least-loaded spreading, distinct
  nodes, stickiness (dead, NetworkUnavailable), moves (deleted, deselected, excluded, Local
  endpoints gone) onto the current announcer, distinctness restored, no endpoints, Services
  with errors, ``previous`` over ``state.homes``, shared IPs, input-order independence;
- announcer: home live, fallback preferring nodes without the Service's other IPs then
  sha256(node#ip), nobody eligible with a reason, unknown IP.

The builders at the top are shared with the other placement and L2 intent test files.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Iterable, Mapping
from ipaddress import ip_address, ip_network

from orchestrator.core.eligibility import Reason
from orchestrator.core.l2.placement import (
    L2Reason,
    L2View,
    Role,
    announcer_for,
    announcers,
    fallback_winner,
    place_homes,
    preferred_order,
)
from orchestrator.core.model.cluster import (
    EXCLUDE_LABEL,
    AddressPool,
    Assignment,
    ClusterConfig,
    ClusterSnapshot,
    Endpoint,
    EndpointSlice,
    IPAddress,
    L2Advertisement,
    L2Class,
    Node,
    PoolKind,
    Service,
    ServiceRequest,
    ServiceState,
    TrafficPolicy,
)
from orchestrator.core.model.errors import FieldError
from orchestrator.core.model.selectors import LabelSelector

# --------------------------------------------------------------------------- builders

CLASS = "c"


def ip(text: str) -> IPAddress:
    return ip_address(text)


def ips(*last: int) -> tuple[IPAddress, ...]:
    return tuple(ip_address(f"192.0.2.{n}") for n in last)


def node(name: str, *, unavailable: bool = False, **labels: str) -> Node:
    return Node(name, labels=dict(labels), network_unavailable=unavailable)


def service(
    name: str,
    *,
    local: bool = False,
    labels: Mapping[str, str] | None = None,
    sharing: str | None = None,
    homes: Mapping[IPAddress, str] | None = None,
    ingress: tuple[IPAddress, ...] = (),
    errors: tuple[FieldError, ...] = (),
) -> Service:
    return Service(
        "ns",
        name,
        labels=dict(labels or {}),
        external_traffic_policy=TrafficPolicy.LOCAL if local else TrafficPolicy.CLUSTER,
        request=ServiceRequest(sharing_key=sharing),
        state=ServiceState(ingress_ips=ingress, homes=dict(homes or {})),
        errors=errors,
    )


def endpoints(name: str, *on: str, ready: bool = True) -> EndpointSlice:
    """Ready endpoints of Service ns/name on the given nodes (one with no node if none)."""
    eps = tuple(Endpoint(("10.1.0.1",), n, ready) for n in on) or (
        Endpoint(("10.1.0.1",), None, ready),
    )
    return EndpointSlice("ns", f"{name}-x", name, eps)


def l2_class(name: str = CLASS, *, interfaces: tuple[str, ...] = (), **selector: str) -> L2Class:
    return L2Class(name, True, name, interfaces=interfaces, node_selector=dict(selector))


def class_pool(name: str = CLASS) -> AddressPool:
    return AddressPool(name, PoolKind.CLASS, (ip_network("192.0.2.0/24"),), class_name=name)


def plain_pool(name: str = "p", **labels: str) -> AddressPool:
    return AddressPool(
        name, PoolKind.IPADDRESSPOOL, (ip_network("198.51.100.0/24"),), labels=dict(labels)
    )


def world(
    nodes: Iterable[Node],
    services: Iterable[Service],
    *,
    slices: Iterable[EndpointSlice] | None = None,
    classes: Iterable[L2Class] = (),
    pools: Iterable[AddressPool] = (),
    ads: tuple[L2Advertisement, ...] = (),
    speaker: Mapping[str, str] | None = None,
) -> ClusterSnapshot:
    """A snapshot. Without ``slices`` every Service gets a ready endpoint on every node."""
    nodes = list(nodes)
    services = list(services)
    if slices is None:
        slices = [endpoints(s.name, *(n.name for n in nodes)) for s in services]
    classes = list(classes) or [l2_class()]
    all_pools = {p.name: p for p in [*(class_pool(c.name) for c in classes), *pools]}
    config = ClusterConfig(
        pools=all_pools,
        classes={c.name: c for c in classes},
        l2_advertisements=ads,
        speaker_node_selector=dict(speaker or {}),
    )
    return ClusterSnapshot(
        config,
        services=tuple(services),
        nodes={n.name: n for n in nodes},
        endpoint_slices=tuple(slices),
    )


def assign(name: str, addresses: tuple[IPAddress, ...], cls: str | None = CLASS) -> Assignment:
    return Assignment(f"ns/{name}", cls or "p", addresses, cls)


def names(count: int) -> list[str]:
    return [f"n{i}" for i in range(count)]


def all_live(snap: ClusterSnapshot) -> set[str]:
    return set(snap.nodes)


def order(count: int, cls: str = CLASS) -> tuple[str, ...]:
    return preferred_order(cls, names(count))


# --------------------------------------------------------------------------- scope


def scope_of(snap: ClusterSnapshot, a: Assignment) -> tuple[tuple[str, ...], L2Reason | None]:
    view = L2View(snap, live_nodes=all_live(snap))
    s = view.scope(a, view.services.get(a.service))
    return s.nodes, s.reason


def test_preferred_order_is_sha256_of_class_and_node() -> None:
    nodes = names(6)
    expected = sorted(nodes, key=lambda n: hashlib.sha256(f"{CLASS}#{n}".encode()).digest())
    assert preferred_order(CLASS, nodes) == tuple(expected)
    # different classes start on different nodes (here at least: the orders differ)
    assert preferred_order("other", nodes) != preferred_order(CLASS, nodes)


def test_class_scope_exact_labels_and_speaker_selector() -> None:
    nodes = [
        node("a", role="lb", zone="x"),
        node("b", role="lb"),
        node("c", role="db", zone="x"),
        node("d"),
    ]
    snap = world(
        nodes,
        [service("s")],
        classes=[l2_class(role="lb", interfaces=("eth1",))],
        speaker={"zone": "x"},
    )
    a = assign("s", ips(1))
    assert scope_of(snap, a) == (("a",), None)
    view = L2View(snap, live_nodes=all_live(snap))
    assert view.scope(a, view.services["ns/s"]).interfaces_for("a") == ("eth1",)


def test_empty_class_selector_selects_all_nodes_in_deckhouse_order() -> None:
    snap = world([node(n) for n in names(5)], [service("s")])
    assert scope_of(snap, assign("s", ips(1))) == (order(5), None)


def test_pool_of_kind_class_is_l2_through_its_class() -> None:
    snap = world([node("a", role="lb"), node("b")], [service("s")], classes=[l2_class(role="lb")])
    a = Assignment("ns/s", CLASS, ips(1), None)  # allocator left class_name unset
    assert scope_of(snap, a) == (("a",), None)


def test_plain_pool_advertisements_by_name_by_selector_and_for_all_pools() -> None:
    nodes = [node("a", g="1"), node("b", g="2"), node("c", g="3"), node("d", g="4")]
    by_name = L2Advertisement("by-name", pools=("p",), node_selectors=(LabelSelector({"g": "1"}),))
    by_label = L2Advertisement(
        "by-label",
        pool_selectors=(LabelSelector({"tier": "web"}),),
        node_selectors=(LabelSelector({"g": "2"}),),
    )
    other = L2Advertisement("other", pools=("q",), node_selectors=(LabelSelector({"g": "3"}),))
    snap = world(
        nodes, [service("s")], pools=[plain_pool(tier="web")], ads=(by_name, by_label, other)
    )
    got, reason = scope_of(snap, assign("s", ips(1), cls=None))
    assert (set(got), reason) == ({"a", "b"}, None)
    every = L2Advertisement("all", node_selectors=(LabelSelector({"g": "4"}),))
    snap = world(nodes, [service("s")], pools=[plain_pool()], ads=(other, every))
    got, reason = scope_of(snap, assign("s", ips(1), cls=None))
    assert (set(got), reason) == ({"d"}, None)


def test_advertisement_without_node_selectors_selects_every_node() -> None:
    snap = world(
        [node("a"), node("b")], [service("s")], pools=[plain_pool()], ads=(L2Advertisement("x"),)
    )
    assert set(scope_of(snap, assign("s", ips(1), cls=None))[0]) == {"a", "b"}


def test_service_selectors_filter_advertisements() -> None:
    web = L2Advertisement(
        "web",
        node_selectors=(LabelSelector({"g": "1"}),),
        service_selectors=(LabelSelector({"app": "web"}),),
    )
    snap = world(
        [node("a", g="1"), node("b", g="2")],
        [service("web", labels={"app": "web"}), service("db", labels={"app": "db"})],
        pools=[plain_pool()],
        ads=(web,),
    )
    assert scope_of(snap, assign("web", ips(1), cls=None)) == (("a",), None)
    assert scope_of(snap, assign("db", ips(2), cls=None)) == ((), L2Reason.NO_L2_ADVERTISEMENT)


def test_interfaces_union_per_node_and_empty_means_all() -> None:
    sel = LabelSelector
    ads = (
        L2Advertisement("one", node_selectors=(sel({"g": "ab"}),), interfaces=("eth0",)),
        L2Advertisement("two", node_selectors=(sel({"h": "b"}),), interfaces=("eth1",)),
        L2Advertisement("all", node_selectors=(sel({"h": "c"}),)),
    )
    nodes = [node("a", g="ab"), node("b", g="ab", h="b"), node("c", h="c")]
    snap = world(nodes, [service("s")], pools=[plain_pool()], ads=ads)
    view = L2View(snap, live_nodes=all_live(snap))
    scope = view.scope(assign("s", ips(1), cls=None), view.services["ns/s"])
    assert scope.interfaces_for("a") == ("eth0",)
    assert scope.interfaces_for("b") == ("eth0", "eth1")
    assert scope.interfaces_for("c") == ()


def test_reasons_a_pool_is_not_l2() -> None:
    nodes = [node("a")]
    snap = world(nodes, [service("s")], pools=[plain_pool()])
    assert scope_of(snap, assign("s", ips(1), cls=None))[1] is L2Reason.NO_L2_ADVERTISEMENT
    assert scope_of(snap, Assignment("ns/s", "nope", ips(1)))[1] is L2Reason.UNKNOWN_POOL
    assert scope_of(snap, assign("s", ips(1), cls="nope"))[1] is L2Reason.UNKNOWN_CLASS
    assert scope_of(snap, assign("ghost", ips(1)))[1] is L2Reason.UNKNOWN_SERVICE
    picky = L2Advertisement("x", service_selectors=(LabelSelector({"app": "web"}),))
    snap = world(
        nodes,
        [service("s", sharing="k", labels={"app": "web"})],
        pools=[plain_pool()],
        ads=(picky,),
    )
    assert (
        scope_of(snap, assign("s", ips(1), cls=None))[1] is L2Reason.SHARED_IP_WITH_SERVICE_SELECTOR
    )


# --------------------------------------------------------------------------- homes


def homes_of(
    snap: ClusterSnapshot,
    assignments: list[Assignment],
    *,
    live: set[str] | None = None,
    previous: Mapping[str, Mapping[IPAddress, str]] | None = None,
) -> dict[str, dict[IPAddress, str]]:
    live = all_live(snap) if live is None else live
    return place_homes(snap, assignments, live_nodes=live, previous=previous)


def test_deckhouse_preferred_node_per_ip() -> None:
    snap = world([node(n) for n in names(5)], [service("s")])
    got = homes_of(snap, [assign("s", ips(1, 2, 3))])
    assert list(got["ns/s"].values()) == list(order(5)[:3])


def test_deckhouse_wraps_around_with_more_ips_than_nodes() -> None:
    snap = world([node(n) for n in names(3)], [service("s")])
    got = homes_of(snap, [assign("s", ips(*range(1, 8)))])
    assert list(got["ns/s"].values()) == [order(3)[i % 3] for i in range(7)]


def test_preferred_node_skips_an_ineligible_one() -> None:
    snap = world([node(n) for n in names(4)], [service("s")])
    first = order(4)[0]
    got = homes_of(snap, [assign("s", ips(1, 2))], live=set(names(4)) - {first})
    assert list(got["ns/s"].values()) == list(order(4)[1:3])


def test_least_loaded_across_services() -> None:
    snap = world([node(n) for n in names(5)], [service(f"s{i}") for i in range(4)])
    got = homes_of(snap, [assign(f"s{i}", ips(10 * i + 1, 10 * i + 2)) for i in range(4)])
    load = Counter(n for m in got.values() for n in m.values())
    assert sum(load.values()) == 8 and max(load.values()) - min(load.values()) <= 1
    assert set(load) == set(names(5))
    # the second Service starts on the nodes the first one left empty
    assert set(got["ns/s1"].values()).isdisjoint(got["ns/s0"].values())


def test_plain_pool_services_get_homes_too() -> None:
    snap = world(
        [node(n) for n in names(3)],
        [service("s")],
        pools=[plain_pool()],
        ads=(L2Advertisement("x"),),
    )
    got = homes_of(snap, [assign("s", ips(1, 2, 3), cls=None)])
    assert list(got["ns/s"].values()) == list(preferred_order("p", names(3)))


def test_bgp_only_assignments_get_no_homes() -> None:
    snap = world([node("a")], [service("s")], pools=[plain_pool()])
    assert homes_of(snap, [assign("s", ips(1), cls=None)]) == {}


def test_sticky_home_survives_death_and_network_unavailable() -> None:
    nodes = [node("a"), node("b", unavailable=True), node("c")]
    snap = world(nodes, [service("s", homes={ips(1)[0]: "a", ips(2)[0]: "b"})])
    got = homes_of(snap, [assign("s", ips(1, 2))], live={"c"})
    assert got["ns/s"] == {ips(1)[0]: "a", ips(2)[0]: "b"}


def test_home_moves_when_node_deleted_deselected_or_excluded() -> None:
    ghost = {ips(1)[0]: "gone"}
    other = {ips(1)[0]: "x"}
    for nodes, previous in (
        ([node("a", role="lb")], ghost),  # deleted
        ([node("a", role="lb"), node("x")], other),  # deselected
        ([node("a", role="lb"), Node("x", labels={"role": "lb", EXCLUDE_LABEL: ""})], other),
    ):
        snap = world(nodes, [service("s", homes=previous)], classes=[l2_class(role="lb")])
        assert homes_of(snap, [assign("s", ips(1))])["ns/s"] == {ips(1)[0]: "a"}


def test_moved_ip_in_status_goes_to_its_current_announcer() -> None:
    # Loads would pick the empty node, but the IP already runs on its fallback winner:
    # taking that node as home avoids a second move.
    addr = ips(2)[0]
    nodes = [node(n) for n in names(6)]
    prev = {addr: "gone"}
    snap = world(nodes, [service("s", homes=prev, ingress=(addr,))])
    current = fallback_winner(addr, names(6), set())
    assert current != order(6)[0]  # otherwise this test would prove nothing
    got = homes_of(snap, [assign("s", (addr,))])
    assert got["ns/s"] == {addr: current}
    # the same IP not yet in status is placed by load and preferred order instead
    snap = world(nodes, [service("s", homes=prev)])
    assert homes_of(snap, [assign("s", (addr,))])["ns/s"] == {addr: order(6)[0]}


def test_current_announcer_is_not_taken_when_it_would_double_up() -> None:
    # Both IPs lost their home and fall back independently, onto the same node: the first
    # takes it, the second goes to a free node rather than doubling up.
    a1, a3 = ips(1, 3)
    winner = fallback_winner(a1, names(3), set())
    assert winner is not None and winner == fallback_winner(a3, names(3), set())
    gone = {a1: "gone", a3: "gone"}
    snap = world([node(n) for n in names(3)], [service("s", homes=gone, ingress=(a1, a3))])
    got = homes_of(snap, [assign("s", (a1, a3))])
    assert got["ns/s"][a1] == winner and got["ns/s"][a3] != winner


def test_local_home_moves_when_its_endpoints_leave() -> None:
    addr = ips(1)[0]
    nodes = [node("a"), node("b"), node("c")]
    svc = service("s", local=True, homes={addr: "a"}, ingress=(addr,))
    snap = world(nodes, [svc], slices=[endpoints("s", "c")])
    assert homes_of(snap, [assign("s", (addr,))])["ns/s"] == {addr: "c"}
    # the endpoint node is dead: nowhere better to go, the home stays
    assert homes_of(snap, [assign("s", (addr,))], live={"a", "b"})["ns/s"] == {addr: "a"}
    # no ready endpoint at all: nothing to judge by, the home stays
    snap = world(nodes, [svc], slices=[endpoints("s", "c", ready=False)])
    assert homes_of(snap, [assign("s", (addr,))])["ns/s"] == {addr: "a"}


def test_local_service_is_homed_only_where_endpoints_are() -> None:
    snap = world(
        [node(n) for n in names(4)], [service("s", local=True)], slices=[endpoints("s", "n1", "n3")]
    )
    got = homes_of(snap, [assign("s", ips(1, 2, 3))])
    assert set(got["ns/s"].values()) == {"n1", "n3"}


def test_distinct_nodes_restored_when_a_node_frees_up() -> None:
    a1, a2, a3 = ips(1, 2, 3)
    snap = world([node(n) for n in names(3)], [service("s", homes={a1: "n0", a2: "n0", a3: "n1"})])
    got = homes_of(snap, [assign("s", (a1, a2, a3))])
    assert got["ns/s"] == {a1: "n0", a2: "n2", a3: "n1"}  # the later duplicate moves
    assert list(got["ns/s"]) == [a1, a2, a3]  # in status order


def test_duplicates_stay_when_no_node_is_free() -> None:
    a1, a2, a3 = ips(1, 2, 3)
    prev = {a1: "n0", a2: "n0", a3: "n1"}
    snap = world([node(n) for n in names(3)], [service("s", homes=prev)])
    # n2 exists but is dead: not eligible, so nothing moves
    assert homes_of(snap, [assign("s", (a1, a2, a3))], live={"n0", "n1"})["ns/s"] == prev


def test_no_endpoints_no_new_home() -> None:
    snap = world([node("a")], [service("s")], slices=[])
    assert homes_of(snap, [assign("s", ips(1))]) == {"ns/s": {}}


def test_service_with_errors_keeps_what_it_has_and_gets_nothing_new() -> None:
    a1, a2 = ips(1, 2)
    bad = service("s", homes={a1: "gone"}, errors=(FieldError("Service/ns/s", "spec", "bad"),))
    snap = world([node("a")], [bad])
    assert homes_of(snap, [assign("s", (a1, a2))]) == {"ns/s": {a1: "gone"}}


def test_previous_argument_wins_over_recorded_homes() -> None:
    addr = ips(1)[0]
    snap = world([node("a"), node("b")], [service("s", homes={addr: "a"})])
    got = homes_of(snap, [assign("s", (addr,))], previous={"ns/s": {addr: "b"}})
    assert got == {"ns/s": {addr: "b"}}


def test_shared_ip_has_one_home_and_one_announcer() -> None:
    addr = ips(1)[0]
    snap = world(
        [node(n) for n in names(3)], [service("x", sharing="k"), service("y", sharing="k")]
    )
    both = [assign("y", (addr,)), assign("x", (addr,))]
    got = homes_of(snap, both)
    assert got["ns/x"] == got["ns/y"]
    ann = announcers(snap, both, got, live_nodes=all_live(snap))
    assert {d.node for d in ann} == {got["ns/x"][addr]} and ann[1].owner == "ns/x"


def test_output_is_independent_of_input_order() -> None:
    nodes = [node(n, z=str(i % 2)) for i, n in enumerate(names(7))]
    services = [service(f"s{i}", local=i % 3 == 0) for i in range(12)]
    slices = [endpoints(f"s{i}", *names(7)[i % 4 :]) for i in range(12)]
    assignments = [assign(f"s{i}", ips(10 * i + 1, 10 * i + 2, 10 * i + 3)) for i in range(12)]
    snap = world(nodes, services, slices=slices)
    expected = homes_of(snap, assignments)
    rng = random.Random(7)
    for _ in range(5):
        rng.shuffle(services)
        rng.shuffle(slices)
        rng.shuffle(assignments)
        shuffled = world(reversed(nodes), services, slices=slices)
        assert homes_of(shuffled, assignments) == expected


# --------------------------------------------------------------------------- announcer


def test_home_announces_while_live_then_fallback_avoids_the_services_other_homes() -> None:
    a1, a2 = ips(1, 2)
    snap = world([node(n) for n in names(4)], [service("s")])
    homes = {"ns/s": {a1: "n0", a2: "n1"}}
    live = set(names(4))
    d = announcer_for(snap, [assign("s", (a1, a2))], homes, ip=a1, live_nodes=live)
    assert (d.node, d.role, d.home) == ("n0", Role.HOME, "n0")
    d = announcer_for(snap, [assign("s", (a1, a2))], homes, ip=a1, live_nodes=live - {"n0"})
    # n1 holds a2: the winner is the lower sha256(node#ip) of n2 and n3
    assert (d.node, d.role) == (fallback_winner(a1, ["n2", "n3"], set()), Role.FALLBACK)
    # when only n1 is left, it takes both
    d = announcer_for(snap, [assign("s", (a1, a2))], homes, ip=a1, live_nodes={"n1"})
    assert d.node == "n1"


def test_fallback_ranking_is_sha256_of_node_and_ip() -> None:
    addr = ip("2001:db8::10")
    nodes = names(5)
    expected = min(nodes, key=lambda n: hashlib.sha256(f"{n}#{addr}".encode()).digest())
    assert fallback_winner(addr, nodes, set()) == expected
    assert fallback_winner(addr, nodes, {expected}) != expected
    assert fallback_winner(addr, [expected], {expected}) == expected
    assert fallback_winner(addr, [], set()) is None


def test_ip_without_home_is_announced_by_fallback() -> None:
    snap = world([node(n) for n in names(3)], [service("s")])
    d = announcer_for(snap, [assign("s", ips(1))], {}, ip=ips(1)[0], live_nodes=set(names(3)))
    assert d.role is Role.FALLBACK and d.home is None and d.node is not None


def test_nobody_eligible_gives_none_with_a_reason() -> None:
    addr = ips(1)[0]
    snap = world([node("a")], [service("s")])
    d = announcer_for(
        snap, [assign("s", (addr,))], {"ns/s": {addr: "a"}}, ip=addr, live_nodes=set()
    )
    assert (d.node, d.reason, d.home) == (None, L2Reason.NO_ELIGIBLE_NODE, "a")
    snap = world([node("a")], [service("s")], slices=[])
    d = announcer_for(snap, [assign("s", (addr,))], {}, ip=addr, live_nodes={"a"})
    assert (d.node, d.reason) == (None, Reason.NO_ENDPOINTS)
    d = announcer_for(snap, [assign("s", (addr,))], {}, ip=ips(9)[0], live_nodes={"a"})
    assert (d.node, d.reason) == (None, L2Reason.NOT_ASSIGNED)
