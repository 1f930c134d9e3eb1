"""What ``bgp_intent`` answers for one node: the sessions, the advertisements in use, the
prefixes with their attributes, and every Service IP withheld with its reason.

These frozen dataclasses are the contract between the core and the routing backends: FRR
and GoBGP only translate a ``NodeBGPIntent``, so both announce the same thing. Everything
is sorted, so two speakers (or ``mlb render``) that compute the same intent compare equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address

from orchestrator.core.bgp.reasons import EXPLAIN, BGPReason, Problem
from orchestrator.core.model.cluster import BFDProfile, BGPPeer, Community, IPAddress, IPNetwork


@dataclass(frozen=True)
class PeerIntent:
    """One BGP session this node opens."""

    peer: BGPPeer
    families: frozenset[int]  # 4 and/or 6: the address families activated on the session
    bfd_profile: BFDProfile | None = None

    @property
    def name(self) -> str:
        return self.peer.name


@dataclass(frozen=True)
class AdvertisementIntent:
    """A BGPAdvertisement in use on this node, with the peers of this node it reaches."""

    name: str
    local_pref: int | None
    communities: tuple[Community, ...]
    peers: tuple[str, ...]  # sorted peer names; always a subset of the node's peers


@dataclass(frozen=True)
class PrefixIntent:
    """One prefix this node announces."""

    prefix: IPNetwork
    advertisements: tuple[str, ...]  # contributing advertisements, sorted by name
    local_pref: int | None
    communities: tuple[Community, ...]  # union over the advertisements, sorted
    peers: tuple[str, ...]  # sorted names of the peers that receive it
    services: tuple[str, ...]  # sorted "namespace/name" of the Services behind it

    @property
    def family(self) -> int:
        return self.prefix.version


@dataclass(frozen=True, order=True)
class Withheld:
    """A Service IP this node does not announce, and why."""

    service: str
    ip: str  # textual, so that withheld entries sort and print stably
    reason: BGPReason

    def __str__(self) -> str:
        return f"{self.ip} ({self.service}): {self.reason.value}: {EXPLAIN[self.reason]}"


@dataclass(frozen=True)
class NodeBGPIntent:
    node: str
    asn: int | None  # None when the node has no peer
    router_id: IPv4Address | None
    peers: tuple[PeerIntent, ...]  # sorted by name
    advertisements: tuple[AdvertisementIntent, ...]  # those used by a prefix, sorted by name
    bfd_profiles: tuple[BFDProfile, ...]  # referenced by a peer, sorted by name
    prefixes: tuple[PrefixIntent, ...]  # sorted by (family, prefix)
    withheld: tuple[Withheld, ...] = ()
    problems: tuple[Problem, ...] = ()
    #: The Node's InternalIP addresses: a router ID for backends that need one given.
    node_addresses: tuple[IPAddress, ...] = ()

    def peer(self, name: str) -> PeerIntent | None:
        return next((p for p in self.peers if p.name == name), None)

    def explain(self, ip: IPAddress) -> str:
        """One line saying whether and why this node announces ``ip``."""
        text = str(ip)
        for w in self.withheld:
            if w.ip == text:
                return f"{self.node} does not announce {w}"
        for p in self.prefixes:
            if ip.version == p.prefix.version and ip in p.prefix:
                peers = ", ".join(p.peers)
                return f"{self.node} announces {p.prefix} (covers {text}) to {peers}"
        return f"{self.node}: {text} is not assigned to any Service"


EMPTY_INTENT = NodeBGPIntent(
    node="", asn=None, router_id=None, peers=(), advertisements=(), bfd_profiles=(), prefixes=()
)
