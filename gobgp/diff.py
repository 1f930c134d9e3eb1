"""From desired state to the smallest set of gobgpd changes: pure functions, no gRPC.

How per-peer export works. GoBGP 3.10 refuses per-neighbour policies for neighbours that are
not route-server clients, so selection happens in the *global* export policy:

- every path carries one internal large community per neighbour that may receive it,
  ``peer_tag(address)`` = ``4294967295:<64 bits of sha256(address)>``;
- for every neighbour there is one policy (``ExportPolicy``): *if the UPDATE goes to this
  neighbour* (a neighbour set holding its address — in an export policy GoBGP matches the
  receiving neighbour) *and the path carries this neighbour's tag* (a large-community set),
  *remove every internal tag and accept*;
- the global export default is REJECT, so a path goes nowhere unless a statement accepted it,
  and routes learned from routers are never passed on to other routers.

That is O(neighbours) policy objects however many prefixes there are, and moving a path
between neighbours is just re-adding the path with other tags (gobgpd re-runs export for it and
withdraws it where it is no longer accepted) — no policy edit, no soft reset. The global
import policy accepts only locally originated paths: a speaker announces, it does not learn.

Two ways to compute a ``Plan``:

- ``diff(old, new)``: the previous *desired* state against the new one (the model-level diff
  used on every steady-state apply; cost proportional to what changed, plus one equality test
  per path);
- ``reconcile(actual, new)``: what the daemon really holds (read back over the API) against
  the new state — used on the first apply, after gobgpd restarted, or after an apply failed
  half-way, when the previous desired state says nothing reliable about the daemon.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from gobgp.model import (
    INTERNAL_GLOBAL_ADMIN,
    Community,
    Family,
    GobgpDesired,
    GobgpPath,
    GobgpPeer,
    IPAddress,
    IPNetwork,
    LargeCommunity,
)
from orchestrator.core.model.cluster import Secret
from orchestrator.routing.report import SessionState

#: Every policy object we create starts with this; anything else in gobgpd is not ours.
NAME_PREFIX = "mlb-"
IMPORT_POLICY = "mlb-import"
IMPORT_STATEMENT = "mlb-import-local"
#: Regular expression (GoBGP syntax) removing every internal tag on export.
STRIP_INTERNAL_TAGS = f"^{INTERNAL_GLOBAL_ADMIN}:.*$"

# gobgpd's defaults, for comparing read-back neighbour settings with ``None`` in the model
DEFAULT_PORT = 179
DEFAULT_HOLD_TIME = 90
DEFAULT_CONNECT_RETRY = 120


def peer_tag(address: IPAddress) -> LargeCommunity:
    """The internal large community marking "this path may go to ``address``"."""
    digest = hashlib.sha256(address.packed).digest()
    return LargeCommunity(
        INTERNAL_GLOBAL_ADMIN,
        int.from_bytes(digest[:4], "big"),
        int.from_bytes(digest[4:8], "big"),
    )


@dataclass(frozen=True)
class ExportPolicy:
    """The three gobgpd objects that let one neighbour receive the paths tagged for it."""

    address: IPAddress

    @property
    def tag(self) -> LargeCommunity:
        return peer_tag(self.address)

    @property
    def ident(self) -> str:
        tag = self.tag
        return f"{tag.local_data1:08x}{tag.local_data2:08x}"

    @property
    def neighbor_set(self) -> str:
        return f"mlb-peer-{self.ident}"

    @property
    def tag_set(self) -> str:
        return f"mlb-tag-{self.ident}"

    @property
    def policy(self) -> str:
        """Also the name of its single statement (statement names are global in GoBGP)."""
        return f"mlb-export-{self.ident}"


@dataclass(frozen=True)
class RibPath:
    """A path as it sits in gobgpd's RIB: user attributes plus the internal tags."""

    prefix: IPNetwork
    next_hop: IPAddress | None
    local_pref: int | None
    communities: tuple[Community, ...]
    large_communities: tuple[LargeCommunity, ...]  # user ones, sorted
    tags: frozenset[LargeCommunity]

    @property
    def family(self) -> Family:
        return Family.of(self.prefix)


def rib_path(path: GobgpPath, peers: Mapping[str, GobgpPeer]) -> RibPath:
    return RibPath(
        prefix=path.prefix,
        next_hop=path.next_hop,
        local_pref=path.local_pref,
        communities=path.communities,
        large_communities=path.large_communities,
        tags=frozenset(peer_tag(peers[name].address) for name in path.peers),
    )


