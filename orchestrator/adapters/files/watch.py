"""``Watcher``: filesystem events (watchdog) as the loop's ``Waker``, standalone.

The file twin of ``kube/store.py``'s ``InformerWaker``. The loop also ticks on a timer
because lease expiry is a change no file event announces. Only events that change what a
reconcile reads wake it (``relevant``: not reads, not temporary files).

``on_path`` hears the name of every file a relevant event touched (before the loop is
woken), so a reader can read only those (``status.py``); ``None`` when names were lost:
watchdog rebuilds its watches after the kernel's queue overflows and tells its handlers
nothing, only its logger, so that warning is the signal.

``wait`` folds a burst of events into one wake-up (``QUIET``, ``BURST_MAX``): each pass
after a change parses and decides again, and one per record file written made the speakers
take the CPUs from the controller writing them.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
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


#: a burst of events ends after this long without one (seconds) ...
QUIET = 0.02
#: ... or after this long in all: a steady stream still gets a pass every so often
BURST_MAX = 0.2

OnPath = Callable[[str | None], None]


class _Wake(FileSystemEventHandler):
    def __init__(self, changed: threading.Event, on_path: OnPath | None) -> None:
        self.changed = changed
        self.on_path = on_path

    def on_any_event(self, event: FileSystemEvent) -> None:
        if not relevant(event):
            return
        if self.on_path is not None:
            for name in (event.src_path, getattr(event, "dest_path", "")):
                if name and not _hidden(name):
                    self.on_path(os.fsdecode(name))
        self.changed.set()


class _Overflow(logging.Handler):
    """watchdog's "Inotify queue overflowed" warning, as a notice that names were lost."""

    def __init__(self, on_path: OnPath, changed: threading.Event) -> None:
        super().__init__(logging.WARNING)
        self.on_path = on_path
        self.changed = changed

    def emit(self, record: logging.LogRecord) -> None:
        if "overflow" in str(record.msg).lower():
            self.on_path(None)
            self.changed.set()


_WATCHDOG_LOGGERS = ("watchdog.observers.inotify", "watchdog.observers.inotify_c")


class Watcher:
    """Sets ``changed`` whenever something under the watched directories changes."""

    def __init__(self, *directories: Path, on_path: OnPath | None = None) -> None:
        self.changed = threading.Event()
        self.on_path = on_path
        self._observer = Observer()
        handler = _Wake(self.changed, on_path)
        for d in directories:
            self._observer.schedule(handler, str(Path(d).absolute()), recursive=True)
        self._overflow = None if on_path is None else _Overflow(on_path, self.changed)

    def start(self) -> None:
        if self._overflow is not None:
            for name in _WATCHDOG_LOGGERS:
                logging.getLogger(name).addHandler(self._overflow)
        self._observer.start()

    def stop(self) -> None:
        self._observer.stop()
        self._observer.join(timeout=5)
        if self._overflow is not None:
            for name in _WATCHDOG_LOGGERS:
                logging.getLogger(name).removeHandler(self._overflow)

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` for a change; True if one came. A burst (a controller
        writing a thousand records) is one wake-up: after the first event, wait until
        ``QUIET`` passes without one, for at most ``BURST_MAX``."""
        fired = self.changed.wait(timeout)
        if fired:
            deadline = time.monotonic() + BURST_MAX
            while True:
                self.changed.clear()
                left = deadline - time.monotonic()
                if left <= 0 or not self.changed.wait(min(QUIET, left)):
                    break
        self.changed.clear()
        return fired
