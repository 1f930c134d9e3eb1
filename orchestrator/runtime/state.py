"""The standalone state directory: what a cluster keeps in the API server, kept in files.

Layout::

    STATE/services/<namespace>/<name>.json   status IPs, our annotations, conditions
    STATE/leases/<node>.json                 one lease per speaker (renewed every second)

Every write is atomic (write a temporary file in the same directory, then rename), so a
reader never sees half a record and a crash never leaves a torn file. The controller is the
only writer of ``services/``; each speaker is the only writer of its own lease.

``overlay`` puts the recorded status and annotations onto the Service manifests before they
are parsed, so the parser reads exactly what it would read from a Kubernetes API object.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from orchestrator.core.liveness.leases import LeaseRecord
from orchestrator.core.status.records import StatusRecord

Document = tuple[str, Mapping[str, Any]]


def atomic_write(path: Path, data: str, *, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


class StateDir:
    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.services = self.root / "services"
        self.leases = self.root / "leases"
        self.services.mkdir(parents=True, exist_ok=True)
        self.leases.mkdir(parents=True, exist_ok=True)

    # -- Service status records (written by the controller)
    def _service_path(self, key: str) -> Path:
        namespace, name = key.split("/", 1)
        return self.services / namespace / f"{name}.json"

    def statuses(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for path in self.services.glob("*/*.json"):
            try:
                out[f"{path.parent.name}/{path.stem}"] = json.loads(path.read_text())
            except (OSError, ValueError):
                continue  # a record removed or replaced under us: next tick reads it
        return out

    def write_status(self, key: str, record: StatusRecord) -> None:
        atomic_write(self._service_path(key), json.dumps(record.to_dict(), sort_keys=True))

    def delete_status(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._service_path(key).unlink()

    # -- leases (each speaker writes its own)
    def renew_lease(self, node: str, *, duration: float, counter: int) -> None:
        record = {"holderIdentity": node, "leaseDurationSeconds": duration, "renewCounter": counter}
        atomic_write(self.leases / f"{node}.json", json.dumps(record))

    def release_lease(self, node: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.leases / f"{node}.json").unlink()

    def read_leases(self) -> list[LeaseRecord]:
        out = []
        for path in self.leases.glob("*.json"):
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


def overlay(
    documents: Iterable[Document], statuses: Mapping[str, Mapping[str, Any]]
) -> list[Document]:
    """Service documents with their recorded status and annotations filled in."""
    out: list[Document] = []
    for source, doc in documents:
        if doc.get("kind") == "Service" and isinstance(doc.get("metadata"), Mapping):
            meta = doc["metadata"]
            key = f"{meta.get('namespace') or 'default'}/{meta.get('name')}"
            record = statuses.get(key)
            if record is not None:
                doc = _apply(doc, record)
        out.append((source, doc))
    return out


def _apply(doc: Mapping[str, Any], record: Mapping[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(dict(doc))
    meta = merged.setdefault("metadata", {})
    annotations = dict(meta.get("annotations") or {})
    annotations.update(record.get("annotations") or {})
    meta["annotations"] = annotations
    status = dict(merged.get("status") or {})
    status["loadBalancer"] = {"ingress": [{"ip": ip} for ip in record.get("ingress") or []]}
    conditions = record.get("conditions")
    if conditions:
        status["conditions"] = list(conditions)
    merged["status"] = status
    return merged
