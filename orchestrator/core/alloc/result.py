"""What the allocator hands back: one ``Outcome`` per Service, events, per-pool counters.

The controller needs three things from a reconcile, and each has its own field so that it
never has to parse a message:

- what to write: ``Outcome.assignment`` (IPs in status order, pool, class) and whether it
  differs from the Service's current status (``changed``); ``decided=False`` means "no
  decision was taken for this Service, leave its status exactly as it is" (not our class,
  invalid fields, bound class gone);
- why: ``reason`` is a stable ``Reason`` value (None when everything asked for was
  assigned), ``message`` is the human text naming pools, IPs and the other Service;
- what to tell the user: ``events`` with MetalLB's event reasons (``IPAllocated``,
  ``AllocationFailed``, ``ClearAssignment``).

``PoolStats`` follows MetalLB's ``poolCount`` so that ``metallb_allocator_addresses_total``
reads the same as before: an IPv6 CIDR with 62 or more host bits counts as 2**63-1, and
``avoidBuggyIPs`` removes the IPv4 ``.0``/``.255`` addresses from the total.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import KW_ONLY, dataclass, field
from enum import StrEnum

from orchestrator.core.model.cluster import Assignment, IPAddress

#: MetalLB's counter saturates at MaxInt64; Prometheus gauges are floats anyway.
MAX_INT64 = 2**63 - 1


class Reason(StrEnum):
    """Why a Service did not get (all of) what it asked for, or was left alone."""

    POOL_EXHAUSTED = "poolExhausted"
    IP_NOT_IN_ANY_POOL = "ipNotInAnyPool"
    IP_NOT_IN_REQUESTED_POOL = "ipNotInRequestedPool"
    SHARING_CONFLICT = "sharingConflict"
    UNKNOWN_POOL = "unknownPool"
    POOL_NOT_ALLOWED = "poolNotAllowed"
    FAMILY_MISMATCH = "familyMismatch"
    NO_POOL = "noPool"
    NOT_LOAD_BALANCER = "notLoadBalancer"
    NOT_OUR_CLASS = "notOurClass"
    BOUND_CLASS_GONE = "boundClassGone"
    NO_CLASS_NODES = "noNodesForClass"
    INVALID_SERVICE = "invalidService"
    DUAL_STACK_UNAVAILABLE = "dualStackUnavailable"
    PARTIAL = "partial"
    #: the pool runs on its last good version (its current one is invalid): it keeps the
    #: IPs it holds and gives out no new one until it is fixed (``core.isolation``)
    POOL_HELD = "poolHeld"
    #: the Service's pool is invalid and left out: its IPs stay untouched
    POOL_INVALID = "poolInvalid"
    #: the MetalLoadBalancerClass the Service asks for (or is bound to) is invalid
    CLASS_INVALID = "classInvalid"


class EventKind(StrEnum):
    """Kubernetes Event reasons, spelled as MetalLB's controller spells them."""

    IP_ALLOCATED = "IPAllocated"
    ALLOCATION_FAILED = "AllocationFailed"
    CLEAR_ASSIGNMENT = "ClearAssignment"


def quoted(ips: Iterable[IPAddress]) -> str:
    """IP lists as MetalLB prints them with Go's %q: ["192.0.2.1" "2001:db8::1"]."""
    return "[" + " ".join(f'"{ip}"' for ip in ips) + "]"


@dataclass(frozen=True, slots=True)
class Event:
    """One Kubernetes Event to post on a Service.

    ``text`` may contain ``{ips}``, replaced by ``ips`` in MetalLB's list format when the
    message is read: turning 10,000 IPv6 addresses into text costs more than allocating them,
    and only the events actually posted need it.
    """

    service: str
    kind: EventKind
    text: str
    _: KW_ONLY
    ips: tuple[IPAddress, ...] = ()

    @property
    def message(self) -> str:
        return self.text.replace("{ips}", quoted(self.ips)) if self.ips else self.text

    @property
    def type(self) -> str:
        """The Event ``type``: failures are warnings, the rest is normal."""
        return "Warning" if self.kind is EventKind.ALLOCATION_FAILED else "Normal"


@dataclass(frozen=True, slots=True)
class Outcome:
    """The allocator's decision for one Service."""

    service: str
    assignment: Assignment | None
    reason: Reason | None = None
    _: KW_ONLY
    message: str = ""
    #: How many IPs the Service asked for (class: ips_count; plain: one per family).
    wanted: int = 0
    #: False: nothing was decided, the controller must leave status and annotations alone.
    decided: bool = True
    #: The IPs differ from the Service's current ``status.loadBalancer.ingress``.
    changed: bool = False
    events: tuple[Event, ...] = ()

    @property
    def ips(self) -> tuple[str, ...]:
        return tuple(str(ip) for ip in self.assignment.ips) if self.assignment else ()

    @property
    def ok(self) -> bool:
        """Everything asked for was assigned."""
        return self.reason is None and self.assignment is not None


@dataclass(frozen=True, slots=True)
class PoolStats:
    """Address counters of one pool, for ``metallb_allocator_*`` metrics and pool status."""

    pool: str
    _: KW_ONLY
    ipv4_total: int = 0
    ipv6_total: int = 0
    ipv4_in_use: int = 0
    ipv6_in_use: int = 0

    @property
    def total(self) -> int:
        return min(self.ipv4_total + self.ipv6_total, MAX_INT64)

    @property
    def in_use(self) -> int:
        return self.ipv4_in_use + self.ipv6_in_use


@dataclass(frozen=True)
class AllocationResult:
    """Everything one reconcile decided. ``outcomes`` is keyed by ``namespace/name``."""

    outcomes: Mapping[str, Outcome] = field(default_factory=dict)
    pools: Mapping[str, PoolStats] = field(default_factory=dict)

    def assignment(self, service: str) -> Assignment | None:
        outcome = self.outcomes.get(service)
        return outcome.assignment if outcome else None

    def assignments(self) -> dict[str, Assignment]:
        """Every Service that holds IPs after this reconcile (held ones included)."""
        return {k: o.assignment for k, o in self.outcomes.items() if o.assignment is not None}

    @property
    def events(self) -> tuple[Event, ...]:
        return tuple(e for o in self.outcomes.values() for e in o.events)
