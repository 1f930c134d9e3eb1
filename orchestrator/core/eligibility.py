"""May this node announce this Service's IPs? Shared by L2 placement and BGP intent.

Every "no" carries a reason (MetalLB's ``ShouldAnnounce`` vocabulary where one exists), so
the CLI can explain a decision instead of printing a boolean. Liveness is an input: the
runtime decides which nodes are live (leases), the core only reads the set.

Checks, in order (the first failing one is the reason):

1. the node is known;
2. it matches the class / advertisement node selectors (caller passes the verdict);
3. it is not labelled ``node.kubernetes.io/exclude-from-external-load-balancers``
   (unless the operator asked to ignore that label);
4. it does not have ``NetworkUnavailable=True``;
5. its speaker is live;
6. the Service has at least one ready endpoint somewhere;
7. with ``externalTrafficPolicy: Local``, the node itself hosts a ready endpoint.

Checks 6-7 read a Service's endpoints; ``EndpointSummary`` condenses them once per Service
(``summarize_endpoints`` indexes a whole snapshot) so that asking about many nodes and many
Services stays O(1) per question instead of rescanning every EndpointSlice.
"""

from __future__ import annotations

from collections.abc import Iterable, Set
from dataclasses import dataclass
from enum import StrEnum

from orchestrator.core.model.cluster import (
    EXCLUDE_LABEL,
    ClusterSnapshot,
    Endpoint,
    Node,
    Service,
    TrafficPolicy,
)


class Reason(StrEnum):
    UNKNOWN_NODE = "unknownNode"
    NODE_SELECTOR = "nodeSelectorMismatch"
    EXCLUDED = "nodeLabeledExcludeBalancers"
    NETWORK_UNAVAILABLE = "nodeNetworkUnavailable"
    NOT_LIVE = "speakerNotLive"
    NO_ENDPOINTS = "noEndpoints"
    NO_LOCAL_ENDPOINTS = "noLocalEndpoints"


EXPLAIN: dict[Reason, str] = {
    Reason.UNKNOWN_NODE: "no Node object with this name",
    Reason.NODE_SELECTOR: "the node does not match the class or advertisement node selector",
    Reason.EXCLUDED: f"the node is labelled {EXCLUDE_LABEL}",
    Reason.NETWORK_UNAVAILABLE: "the node has condition NetworkUnavailable=True",
    Reason.NOT_LIVE: "the node's speaker lease is not fresh",
    Reason.NO_ENDPOINTS: "the Service has no ready endpoint anywhere",
    Reason.NO_LOCAL_ENDPOINTS: "externalTrafficPolicy is Local and the node has no ready endpoint",
}


def node_reason(
    node: Node | None,
    *,
    selected: bool,
    live: bool,
    ignore_exclude_label: bool = False,
) -> Reason | None:
    """Node-level checks (1-5), independent of any Service."""
    if node is None:
        return Reason.UNKNOWN_NODE
    if not selected:
        return Reason.NODE_SELECTOR
    if not ignore_exclude_label and EXCLUDE_LABEL in node.labels:
        return Reason.EXCLUDED
    if node.network_unavailable:
        return Reason.NETWORK_UNAVAILABLE
    if not live:
        return Reason.NOT_LIVE
    return None


def nodes_with_ready_endpoints(endpoints: Iterable[Endpoint]) -> frozenset[str]:
    return frozenset(e.node_name for e in endpoints if e.node_name and e.can_serve)


@dataclass(frozen=True)
class EndpointSummary:
    """What checks 6-7 need to know about one Service's endpoints."""

    #: At least one endpoint that can serve and has an address, anywhere in the cluster.
    ready: bool = False
    #: Nodes hosting such an endpoint.
    nodes: frozenset[str] = frozenset()

    @classmethod
    def of(cls, endpoints: Iterable[Endpoint]) -> EndpointSummary:
        ready = False
        nodes: set[str] = set()
        for e in endpoints:
            if e.can_serve and e.addresses:
                ready = True
                if e.node_name:
                    nodes.add(e.node_name)
        return cls(ready=ready, nodes=frozenset(nodes))

    def reason(self, service: Service, node_name: str) -> Reason | None:
        """Service-level checks (6-7) for one node."""
        if not self.ready:
            return Reason.NO_ENDPOINTS
        if service.external_traffic_policy is TrafficPolicy.LOCAL and node_name not in self.nodes:
            return Reason.NO_LOCAL_ENDPOINTS
        return None


def summarize_endpoints(snapshot: ClusterSnapshot) -> dict[str, EndpointSummary]:
    """One pass over every EndpointSlice: Service key -> summary. Services without any
    slice are absent (``EndpointSummary()`` is the right default for them)."""
    by_service: dict[str, list[Endpoint]] = {}
    for s in snapshot.endpoint_slices:
        by_service.setdefault(s.service_key, []).extend(s.endpoints)
    return {key: EndpointSummary.of(eps) for key, eps in by_service.items()}


def endpoint_reason(
    service: Service, node_name: str, endpoints: Iterable[Endpoint]
) -> Reason | None:
    """Service-level checks (6-7) for one node."""
    return EndpointSummary.of(endpoints).reason(service, node_name)


def eligibility(
    service: Service,
    node: Node | None,
    *,
    node_name: str,
    selected: bool,
    live_nodes: Set[str],
    endpoints: Iterable[Endpoint],
    ignore_exclude_label: bool = False,
) -> Reason | None:
    """All checks for one (Service, node) pair; None means eligible."""
    reason = node_reason(
        node,
        selected=selected,
        live=node_name in live_nodes,
        ignore_exclude_label=ignore_exclude_label,
    )
    if reason is not None:
        return reason
    return endpoint_reason(service, node_name, endpoints)
