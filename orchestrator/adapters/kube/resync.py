"""``ResyncLoop``: the background thread of a writer that keeps objects as the loop wants them.

A writer's ``report`` (called from the controller's or speaker's loop) stores what is wanted
and calls ``_poke``; this thread then runs ``sync`` at once, and again every ``resync``
seconds, forgetting what it wrote (``_forget``) so that an object changed behind its back is
written again. ``synced`` is set by ``sync`` after a pass that met no error (tests wait on it).
"""

from __future__ import annotations

import threading


class ResyncLoop:
    thread_name = "resync"

    def __init__(self, resync: float) -> None:
        self.resync = resync
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.synced = threading.Event()

    def sync(self) -> bool:
        raise NotImplementedError

    def _forget(self) -> None:
        """A resync is due: what was written may have changed behind our back."""

    def _poke(self) -> None:
        self.synced.clear()
        self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._wake.wait(self.resync):
                self._wake.clear()
            else:
                self._forget()
            self.sync()
