"""What the controller records on a Service: status IPs, annotations, conditions.

The cluster is the source of truth (docs/design.md §1): everything the allocator and the
placement need to rebuild their state after a restart is written here, in the same shape in a
cluster (status subresource + annotations) and standalone (the state directory):

- ``status.loadBalancer.ingress[].ip`` — the IPs, in order;
- ``metallb.io/ip-allocated-from-pool`` — the pool, as MetalLB writes it;
- ``metallb-orchestrator.io/l2-homes`` — the home node of each L2 IP (JSON);
- for class Services, the Deckhouse conditions: the class binding
  (``network.deckhouse.io/load-balancer-class``, reason ``LoadBalancerClassBound``) and
  ``AllPublicIPsAssigned`` ("2 of 3 public IPs were assigned").
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from orchestrator.core.alloc.result import Outcome
from orchestrator.core.model.cluster import CLASS_CONDITION, Annotation, IPAddress, Service

ALL_ASSIGNED = "AllPublicIPsAssigned"


@dataclass(frozen=True)
class Condition:
    type: str
    status: str  # "True" / "False"
    reason: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {
            "type": self.type,
            "status": self.status,
            "reason": self.reason,
            "message": self.message,
        }


@dataclass(frozen=True)
class StatusRecord:
    ingress: tuple[str, ...] = ()
    #: Our annotations with their values; a None value means "remove this annotation".
    annotations: Mapping[str, str | None] = field(default_factory=dict)
    conditions: tuple[Condition, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "ingress": list(self.ingress),
            "annotations": {k: v for k, v in sorted(self.annotations.items()) if v is not None},
            "conditions": [c.to_dict() for c in self.conditions],
        }


def homes_annotation(homes: Mapping[IPAddress, str]) -> str | None:
    if not homes:
        return None
    return json.dumps({str(ip): node for ip, node in homes.items()}, separators=(",", ":"))


def desired_status(
    service: Service, outcome: Outcome, homes: Mapping[IPAddress, str]
) -> StatusRecord | None:
    """The record to write, or None when nothing may be written (``decided`` is False)."""
    if not outcome.decided:
        return None
    a = outcome.assignment
    annotations: dict[str, str | None] = {
        Annotation.ML_ALLOCATED_POOL.value: a.pool if a else None,
        Annotation.HOMES.value: homes_annotation(homes),
        Annotation.CLASS.value: a.class_name if a else None,
    }
    conditions: list[Condition] = []
    if a is not None and a.class_name is not None:
        conditions.append(
            Condition(CLASS_CONDITION, "True", "LoadBalancerClassBound", a.class_name)
        )
        got, total = len(a.ips), max(outcome.wanted, len(a.ips))
        conditions.append(
            Condition(
                ALL_ASSIGNED,
                "True" if got >= total else "False",
                "AllIPsAssigned" if got >= total else "NotAllIPsAssigned",
                f"{got} of {total} public IPs were assigned",
            )
        )
    return StatusRecord(
        ingress=tuple(str(ip) for ip in a.ips) if a else (),
        annotations=annotations,
        conditions=tuple(conditions),
    )
