"""The standalone snapshot source: manifests from a directory plus state from files.

Produces the same ``ClusterSnapshot`` as the Kubernetes adapter. It also enforces "an
invalid object never replaces a valid running config": when the manifests have errors
outside Services (a broken pool, a YAML syntax error that hides documents), the last good
set of manifests is used instead and the snapshot is marked stale, so no IP is withdrawn
or moved because of a typo. Errors in a Service's own fields do not freeze anything: the
parser keeps such a Service with its status IPs (the allocator holds them).

``Watcher`` turns filesystem events (watchdog) into a wake-up for the reconcile loop;
the loop also ticks on a timer because lease expiry is a change no file event announces.
Only events that change what a reconcile reads wake it (``relevant``: not reads, not
temporary files), and an edit is given a moment to finish (``Watcher.wait``). Every lease
renewal wakes every process, so the YAML is parsed again only when a manifest file changed
(``fingerprint``).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from orchestrator.adapters.files import Loaded as FilesLoaded
from orchestrator.adapters.files import load_directory
from orchestrator.core.errors import FieldError, Severity
from orchestrator.core.model import ClusterSnapshot
from orchestrator.core.parse import parse_snapshot
from orchestrator.runtime.state import StateDir, overlay


@dataclass(frozen=True)
class Loaded:
    snapshot: ClusterSnapshot | None  # None: nothing valid has ever been read
    problems: tuple[FieldError, ...] = ()
    stale: bool = False  # the running config is the last good one, not the current files
    statuses: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


def blocking(problems: tuple[FieldError, ...] | list[FieldError]) -> list[FieldError]:
    """Errors that must freeze the config: everything except a Service's own fields."""
    return [
        p for p in problems if p.severity is Severity.ERROR and not p.obj.startswith("Service/")
    ]


#: A file changed less than this long ago may change again within the same timestamp tick
#: (the kernel's file clock is coarse): such a directory is always re-read ("racy git").
_RACY_NS = 2_000_000_000


def fingerprint(directory: Path) -> tuple[tuple[str, int, int, int, int], ...] | None:
    """Name, inode, size, mtime and ctime of every entry; None: re-read to be safe."""
    now = time.time_ns()
    entries = []
    try:
        with os.scandir(directory) as it:
            for entry in it:
                st = entry.stat()
                if now - max(st.st_mtime_ns, st.st_ctime_ns) < _RACY_NS:
                    return None
                entries.append((entry.name, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
        dir_st = directory.stat()
    except OSError:
        return None
    if now - dir_st.st_mtime_ns < _RACY_NS:
        return None
    return tuple(sorted(entries))


class ManifestSource:
    """Reads the manifests on every ``load``, but parses the YAML again only when a file
    changed (``fingerprint``): every lease renewal wakes every process, and parsing
    unchanged YAML was ~90 % of a reconcile (~18 ms of ~20 ms for the lab's few files)."""

    def __init__(self, directory: Path | str, state: StateDir) -> None:
        self.directory = Path(directory)
        self.state = state
        self._last_good: list[tuple[str, Mapping[str, Any]]] | None = None
        self._files: FilesLoaded | None = None
        self._files_key: object = None

    def _read(self) -> FilesLoaded:
        key = fingerprint(self.directory)
        if key is None or key != self._files_key or self._files is None:
            self._files = load_directory(self.directory)
            self._files_key = key
        return self._files

    def load(self) -> Loaded:
        files = self._read()
        statuses = self.state.statuses()
        snapshot = parse_snapshot(overlay(files.documents, statuses))
        problems = (*files.problems, *snapshot.problems)
        if not blocking(problems):
            self._last_good = files.documents
            return Loaded(snapshot, problems, stale=False, statuses=statuses)
        if self._last_good is None:
            return Loaded(None, problems, stale=True, statuses=statuses)
        good = parse_snapshot(overlay(self._last_good, statuses))
        return Loaded(good, problems, stale=True, statuses=statuses)


#: inotify reports reads too (watchdog >= 2.3: IN_OPEN, IN_CLOSE_NOWRITE). They change
#: nothing, and waking on them would make every reader wake itself and every other process
#: watching the same files: each reconcile reads the manifests, so the loops would spin.
_READ_ONLY_EVENTS = frozenset({"opened", "closed_no_write"})


def _hidden(path: bytes | str) -> bool:
    name = os.path.basename(os.fsdecode(path))
    return name.startswith(".")


def relevant(event: FileSystemEvent) -> bool:
    """Does ``event`` change what a reconcile reads?

    Not: reads; a directory's own modification (it always comes with the event of the entry
    that changed it); hidden files (an atomic write's temporary file, editor swap files: the
    loader skips them, and the rename that publishes a file is reported on its new name).
    One lease renewal then wakes each process once instead of four or five times."""
    if event.event_type in _READ_ONLY_EVENTS:
        return False
    if event.is_directory and event.event_type == "modified":
        return False
    dest = getattr(event, "dest_path", "")
    if dest:
        return not _hidden(dest) or not _hidden(event.src_path)
    return not _hidden(event.src_path)


class _Wake(FileSystemEventHandler):
    def __init__(
        self, changed: threading.Event, edited: threading.Event, fast: tuple[str, ...]
    ) -> None:
        self.changed = changed
        self.edited = edited
        self.fast = fast

    def on_any_event(self, event: FileSystemEvent) -> None:
        if not relevant(event):
            return
        path = os.fsdecode(getattr(event, "dest_path", "") or event.src_path)
        if not any(path.startswith(f) for f in self.fast):
            self.edited.set()
        self.changed.set()


class Watcher:
    """Sets ``changed`` whenever something under the watched directories changes.

    Files under ``fast`` directories (the leases) are written whole and atomically by our
    own code; every other change is an *edit* (manifests, possibly saved in place by a
    person), which ``wait`` lets settle before returning."""

    def __init__(self, *directories: Path, fast: tuple[Path, ...] = ()) -> None:
        self.changed = threading.Event()
        self.edited = threading.Event()
        self._observer = Observer()
        prefixes = tuple(str(Path(f).absolute()).rstrip("/") + "/" for f in fast)
        handler = _Wake(self.changed, self.edited, prefixes)
        for d in directories:
            self._observer.schedule(handler, str(Path(d).absolute()), recursive=True)

    def start(self) -> None:
        self._observer.start()

    def stop(self) -> None:
        self._observer.stop()
        self._observer.join(timeout=5)

    def wait(self, timeout: float, *, settle: float = 0.03, settle_max: float = 0.3) -> bool:
        """Wait up to ``timeout`` for a change. After an edit, also wait until no further
        edit comes for ``settle`` seconds (at most ``settle_max``) before returning.

        A file saved in place is truncated first and written next, two events apart: a
        reconcile between them reads an empty file, which is a valid "no objects here", and
        the controller would delete the Services of that file and free their IPs. Waiting
        for the writer to go quiet costs ``settle`` on a config change. Lease renewals do
        not settle (with many nodes they never go quiet) and timer wake-ups (lease expiry,
        hence failover) are not delayed at all."""
        fired = self.changed.wait(timeout)
        self.changed.clear()
        if fired and self.edited.is_set():
            self.edited.clear()
            deadline = time.monotonic() + settle_max
            while time.monotonic() < deadline and self.edited.wait(settle):
                self.edited.clear()
            self.changed.clear()
        return fired
