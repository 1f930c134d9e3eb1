"""The standalone snapshot source: manifests from a directory plus state from files.

Produces the same ``ClusterSnapshot`` as the Kubernetes adapter. It also enforces "an
invalid object never replaces a valid running config": when the manifests have errors
outside Services (a broken pool, a YAML syntax error that hides documents), the last good
set of manifests is used instead and the snapshot is marked stale, so no IP is withdrawn
or moved because of a typo. Errors in a Service's own fields do not freeze anything: the
parser keeps such a Service with its status IPs (the allocator holds them).

A file saved in place is truncated first and written next. A read between the two sees an
empty file, which is a valid "no objects here", and the controller would delete that file's
Services and free their IPs. So an edit is applied only once the manifests have been quiet
for ``settle`` seconds (``ManifestSource``); until then the previous read stands and
``Loaded.retry_in`` tells the loop when to look again.

``Watcher`` turns filesystem events (watchdog) into a wake-up for the reconcile loop;
the loop also ticks on a timer because lease expiry is a change no file event announces.
Only events that change what a reconcile reads wake it (``relevant``: not reads, not
temporary files). Every lease renewal wakes every process, so the YAML is parsed again
only when a manifest file changed (``fingerprint``).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from orchestrator.adapters.files import Loaded as FilesLoaded
from orchestrator.adapters.files import load_directory, manifest_files
from orchestrator.core.model.errors import FieldError, Severity
from orchestrator.core.parse import parse_snapshot
from orchestrator.ports import Loaded
from orchestrator.runtime.state import StateDir, overlay


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


#: An edit is applied once the manifests have been quiet this long (seconds): long enough
#: for a writer preempted between truncating and writing a file on a loaded machine.
SETTLE = 0.25
#: A directory that never goes quiet is read anyway after this long (seconds).
SETTLE_MAX = 2.0


def newest_change(directory: Path) -> int | None:
    """The latest mtime (ns) of the directory and its manifest files; None if unreadable.

    The directory's own mtime covers files created, removed or renamed into place."""
    try:
        newest = directory.stat().st_mtime_ns
        for path in manifest_files(directory):
            newest = max(newest, path.stat().st_mtime_ns)
    except OSError:
        return None
    return newest


class ManifestSource:
    """Reads the manifests on every ``load``, but parses the YAML again only when a file
    changed (``fingerprint``): every lease renewal wakes every process, and parsing
    unchanged YAML was ~90 % of a reconcile (~18 ms of ~20 ms for the lab's few files).

    A change younger than ``settle`` is not read yet (see the module docstring): the
    previous read is used, or, before the first read, nothing (``snapshot=None``).
    ``clock`` gives wall-clock ns, the clock file times are in."""

    def __init__(
        self,
        directory: Path | str,
        state: StateDir,
        *,
        settle: float = SETTLE,
        settle_max: float = SETTLE_MAX,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.directory = Path(directory)
        self.state = state
        self.settle = settle
        self.settle_max = settle_max
        self._clock = clock
        self._last_good: list[tuple[str, Mapping[str, Any]]] | None = None
        self._files: FilesLoaded | None = None
        self._files_key: object = None
        self._held_since: float | None = None
        self._loaded: tuple[FilesLoaded, Mapping[str, Any], Loaded] | None = None

    def _settling(self) -> float | None:
        """Seconds until the manifests have been quiet for ``settle``; None: read them now."""
        newest = newest_change(self.directory)
        if newest is None or self.settle <= 0:
            return None
        remaining = self.settle - (self._clock() - newest) / 1e9
        if remaining <= 0:
            self._held_since = None
            return None
        held_since = time.monotonic() if self._held_since is None else self._held_since
        self._held_since = held_since
        if time.monotonic() - held_since >= self.settle_max:
            return None  # never quiet (or a clock gone backwards): read what is there
        return min(remaining, self.settle)

    def _read(self) -> FilesLoaded:
        key = fingerprint(self.directory)
        if key is None or key != self._files_key or self._files is None:
            self._files = load_directory(self.directory)
            self._files_key = key
        return self._files

    def load(self) -> Loaded:
        retry_in = self._settling()
        statuses = self.state.statuses()
        if retry_in is not None and self._files is None:
            return Loaded(None, statuses=statuses, retry_in=retry_in)
        # while an edit settles, the previous read stands
        files = self._files if retry_in is not None and self._files is not None else self._read()
        if self._loaded is not None and self._loaded[0] is files and self._loaded[1] == statuses:
            # nothing read changed: the same result, so consumers may skip their work too
            return replace(self._loaded[2], retry_in=retry_in)
        loaded = self._parse(files, statuses, retry_in)
        self._loaded = (files, statuses, loaded)
        return loaded

    def _parse(
        self, files: FilesLoaded, statuses: Mapping[str, Mapping[str, Any]], retry_in: float | None
    ) -> Loaded:
        snapshot = parse_snapshot(overlay(files.documents, statuses))
        problems = (*files.problems, *snapshot.problems)
        if not blocking(problems):
            self._last_good = files.documents
            return Loaded(snapshot, problems, stale=False, statuses=statuses, retry_in=retry_in)
        if self._last_good is None:
            return Loaded(None, problems, stale=True, statuses=statuses, retry_in=retry_in)
        good = parse_snapshot(overlay(self._last_good, statuses))
        return Loaded(good, problems, stale=True, statuses=statuses, retry_in=retry_in)


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
    def __init__(self, changed: threading.Event) -> None:
        self.changed = changed

    def on_any_event(self, event: FileSystemEvent) -> None:
        if relevant(event):
            self.changed.set()


class Watcher:
    """Sets ``changed`` whenever something under the watched directories changes."""

    def __init__(self, *directories: Path) -> None:
        self.changed = threading.Event()
        self._observer = Observer()
        handler = _Wake(self.changed)
        for d in directories:
            self._observer.schedule(handler, str(Path(d).absolute()), recursive=True)

    def start(self) -> None:
        self._observer.start()

    def stop(self) -> None:
        self._observer.stop()
        self._observer.join(timeout=5)

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` for a change; True if one came."""
        fired = self.changed.wait(timeout)
        self.changed.clear()
        return fired
