"""Per-node BGP intent (orchestrator.core.bgp).

Matrix: externalTrafficPolicy Cluster / Local / no endpoints; every withheld reason
(noMatchingAdvertisement, notOwner, nodeLabeledExcludeBalancers, nodeNetworkUnavailable,
speakerNotLive, unknownNode, noMatchingPeer, unknownService/Pool); aggregation (v4, v6);
attributes and their merge over overlapping advertisements (conflictingAdvertisements);
peer selection by node selector and family; peer problems (ASN, router ID, duplicates,
BFD profile, VRF); determinism; and a property: every assigned IP is either announced by
exactly the prefixes that cover it or withheld with one reason, never both.
"""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address, ip_address, ip_network

from hypothesis import given
from hypothesis import strategies as st

from orchestrator.core.bgp.compute import bgp_intent
from orchestrator.core.bgp.reasons import BGPReason, ProblemReason
from orchestrator.core.model.cluster import (
    EXCLUDE_LABEL,
    AddressPool,
    BFDProfile,
    BGPAdvertisement,
    ClusterSnapshot,
    DynamicASN,
    Node,
    PoolKind,
    Protocol,
    TrafficPolicy,
)
from orchestrator.core.model.selectors import LabelSelector
from tests.golden.frr_scenarios import (
    POOL4,
    POOL6,
    assign,
    large,
    node,
    peer,
    service,
    snapshot,
    std,
)

R1 = peer("r1", "198.51.100.1")
DEFAULT = BGPAdvertisement(name="default")


def simple(**kw: object) -> ClusterSnapshot:
    args: dict[str, object] = {
        "peers": [R1],
        "advertisements": [DEFAULT],
        "services": [service("web", endpoints_on=("n2",))],
    }
    args.update(kw)
    return snapshot(**args)  # type: ignore[arg-type]


WEB = [assign("default/web", "203.0.113.10")]


def reasons(snap: ClusterSnapshot, node_name: str = "n1", **kw: object) -> list[BGPReason]:
    intent = bgp_intent(snap, WEB, node=node_name, **kw)  # type: ignore[arg-type]
    return [w.reason for w in intent.withheld]


def test_cluster_policy_every_eligible_node_announces() -> None:
    snap = simple()
    for n in ("n1", "n2", "n3"):
        intent = bgp_intent(snap, WEB, node=n)
        assert [str(p.prefix) for p in intent.prefixes] == ["203.0.113.10/32"]
        assert intent.prefixes[0].peers == ("r1",)
        assert intent.prefixes[0].services == ("default/web",)
        assert intent.asn == 64512 and [p.name for p in intent.peers] == ["r1"]


def test_local_policy_only_nodes_with_a_ready_local_endpoint() -> None:
    snap = simple(services=[service("web", policy=TrafficPolicy.LOCAL, endpoints_on=("n2",))])
    assert bgp_intent(snap, WEB, node="n2").prefixes
    assert reasons(snap, "n1") == [BGPReason.NO_LOCAL_ENDPOINTS]


def test_nothing_while_the_service_has_no_ready_endpoint() -> None:
    assert reasons(simple(services=[service("web", endpoints_on=())])) == [BGPReason.NO_ENDPOINTS]


def test_not_ready_endpoint_does_not_count() -> None:
    svc, eps = service("web", endpoints_on=("n1",))
    eps = replace(eps, endpoints=(replace(eps.endpoints[0], ready=False, serving=False),))
    assert reasons(simple(services=[(svc, eps)])) == [BGPReason.NO_ENDPOINTS]


def test_l2_pools_and_unselected_pools_have_no_matching_advertisement() -> None:
    l2 = AddressPool(name="public", kind=PoolKind.MODULECONFIG, cidrs=POOL4.cidrs)
    l2 = replace(l2, protocol=Protocol.LAYER2)
    assert reasons(simple(pools=(l2,))) == [BGPReason.NO_MATCHING_ADVERTISEMENT]
    other = BGPAdvertisement(name="other", pools=("elsewhere",))
    assert reasons(simple(advertisements=[other])) == [BGPReason.NO_MATCHING_ADVERTISEMENT]
    by_label = BGPAdvertisement(name="lbl", pool_selectors=(LabelSelector({"tier": "edge"}),))
    labelled = replace(POOL4, labels={"tier": "edge"})
    assert reasons(simple(advertisements=[by_label], pools=(labelled,))) == []
    svc_sel = BGPAdvertisement(name="s", service_selectors=(LabelSelector({"app": "x"}),))
    assert reasons(simple(advertisements=[svc_sel])) == [BGPReason.NO_MATCHING_ADVERTISEMENT]


