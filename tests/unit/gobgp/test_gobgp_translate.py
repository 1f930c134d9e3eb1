"""The core's per-node BGP intent translated for gobgpd: peers, paths with their peer sets
and attributes, router ID fallback, and what GoBGP cannot express is reported."""

from __future__ import annotations

from ipaddress import IPv4Address, ip_address, ip_network

from gobgp.model import Community, Family, LargeCommunity
from gobgp.translate import router_id_for, translate
from orchestrator.core.bgp.intent import NodeBGPIntent, PeerIntent, PrefixIntent
from orchestrator.core.model.cluster import BGPPeer, CommunityKind, DynamicASN
from orchestrator.core.model.cluster import Community as CoreCommunity


def intent(*peers: BGPPeer, prefixes: tuple[PrefixIntent, ...] = ()) -> NodeBGPIntent:
    return NodeBGPIntent(
        node="node-1",
        asn=64512,
        router_id=None,
        peers=tuple(PeerIntent(p, frozenset({4})) for p in peers),
        advertisements=(),
        bfd_profiles=(),
        prefixes=prefixes,
    )


def test_peers_and_paths_translate_with_attributes() -> None:
    r1 = BGPPeer(
        "r1",
        64512,
        peer_asn=64500,
        peer_address=ip_address("192.0.2.1"),
        hold_time=9.0,
        keepalive_time=3.0,
        ebgp_multihop=True,
    )
    r2 = BGPPeer("r2", 64512, dynamic_asn=DynamicASN.INTERNAL, peer_address=ip_address("192.0.2.2"))
    prefix = PrefixIntent(
        prefix=ip_network("203.0.113.10/32"),
        advertisements=("a",),
        local_pref=150,
        communities=(
            CoreCommunity(CommunityKind.STANDARD, "64512:100"),
            CoreCommunity(CommunityKind.LARGE, "64512:1:2"),
        ),
        peers=("r1",),
        services=("demo/api",),
    )
    t = translate(intent(r1, r2, prefixes=(prefix,)))
    assert t.problems == () and t.desired is not None
    peers = {p.name: p for p in t.desired.peers}
    assert peers["r1"].asn == 64500 and peers["r1"].hold_time == 9
    assert peers["r1"].ebgp_multihop == 255 and peers["r1"].families == {Family.IPV4_UNICAST}
    assert peers["r2"].asn == 64512  # dynamicASN internal = our own ASN
    (path,) = t.desired.paths
    assert path.peers == {"r1"} and path.local_pref == 150
    assert path.communities == (Community(64512, 100),)
    assert path.large_communities == (LargeCommunity(64512, 1, 2),)
    assert t.desired.instance.router_id == router_id_for("node-1")
    assert translate(intent(r1), router_id=IPv4Address("192.0.2.11")).desired is not None
    # it listens as FRR does: gobgpd 3.x dials a new neighbour only after 5-9 s
    assert t.desired.instance.listen_port == 179
    dial_only = translate(intent(r1), listen_port=-1).desired
    assert dial_only is not None and dial_only.instance.listen_port == -1


def test_unsupported_peers_are_reported_not_dropped_silently() -> None:
    unnumbered = BGPPeer("u", 64512, peer_asn=64500, interface="eth0")
    external = BGPPeer(
        "x", 64512, dynamic_asn=DynamicASN.EXTERNAL, peer_address=ip_address("192.0.2.3")
    )
    t = translate(intent(unnumbered, external))
    assert t.desired is not None and t.desired.peers == ()
    assert len(t.problems) == 2 and "need FRR" in t.problems[0]


def test_a_node_without_peers_configures_nothing() -> None:
    empty = NodeBGPIntent(
        node="n",
        asn=None,
        router_id=None,
        peers=(),
        advertisements=(),
        bfd_profiles=(),
        prefixes=(),
    )
    assert translate(empty).desired is None


def test_router_id_falls_back_to_the_nodes_internal_ipv4() -> None:
    r1 = BGPPeer("r1", 64512, peer_asn=64500, peer_address=ip_address("192.0.2.1"))
    base = intent(r1)
    own = NodeBGPIntent(
        node=base.node,
        asn=base.asn,
        router_id=None,
        peers=base.peers,
        advertisements=(),
        bfd_profiles=(),
        prefixes=(),
        node_addresses=(ip_address("2001:db8::11"), ip_address("192.0.2.11")),
    )
    t = translate(own)
    assert t.desired is not None
    assert t.desired.instance.router_id == IPv4Address("192.0.2.11")
    # the operator's --router-id wins over the node's address
    forced = translate(own, router_id=IPv4Address("192.0.2.99")).desired
    assert forced is not None and forced.instance.router_id == IPv4Address("192.0.2.99")
