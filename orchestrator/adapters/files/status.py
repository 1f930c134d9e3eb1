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

Every lease renewal and every tick asks for the records, and reading them all each time
cost a speaker 86 % of its main thread with 2,000 Services. So once a watcher feeds it the
names of the files that changed (``track`` / ``notice``; ``watch.py`` does), ``statuses``
reads only those; a notice without a name (the watcher's queue overflowed), a change to a
directory, and a slow periodic pass (``full_every``: a notice lost between a watch being
set up and the first event) read every record again. Without a watcher every call reads
everything, as before. While nothing changed, ``statuses`` returns the very same mapping,
so a consumer can tell "unchanged" by identity. The controller's own writes update the
cache at once: its next pass must not write the same record again before the notice of its
own write comes back.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from orchestrator.adapters.files.atomic import atomic_write
from orchestrator.core.model.errors import FieldError
from orchestrator.core.status.records import StatusRecord

#: with change notices, every record is still read again this often (seconds)
FULL_EVERY = 60.0

Record = dict[str, Any]


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
    def __init__(
        self,
        directory: Path,
        *,
        full_every: float = FULL_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.directory = directory.absolute()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.full_every = full_every
        self._clock = clock
        self._lock = threading.Lock()  # notices come from the watcher's thread
        self._tracked = False
        self._dirty: set[str] = set()
        self._full = True
        self._full_at = float("-inf")
        self._records: dict[str, Record] = {}
        self._view: dict[str, Record] | None = None
        #: key -> why its file cannot be read now (its last good version stays in _records)
        self._damaged: dict[str, str] = {}

    def _path(self, key: str) -> Path:
        namespace, name = key.split("/", 1)
        return self.directory / namespace / f"{name}.json"

    # -- change notices (any thread)
    def track(self) -> None:
        """From now on a watcher calls ``notice`` for every change under the directory."""
        with self._lock:
            self._tracked = True
            self._full = True

    def notice(self, path: str | None) -> None:
        """``path`` changed (created, replaced, removed); None: anything may have."""
        with self._lock:
            if path is None:
                self._full = True
            else:
                self._dirty.add(path)

    # -- reading (the loop's thread)
    def statuses(self) -> dict[str, Record]:
        with self._lock:
            now = self._clock()
            full = self._full or not self._tracked or now - self._full_at >= self.full_every
            dirty, self._dirty, self._full = self._dirty, set(), False
        changed = self._read_all(now) if full else self._read_some(dirty)
        if changed or self._view is None:
            self._view = dict(self._records)
        return self._view

    def _read_all(self, now: float) -> bool:
        records: dict[str, Record] = {}
        damaged: dict[str, str] = {}
        for path in self.directory.glob("*/*.json"):
            key = f"{path.parent.name}/{path.stem}"
            record, why = _read(path)
            old = self._records.get(key)
            if why is not None:
                damaged[key] = why
                record = old  # its last good version, if it had one
            if record is not None:
                # an unchanged record stays the same object: consumers tell by identity
                records[key] = old if old == record else record
        self._full_at = now
        changed = records != self._records or damaged != self._damaged
        self._records, self._damaged = records, damaged
        return changed

    def _read_some(self, dirty: set[str]) -> bool:
        changed = False
        for name in dirty:
            key = self._key(name)
            if key is None:
                continue
            if key == "":  # a namespace directory came, went or moved: read everything
                return self._read_all(self._clock()) or changed
            record, why = _read(self._path(key))
            if why is not None:  # damaged: keep its last good version, and say so
                changed |= self._damaged.get(key) != why
                self._damaged[key] = why
                continue
            changed |= self._damaged.pop(key, None) is not None
            if record is None:
                changed |= self._records.pop(key, None) is not None
            elif self._records.get(key) != record:
                self._records[key] = record
                changed = True
        return changed

    def _key(self, name: str) -> str | None:
        """``namespace/name`` of a record file; "" for a namespace directory; None for what
        is not ours (other directories, hidden or temporary files)."""
        path = Path(name)
        try:
            parts = path.relative_to(self.directory).parts
        except ValueError:
            return None
        if any(p.startswith(".") for p in parts):
            return None
        if len(parts) == 1:
            return ""
        if len(parts) != 2 or path.suffix != ".json":
            return None
        return f"{parts[0]}/{path.stem}"

    def problems(self) -> tuple[FieldError, ...]:
        """The records that cannot be read now, each kept at its last good version if any."""
        out = []
        for key, why in sorted(self._damaged.items()):
            kept = key in self._records
            then = "its last good version is kept" if kept else "no last good version to keep"
            namespace, name = key.split("/", 1)
            where = f"state services/{namespace}/{name}.json"
            out.append(FieldError(where, "", f"{why}; {then}"))
        return tuple(out)

    # -- writing (the controller)
    def write_status(self, key: str, record: StatusRecord) -> None:
        text = json.dumps(record.to_dict(), sort_keys=True)
        atomic_write(self._path(key), text)
        self._records[key] = json.loads(text)  # as a reader will read it back
        self._damaged.pop(key, None)
        self._view = None

    def delete_status(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(key).unlink()
        self._records.pop(key, None)
        self._damaged.pop(key, None)
        self._view = None


def _read(path: Path) -> tuple[Record | None, str | None]:
    """The record in ``path`` and None; (None, None) when it is gone (removed under us: the
    Service is gone, or its notice reads it again); (None, why) when it is damaged."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, None
    except (OSError, ValueError) as e:
        return None, f"cannot be read ({type(e).__name__})"
    why = _shape_error(raw)
    return (raw, None) if why is None else (None, why)
