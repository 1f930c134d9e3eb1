"""The standalone snapshot source: manifests from a directory plus state from files.

Produces the same ``ClusterSnapshot`` as the Kubernetes adapter. It also enforces "an
invalid object never replaces a valid running config": when the manifests have errors
outside Services (a broken pool, a YAML syntax error that hides documents), the last good
set of manifests is used instead and the snapshot is marked stale, so no IP is withdrawn
or moved because of a typo. Errors in a Service's own fields do not freeze anything: the
parser keeps such a Service with its status IPs (the allocator holds them).

``Watcher`` turns filesystem events (watchdog) into a wake-up for the reconcile loop;
the loop also ticks on a timer because lease expiry is a change no file event announces.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

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


class ManifestSource:
    def __init__(self, directory: Path | str, state: StateDir) -> None:
        self.directory = Path(directory)
        self.state = state
        self._last_good: list[tuple[str, Mapping[str, Any]]] | None = None

    def load(self) -> Loaded:
        files = load_directory(self.directory)
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


class _Wake(FileSystemEventHandler):
    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def on_any_event(self, event: FileSystemEvent) -> None:
        self.event.set()


class Watcher:
    """Sets ``changed`` whenever something under the watched directories changes."""

    def __init__(self, *directories: Path) -> None:
        self.changed = threading.Event()
        self._observer = Observer()
        handler = _Wake(self.changed)
        for d in directories:
            self._observer.schedule(handler, str(d), recursive=True)

    def start(self) -> None:
        self._observer.start()

    def stop(self) -> None:
        self._observer.stop()
        self._observer.join(timeout=5)

    def wait(self, timeout: float) -> bool:
        fired = self.changed.wait(timeout)
        self.changed.clear()
        return fired
