"""L2 scope: where an L2 IP may live, and which of those nodes are eligible right now.

**Scope** (``L2View.scope``). A Service of a MetalLoadBalancerClass may be announced by the
nodes whose labels contain the class ``nodeSelector``, on the class interfaces. A plain MetalLB
pool is announced through the L2Advertisements that apply to it (by name, by pool selector, or
all pools when an advertisement names none) and to the Service (``serviceSelectors``); a node
is selected when it matches one of their ``nodeSelectors``, and it answers on the union of
the interfaces of the advertisements that select *it* (all interfaces when one of them lists
none), as MetalLB's ``ipAdvertisementFor`` does. Either way the ModuleConfig
``speaker.nodeSelector`` also applies: a node without a speaker cannot announce. Selected
nodes are kept in Deckhouse's order, sha256(name + "#" + node) with the class (or pool) name.

**Eligibility** (``L2View.eligible``): the selected nodes that pass the node checks of
``eligibility`` (not excluded, no NetworkUnavailable, live) and have the endpoints the
Service's traffic policy asks for. Home placement (``placement``) and the announcer decision
(``announce``) both read one ``L2View`` built per snapshot: scopes and eligible sets are
memoised because the Services of one class or pool share them.

The reasons an IP is not announced (``L2Reason``, ``WHY_NOT_TEXT``) live here too: the scope
ones come from this module, and the L2 decisions add theirs to the same vocabulary.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property

from orchestrator.core.eligibility import (
    EXPLAIN,
    EndpointSummary,
    Reason,
    node_reason,
    summarize_endpoints,
)
from orchestrator.core.model.cluster import (
    EXCLUDE_LABEL,
    AddressPool,
    Assignment,
    ClusterSnapshot,
    L2Advertisement,
    PoolKind,
    Service,
    TrafficPolicy,
)
from orchestrator.core.model.selectors import any_matches


class L2Reason(StrEnum):
    """Why an L2 IP is not announced by some node, beyond the node eligibility reasons."""

    UNKNOWN_SERVICE = "unknownService"
    NOT_ASSIGNED = "ipNotAssigned"
    UNKNOWN_POOL = "unknownPool"
    UNKNOWN_CLASS = "unknownClass"
    NO_L2_ADVERTISEMENT = "noL2Advertisement"
    SHARED_IP_WITH_SERVICE_SELECTOR = "sharedIPWithServiceSelector"
    NO_ELIGIBLE_NODE = "noEligibleNode"
    HOME_LIVE = "homeLive"
    LOST_FALLBACK = "lostFallback"


#: Every reason a node does not announce an IP.
WhyNot = Reason | L2Reason

L2_EXPLAIN: dict[L2Reason, str] = {
    L2Reason.UNKNOWN_SERVICE: "no Service with this key in the snapshot",
    L2Reason.NOT_ASSIGNED: "the IP is not assigned to this Service",
    L2Reason.UNKNOWN_POOL: "the assigned pool does not exist",
    L2Reason.UNKNOWN_CLASS: "the MetalLoadBalancerClass does not exist",
    L2Reason.NO_L2_ADVERTISEMENT: "no L2Advertisement applies to the pool and the Service",
    L2Reason.SHARED_IP_WITH_SERVICE_SELECTOR: (
        "the Service shares its IP and an L2Advertisement of the pool has serviceSelectors"
    ),
    L2Reason.NO_ELIGIBLE_NODE: "no live node passes the eligibility checks",
    L2Reason.HOME_LIVE: "another node is the home node and is live",
    L2Reason.LOST_FALLBACK: "the home node cannot announce it and another node ranks first",
}

#: Human text for every reason, for the CLI and events.
WHY_NOT_TEXT: dict[WhyNot, str] = dict(EXPLAIN.items())
WHY_NOT_TEXT.update(L2_EXPLAIN.items())

#: Reasons that hold for every node: nobody can announce the IP.
SCOPE_REASONS = frozenset(
    {
        L2Reason.UNKNOWN_SERVICE,
        L2Reason.UNKNOWN_POOL,
        L2Reason.UNKNOWN_CLASS,
        L2Reason.NO_L2_ADVERTISEMENT,
        L2Reason.SHARED_IP_WITH_SERVICE_SELECTOR,
    }
)


def digest(text: str) -> bytes:
    """The sha256 ranking key of Deckhouse's orders (preferred order, fallback), bytewise."""
    return hashlib.sha256(text.encode()).digest()


