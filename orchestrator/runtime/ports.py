"""The ports between the controller/speaker loops and where the cluster lives.

Standalone, one ``StateDir`` is both stores and a ``Watcher`` on the directories wakes the
loop; in a cluster, ``orchestrator.adapters.kube`` provides the same three over the API
(status subresource, coordination.k8s.io Leases, informers' change event). The loops do not
know which one they run on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from orchestrator.core.liveness.leases import LeaseRecord
from orchestrator.core.status.records import StatusRecord
from orchestrator.runtime.source import Loaded


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
