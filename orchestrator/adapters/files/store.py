"""The standalone state directory: what a cluster keeps in the API server, kept in files.

Layout::

    STATE/services/<namespace>/<name>.json   status IPs, our annotations, conditions
    STATE/leases/<node>.json                 one lease per speaker (renewed every second)

``StateDir`` is the ``Store`` the loops are given: Service status records (``status.py``)
and speaker leases (``leases.py``), as ``KubeStore`` (``kube/store.py``) joins the status
subresource and the Lease objects. The controller is the only writer of ``services/``;
each speaker is the only writer of its own lease.

A watcher that names the files that changed (``track``, ``notice``) lets a read of the
records touch only those (``status.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from orchestrator.adapters.files.leases import FileLeases
from orchestrator.adapters.files.status import FileStatuses
from orchestrator.core.liveness.leases import LeaseRecord
from orchestrator.core.model.errors import FieldError
from orchestrator.core.status.records import StatusRecord


class StateDir:
    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.services = self.root / "services"
        self.leases = self.root / "leases"
        self.status_files = FileStatuses(self.services)
        self.lease_files = FileLeases(self.leases)

    # -- change notices from a watcher (``watch.Watcher(..., on_path=state.notice)``)
    def track(self) -> None:
        self.status_files.track()

    def notice(self, path: str | None) -> None:
        self.status_files.notice(path)

    # -- Service status records (written by the controller)
    def statuses(self) -> dict[str, dict[str, Any]]:
        return self.status_files.statuses()

    def status_problems(self) -> tuple[FieldError, ...]:
        """Records the last ``statuses`` could not read (their last good versions kept)."""
        return self.status_files.problems()

    def write_status(self, key: str, record: StatusRecord) -> None:
        self.status_files.write_status(key, record)

    def delete_status(self, key: str) -> None:
        self.status_files.delete_status(key)

    # -- leases (each speaker writes its own)
    def renew_lease(self, node: str, *, duration: float, counter: int) -> None:
        self.lease_files.renew(node, duration=duration, counter=counter)

    def release_lease(self, node: str) -> None:
        self.lease_files.release(node)

    def read_leases(self) -> list[LeaseRecord]:
        return self.lease_files.read()