def preferred_order(name: str, nodes: Iterable[str]) -> tuple[str, ...]:
    """Deckhouse's node order for a class: ascending sha256(name + "#" + node), bytewise, so
    that different classes do not all start on the same node."""
    return tuple(sorted(nodes, key=lambda n: digest(f"{name}#{n}")))


def _contains(labels: Mapping[str, str], wanted: Mapping[str, str]) -> bool:
    """Exact-match node selector (MetalLoadBalancerClass, ModuleConfig): a subset test."""
    return all(labels.get(k) == v for k, v in wanted.items())


# --------------------------------------------------------------------------- scope


@dataclass(frozen=True)
class L2Scope:
    """Where one assignment's IPs may be announced in L2."""

    key: str  # identifies equal scopes, for caching
    name: str  # class or pool name; seeds the preferred order
    nodes: tuple[str, ...] = ()  # selected nodes, in preferred order
    interfaces: tuple[str, ...] = ()  # empty = all interfaces
    #: Per-node interfaces where they differ from ``interfaces`` (several advertisements).
    node_interfaces: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    reason: L2Reason | None = None  # set: not announced in L2 at all

    @property
    def announced(self) -> bool:
        return self.reason is None

    @cached_property
    def members(self) -> frozenset[str]:
        return frozenset(self.nodes)

    @cached_property
    def positions(self) -> dict[str, int]:
        return {n: i for i, n in enumerate(self.nodes)}

    def interfaces_for(self, node: str) -> tuple[str, ...]:
        return self.node_interfaces.get(node, self.interfaces)


