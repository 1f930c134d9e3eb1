"""``FileStatuses``: Service status records in ``STATE/services/<namespace>/<name>.json``.

The file twin of ``kube/status.py``: the controller writes one ``StatusRecord`` per Service
(``StatusRecord.to_dict``, atomically), removes it when the Service is gone, and every
source reads them all back (``statuses``) to overlay them onto the manifests.

A record that cannot be read (damaged by hand or by a full disk: not JSON, not the shape
we write) keeps its last good version, in the controller and in every speaker alike, and
is reported (``problems``): dropped, it made every speaker withdraw that Service's IPs at
once while the controller was down, and the restarted controller then re-homed them.
Homes change only by the controller's placement rules. Writes are atomic (a rename), so a
reader never meets a half-written record; a record removed under us is simply gone.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from orchestrator.adapters.files.atomic import atomic_write
from orchestrator.core.model.errors import FieldError
from orchestrator.core.status.records import StatusRecord


def _shape_error(record: object) -> str | None:
    """Why ``record`` is not a record as ``StatusRecord.to_dict`` writes it, or None."""
    if not isinstance(record, dict):
        return "is not a JSON object"
    ingress = record.get("ingress", [])
    if not isinstance(ingress, list) or not all(isinstance(ip, str) for ip in ingress):
        return "ingress is not a list of strings"
    if not isinstance(record.get("annotations", {}), dict):
        return "annotations is not an object"
    if not isinstance(record.get("conditions", []), list):
        return "conditions is not a list"
    return None


class FileStatuses:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self._good: dict[str, dict[str, Any]] = {}
        self._problems: tuple[FieldError, ...] = ()

    def _path(self, key: str) -> Path:
        namespace, name = key.split("/", 1)
        return self.directory / namespace / f"{name}.json"

    def statuses(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        problems: list[FieldError] = []
        for path in sorted(self.directory.glob("*/*.json")):
            key = f"{path.parent.name}/{path.stem}"
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
                why = _shape_error(record)
            except FileNotFoundError:
                continue  # removed under us (the Service is gone)
            except (OSError, ValueError) as e:
                why = f"cannot be read ({type(e).__name__})"
            if why is None:
                out[key] = record
                continue
            kept = key in self._good
            if kept:
                out[key] = self._good[key]
            then = "its last good version is kept" if kept else "no last good version to keep"
            where = f"{path.parent.name}/{path.name}"
            problems.append(FieldError(f"state services/{where}", "", f"{why}; {then}"))
        self._good = dict(out)
        self._problems = tuple(problems)
        return out

    def problems(self) -> tuple[FieldError, ...]:
        """What the last ``statuses`` met that it could not read."""
        return self._problems

    def write_status(self, key: str, record: StatusRecord) -> None:
        atomic_write(self._path(key), json.dumps(record.to_dict(), sort_keys=True))

    def delete_status(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(key).unlink()
