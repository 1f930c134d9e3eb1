"""Per-node BGP intent: which sessions this node opens and which prefixes it announces.

DESIGN decision 7: the core decides *what* a node announces to *whom* with *which*
attributes; the FRR and GoBGP backends only translate the answer. ``bgp_intent`` is a pure
function of the snapshot, the allocator's ``Assignment``s and the node name, so every
speaker (and ``mlb render``) computes the same answer from the same input.

How a node decides, for every (Service, IP) of every assignment:

1. the pool must be advertised over BGP at all: some BGPAdvertisement selects the pool
   (``ipAddressPools`` / ``ipAddressPoolSelectors``, both empty = every pool) and the
   Service (``serviceSelectors``); L2-only pools never are -> ``noMatchingAdvertisement``;
2. node checks from ``eligibility`` (unknown node, advertisement node selectors ->
   ``notOwner``, exclude label, ``NetworkUnavailable``, liveness);
3. endpoint checks from ``eligibility``: nothing while the Service has no ready endpoint;
   with ``externalTrafficPolicy: Local`` only nodes hosting a ready endpoint;
4. the advertisements that passed must reach at least one of this node's peers of the IP's
   family (``peers`` restricts by BGPPeer name) -> otherwise ``noMatchingPeer``.

Every "no" is kept as a ``Withheld`` with its reason so the CLI can explain it.

The prefix is the IP masked to the advertisement's aggregation length, so several IPs (and
several advertisements) can land on one prefix. A prefix carries one attribute set, the
merge over its contributing advertisements: the union of their communities and the
local-pref of the first advertisement (by name) that sets one; it reaches the union of
their peers. This is MetalLB's per-peer result whenever the contributing advertisements
agree or go to the same peers. When they set different local-prefs, or different
communities towards different peers, the merge is still announced (an invalid object
never withdraws an IP, decision 2) and a ``conflictingAdvertisements`` problem says what
each peer actually receives.

Peers: the BGPPeers whose node selectors match this node. All peers of one node share one
local ASN and one router ID (FRR runs one ``router bgp``): the first peer by name decides,
and a peer with a different ``myASN`` is left out with a problem. Peers in a VRF are left
out (one default-VRF router per node is what the backends drive).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Set
from dataclasses import dataclass
from enum import StrEnum
from ipaddress import IPv4Address, IPv4Network, IPv6Network

from orchestrator.core import eligibility
from orchestrator.core.model import (
    AddressPool,
    Assignment,
    BFDProfile,
    BGPAdvertisement,
    BGPPeer,
    ClusterSnapshot,
    Community,
    IPAddress,
    IPNetwork,
    PoolKind,
    Protocol,
    Service,
)
from orchestrator.core.selectors import any_matches


class BGPReason(StrEnum):
    """Why a node does not announce one Service IP (MetalLB's vocabulary where it exists)."""

    UNKNOWN_SERVICE = "unknownService"
    UNKNOWN_POOL = "unknownPool"
    NO_MATCHING_ADVERTISEMENT = "noMatchingAdvertisement"
    UNKNOWN_NODE = "unknownNode"
    NOT_OWNER = "notOwner"
    EXCLUDED = "nodeLabeledExcludeBalancers"
    NETWORK_UNAVAILABLE = "nodeNetworkUnavailable"
    NOT_LIVE = "speakerNotLive"
    NO_ENDPOINTS = "noEndpoints"
    NO_LOCAL_ENDPOINTS = "noLocalEndpoints"
    NO_MATCHING_PEER = "noMatchingPeer"


EXPLAIN: dict[BGPReason, str] = {
    BGPReason.UNKNOWN_SERVICE: "the assignment names a Service that is not in the snapshot",
    BGPReason.UNKNOWN_POOL: "the assignment names a pool that is not in the snapshot",
    BGPReason.NO_MATCHING_ADVERTISEMENT: "no BGPAdvertisement selects this pool and Service",
    BGPReason.UNKNOWN_NODE: "no Node object with this name",
    BGPReason.NOT_OWNER: "no BGPAdvertisement of this pool selects this node",
    BGPReason.EXCLUDED: eligibility.EXPLAIN[eligibility.Reason.EXCLUDED],
    BGPReason.NETWORK_UNAVAILABLE: eligibility.EXPLAIN[eligibility.Reason.NETWORK_UNAVAILABLE],
    BGPReason.NOT_LIVE: eligibility.EXPLAIN[eligibility.Reason.NOT_LIVE],
    BGPReason.NO_ENDPOINTS: eligibility.EXPLAIN[eligibility.Reason.NO_ENDPOINTS],
    BGPReason.NO_LOCAL_ENDPOINTS: eligibility.EXPLAIN[eligibility.Reason.NO_LOCAL_ENDPOINTS],
    BGPReason.NO_MATCHING_PEER: (
        "none of this node's BGP peers of the IP's family is allowed by the advertisements"
    ),
}

_FROM_ELIGIBILITY: dict[eligibility.Reason, BGPReason] = {
    eligibility.Reason.UNKNOWN_NODE: BGPReason.UNKNOWN_NODE,
    eligibility.Reason.NODE_SELECTOR: BGPReason.NOT_OWNER,
    eligibility.Reason.EXCLUDED: BGPReason.EXCLUDED,
    eligibility.Reason.NETWORK_UNAVAILABLE: BGPReason.NETWORK_UNAVAILABLE,
    eligibility.Reason.NOT_LIVE: BGPReason.NOT_LIVE,
    eligibility.Reason.NO_ENDPOINTS: BGPReason.NO_ENDPOINTS,
    eligibility.Reason.NO_LOCAL_ENDPOINTS: BGPReason.NO_LOCAL_ENDPOINTS,
}


class ProblemReason(StrEnum):
    """Configuration problems found while computing intent (reported, never fatal)."""

    ASN_CONFLICT = "myASNConflict"
    ROUTER_ID_CONFLICT = "routerIDConflict"
    DUPLICATE_PEER = "duplicatePeerAddress"
    UNKNOWN_BFD_PROFILE = "unknownBFDProfile"
    UNSUPPORTED_VRF = "unsupportedVRF"
    CONFLICTING_ADVERTISEMENTS = "conflictingAdvertisements"


@dataclass(frozen=True, order=True)
class Problem:
    reason: ProblemReason
    obj: str  # "BGPPeer/r1", "BGPAdvertisement/a"
    message: str

    def __str__(self) -> str:
        return f"{self.obj}: {self.reason.value}: {self.message}"


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


# --------------------------------------------------------------------------- peers


def _families(peer: BGPPeer) -> frozenset[int]:
    if peer.interface is not None or peer.dual_stack:
        return frozenset({4, 6})
    if peer.peer_address is not None:
        return frozenset({peer.peer_address.version})
    return frozenset({4})


def _peer_key(peer: BGPPeer) -> str:
    return peer.interface if peer.interface is not None else str(peer.peer_address)


def _select_peers(
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


# --------------------------------------------------------------------------- advertisements


_NO_ENDPOINTS = eligibility.EndpointSummary()


def _pool_is_l2_only(pool: AddressPool) -> bool:
    return pool.kind is PoolKind.CLASS or pool.protocol is Protocol.LAYER2


def _selects_pool(adv: BGPAdvertisement, pool: AddressPool) -> bool:
    if not adv.pools and not adv.pool_selectors:
        return True
    if pool.name in adv.pools:
        return True
    return any(s.matches(pool.labels) for s in adv.pool_selectors)


def _prefix_of(ip: IPAddress, adv: BGPAdvertisement) -> IPNetwork:
    # the (address, length) form: no string round trip, which dominated at 5,000 Services
    if ip.version == 4:
        return IPv4Network((int(ip), adv.aggregation_length), strict=False)
    return IPv6Network((int(ip), adv.aggregation_length_v6), strict=False)


@dataclass
class _Acc:
    """Contributions to one prefix while the intent is being built."""

    advertisements: set[str]
    services: set[str]


@dataclass(frozen=True)
class _Merged:
    local_pref: int | None
    communities: tuple[Community, ...]
    peers: tuple[str, ...]
    problems: tuple[Problem, ...]


def _merge(advs: list[BGPAdvertisement], allowed: Mapping[str, tuple[str, ...]]) -> _Merged:
    """Attributes of a prefix announced through ``advs`` (sorted by name); a function of
    the advertisement set alone, so it is computed once per set, not once per prefix."""
    problems: list[Problem] = []
    obj = "BGPAdvertisement/" + "+".join(a.name for a in advs)
    names = ", ".join(a.name for a in advs)
    prefs = [a.local_pref for a in advs if a.local_pref is not None]
    local_pref = prefs[0] if prefs else None
    if len(set(prefs)) > 1:
        problems.append(
            Problem(
                ProblemReason.CONFLICTING_ADVERTISEMENTS,
                obj,
                f"advertisements {names} set different localPref on the prefixes they "
                f"share; announcing localPref {local_pref}",
            )
        )
    communities = tuple(sorted({c for a in advs for c in a.communities}))
    if (
        len({frozenset(a.communities) for a in advs}) > 1
        and len({allowed[a.name] for a in advs}) > 1
    ):
        problems.append(
            Problem(
                ProblemReason.CONFLICTING_ADVERTISEMENTS,
                obj,
                f"advertisements {names} send the prefixes they share to different peers "
                "with different communities; every peer that receives them gets the union "
                f"({' '.join(str(c) for c in communities)})",
            )
        )
    peers = tuple(sorted({p for a in advs for p in allowed[a.name]}))
    return _Merged(local_pref, communities, peers, tuple(problems))


# --------------------------------------------------------------------------- intent


def bgp_intent(
    snapshot: ClusterSnapshot,
    assignments: Iterable[Assignment],
    *,
    node: str,
    live_nodes: Set[str] | None = None,
    ignore_exclude_label: bool = False,
) -> NodeBGPIntent:
    """Compute what ``node`` announces. ``live_nodes=None`` means "this node is live" (a
    speaker computing its own intent is live by definition)."""
    problems: list[Problem] = []
    node_obj = snapshot.nodes.get(node)
    labels: Mapping[str, str] = node_obj.labels if node_obj is not None else {}
    if node_obj is not None:
        asn, router_id, peers = _select_peers(snapshot, labels, problems)
    else:
        asn, router_id, peers = None, None, []
    live = live_nodes is None or node in live_nodes

    services = {s.key: s for s in snapshot.services}
    endpoints = eligibility.summarize_endpoints(snapshot)  # one pass over every slice
    advs_all = sorted(snapshot.config.bgp_advertisements, key=lambda a: a.name)
    adv_by_name = {a.name: a for a in advs_all}

    # Peers each advertisement reaches on this node, per family. Computed once: the
    # inner loop below runs per IP and must stay cheap for thousands of Services.
    allowed: dict[tuple[str, int], tuple[str, ...]] = {}
    for adv in advs_all:
        for fam in (4, 6):
            allowed[(adv.name, fam)] = tuple(
                p.name
                for p in peers
                if fam in p.families and (not adv.peers or p.name in adv.peers)
            )
    node_selected = {a.name: any_matches(a.node_selectors, labels) for a in advs_all}

    acc: dict[IPNetwork, _Acc] = {}
    withheld: list[Withheld] = []
    node_check_cache: dict[bool, BGPReason | None] = {}

    def node_check(selected: bool) -> BGPReason | None:
        if selected not in node_check_cache:
            r = eligibility.node_reason(
                node_obj, selected=selected, live=live, ignore_exclude_label=ignore_exclude_label
            )
            node_check_cache[selected] = _FROM_ELIGIBILITY[r] if r is not None else None
        return node_check_cache[selected]

    for assignment in assignments:
        service = services.get(assignment.service)
        pool = snapshot.config.pools.get(assignment.pool)
        for ip in assignment.ips:
            reason, contributing = _decide_ip(
                ip,
                service=service,
                pool=pool,
                advs=advs_all,
                node_selected=node_selected,
                node_check=node_check,
                endpoints=endpoints,
                node=node,
                allowed=allowed,
            )
            if reason is not None:
                withheld.append(Withheld(assignment.service, str(ip), reason))
                continue
            for adv in contributing:
                prefix = _prefix_of(ip, adv)
                entry = acc.setdefault(prefix, _Acc(set(), set()))
                entry.advertisements.add(adv.name)
                entry.services.add(assignment.service)

    conflict_set: set[Problem] = set()
    prefixes: list[PrefixIntent] = []
    merged: dict[tuple[tuple[str, ...], int], _Merged] = {}
    for prefix, entry in acc.items():
        key = (tuple(sorted(entry.advertisements)), prefix.version)
        m = merged.get(key)
        if m is None:
            advs = [adv_by_name[n] for n in key[0]]
            m = _merge(advs, {a.name: allowed[(a.name, prefix.version)] for a in advs})
            merged[key] = m
            conflict_set.update(m.problems)
        prefixes.append(
            PrefixIntent(
                prefix=prefix,
                advertisements=key[0],
                local_pref=m.local_pref,
                communities=m.communities,
                peers=m.peers,
                services=tuple(sorted(entry.services)),
            )
        )
    used = {name for names, _ in merged for name in names}
    prefixes.sort(
        key=lambda p: (p.prefix.version, int(p.prefix.network_address), p.prefix.prefixlen)
    )

    adv_intents = tuple(
        AdvertisementIntent(
            name=a.name,
            local_pref=a.local_pref,
            communities=tuple(sorted(a.communities)),
            peers=tuple(sorted(set(allowed[(a.name, 4)]) | set(allowed[(a.name, 6)]))),
        )
        for a in advs_all
        if a.name in used
    )
    bfd = {p.bfd_profile.name: p.bfd_profile for p in peers if p.bfd_profile is not None}
    return NodeBGPIntent(
        node=node,
        asn=asn,
        router_id=router_id,
        peers=tuple(peers),
        advertisements=adv_intents,
        bfd_profiles=tuple(bfd[n] for n in sorted(bfd)),
        prefixes=tuple(prefixes),
        withheld=tuple(sorted(withheld)),
        problems=tuple(problems) + tuple(sorted(conflict_set)),
        node_addresses=node_obj.internal_ips if node_obj is not None else (),
    )


def _decide_ip(
    ip: IPAddress,
    *,
    service: Service | None,
    pool: AddressPool | None,
    advs: list[BGPAdvertisement],
    node_selected: Mapping[str, bool],
    node_check: Callable[[bool], BGPReason | None],
    endpoints: Mapping[str, eligibility.EndpointSummary],
    node: str,
    allowed: Mapping[tuple[str, int], tuple[str, ...]],
) -> tuple[BGPReason | None, list[BGPAdvertisement]]:
    """The checks of the module docstring for one IP; returns a reason or the advertisements
    through which the IP is announced."""
    if service is None:
        return BGPReason.UNKNOWN_SERVICE, []
    if pool is None:
        return BGPReason.UNKNOWN_POOL, []
    if _pool_is_l2_only(pool):
        return BGPReason.NO_MATCHING_ADVERTISEMENT, []
    matching = [
        a
        for a in advs
        if _selects_pool(a, pool) and any_matches(a.service_selectors, service.labels)
    ]
    if not matching:
        return BGPReason.NO_MATCHING_ADVERTISEMENT, []
    mine = [a for a in matching if node_selected[a.name]]
    reason = node_check(bool(mine))
    if reason is not None:
        return reason, []
    r = endpoints.get(service.key, _NO_ENDPOINTS).reason(service, node)
    if r is not None:
        return _FROM_ELIGIBILITY[r], []
    reaching = [a for a in mine if allowed[(a.name, ip.version)]]
    if not reaching:
        return BGPReason.NO_MATCHING_PEER, []
    return None, reaching
