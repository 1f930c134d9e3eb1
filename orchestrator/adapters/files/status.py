"""``FileStatuses``: Service status records in ``STATE/services/<namespace>/<name>.json``.

The file twin of ``kube/status.py``: the controller writes one ``StatusRecord`` per Service
(``StatusRecord.to_dict``, atomically), removes it when the Service is gone, and every
source reads them all back (``statuses``) to overlay them onto the manifests.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from orchestrator.adapters.files.atomic import atomic_write
from orchestrator.core.status.records import StatusRecord


class FileStatuses:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        namespace, name = key.split("/", 1)
        return self.directory / namespace / f"{name}.json"

    def statuses(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for path in self.directory.glob("*/*.json"):
            try:
                out[f"{path.parent.name}/{path.stem}"] = json.loads(path.read_text())
            except (OSError, ValueError):
                continue  # a record removed or replaced under us: next tick reads it
        return out

    def write_status(self, key: str, record: StatusRecord) -> None:
        atomic_write(self._path(key), json.dumps(record.to_dict(), sort_keys=True))

    def delete_status(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(key).unlink()
