"""The ports the controller and speaker loops use: every way they reach the world.

The loops (``orchestrator.runtime``) know only these protocols; the CLI wires in what
implements them. Where the cluster lives:

- ``Source`` gives a ``Loaded`` snapshot; ``Store`` (``StatusStore`` + ``LeaseStore``)
  writes Service status and renews this node's lease; ``Waker`` wakes the loop when
  something it reads may have changed. Standalone, ``orchestrator.adapters.files`` provides
  them (a manifest directory, a state directory, a watcher on both); in a cluster,
  ``orchestrator.adapters.kube`` does (informers, the status subresource,
  coordination.k8s.io Leases). The loops do not know which one they run on.
- ``EventSink`` and ``AnnouncedReport``: Kubernetes Events, and what this node announces
  (ServiceL2Status / ServiceBGPStatus); absent standalone.
- ``L2Port`` (the ARP/NDP announcer, ``orchestrator.l2``) and ``RoutingBackend`` (FRR or
  GoBGP, run by ``orchestrator.routing``): what the speaker drives; either may be absent.

Ports sit above the core and below every adapter, backend and loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from orchestrator.core.bgp.intent import NodeBGPIntent
from orchestrator.core.liveness.leases import LeaseRecord
from orchestrator.core.model.cluster import ClusterSnapshot, IPAddress
from orchestrator.core.model.errors import FieldError
from orchestrator.core.status.records import Condition, StatusRecord


@dataclass(frozen=True)
class Loaded:
    snapshot: ClusterSnapshot | None  # None: nothing valid has ever been read
    problems: tuple[FieldError, ...] = ()
    stale: bool = False  # the running config is the last good one, not the current files
    statuses: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    retry_in: float | None = None  # an edit is settling: load again after this many seconds


class Source(Protocol):
    def load(self) -> Loaded: ...


class StatusStore(Protocol):
    def write_status(self, key: str, record: StatusRecord) -> None: ...

    def delete_status(self, key: str) -> None: ...


class LeaseStore(Protocol):
    def renew_lease(self, node: str, *, duration: float, counter: int) -> None: ...

    def release_lease(self, node: str) -> None: ...

    def read_leases(self) -> list[LeaseRecord]: ...


class Store(StatusStore, LeaseStore, Protocol):
    """Both stores: what the controller and the speaker are given."""


class Waker(Protocol):
    """Wakes the loop when something it reads may have changed."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def wait(self, timeout: float) -> bool: ...


class EventSink(Protocol):
    """Kubernetes Events on a Service (``namespace/name``); must not block the loop."""

    def event(self, service: str, reason: str, message: str, *, warning: bool = False) -> None: ...


class AnnouncedReport(Protocol):
    """What this node announces, per Service: L2 interfaces and BGP peers (sorted names).
    In a cluster, ServiceL2Status / ServiceBGPStatus objects; must not block the loop."""

    def report(
        self, l2: Mapping[str, tuple[str, ...]], bgp: Mapping[str, tuple[str, ...]]
    ) -> None: ...


class ObjectConditions(Protocol):
    """Conditions on cluster-scoped objects of our CRDs, by ``Kind/name`` (the InUse of the
    Deckhouse kinds). In a cluster, the status subresource; must not block the loop."""

    def report(self, conditions: Mapping[str, tuple[Condition, ...]]) -> None: ...


class L2Port(Protocol):
    def set_announced(self, announced: Mapping[IPAddress, Iterable[str] | None]) -> None: ...


class RoutingBackend(Protocol):
    """FRR or GoBGP behind the routing worker (``orchestrator.routing.worker``):
    ``apply`` hands over the node's intent and returns at once (the worker applies,
    retries and repairs on its own thread); ``ready`` is True while the routing daemon's
    connection is up (it answered the last probe)."""

    def apply(self, intent: NodeBGPIntent) -> object: ...

    def ready(self) -> bool: ...
