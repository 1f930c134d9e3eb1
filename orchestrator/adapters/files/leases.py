"""``FileLeases``: one speaker lease per node in ``STATE/leases/<node>.json``.

The file twin of ``kube/leases.py``: each speaker renews its own file every second
(``holderIdentity``, ``leaseDurationSeconds`` and a ``renewCounter`` that changes on every
write, as a Lease's ``resourceVersion`` does) and deletes it on a clean stop, so the others
take over at once. Observers turn the files into ``LeaseRecord`` s for the core's
``LeaseTracker``, the counter as the token; unreadable or half-gone files are skipped.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from orchestrator.adapters.files.atomic import atomic_write
from orchestrator.core.liveness.leases import LeaseRecord


class FileLeases:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)

    def renew(self, node: str, *, duration: float, counter: int) -> None:
        record = {"holderIdentity": node, "leaseDurationSeconds": duration, "renewCounter": counter}
        atomic_write(self.directory / f"{node}.json", json.dumps(record))

    def release(self, node: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.directory / f"{node}.json").unlink()

    def read(self) -> list[LeaseRecord]:
        out = []
        for path in self.directory.glob("*.json"):
            try:
                raw = json.loads(path.read_text())
                out.append(
                    LeaseRecord(
                        node=str(raw["holderIdentity"]),
                        token=str(raw["renewCounter"]),
                        duration=float(raw["leaseDurationSeconds"]),
                    )
                )
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return out
