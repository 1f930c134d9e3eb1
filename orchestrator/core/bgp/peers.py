"""Which BGP sessions a node opens: the BGPPeers whose node selectors match the node.

All peers of one node share one local ASN and one router ID (FRR runs one ``router bgp``):
the first peer by name decides, and a peer with a different ``myASN`` is left out with a
problem. Peers in a VRF are left out (one default-VRF router per node is what the backends
drive). Two peers with the same address (or interface) on one node: the second is left out.
A missing BFD profile is reported and the session runs without BFD.
"""

from __future__ import annotations

from collections.abc import Mapping
from ipaddress import IPv4Address

from orchestrator.core.bgp.intent import PeerIntent
from orchestrator.core.bgp.reasons import Problem, ProblemReason
from orchestrator.core.model.cluster import BFDProfile, BGPPeer, ClusterSnapshot
from orchestrator.core.model.selectors import any_matches


def _families(peer: BGPPeer) -> frozenset[int]:
    if peer.interface is not None or peer.dual_stack:
        return frozenset({4, 6})
    if peer.peer_address is not None:
        return frozenset({peer.peer_address.version})
    return frozenset({4})


def _peer_key(peer: BGPPeer) -> str:
    return peer.interface if peer.interface is not None else str(peer.peer_address)


def select_peers(
    snapshot: ClusterSnapshot, labels: Mapping[str, str], problems: list[Problem]
) -> tuple[int | None, IPv4Address | None, list[PeerIntent]]:
    config = snapshot.config
    chosen: list[PeerIntent] = []
    asn: int | None = None
    router_id: IPv4Address | None = None
    keys: dict[str, str] = {}
    for peer in sorted(config.bgp_peers, key=lambda p: p.name):
        if not any_matches(peer.node_selectors, labels):
            continue
        obj = f"BGPPeer/{peer.name}"
        if peer.vrf:
            problems.append(
                Problem(
                    ProblemReason.UNSUPPORTED_VRF,
                    obj,
                    f"vrf {peer.vrf!r} is not supported; the session is not opened",
                )
            )
            continue
        if asn is not None and peer.my_asn != asn:
            problems.append(
                Problem(
                    ProblemReason.ASN_CONFLICT,
                    obj,
                    f"myASN {peer.my_asn} differs from {asn} used by the node's other peers; "
                    "the session is not opened",
                )
            )
            continue
        key = _peer_key(peer)
        if key in keys:
            problems.append(
                Problem(
                    ProblemReason.DUPLICATE_PEER,
                    obj,
                    f"BGPPeer/{keys[key]} already peers with {key} on this node; "
                    "the session is not opened",
                )
            )
            continue
        keys[key] = peer.name
        asn = peer.my_asn
        if peer.router_id is not None:
            if router_id is None:
                router_id = peer.router_id
            elif peer.router_id != router_id:
                problems.append(
                    Problem(
                        ProblemReason.ROUTER_ID_CONFLICT,
                        obj,
                        f"routerID {peer.router_id} differs from {router_id}; using {router_id}",
                    )
                )
        bfd: BFDProfile | None = None
        if peer.bfd_profile:
            bfd = config.bfd_profiles.get(peer.bfd_profile)
            if bfd is None:
                problems.append(
                    Problem(
                        ProblemReason.UNKNOWN_BFD_PROFILE,
                        obj,
                        f"BFDProfile {peer.bfd_profile!r} does not exist; "
                        "the session runs without BFD",
                    )
                )
        chosen.append(PeerIntent(peer=peer, families=_families(peer), bfd_profile=bfd))
    return asn, router_id, chosen
