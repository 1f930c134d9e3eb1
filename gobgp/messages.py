"""Our model <-> GoBGP API messages. The only module that touches the generated classes
besides the client.

Paths are built the way gobgpd expects from its own CLI: the NLRI as an ``IPAddressPrefix``
in ``Path.nlri``; attributes as ``*Attribute`` messages packed into ``google.protobuf.Any``
(the type URL, ``type.googleapis.com/apipb.<Message>``, is how gobgpd tells them apart);
IPv4 next hops in ``NextHopAttribute``, IPv6 ones in ``MpReachNLRIAttribute`` (RFC 4760),
which also repeats the NLRI. An unspecified next hop (``0.0.0.0`` / ``::``) asks gobgpd to
use the session's own address.

Generated classes are untyped (stubs are generated at build time and excluded from mypy);
every value read from a message is converted to a plain Python type right here, so the rest
of the package stays strictly typed.
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address, ip_address, ip_network
from typing import Any

from gobgp._generated import attribute_pb2 as attr
from gobgp._generated import gobgp_pb2 as api
from gobgp.diff import (
    IMPORT_POLICY,
    IMPORT_STATEMENT,
    STRIP_INTERNAL_TAGS,
    ExportPolicy,
    PeerSnapshot,
    RibPath,
)
from gobgp.model import (
    INTERNAL_GLOBAL_ADMIN,
    Community,
    Family,
    GobgpGlobal,
    GobgpPeer,
    IPAddress,
    IPNetwork,
    LargeCommunity,
)
from orchestrator.core.model.cluster import Secret
from orchestrator.routing.report import SessionState

# The generated module objects are untyped; give them one name each for readability.
Message = Any

GLOBAL_TABLE = "global"  # PolicyAssignment name of the instance-wide lists
ORIGIN_IGP = 0

_AFI_SAFI = {
    Family.IPV4_UNICAST: (api.Family.AFI_IP, api.Family.SAFI_UNICAST),
    Family.IPV6_UNICAST: (api.Family.AFI_IP6, api.Family.SAFI_UNICAST),
}
_FAMILY_OF = {pair: family for family, pair in _AFI_SAFI.items()}
_SESSION = {
    api.PeerState.UNKNOWN: SessionState.UNKNOWN,
    api.PeerState.IDLE: SessionState.IDLE,
    api.PeerState.CONNECT: SessionState.CONNECT,
    api.PeerState.ACTIVE: SessionState.ACTIVE,
    api.PeerState.OPENSENT: SessionState.OPENSENT,
    api.PeerState.OPENCONFIRM: SessionState.OPENCONFIRM,
    api.PeerState.ESTABLISHED: SessionState.ESTABLISHED,
}


def _type_url(message_class: Message) -> str:
    return f"type.googleapis.com/{message_class.DESCRIPTOR.full_name}"


_URL_PREFIX = _type_url(attr.IPAddressPrefix)
_URL_NEXT_HOP = _type_url(attr.NextHopAttribute)
_URL_MP_REACH = _type_url(attr.MpReachNLRIAttribute)
_URL_LOCAL_PREF = _type_url(attr.LocalPrefAttribute)
_URL_COMMUNITIES = _type_url(attr.CommunitiesAttribute)
_URL_LARGE = _type_url(attr.LargeCommunitiesAttribute)


def family(fam: Family) -> Message:
    afi, safi = _AFI_SAFI[fam]
    return api.Family(afi=afi, safi=safi)


def family_of(msg: Message) -> Family | None:
    return _FAMILY_OF.get((int(msg.afi), int(msg.safi)))


# --------------------------------------------------------------------------- instance


def global_message(instance: GobgpGlobal) -> Message:
    return api.Global(
        asn=instance.asn,
        router_id=str(instance.router_id),
        listen_port=instance.listen_port,
        listen_addresses=[str(a) for a in instance.listen_addresses],
    )


def global_from(msg: Message) -> GobgpGlobal | None:
    """``None`` for a daemon that has not been started (it reports asn 0)."""
    if not int(msg.asn):
        return None
    return GobgpGlobal(
        asn=int(msg.asn),
        router_id=IPv4Address(str(msg.router_id or "0.0.0.0")),
        listen_port=int(msg.listen_port),
        listen_addresses=tuple(ip_address(str(a)) for a in msg.listen_addresses),
    )


def instance_matches(actual: GobgpGlobal, want: GobgpGlobal) -> bool:
    """gobgpd reports its default listen addresses (0.0.0.0 and ::) when none were given."""
    return (
        actual.asn == want.asn
        and actual.router_id == want.router_id
        and actual.listen_port == want.listen_port
        and (
            not want.listen_addresses or set(actual.listen_addresses) == set(want.listen_addresses)
        )
    )


# --------------------------------------------------------------------------- neighbours


def peer_message(peer: GobgpPeer) -> Message:
    msg = api.Peer(
        conf=api.PeerConf(
            neighbor_address=str(peer.address),
            peer_asn=peer.asn,
            local_asn=peer.local_asn or 0,
            auth_password=peer.password.reveal() if peer.password else "",
        ),
        timers=api.Timers(
            config=api.TimersConfig(
                hold_time=peer.hold_time or 0,
                keepalive_interval=peer.keepalive or 0,
                connect_retry=peer.connect_retry or 0,
            )
        ),
        transport=api.Transport(
            local_address=str(peer.source_address) if peer.source_address else "",
            remote_port=peer.port,
            passive_mode=peer.passive,
        ),
    )
    if peer.ebgp_multihop is not None:
        msg.ebgp_multihop.enabled = True
        msg.ebgp_multihop.multihop_ttl = peer.ebgp_multihop
    for fam in sorted(peer.families):
        msg.afi_safis.add(config=api.AfiSafiConfig(family=family(fam), enabled=True))
    return msg


def _address_or_none(text: str) -> IPAddress | None:
    if not text:
        return None
    address = ip_address(text)
    return None if address.is_unspecified else address


def peer_from(msg: Message) -> PeerSnapshot:
    conf, state = msg.conf, msg.state
    timers = msg.timers.config
    families: set[Family] = set()
    advertised = received = 0
    for afi_safi in msg.afi_safis:
        fam = family_of(afi_safi.config.family) or family_of(afi_safi.state.family)
        if fam is not None and (afi_safi.config.enabled or afi_safi.state.enabled):
            families.add(fam)
        advertised += int(afi_safi.state.advertised)
        received += int(afi_safi.state.received)
    password = str(conf.auth_password)
    return PeerSnapshot(
        address=ip_address(str(conf.neighbor_address or state.neighbor_address)),
        asn=int(conf.peer_asn or state.peer_asn),
        local_asn=int(conf.local_asn),
        port=int(msg.transport.remote_port),
        hold_time=int(timers.hold_time),
        keepalive=int(timers.keepalive_interval),
        connect_retry=int(timers.connect_retry),
        password=Secret(password) if password else None,
        ebgp_multihop=int(msg.ebgp_multihop.multihop_ttl) if msg.ebgp_multihop.enabled else None,
        source_address=_address_or_none(str(msg.transport.local_address)),
        families=frozenset(families),
        passive=bool(msg.transport.passive_mode),
        session=_SESSION.get(int(state.session_state), SessionState.UNKNOWN),
        advertised=advertised,
        received=received,
    )


# --------------------------------------------------------------------------- paths


def _nlri(prefix: IPNetwork) -> Message:
    return attr.IPAddressPrefix(prefix=str(prefix.network_address), prefix_len=prefix.prefixlen)


def path_message(path: RibPath) -> Message:
    fam = path.family
    msg = api.Path(family=family(fam))
    nlri = _nlri(path.prefix)
    msg.nlri.Pack(nlri)
    msg.pattrs.add().Pack(attr.OriginAttribute(origin=ORIGIN_IGP))
    if fam is Family.IPV4_UNICAST and (path.next_hop is None or path.next_hop.version == 4):
        next_hop = str(path.next_hop) if path.next_hop else "0.0.0.0"
        msg.pattrs.add().Pack(attr.NextHopAttribute(next_hop=next_hop))
    else:
        # IPv6 NLRI, or an IPv4 NLRI with an IPv6 next hop (RFC 8950)
        default = "::" if fam is Family.IPV6_UNICAST else "0.0.0.0"
        reach = attr.MpReachNLRIAttribute(
            family=family(fam), next_hops=[str(path.next_hop) if path.next_hop else default]
        )
        reach.nlris.add().Pack(nlri)
        msg.pattrs.add().Pack(reach)
    if path.local_pref is not None:
        msg.pattrs.add().Pack(attr.LocalPrefAttribute(local_pref=path.local_pref))
    if path.communities:
        msg.pattrs.add().Pack(
            attr.CommunitiesAttribute(communities=[c.number for c in path.communities])
        )
    large = sorted([*path.large_communities, *path.tags])
    if large:
        msg.pattrs.add().Pack(
            attr.LargeCommunitiesAttribute(
                communities=[
                    attr.LargeCommunity(
                        global_admin=c.global_admin,
                        local_data1=c.local_data1,
                        local_data2=c.local_data2,
                    )
                    for c in large
                ]
            )
        )
    return msg


def withdraw_message(prefix: IPNetwork) -> Message:
    """Withdrawal needs only the NLRI; ``is_withdraw`` lets gobgpd skip the next-hop check."""
    msg = api.Path(family=family(Family.of(prefix)), is_withdraw=True)
    msg.nlri.Pack(_nlri(prefix))
    return msg


def path_from(msg: Message) -> RibPath | None:
    """A locally originated path read back from the RIB; ``None`` for anything else."""
    if msg.is_from_external or str(msg.neighbor_ip) not in ("", "<nil>"):
        return None
    if msg.nlri.type_url != _URL_PREFIX:
        return None
    nlri = attr.IPAddressPrefix()
    msg.nlri.Unpack(nlri)
    prefix = ip_network(f"{nlri.prefix}/{int(nlri.prefix_len)}")
    next_hop: IPAddress | None = None
    local_pref: int | None = None
    communities: tuple[Community, ...] = ()
    large: list[LargeCommunity] = []
    for packed in msg.pattrs:
        url = packed.type_url
        if url == _URL_NEXT_HOP:
            value = attr.NextHopAttribute()
            packed.Unpack(value)
            next_hop = _address_or_none(str(value.next_hop))
        elif url == _URL_MP_REACH:
            value = attr.MpReachNLRIAttribute()
            packed.Unpack(value)
            hops = [str(h) for h in value.next_hops]
            next_hop = _address_or_none(hops[0]) if hops else None
        elif url == _URL_LOCAL_PREF:
            value = attr.LocalPrefAttribute()
            packed.Unpack(value)
            local_pref = int(value.local_pref)
        elif url == _URL_COMMUNITIES:
            value = attr.CommunitiesAttribute()
            packed.Unpack(value)
            communities = tuple(sorted(Community.from_number(int(n)) for n in value.communities))
        elif url == _URL_LARGE:
            value = attr.LargeCommunitiesAttribute()
            packed.Unpack(value)
            large = [
                LargeCommunity(int(c.global_admin), int(c.local_data1), int(c.local_data2))
                for c in value.communities
            ]
    return RibPath(
        prefix=prefix,
        next_hop=next_hop,
        local_pref=local_pref,
        communities=communities,
        large_communities=tuple(
            sorted(c for c in large if c.global_admin != INTERNAL_GLOBAL_ADMIN)
        ),
        tags=frozenset(c for c in large if c.global_admin == INTERNAL_GLOBAL_ADMIN),
    )


# --------------------------------------------------------------------------- policy


def neighbor_set(export: ExportPolicy) -> Message:
    bits = export.address.max_prefixlen
    return api.DefinedSet(
        defined_type=api.NEIGHBOR, name=export.neighbor_set, list=[f"{export.address}/{bits}"]
    )


def tag_set(export: ExportPolicy) -> Message:
    return api.DefinedSet(
        defined_type=api.LARGE_COMMUNITY, name=export.tag_set, list=[str(export.tag)]
    )


def export_policy(export: ExportPolicy) -> Message:
    """To this neighbour, paths carrying its tag: strip every internal tag, accept."""
    statement = api.Statement(
        name=export.policy,
        conditions=api.Conditions(
            neighbor_set=api.MatchSet(type=api.MatchSet.ANY, name=export.neighbor_set),
            large_community_set=api.MatchSet(type=api.MatchSet.ANY, name=export.tag_set),
        ),
        actions=api.Actions(
            route_action=api.ACCEPT,
            large_community=api.CommunityAction(
                type=api.CommunityAction.REMOVE, communities=[STRIP_INTERNAL_TAGS]
            ),
        ),
    )
    return api.Policy(name=export.policy, statements=[statement])


def import_policy() -> Message:
    """Accept what this node originates; the assignment's default rejects the rest."""
    statement = api.Statement(
        name=IMPORT_STATEMENT,
        conditions=api.Conditions(route_type=api.Conditions.ROUTE_TYPE_LOCAL),
        actions=api.Actions(route_action=api.ACCEPT),
    )
    return api.Policy(name=IMPORT_POLICY, statements=[statement])


def assignment(direction: int, policies: Iterable[str]) -> Message:
    """The global list for ``direction`` with default REJECT."""
    return api.PolicyAssignment(
        name=GLOBAL_TABLE,
        direction=direction,
        policies=[api.Policy(name=name) for name in policies],
        default_action=api.REJECT,
    )


def assignment_from(msg: Message) -> tuple[tuple[str, ...], bool]:
    """(policy names, default is REJECT) of a PolicyAssignment."""
    return tuple(str(p.name) for p in msg.policies), int(msg.default_action) == api.REJECT
