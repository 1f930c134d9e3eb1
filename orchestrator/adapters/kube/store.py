"""The runtime's ports over the Kubernetes API: status + leases as one ``Store``, and the
informers' change event as the loop's ``Waker``.

``delete_status`` is a no-op: in a cluster a deleted Service takes its status with it (the
file store has to remove a record; the API server already did).
"""

from __future__ import annotations

from orchestrator.adapters.kube.informer import Informers
from orchestrator.adapters.kube.leases import KubeLeases
from orchestrator.adapters.kube.status import KubeStatusWriter
from orchestrator.core.liveness.leases import LeaseRecord
from orchestrator.core.status.records import StatusRecord


class KubeStore:
    def __init__(self, statuses: KubeStatusWriter, leases: KubeLeases) -> None:
        self.statuses = statuses
        self.leases = leases

    def write_status(self, key: str, record: StatusRecord) -> None:
        self.statuses.write_status(key, record)

    def delete_status(self, key: str) -> None:
        return None

    def renew_lease(self, node: str, *, duration: float, counter: int) -> None:
        self.leases.renew(node, duration=duration)

    def release_lease(self, node: str) -> None:
        self.leases.release(node)

    def read_leases(self) -> list[LeaseRecord]:
        return self.leases.read()


class InformerWaker:
    """Wakes the loop on any informer event. Leases are read by listing on every pass, so
    their expiry is found by the loop's tick, as with files."""

    def __init__(self, informers: Informers) -> None:
        self.informers = informers

    def start(self) -> None:
        self.informers.start()

    def stop(self) -> None:
        self.informers.stop()

    def wait(self, timeout: float) -> bool:
        fired = self.informers.changed.wait(timeout)
        self.informers.changed.clear()
        return fired