def test_advertisement_node_selector_not_owner() -> None:
    adv = BGPAdvertisement(name="rack-a", node_selectors=(LabelSelector({"rack": "a"}),))
    snap = simple(advertisements=[adv], nodes=[node("n1", rack="b"), node("n2", rack="a")])
    assert reasons(snap, "n1") == [BGPReason.NOT_OWNER]
    assert reasons(snap, "n2") == []


def test_node_level_reasons() -> None:
    snap = simple(nodes=[node("n1", **{EXCLUDE_LABEL: ""}), node("n2")])
    assert reasons(snap, "n1") == [BGPReason.EXCLUDED]
    assert reasons(snap, "n1", ignore_exclude_label=True) == []
    down = simple(nodes=[Node(name="n1", network_unavailable=True)])
    assert reasons(down, "n1") == [BGPReason.NETWORK_UNAVAILABLE]
    assert reasons(simple(), "n1", live_nodes={"n2"}) == [BGPReason.NOT_LIVE]
    assert reasons(simple(), "nope") == [BGPReason.UNKNOWN_NODE]
    assert bgp_intent(simple(), WEB, node="nope").peers == ()


def test_unknown_service_and_pool() -> None:
    snap = simple()
    intent = bgp_intent(
        snap,
        [assign("default/gone", "203.0.113.1"), assign("default/web", "203.0.113.2", pool="x")],
        node="n1",
    )
    assert sorted(w.reason for w in intent.withheld) == [
        BGPReason.UNKNOWN_POOL,
        BGPReason.UNKNOWN_SERVICE,
    ]


def test_peer_restriction_and_no_matching_peer() -> None:
    r2 = peer("r2", "198.51.100.2")
    only_r2 = BGPAdvertisement(name="only-r2", peers=("r2",))
    snap = simple(peers=[R1, r2], advertisements=[only_r2])
    intent = bgp_intent(snap, WEB, node="n1")
    assert intent.prefixes[0].peers == ("r2",)
    assert intent.advertisements[0].peers == ("r2",)
    missing = simple(advertisements=[BGPAdvertisement(name="x", peers=("nobody",))])
    assert reasons(missing) == [BGPReason.NO_MATCHING_PEER]


def test_families_follow_the_peer_address() -> None:
    v6_peer = peer("r6", "2001:db8::1")
    snap = simple(peers=[R1, v6_peer], services=[service("web"), service("v6")])
    assignments = [
        assign("default/web", "203.0.113.10"),
        assign("default/v6", "2001:db8:100::5", pool="public6"),
    ]
    intent = bgp_intent(snap, assignments, node="n1")
    by_prefix = {str(p.prefix): p.peers for p in intent.prefixes}
    assert by_prefix == {"203.0.113.10/32": ("r1",), "2001:db8:100::5/128": ("r6",)}
    dual = replace(R1, dual_stack=True)
    intent = bgp_intent(simple(peers=[dual], services=[service("v6")]), assignments, node="n1")
    assert {str(p.prefix): p.peers for p in intent.prefixes}["2001:db8:100::5/128"] == ("r1",)
    assert intent.peers[0].families == frozenset({4, 6})
    only_v4 = bgp_intent(simple(services=[service("v6")]), assignments[1:], node="n1")
    assert [w.reason for w in only_v4.withheld] == [BGPReason.NO_MATCHING_PEER]


def test_aggregation_merges_ips_into_one_prefix() -> None:
    adv = BGPAdvertisement(name="agg", aggregation_length=28, aggregation_length_v6=64)
    snap = simple(
        peers=[replace(R1, dual_stack=True)],
        advertisements=[adv],
        services=[service("a"), service("b"), service("c")],
    )
    intent = bgp_intent(
        snap,
        [
            assign("default/a", "203.0.113.1"),
            assign("default/b", "203.0.113.14"),
            assign("default/c", "2001:db8:100::7", pool="public6"),
        ],
        node="n1",
    )
    assert [(str(p.prefix), p.services) for p in intent.prefixes] == [
        ("203.0.113.0/28", ("default/a", "default/b")),
        ("2001:db8:100::/64", ("default/c",)),
    ]


