"""Map the core's per-node BGP intent onto what gobgpd should hold.

The core decides what this node announces to whom (``NodeBGPIntent``); this module only
translates: BGPPeer -> neighbour, PrefixIntent -> path with the peers that may receive it.
What GoBGP cannot express is reported, not silently dropped: unnumbered (interface) peers
and ``dynamicASN: external`` are FRR-only in MetalLB too.

Router ID: when no BGPPeer sets ``routerID``, FRR picks one from the node's addresses;
gobgpd needs one given. In order: the operator's ``mlb speaker --router-id``, the Node's
first IPv4 ``InternalIP`` (MetalLB's native speaker uses the node's own IPv4 address), and
last, as MetalLB does without one, a value derived from the node name (crc32).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from ipaddress import IPv4Address

from gobgp.model import (
    Community,
    Family,
    GobgpDesired,
    GobgpGlobal,
    GobgpPath,
    GobgpPeer,
    LargeCommunity,
)
from orchestrator.core.bgp.intent import NodeBGPIntent, PeerIntent
from orchestrator.core.model.cluster import CommunityKind, DynamicASN

BGP_PORT = 179


@dataclass(frozen=True)
class Translation:
    desired: GobgpDesired | None  # None: the node has no BGP peer at all
    problems: tuple[str, ...] = ()


def router_id_for(node: str) -> IPv4Address:
    return IPv4Address(zlib.crc32(node.encode()) or 1)


def _peer(p: PeerIntent, asn: int, problems: list[str]) -> GobgpPeer | None:
    peer = p.peer
    if peer.peer_address is None:
        problems.append(f"BGPPeer/{peer.name}: interface (unnumbered) peers need FRR")
        return None
    if peer.peer_asn is not None:
        remote = peer.peer_asn
    elif peer.dynamic_asn is DynamicASN.INTERNAL:
        remote = asn
    else:
        problems.append(f"BGPPeer/{peer.name}: dynamicASN external needs FRR")
        return None
    families = frozenset(Family.IPV4_UNICAST if f == 4 else Family.IPV6_UNICAST for f in p.families)
    return GobgpPeer(
        name=peer.name,
        address=peer.peer_address,
        asn=remote,
        local_asn=peer.local_asn,
        port=peer.peer_port,
        hold_time=int(peer.hold_time) if peer.hold_time else None,
        keepalive=int(peer.keepalive_time) if peer.keepalive_time else None,
        connect_retry=peer.connect_time,
        password=peer.password,
        ebgp_multihop=255 if peer.ebgp_multihop else None,
        source_address=peer.source_address,
        families=families or frozenset(Family),
    )


def translate(
    intent: NodeBGPIntent, *, router_id: IPv4Address | None = None, listen_port: int = BGP_PORT
) -> Translation:
    """gobgpd listens on ``listen_port`` (``-1``: it only dials out). It listens by default,
    as FRR's bgpd does: gobgpd 3.x waits a random 5-9 s before its first outgoing
    connection to a new neighbour, so a gobgpd restarted bare and configured again would
    stay without sessions that long; listening, it takes the router's next connection
    attempt instead (measured: routes back at the router 5.6-9.6 s after a restart dialing
    only, about 2 s listening, with the router retrying every second)."""
    if intent.asn is None:
        return Translation(None)
    problems: list[str] = []
    peers = [q for p in intent.peers if (q := _peer(p, intent.asn, problems)) is not None]
    names = {q.name for q in peers}
    paths = []
    for prefix in intent.prefixes:
        allowed = frozenset(n for n in prefix.peers if n in names)
        if not allowed:
            continue
        paths.append(
            GobgpPath(
                prefix=prefix.prefix,
                peers=allowed,
                local_pref=prefix.local_pref,
                # the core model holds the numbers: nothing is parsed here
                communities=tuple(
                    Community.from_number(c.numbers[0])
                    for c in prefix.communities
                    if c.kind is CommunityKind.STANDARD
                ),
                large_communities=tuple(
                    LargeCommunity(*c.numbers)
                    for c in prefix.communities
                    if c.kind is CommunityKind.LARGE
                ),
            )
        )
    own_v4 = next((a for a in intent.node_addresses if isinstance(a, IPv4Address)), None)
    rid = intent.router_id or router_id or own_v4 or router_id_for(intent.node)
    instance = GobgpGlobal(asn=intent.asn, router_id=rid, listen_port=listen_port)
    return Translation(GobgpDesired(instance, tuple(peers), tuple(paths)), tuple(problems))