@dataclass(frozen=True)
class PeerSnapshot:
    """A neighbour as gobgpd reports it (ListPeer); zero/empty where gobgpd left a default."""

    address: IPAddress
    asn: int
    local_asn: int = 0
    port: int = 0
    hold_time: int = 0
    keepalive: int = 0
    connect_retry: int = 0
    password: Secret | None = None
    ebgp_multihop: int | None = None
    source_address: IPAddress | None = None
    families: frozenset[Family] = frozenset()
    passive: bool = False
    session: SessionState = SessionState.UNKNOWN
    advertised: int = 0
    received: int = 0


def effective_timers(peer: GobgpPeer) -> tuple[int, int, int]:
    """(hold, keepalive, connect retry) gobgpd runs ``peer`` with: unset values become its
    defaults, and an unset keepalive is a third of the hold time."""
    hold = peer.hold_time or DEFAULT_HOLD_TIME
    return hold, peer.keepalive or hold // 3, peer.connect_retry or DEFAULT_CONNECT_RETRY


def peer_matches(actual: PeerSnapshot, want: GobgpPeer, *, instance_asn: int) -> bool:
    """Whether gobgpd already runs the neighbour as ``want`` asks; unset (``None``) fields
    in ``want`` are compared with the defaults gobgpd fills in for them."""
    local_asn_ok = actual.local_asn == (want.local_asn or instance_asn) or (
        want.local_asn is None and actual.local_asn == 0
    )
    port_ok = actual.port == want.port or (actual.port == 0 and want.port == DEFAULT_PORT)
    return (
        actual.asn == want.asn
        and local_asn_ok
        and port_ok
        and (actual.hold_time, actual.keepalive, actual.connect_retry) == effective_timers(want)
        and actual.password == want.password
        and actual.ebgp_multihop == want.ebgp_multihop
        # once a session is up gobgpd reports the address it actually uses here, so only a
        # configured source address can be checked
        and (want.source_address is None or actual.source_address == want.source_address)
        and actual.families == want.families
        and actual.passive == want.passive
    )


@dataclass(frozen=True)
class ActualState:
    """What ``reconcile`` needs to know about the daemon (the instance is handled first)."""

    instance_asn: int
    peers: Mapping[IPAddress, PeerSnapshot] = field(default_factory=dict)
    paths: Mapping[IPNetwork, RibPath] = field(default_factory=dict)
    policies: frozenset[str] = frozenset()  # ours only (NAME_PREFIX)
    neighbor_sets: frozenset[str] = frozenset()
    tag_sets: frozenset[str] = frozenset()
    #: policy names of the global export list, when its default is REJECT; else None
    export_assignment: tuple[str, ...] | None = None
    #: the global import list is exactly IMPORT_POLICY with default REJECT
    import_assigned: bool = False


@dataclass(frozen=True)
class Deletions:
    policies: tuple[str, ...] = ()
    neighbor_sets: tuple[str, ...] = ()
    tag_sets: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    """Ordered changes; the backend executes the fields top to bottom."""

    #: leftovers in the way of objects about to be created (defined sets without a policy)
    delete_first: Deletions = Deletions()
    import_policy: bool = False  # create IMPORT_POLICY
    import_assignment: bool = False  # make it the global import list, default REJECT
    exports_add: tuple[ExportPolicy, ...] = ()
    export_assignment: tuple[str, ...] | None = None  # new full list of export policies
    peers_delete: tuple[IPAddress, ...] = ()
    peers_add: tuple[GobgpPeer, ...] = ()
    peers_update: tuple[GobgpPeer, ...] = ()
    withdraw: tuple[IPNetwork, ...] = ()
    announce: tuple[RibPath, ...] = ()
    #: objects no assignment names any more
    delete_last: Deletions = Deletions()

    @property
    def empty(self) -> bool:
        return self == Plan()


def export_assignment(addresses: Iterable[IPAddress]) -> tuple[str, ...]:
    return tuple(sorted(ExportPolicy(a).policy for a in addresses))


def _by_address(peers: Iterable[GobgpPeer]) -> dict[IPAddress, GobgpPeer]:
    return {p.address: p for p in peers}


def _peer_config(peer: GobgpPeer) -> GobgpPeer:
    """The peer without its name: renaming a neighbour is not a change gobgpd sees."""
    return replace(peer, name="")