def test_attributes_and_overlap_merge() -> None:
    a = BGPAdvertisement(name="a", local_pref=100, communities=(std("65000:1"),))
    b = BGPAdvertisement(name="b", local_pref=200, communities=(large("65000:2:3"),))
    intent = bgp_intent(simple(advertisements=[b, a]), WEB, node="n1")
    (p,) = intent.prefixes
    assert p.advertisements == ("a", "b")
    assert p.local_pref == 100  # the first advertisement by name decides
    assert {str(c) for c in p.communities} == {"65000:1", "large:65000:2:3"}
    assert [x.reason for x in intent.problems] == [ProblemReason.CONFLICTING_ADVERTISEMENTS]
    same = bgp_intent(simple(advertisements=[a, replace(b, local_pref=100)]), WEB, node="n1")
    assert same.problems == ()  # same peers, agreeing local-pref: MetalLB gives the same


def test_different_communities_to_different_peers_is_reported() -> None:
    r2 = peer("r2", "198.51.100.2")
    a = BGPAdvertisement(name="a", communities=(std("65000:1"),), peers=("r1",))
    b = BGPAdvertisement(name="b", communities=(std("65000:2"),), peers=("r2",))
    intent = bgp_intent(simple(peers=[R1, r2], advertisements=[a, b]), WEB, node="n1")
    assert intent.prefixes[0].peers == ("r1", "r2")
    (problem,) = intent.problems
    assert problem.reason is ProblemReason.CONFLICTING_ADVERTISEMENTS
    assert "union" in problem.message


def test_peer_problems() -> None:
    peers = [
        replace(R1, router_id=IPv4Address("198.51.100.11"), bfd_profile="missing"),
        peer("r2", "198.51.100.2", my_asn=64999),
        peer("r3", "198.51.100.1"),
        peer("r4", "198.51.100.4", router_id=IPv4Address("198.51.100.99")),
        peer("r5", "198.51.100.5", vrf="red"),
    ]
    intent = bgp_intent(simple(peers=peers), WEB, node="n1")
    assert [p.name for p in intent.peers] == ["r1", "r4"]
    assert intent.router_id == IPv4Address("198.51.100.11")
    assert intent.peers[0].bfd_profile is None
    assert sorted(p.reason for p in intent.problems) == sorted(
        [
            ProblemReason.UNKNOWN_BFD_PROFILE,
            ProblemReason.ASN_CONFLICT,
            ProblemReason.DUPLICATE_PEER,
            ProblemReason.ROUTER_ID_CONFLICT,
            ProblemReason.UNSUPPORTED_VRF,
        ]
    )


def test_peer_node_selectors_and_bfd_profiles() -> None:
    fast = BFDProfile(name="fast", receive_interval=100)
    rack = peer("rack", "198.51.100.7", node_selectors=(LabelSelector({"rack": "a"}),))
    dyn = peer("dyn", "198.51.100.8", peer_asn=None, dynamic_asn=DynamicASN.EXTERNAL)
    snap = simple(
        peers=[replace(R1, bfd_profile="fast"), rack, dyn],
        bfd=[fast],
        nodes=[node("n1", rack="a"), node("n2")],
    )
    assert [p.name for p in bgp_intent(snap, WEB, node="n1").peers] == ["dyn", "r1", "rack"]
    n2 = bgp_intent(snap, WEB, node="n2")
    assert [p.name for p in n2.peers] == ["dyn", "r1"]
    assert n2.bfd_profiles == (fast,)


def test_no_peers_no_asn() -> None:
    snap = simple(peers=[peer("r1", "198.51.100.1", node_selectors=(LabelSelector({"x": "y"}),))])
    intent = bgp_intent(snap, WEB, node="n1")
    assert intent.asn is None and intent.prefixes == ()
    assert [w.reason for w in intent.withheld] == [BGPReason.NO_MATCHING_PEER]


