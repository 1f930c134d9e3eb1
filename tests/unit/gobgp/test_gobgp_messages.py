"""Model <-> GoBGP API messages, through the generated stubs (no daemon).

Covers: paths round-trip through the wire encoding (IPv4 with NextHopAttribute, IPv6 and
IPv4-with-IPv6-next-hop with MpReachNLRIAttribute; unspecified next hop; LOCAL_PREF;
communities; user large communities kept apart from internal tags); Any type URLs are in
package ``apipb``; withdrawals carry only the NLRI; paths learned from a neighbour are not
mistaken for ours; peers round-trip (every field we set); the export policy has the shape
the plan describes; a message serialises to bytes gobgpd can parse (re-parse check).
"""

from __future__ import annotations

from ipaddress import IPv4Address, ip_address, ip_network

import pytest

from gobgp import messages
from gobgp._generated import attribute_pb2 as attr
from gobgp._generated import gobgp_pb2 as api
from gobgp.diff import STRIP_INTERNAL_TAGS, ExportPolicy, RibPath, peer_tag
from gobgp.model import Community, Family, GobgpGlobal, GobgpPeer, LargeCommunity
from orchestrator.core.model.cluster import Secret
from orchestrator.routing.report import SessionState

TAG = peer_tag(ip_address("198.51.100.1"))


def rib(prefix: str, next_hop: str | None = None, **kw: object) -> RibPath:
    fields: dict[str, object] = {
        "local_pref": None,
        "communities": (),
        "large_communities": (),
        "tags": frozenset({TAG}),
        **kw,
    }
    return RibPath(
        prefix=ip_network(prefix),
        next_hop=ip_address(next_hop) if next_hop else None,
        **fields,  # type: ignore[arg-type]
    )


CASES = [
    rib("203.0.113.10/32"),
    rib("203.0.113.0/24", "198.51.100.11", local_pref=150),
    rib(
        "203.0.113.11/32",
        communities=(Community(65000, 1), Community(65000, 2)),
        large_communities=(LargeCommunity(64512, 1, 2),),
    ),
    rib("2001:db8:5::10/128"),
    rib("2001:db8:5::/64", "2001:db8:100::11"),
    rib("203.0.113.12/32", "2001:db8:100::11"),  # RFC 8950 style next hop
]


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.prefix}-{p.next_hop}")
def test_path_round_trip(path: RibPath) -> None:
    message = messages.path_message(path)
    reparsed = api.Path.FromString(message.SerializeToString())
    assert messages.path_from(reparsed) == path


def test_path_encoding_details() -> None:
    v4 = messages.path_message(rib("203.0.113.10/32"))
    urls = [a.type_url for a in v4.pattrs]
    assert urls[0] == "type.googleapis.com/apipb.OriginAttribute"
    assert "type.googleapis.com/apipb.NextHopAttribute" in urls
    assert v4.nlri.type_url == "type.googleapis.com/apipb.IPAddressPrefix"
    hop = attr.NextHopAttribute()
    next(a for a in v4.pattrs if a.Is(attr.NextHopAttribute.DESCRIPTOR)).Unpack(hop)
    assert hop.next_hop == "0.0.0.0"  # gobgpd substitutes the session's address

    v6 = messages.path_message(rib("2001:db8:5::10/128"))
    reach = attr.MpReachNLRIAttribute()
    next(a for a in v6.pattrs if a.Is(attr.MpReachNLRIAttribute.DESCRIPTOR)).Unpack(reach)
    assert list(reach.next_hops) == ["::"] and len(reach.nlris) == 1
    assert (v6.family.afi, v6.family.safi) == (api.Family.AFI_IP6, api.Family.SAFI_UNICAST)

    withdraw = messages.withdraw_message(ip_network("2001:db8:5::10/128"))
    assert withdraw.is_withdraw and not withdraw.pattrs


def test_foreign_paths_are_ignored() -> None:
    learned = messages.path_message(rib("203.0.113.10/32"))
    learned.neighbor_ip = "198.51.100.1"
    assert messages.path_from(learned) is None
    external = messages.path_message(rib("203.0.113.10/32"))
    external.is_from_external = True
    assert messages.path_from(external) is None


def test_peer_round_trip() -> None:
    peer = GobgpPeer(
        "r1",
        ip_address("2001:db8:100::1"),
        64500,
        local_asn=64999,
        port=1179,
        hold_time=9,
        keepalive=3,
        connect_retry=1,
        password=Secret("pw"),
        ebgp_multihop=4,
        source_address=ip_address("2001:db8:100::11"),
        families=frozenset({Family.IPV6_UNICAST}),
        passive=True,
    )
    message = api.Peer.FromString(messages.peer_message(peer).SerializeToString())
    message.state.session_state = api.PeerState.ESTABLISHED
    snap = messages.peer_from(message)
    assert (snap.address, snap.asn, snap.local_asn, snap.port) == (
        peer.address,
        64500,
        64999,
        1179,
    )
    assert (snap.hold_time, snap.keepalive, snap.connect_retry) == (9, 3, 1)
    assert snap.password == Secret("pw") and snap.ebgp_multihop == 4
    assert snap.source_address == peer.source_address and snap.passive
    assert snap.families == {Family.IPV6_UNICAST}
    assert snap.session is SessionState.ESTABLISHED

    plain = messages.peer_from(
        messages.peer_message(GobgpPeer("r2", IPv4Address("198.51.100.2"), 1))
    )
    assert plain.password is None and plain.ebgp_multihop is None and plain.source_address is None
    assert plain.families == {Family.IPV4_UNICAST, Family.IPV6_UNICAST}


def test_global_round_trip() -> None:
    instance = GobgpGlobal(64512, IPv4Address("198.51.100.11"), listen_port=-1)
    assert messages.global_from(messages.global_message(instance)) == instance
    assert messages.global_from(api.Global()) is None  # not started
    running = GobgpGlobal(64512, instance.router_id, 179, (ip_address("0.0.0.0"), ip_address("::")))
    assert messages.instance_matches(running, GobgpGlobal(64512, instance.router_id))
    assert not messages.instance_matches(running, GobgpGlobal(64513, instance.router_id))


def test_export_policy_shape() -> None:
    export = ExportPolicy(ip_address("2001:db8:100::1"))
    neighbors = messages.neighbor_set(export)
    assert neighbors.defined_type == api.NEIGHBOR and list(neighbors.list) == [
        "2001:db8:100::1/128"
    ]
    tags = messages.tag_set(export)
    assert tags.defined_type == api.LARGE_COMMUNITY and list(tags.list) == [str(export.tag)]
    policy = messages.export_policy(export)
    (statement,) = policy.statements
    assert statement.name == policy.name == export.policy
    assert statement.conditions.neighbor_set.name == export.neighbor_set
    assert statement.conditions.large_community_set.name == export.tag_set
    assert statement.actions.route_action == api.ACCEPT
    assert statement.actions.large_community.type == api.CommunityAction.REMOVE
    assert list(statement.actions.large_community.communities) == [STRIP_INTERNAL_TAGS]
    assignment = messages.assignment(api.EXPORT, [export.policy])
    assert messages.assignment_from(assignment) == ((export.policy,), True)
