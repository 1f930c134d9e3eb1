"""Whether each object of our cluster-scoped CRDs is in use, and why not: its ``InUse``.

The parser records, for every MetalLoadBalancerPool, -BGPPeer, -Configuration and
L2LoadBalancer, the model objects it produced (``ClusterSnapshot.crd_objects``); the
answer follows from which of those reached the running configuration and what they reach:

=================================  =======================================================
object                             InUse True when ... (False reasons, in this order)
=================================  =======================================================
any                                (``Invalid``: it has errors; the first is the message)
MetalLoadBalancerPool              a BGPAdvertisement announces it (``NotAnnounced``)
MetalLoadBalancerBGPPeer           a valid configuration names it (``NotReferenced``,
                                   ``ReferrerInvalid``) and some node opens a session
                                   (``NoNodes``)
MetalLoadBalancerConfiguration     it has sessions (``NoPeers``) on some node
                                   (``NoNodes``)
L2LoadBalancer                     some node matches its nodeSelector (``NoNodes``)
MetalLoadBalancerClass             the same, for the class's nodeSelector (``NoNodes``)
=================================  =======================================================

"Node" means a Node in the snapshot; speaker.nodeSelector is already part of every peer's
node selectors. The writer is generic (``Condition`` on a cluster-scoped object): a later
kind only adds a row here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum

from orchestrator.core.model.cluster import BGPAdvertisement, BGPPeer, ClusterSnapshot, PoolKind
from orchestrator.core.model.errors import FieldError, Severity
from orchestrator.core.model.selectors import any_matches
from orchestrator.core.parse.isolation import HELD
from orchestrator.core.status.records import Condition

IN_USE = "InUse"
KINDS = frozenset(
    {
        "MetalLoadBalancerPool",
        "MetalLoadBalancerBGPPeer",
        "MetalLoadBalancerConfiguration",
        "L2LoadBalancer",
        "MetalLoadBalancerClass",
    }
)


class UsageReason(StrEnum):
    IN_USE = "InUse"
    INVALID = "Invalid"
    NOT_ANNOUNCED = "NotAnnounced"
    NOT_REFERENCED = "NotReferenced"
    REFERRER_INVALID = "ReferrerInvalid"
    NO_PEERS = "NoPeers"
    NO_NODES = "NoNodes"


def _condition(reason: UsageReason, message: str) -> Condition:
    status = "True" if reason is UsageReason.IN_USE else "False"
    return Condition(IN_USE, status, reason.value, message)


def _names(items: Iterable[str], limit: int = 5) -> str:
    items = sorted(items)
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def crd_conditions(
    snapshot: ClusterSnapshot, problems: Iterable[FieldError] | None = None
) -> dict[str, Condition]:
    """``Kind/name`` -> its InUse condition, for every object in ``crd_objects`` and every
    object of those kinds with an error in ``problems`` (default: the snapshot's own). A
    broken object says Invalid (and that its last good version stays in use, when
    ``core.parse.isolation`` holds it there) while the others say what is running."""
    errors: dict[str, list[str]] = {}
    for p in snapshot.problems if problems is None else problems:
        if p.severity is Severity.ERROR and p.obj.partition("/")[0] in KINDS:
            errors.setdefault(p.obj, []).append(f"{p.path}: {p.message}" if p.path else p.message)
    held = {
        p.obj for p in snapshot.problems if p.severity is Severity.WARNING and p.message == HELD
    }
    config = snapshot.config
    peers = {f"BGPPeer/{p.name}": p for p in config.bgp_peers}
    out: dict[str, Condition] = {}
    classes = {
        f"MetalLoadBalancerClass/{c.name}"
        for c in config.classes.values()
        if (pool := config.pools.get(c.pool)) is not None and pool.kind is PoolKind.CLASS
    }
    for ref in sorted(set(snapshot.crd_objects) | set(errors) | classes):
        produced = snapshot.crd_objects.get(ref, ())
        if ref in errors:
            first, *rest = errors[ref]
            more = f" (and {len(rest)} more errors)" if rest else ""
            kept = "; its last good version stays in use" if ref in held else ""
            out[ref] = _condition(UsageReason.INVALID, first + more + kept)
            continue
        kind, _, name = ref.partition("/")
        if kind == "MetalLoadBalancerPool":
            pool = config.pools.get(name)
            labels = pool.labels if pool is not None else {}
            out[ref] = _pool(name, labels, config.bgp_advertisements)
        elif kind == "MetalLoadBalancerBGPPeer":
            out[ref] = _peer(snapshot, produced, peers)
        elif kind == "MetalLoadBalancerConfiguration":
            out[ref] = _configuration(snapshot, produced, peers)
        elif kind in ("L2LoadBalancer", "MetalLoadBalancerClass"):
            cls = config.classes.get(name)
            labels = cls.node_selector if cls is not None else {}
            nodes = [
                n for n, node in snapshot.nodes.items() if labels.items() <= node.labels.items()
            ]
            out[ref] = (
                _condition(UsageReason.IN_USE, f"announced from nodes {_names(nodes)}")
                if nodes
                else _condition(UsageReason.NO_NODES, "no Node matches spec.nodeSelector")
            )
    return out


def _pool(name: str, labels: Mapping[str, str], ads: Iterable[BGPAdvertisement]) -> Condition:
    announcing = [
        a.name
        for a in ads
        if name in a.pools
        or (not a.pools and not a.pool_selectors)
        or any(s.matches(labels) for s in a.pool_selectors)
    ]
    if not announcing:
        return _condition(
            UsageReason.NOT_ANNOUNCED,
            "no MetalLoadBalancerConfiguration advertises this pool: its addresses are "
            "allocated but no router learns them",
        )
    return _condition(UsageReason.IN_USE, f"announced by BGPAdvertisement {_names(announcing)}")


def _session_nodes(snapshot: ClusterSnapshot, sessions: Iterable[BGPPeer]) -> list[str]:
    sessions = list(sessions)
    return [
        n
        for n, node in snapshot.nodes.items()
        if any(any_matches(p.node_selectors, node.labels) for p in sessions)
    ]


def _peer(
    snapshot: ClusterSnapshot, produced: Iterable[str], peers: Mapping[str, BGPPeer]
) -> Condition:
    made = [p for p in produced if p.startswith("BGPPeer/")]
    if not made:
        return _condition(
            UsageReason.NOT_REFERENCED, "no MetalLoadBalancerConfiguration names this peer"
        )
    valid = [peers[p] for p in made if p in peers]
    if not valid:
        return _condition(
            UsageReason.REFERRER_INVALID,
            "every MetalLoadBalancerConfiguration naming this peer is invalid",
        )
    nodes = _session_nodes(snapshot, valid)
    if not nodes:
        return _condition(UsageReason.NO_NODES, "no Node is selected to open a session")
    return _condition(UsageReason.IN_USE, f"sessions from nodes {_names(nodes)}")


def _configuration(
    snapshot: ClusterSnapshot, produced: Iterable[str], peers: Mapping[str, BGPPeer]
) -> Condition:
    valid = [peers[p] for p in produced if p in peers]
    if not valid:
        return _condition(UsageReason.NO_PEERS, "no MetalLoadBalancerBGPPeer to open sessions with")
    nodes = _session_nodes(snapshot, valid)
    if not nodes:
        return _condition(
            UsageReason.NO_NODES, "no Node matches spec.nodeSelector (and speaker.nodeSelector)"
        )
    return _condition(
        UsageReason.IN_USE,
        f"{len(valid)} sessions ({_names(p.name for p in valid)}) from nodes {_names(nodes)}",
    )