def diff(old: GobgpDesired, new: GobgpDesired) -> Plan:
    """Changes that take a daemon holding exactly ``old`` to ``new`` (same instance)."""
    old_peers, new_peers = _by_address(old.peers), _by_address(new.peers)
    added = tuple(p for a, p in new_peers.items() if a not in old_peers)
    deleted = tuple(a for a in old_peers if a not in new_peers)
    updated = tuple(
        p
        for a, p in new_peers.items()
        if a in old_peers and _peer_config(p) != _peer_config(old_peers[a])
    )
    # a name that now points at another address (or at none) changes the tags of its paths
    renamed = {
        name
        for name, peer in old.peers_by_name.items()
        if name not in new.peers_by_name or new.peers_by_name[name].address != peer.address
    }
    announce: list[RibPath] = []
    withdraw: tuple[IPNetwork, ...] = ()
    # Cheap first: equal tuples (identity per element is checked before equality), then a
    # keyed comparison; unchanged paths are never converted to RibPath.
    if renamed or old.paths != new.paths:
        old_paths = old.paths_by_prefix
        for path in new.paths:
            before = old_paths.get(path.prefix)
            if before is None or before != path or (renamed and path.peers & renamed):
                announce.append(rib_path(path, new.peers_by_name))
        new_paths = new.paths_by_prefix
        withdraw = tuple(prefix for prefix in old_paths if prefix not in new_paths)
    assignment = None
    if set(old_peers) != set(new_peers):
        assignment = export_assignment(new_peers)
    gone = [ExportPolicy(a) for a in deleted]
    return Plan(
        exports_add=tuple(ExportPolicy(p.address) for p in added),
        export_assignment=assignment,
        peers_delete=deleted,
        peers_add=added,
        peers_update=updated,
        withdraw=withdraw,
        announce=tuple(announce),
        delete_last=Deletions(
            policies=tuple(e.policy for e in gone),
            neighbor_sets=tuple(e.neighbor_set for e in gone),
            tag_sets=tuple(e.tag_set for e in gone),
        ),
    )


def reconcile(actual: ActualState, new: GobgpDesired) -> Plan:
    """Changes that take the daemon as read back in ``actual`` to ``new``."""
    want_peers = _by_address(new.peers)
    exports = [ExportPolicy(a) for a in want_peers]
    # A policy cannot exist without the sets it names, so an export is either complete,
    # absent, or a pair of orphaned sets that must go before they are created again.
    complete = [e for e in exports if e.policy in actual.policies]
    missing = [e for e in exports if e.policy not in actual.policies]
    wanted_policies = {e.policy for e in exports} | {IMPORT_POLICY}
    wanted_neighbor_sets = {e.neighbor_set for e in complete}
    wanted_tag_sets = {e.tag_set for e in complete}
    assignment = export_assignment(want_peers)
    want_paths = {p.prefix: rib_path(p, new.peers_by_name) for p in new.paths}
    return Plan(
        delete_first=Deletions(
            neighbor_sets=tuple(
                e.neighbor_set for e in missing if e.neighbor_set in actual.neighbor_sets
            ),
            tag_sets=tuple(e.tag_set for e in missing if e.tag_set in actual.tag_sets),
        ),
        import_policy=IMPORT_POLICY not in actual.policies,
        import_assignment=not actual.import_assigned,
        exports_add=tuple(missing),
        export_assignment=None if actual.export_assignment == assignment else assignment,
        peers_delete=tuple(a for a in actual.peers if a not in want_peers),
        peers_add=tuple(p for a, p in want_peers.items() if a not in actual.peers),
        peers_update=tuple(
            p
            for a, p in want_peers.items()
            if a in actual.peers
            and not peer_matches(actual.peers[a], p, instance_asn=actual.instance_asn)
        ),
        withdraw=tuple(prefix for prefix in actual.paths if prefix not in want_paths),
        announce=tuple(p for prefix, p in want_paths.items() if actual.paths.get(prefix) != p),
        delete_last=Deletions(
            policies=tuple(sorted(actual.policies - wanted_policies)),
            neighbor_sets=tuple(
                sorted(
                    actual.neighbor_sets - wanted_neighbor_sets - {e.neighbor_set for e in missing}
                )
            ),
            tag_sets=tuple(
                sorted(actual.tag_sets - wanted_tag_sets - {e.tag_set for e in missing})
            ),
        ),
    )