class L2View:
    """One snapshot and live set, indexed for L2 questions. Build once, ask many times.

    Scopes and eligible sets are memoised: Services of one class share them.
    """

    def __init__(
        self,
        snapshot: ClusterSnapshot,
        *,
        live_nodes: Set[str],
        ignore_exclude_label: bool = False,
    ) -> None:
        self.snapshot = snapshot
        self.live_nodes = frozenset(live_nodes)
        self.ignore_exclude_label = ignore_exclude_label
        self.services = {s.key: s for s in snapshot.services}
        self._endpoints = summarize_endpoints(snapshot)
        pools = snapshot.config.pools
        # Assignments name a pool by its key or by its plain name; accept both.
        self._pools: dict[str, AddressPool] = {p.name: p for p in pools.values()}
        self._pools.update({p.ref: p for p in pools.values()})
        self._pools.update(pools)
        speaker = snapshot.config.speaker_node_selector
        self._speaker_nodes = sorted(
            name for name, node in snapshot.nodes.items() if _contains(node.labels, speaker)
        )
        self._usable = frozenset(
            name
            for name, node in snapshot.nodes.items()
            if node_reason(
                node,
                selected=True,
                live=name in self.live_nodes,
                ignore_exclude_label=ignore_exclude_label,
            )
            is None
        )
        self._scopes: dict[str, L2Scope] = {}
        self._pool_ads: dict[str, tuple[int, ...]] = {}
        self._eligible: dict[str, frozenset[str]] = {}

    # ----------------------------------------------------------------- scope

    def scope(self, assignment: Assignment, service: Service | None) -> L2Scope:
        if service is None:
            return self._reason_scope(f"service:{assignment.service}", L2Reason.UNKNOWN_SERVICE)
        pool = self._pools.get(assignment.pool)
        class_name = assignment.class_name
        if class_name is None and pool is not None and pool.kind is PoolKind.CLASS:
            class_name = pool.class_name or pool.name
        if class_name is not None:
            return self._class_scope(class_name)
        if pool is None:
            return self._reason_scope(f"pool:{assignment.pool}", L2Reason.UNKNOWN_POOL)
        return self._pool_scope(pool, service)

    def _reason_scope(self, key: str, reason: L2Reason) -> L2Scope:
        return L2Scope(key=f"{key}:{reason}", name="", reason=reason)

    def _class_scope(self, name: str) -> L2Scope:
        key = f"class:{name}"
        scope = self._scopes.get(key)
        if scope is None:
            cls = self.snapshot.config.classes.get(name)
            if cls is None:
                scope = self._reason_scope(key, L2Reason.UNKNOWN_CLASS)
            else:
                nodes = self.snapshot.nodes
                selected = (
                    n for n in self._speaker_nodes if _contains(nodes[n].labels, cls.node_selector)
                )
                scope = L2Scope(
                    key=key,
                    name=name,
                    nodes=preferred_order(name, selected),
                    interfaces=cls.interfaces,
                )
            self._scopes[key] = scope
        return scope

    def _ads_of_pool(self, pool: AddressPool) -> tuple[int, ...]:
        found = self._pool_ads.get(pool.name)
        if found is None:
            found = tuple(
                i
                for i, ad in enumerate(self.snapshot.config.l2_advertisements)
                if _applies_to_pool(ad, pool)
            )
            self._pool_ads[pool.name] = found
        return found

    def _pool_scope(self, pool: AddressPool, service: Service) -> L2Scope:
        ads = self.snapshot.config.l2_advertisements
        applicable = self._ads_of_pool(pool)
        # MetalLB (sharedIPWithServiceSelector, metallb#3025): Services sharing an IP could be
        # selected by different advertisements and elect different nodes for it, so sharing
        # plus serviceSelectors on any advertisement of the pool is refused.
        if service.request.sharing_key and any(ads[i].service_selectors for i in applicable):
            return self._reason_scope(f"pool:{pool.name}", L2Reason.SHARED_IP_WITH_SERVICE_SELECTOR)
        matching = tuple(
            i for i in applicable if any_matches(ads[i].service_selectors, service.labels)
        )
        if not matching:
            return self._reason_scope(f"pool:{pool.name}", L2Reason.NO_L2_ADVERTISEMENT)
        key = f"pool:{pool.name}:{','.join(map(str, matching))}"
        scope = self._scopes.get(key)
        if scope is None:
            scope = self._build_pool_scope(key, pool.name, [ads[i] for i in matching])
            self._scopes[key] = scope
        return scope

    def _build_pool_scope(self, key: str, name: str, ads: list[L2Advertisement]) -> L2Scope:
        selected: list[str] = []
        per_node: dict[str, tuple[str, ...]] = {}
        for n in self._speaker_nodes:
            labels = self.snapshot.nodes[n].labels
            mine = [ad for ad in ads if any_matches(ad.node_selectors, labels)]
            if not mine:
                continue
            selected.append(n)
            if all(ad.interfaces for ad in mine):
                per_node[n] = tuple(sorted({i for ad in mine for i in ad.interfaces}))
            else:
                per_node[n] = ()
        # Store the common case once; only nodes that differ keep their own entry.
        default = _most_common(per_node)
        return L2Scope(
            key=key,
            name=name,
            nodes=preferred_order(name, selected),
            interfaces=default,
            node_interfaces={n: i for n, i in per_node.items() if i != default},
        )

    # ----------------------------------------------------------------- eligibility

    def endpoints(self, service: Service) -> EndpointSummary:
        return self._endpoints.get(service.key, _NO_ENDPOINTS)

    def eligible(self, scope: L2Scope, service: Service) -> frozenset[str]:
        """Live eligible nodes for one Service (checks 1-7 of ``eligibility``)."""
        if not scope.announced:
            return frozenset()
        base = self._eligible.get(scope.key)
        if base is None:
            base = scope.members & self._usable
            self._eligible[scope.key] = base
        eps = self.endpoints(service)
        if not eps.ready:
            return frozenset()
        if service.external_traffic_policy is TrafficPolicy.LOCAL:
            return base & eps.nodes
        return base

    def node_reason(self, scope: L2Scope, service: Service, node: str) -> Reason | None:
        """Why ``node`` is not eligible for this Service (None: it is)."""
        reason = node_reason(
            self.snapshot.nodes.get(node),
            selected=node in scope.members,
            live=node in self.live_nodes,
            ignore_exclude_label=self.ignore_exclude_label,
        )
        return reason if reason is not None else self.endpoints(service).reason(service, node)

    def may_keep_home(self, scope: L2Scope, node: str) -> bool:
        """Sticky rule: the node exists, is selected and is not excluded. Liveness and
        NetworkUnavailable are temporary and do not count."""
        found = self.snapshot.nodes.get(node)
        return (
            found is not None
            and node in scope.members
            and (self.ignore_exclude_label or EXCLUDE_LABEL not in found.labels)
        )


_NO_ENDPOINTS = EndpointSummary()


def _applies_to_pool(ad: L2Advertisement, pool: AddressPool) -> bool:
    if not ad.pools and not ad.pool_selectors:
        return True
    return pool.name in ad.pools or any(s.matches(pool.labels) for s in ad.pool_selectors)


def _most_common(per_node: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    counts: dict[tuple[str, ...], int] = {}
    for value in per_node.values():
        counts[value] = counts.get(value, 0) + 1
    # Ties by value so that the stored form is deterministic.
    return min(counts, key=lambda v: (-counts[v], v)) if counts else ()
