"""What the controller decides for a whole snapshot: allocation, then L2 home nodes.

One pure function over one snapshot (level-triggered): the allocator restores every IP the
cluster already records before it allocates anything new, then placement gives each L2 IP a
sticky home node. ``mlb plan`` prints this; the controller writes it to Service status and
annotations. Liveness is an input: without leases (``mlb plan`` on a directory) every known
node counts as live.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass, field

from orchestrator.core.alloc.allocator import Allocator
from orchestrator.core.alloc.result import AllocationResult, Outcome
from orchestrator.core.l2.placement import Homes, HomesInput, place_homes
from orchestrator.core.model.cluster import Assignment, ClusterSnapshot, IPAddress, Service


@dataclass(frozen=True)
class ServicePlan:
    service: Service
    outcome: Outcome
    homes: Mapping[IPAddress, str] = field(default_factory=dict)

    @property
    def assignment(self) -> Assignment | None:
        return self.outcome.assignment

    @property
    def reason(self) -> str:
        """Empty when the Service got everything it asked for; otherwise why not."""
        o = self.outcome
        if o.ok:
            return ""
        return o.message or (o.reason.value if o.reason else "")


@dataclass(frozen=True)
class Plan:
    services: tuple[ServicePlan, ...]
    allocation: AllocationResult
    homes: Homes


def plan(
    snapshot: ClusterSnapshot,
    *,
    allocator: Allocator | None = None,
    live_nodes: Set[str] | None = None,
    previous_homes: HomesInput | None = None,
) -> Plan:
    """Allocate and place. Pass the controller's long-lived ``allocator`` to keep its
    sticky cursors between reconciles; a fresh one is rebuilt from status alone."""
    alloc = (allocator or Allocator()).reconcile(snapshot)
    live = set(snapshot.nodes) if live_nodes is None else live_nodes
    assignments = list(alloc.assignments().values())
    homes = place_homes(snapshot, assignments, live_nodes=live, previous=previous_homes)
    rows = []
    for svc in sorted(snapshot.services, key=lambda s: s.key):
        outcome = alloc.outcomes.get(svc.key)
        if outcome is None:
            continue
        rows.append(ServicePlan(svc, outcome, homes.get(svc.key, {})))
    return Plan(services=tuple(rows), allocation=alloc, homes=homes)