def test_explain() -> None:
    snap = simple(services=[service("web", policy=TrafficPolicy.LOCAL, endpoints_on=("n2",))])
    assert "noLocalEndpoints" in bgp_intent(snap, WEB, node="n1").explain(
        ip_address("203.0.113.10")
    )
    assert "announces 203.0.113.10/32" in bgp_intent(snap, WEB, node="n2").explain(
        ip_address("203.0.113.10")
    )
    assert "not assigned" in bgp_intent(snap, WEB, node="n2").explain(ip_address("192.0.2.1"))


def test_deterministic_whatever_the_input_order() -> None:
    a = BGPAdvertisement(name="a", communities=(std("65000:1"),))
    b = BGPAdvertisement(name="b", aggregation_length=30)
    svcs = [service("x"), service("y"), service("z")]
    asg = [
        assign("default/x", "203.0.113.9"),
        assign("default/y", "203.0.113.1"),
        assign("default/z", "203.0.113.5"),
    ]
    peers = [R1, peer("r2", "198.51.100.2")]
    one = bgp_intent(simple(peers=peers, advertisements=[a, b], services=svcs), asg, node="n1")
    two = bgp_intent(
        simple(peers=peers[::-1], advertisements=[b, a], services=svcs[::-1]),
        asg[::-1],
        node="n1",
    )
    assert one == two


@given(
    endpoints=st.lists(st.sampled_from(["n1", "n2", "n3"]), max_size=3),
    local=st.booleans(),
    ips=st.lists(st.integers(0, 255), min_size=1, max_size=8, unique=True),
    agg=st.integers(24, 32),
    selector_rack=st.sampled_from([None, "a", "b"]),
    node_name=st.sampled_from(["n1", "n2", "n3", "n9"]),
)
def test_every_ip_is_announced_or_withheld_never_both(
    endpoints: list[str],
    local: bool,
    ips: list[int],
    agg: int,
    selector_rack: str | None,
    node_name: str,
) -> None:
    selectors = (LabelSelector({"rack": selector_rack}),) if selector_rack else ()
    adv = BGPAdvertisement(name="a", aggregation_length=agg, node_selectors=selectors)
    policy = TrafficPolicy.LOCAL if local else TrafficPolicy.CLUSTER
    snap = simple(
        advertisements=[adv],
        services=[service("web", policy=policy, endpoints_on=tuple(endpoints))],
        nodes=[node("n1", rack="a"), node("n2", rack="b"), node("n3")],
    )
    addresses = [f"203.0.113.{i}" for i in ips]
    intent = bgp_intent(snap, [assign("default/web", *addresses)], node=node_name)
    withheld = {w.ip for w in intent.withheld}
    for text in addresses:
        ip = ip_address(text)
        covered = [p for p in intent.prefixes if ip in p.prefix]
        assert bool(covered) != (text in withheld)
        if covered:
            assert covered[0].prefix == ip_network(f"{text}/{agg}", strict=False)
    assert len(intent.withheld) == len(withheld)
    if intent.prefixes:
        assert node_name in {"n1", "n2", "n3"}
        assert not local or node_name in endpoints
    assert all(set(p.peers) <= {x.name for x in intent.peers} for p in intent.prefixes)


def test_pools_class_kind_is_l2() -> None:
    cls = AddressPool(name="public", kind=PoolKind.CLASS, cidrs=POOL4.cidrs, class_name="c")
    assert reasons(simple(pools=(cls, POOL6))) == [BGPReason.NO_MATCHING_ADVERTISEMENT]


def test_intent_carries_the_nodes_internal_ips() -> None:
    from orchestrator.core.parse import parse_snapshot

    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "n1"},
        "status": {
            "addresses": [
                {"type": "Hostname", "address": "n1"},
                {"type": "InternalIP", "address": "192.0.2.11"},
                {"type": "InternalIP", "address": "not-an-ip"},
            ]
        },
    }
    snapshot = parse_snapshot([("t.yaml#1", node)])
    assert [str(a) for a in snapshot.nodes["n1"].internal_ips] == ["192.0.2.11"]
    assert [str(a) for a in bgp_intent(snapshot, [], node="n1").node_addresses] == ["192.0.2.11"]
