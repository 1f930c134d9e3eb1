"""``Watcher``: filesystem events (watchdog) as the loop's ``Waker``, standalone.

The file twin of ``kube/store.py``'s ``InformerWaker``. The loop also ticks on a timer
because lease expiry is a change no file event announces. Only events that change what a
reconcile reads wake it (``relevant``: not reads, not temporary files).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

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
