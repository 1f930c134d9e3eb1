"""What the GoBGP backend is asked to make true on one node: frozen dataclasses, no I/O.

The speaker maps its per-node BGP intent onto ``GobgpDesired``: the instance (ASN, router id,
listen port), the neighbours, and the paths to originate. Each path says which neighbours may
receive it (``GobgpPath.peers``, by neighbour name); that is the per-peer export selection. The
backend turns it into GoBGP policy objects (see ``gobgp.diff``); nothing here knows about
gRPC.

Attributes belong to the path, not to the (path, neighbour) pair: GoBGP keeps one locally
originated path per prefix, so a prefix is announced with the same next hop, LOCAL_PREF and
communities to every neighbour that may receive it. An intent that wants different
attributes for one prefix on different neighbours must merge them before it gets here.

``validate()`` reports every inconsistency at once (duplicate names or prefixes, a path naming
an unknown neighbour, out-of-range numbers), so that a bad desired state is refused before
any call reaches the daemon.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from orchestrator.core.model.cluster import Secret

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

UINT16_MAX = 0xFFFF
UINT32_MAX = 0xFFFF_FFFF

#: Global administrator of the large communities the backend uses internally to mark which
#: neighbours may receive a path (``gobgp.diff.peer_tag``). 4294967295 is a reserved ASN
#: (RFC 7300), so no operator owns it; the export policy strips these before any UPDATE
#: leaves the node, and ``validate`` refuses user communities that use it.
INTERNAL_GLOBAL_ADMIN = UINT32_MAX


class Family(StrEnum):
    """Address families a session may carry; values as GoBGP spells them."""

    IPV4_UNICAST = "ipv4-unicast"
    IPV6_UNICAST = "ipv6-unicast"

    @staticmethod
    def of(prefix: IPNetwork) -> Family:
        return Family.IPV4_UNICAST if prefix.version == 4 else Family.IPV6_UNICAST


BOTH_FAMILIES = frozenset(Family)


@dataclass(frozen=True, order=True)
class Community:
    """An RFC 1997 community ``asn:value`` (two 16-bit halves of one 32-bit number).
    Out-of-range values raise ``ValueError`` at construction, as for ``LargeCommunity``."""

    asn: int
    value: int

    def __post_init__(self) -> None:
        if not (0 <= self.asn <= UINT16_MAX and 0 <= self.value <= UINT16_MAX):
            raise ValueError(f"community halves must be 0..65535: {self.asn}:{self.value}")

    @property
    def number(self) -> int:
        return (self.asn << 16) | self.value

    @staticmethod
    def from_number(number: int) -> Community:
        return Community(number >> 16, number & UINT16_MAX)

    def __str__(self) -> str:
        return f"{self.asn}:{self.value}"


@dataclass(frozen=True, order=True)
class LargeCommunity:
    """An RFC 8092 large community ``global:local1:local2`` (three 32-bit numbers)."""

    global_admin: int
    local_data1: int
    local_data2: int

    def __post_init__(self) -> None:
        if not all(
            0 <= n <= UINT32_MAX for n in (self.global_admin, self.local_data1, self.local_data2)
        ):
            raise ValueError(f"large community parts must be 0..4294967295: {self}")

    def __str__(self) -> str:
        return f"{self.global_admin}:{self.local_data1}:{self.local_data2}"


@dataclass(frozen=True)
class GobgpGlobal:
    """The BGP instance. ``listen_port=-1`` makes gobgpd only dial out."""

    asn: int
    router_id: IPv4Address
    listen_port: int = 179
    listen_addresses: tuple[IPAddress, ...] = ()


@dataclass(frozen=True)
class GobgpPeer:
    """One neighbour. ``None`` timers leave gobgpd's defaults (hold 90 s, keepalive 30 s,
    connect retry 120 s); ``local_asn=None`` uses the instance ASN; ``ebgp_multihop`` is the
    TTL (``None``: directly connected)."""

    name: str
    address: IPAddress
    asn: int
    local_asn: int | None = None
    port: int = 179
    hold_time: int | None = None
    keepalive: int | None = None
    connect_retry: int | None = None
    password: Secret | None = None
    ebgp_multihop: int | None = None
    source_address: IPAddress | None = None
    families: frozenset[Family] = BOTH_FAMILIES
    passive: bool = False


@dataclass(frozen=True)
class GobgpPath:
    """A prefix to originate, its attributes, and the neighbours (by name) that may receive it.

    ``next_hop=None`` lets gobgpd use the session's own address. That works for a prefix of
    the session's address family; an IPv6 prefix on an IPv4 session (or the reverse) needs an
    explicit next hop of the prefix's family. ``local_pref`` only reaches iBGP neighbours
    (BGP never sends LOCAL_PREF over eBGP). Communities are kept sorted so that equal paths
    compare equal.
    """

    prefix: IPNetwork
    peers: frozenset[str]
    next_hop: IPAddress | None = None
    local_pref: int | None = None
    communities: tuple[Community, ...] = ()
    large_communities: tuple[LargeCommunity, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "communities", tuple(sorted(set(self.communities))))
        object.__setattr__(self, "large_communities", tuple(sorted(set(self.large_communities))))

    @property
    def family(self) -> Family:
        return Family.of(self.prefix)


@dataclass(frozen=True)
class GobgpDesired:
    """Everything the node's gobgpd should hold. Two paths for one prefix are refused by
    ``validate``.

    The indexes below are computed once per object and reused: an apply validates and diffs
    the new state against the previous one, and the new one is the previous one next time,
    so each index is built once however often it is used.
    """

    instance: GobgpGlobal
    peers: tuple[GobgpPeer, ...] = ()
    paths: tuple[GobgpPath, ...] = ()

    @cached_property
    def peers_by_name(self) -> dict[str, GobgpPeer]:
        return {p.name: p for p in self.peers}

    @cached_property
    def paths_by_prefix(self) -> dict[IPNetwork, GobgpPath]:
        return {p.prefix: p for p in self.paths}

    @cached_property
    def path_counts(self) -> dict[Family, int]:
        """Number of paths per family (what gobgpd's RIB should count)."""
        v4 = sum(1 for p in self.paths if p.prefix.version == 4)
        return {Family.IPV4_UNICAST: v4, Family.IPV6_UNICAST: len(self.paths) - v4}

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every password in this state, so error texts can be scrubbed of them."""
        return tuple(p.password.reveal() for p in self.peers if p.password is not None)


# --------------------------------------------------------------------------- validation


def _asn_ok(asn: int) -> bool:
    return 1 <= asn <= UINT32_MAX


def validate(desired: GobgpDesired) -> list[str]:
    """Every problem in ``desired``, one line each; empty when it can be applied.

    Messages name peers and prefixes but never include a password.
    """
    problems: list[str] = []
    inst = desired.instance
    if not _asn_ok(inst.asn):
        problems.append(f"instance: asn {inst.asn} is not 1..4294967295")
    if not (inst.listen_port == -1 or 1 <= inst.listen_port <= UINT16_MAX):
        problems.append(f"instance: listen_port {inst.listen_port} is not -1 or 1..65535")
    names: set[str] = set()
    addresses: set[IPAddress] = set()
    for peer in desired.peers:
        where = f"peer {peer.name!r}"
        if not peer.name:
            problems.append(f"peer with address {peer.address}: empty name")
        if peer.name in names:
            problems.append(f"{where}: duplicate name")
        if peer.address in addresses:
            problems.append(f"{where}: address {peer.address} used by another peer")
        names.add(peer.name)
        addresses.add(peer.address)
        if not _asn_ok(peer.asn):
            problems.append(f"{where}: asn {peer.asn} is not 1..4294967295")
        if peer.local_asn is not None and not _asn_ok(peer.local_asn):
            problems.append(f"{where}: local_asn {peer.local_asn} is not 1..4294967295")
        if not 1 <= peer.port <= UINT16_MAX:
            problems.append(f"{where}: port {peer.port} is not 1..65535")
        if peer.hold_time is not None and peer.hold_time < 3:
            # 0 ("no keepalives") cannot be expressed: gobgpd reads 0 as "use the default"
            problems.append(f"{where}: hold_time must be at least 3 seconds")
        if (
            peer.hold_time is not None
            and peer.keepalive is not None
            and peer.keepalive >= peer.hold_time
        ):
            problems.append(f"{where}: keepalive must be shorter than hold_time")
        for label, value in (("keepalive", peer.keepalive), ("connect_retry", peer.connect_retry)):
            if value is not None and value < 0:
                problems.append(f"{where}: {label} must not be negative")
        if peer.ebgp_multihop is not None and not 1 <= peer.ebgp_multihop <= 255:
            problems.append(f"{where}: ebgp_multihop ttl {peer.ebgp_multihop} is not 1..255")
        if not peer.families:
            problems.append(f"{where}: no address family enabled")
        if peer.password is not None:
            text = peer.password.reveal()
            if not text or not text.isprintable() or len(text) > 80:
                problems.append(f"{where}: password must be 1..80 printable characters")
    problems.extend(_path_problems(desired, names))
    return problems


def _path_problems(desired: GobgpDesired, names: set[str]) -> list[str]:
    """Checks over every path, written to cost little per path: with 5,000 paths this runs
    on every apply. Properties shared by many paths (peer set and family) are checked once
    per distinct combination; messages are only formatted for paths that fail."""
    problems: list[str] = []
    paths = desired.paths
    if len(desired.paths_by_prefix) != len(paths):
        seen: set[IPNetwork] = set()
        for path in paths:
            if path.prefix in seen:
                problems.append(f"path {path.prefix}: listed twice")
            seen.add(path.prefix)
    bad_peers: dict[tuple[frozenset[str], int], str] = {}
    for peers, version in {(p.peers, p.prefix.version) for p in paths}:
        family = Family.IPV4_UNICAST if version == 4 else Family.IPV6_UNICAST
        if not peers:
            bad_peers[peers, version] = "no peer may receive it"
        elif unknown := peers - names:
            bad_peers[peers, version] = f"unknown peer(s) {', '.join(sorted(unknown))}"
        elif lacking := [n for n in peers if family not in desired.peers_by_name[n].families]:
            bad_peers[peers, version] = (
                f"peer(s) {', '.join(sorted(lacking))} do not carry {family}"
            )
    for path in paths:
        reason = bad_peers.get((path.peers, path.prefix.version)) if bad_peers else None
        if reason:
            problems.append(f"path {path.prefix}: {reason}")
        if path.next_hop is not None and path.next_hop.version < path.prefix.version:
            problems.append(f"path {path.prefix}: an IPv6 prefix needs an IPv6 next hop")
        if path.local_pref is not None and not 0 <= path.local_pref <= UINT32_MAX:
            problems.append(
                f"path {path.prefix}: local_pref {path.local_pref} is not 0..4294967295"
            )
        for large in path.large_communities:
            if large.global_admin == INTERNAL_GLOBAL_ADMIN:
                problems.append(
                    f"path {path.prefix}: large community {large} uses the reserved global "
                    f"administrator {INTERNAL_GLOBAL_ADMIN} (the backend's internal marks)"
                )
    return problems
