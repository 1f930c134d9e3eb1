"""``AnnouncerProcess``: the L2 announcer in a process of its own, with a warm standby.

Why a process: in a cluster the speaker holds the informer caches and parses snapshots. In
one process the announcer's thread shares the GIL with that work and stops for every full
garbage collection over those caches: with 10,000 Services, ARP answers had p99 9.3 ms and
a worst case of 140 ms, against 125 µs with the same work in another process
(``make bench-l2-heap``). The child (``l2/child.py``) runs the very same ``Announcer``; the
parent keeps the surface the speaker uses: ``set_announced``, ``reannounce``, ``links``,
``stats``, ``running``, ``ready``, ``error``, ``stop``.

Why a standby (docs/design.md §15): a fresh interpreter needs about a second to import and
open its sockets, and its IPs went unanswered behind a fresh lease for 1.6–1.8 s when the
child was killed. So a second child is started beside the active one, sockets open and
nothing announced. The death of the active child is seen at once (EOF on its socket pair,
on a reader thread per child); the standby is handed the table at that moment, answers and
sends its gratuitous burst, and another standby is started after ``restart_delay``. With
no standby at hand (two deaths in a row) a new child is started and handed the table.

**A lease means "I can answer".** ``ready`` is True only while the active child runs and
has confirmed the current table (every ``announce`` carries a generation, the child echoes
the last one it applied); the speaker renews its lease only then, so an announcer that
cannot answer lets the lease lapse and the other nodes take over, never an unanswered IP
behind a fresh lease.

**Liveness of the speaker.** A frozen speaker stops renewing its lease, but a child would
go on answering. So with ``quiet_after`` the child withdraws everything when it has heard
nothing for that long; the speaker calls ``keepalive`` with every lease renewal.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import subprocess
import sys
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from orchestrator.core.model.cluster import IPAddress
from orchestrator.l2.child import COUNTERS_EVERY, Table
from orchestrator.l2.priority import Priority
from orchestrator.l2.stats import L2Stats

log = logging.getLogger(__name__)


@dataclass(eq=False)
class _Child:
    proc: subprocess.Popen[bytes]
    conn: Connection
    acked: int | None = None  # the generation of the table it last confirmed


class AnnouncerProcess:
    """An ``Announcer`` in a child process, with a warm standby (see the module docstring)."""

    def __init__(
        self,
        *,
        interfaces: Iterable[str] | None = None,
        refresh: float | None = None,
        quiet_after: float | None = None,
        restart_delay: float = 1.0,
        counters_every: float = COUNTERS_EVERY,
        standby: bool = True,
        priority: Priority = Priority.NONE,
    ) -> None:
        self._config = json.dumps(
            {
                "interfaces": list(interfaces) if interfaces is not None else None,
                "refresh": refresh,
                "quiet_after": quiet_after,
                "counters_every": counters_every,
                "priority": priority.value,
            }
        )
        self._restart_delay = restart_delay
        self._standby = standby
        self._lock = threading.Lock()  # table, generation and children change together
        self._table: Table = {}
        self._generation = 0
        self._active: _Child | None = None
        self._spare: _Child | None = None
        self._stopping = threading.Event()
        self._readers: list[threading.Thread] = []
        self._links: tuple[str, ...] = ()
        self.stats = L2Stats()
        self.error: str | None = None
        self.restarts = 0

    # -- the speaker's surface
    def start(self) -> None:
        """Start the active child (and the standby) in the calling thread's namespace."""
        with self._lock:
            self._active = self._spawn()
            self._send(self._active, ("announce", self._table, self._generation))
            if self._standby:
                self._spare = self._spawn()

    def set_announced(self, announced: Mapping[IPAddress, Iterable[str] | None]) -> None:
        table: Table = {
            ip: None if names is None else tuple(names) for ip, names in announced.items()
        }
        with self._lock:
            self._table = table
            self._generation += 1
            self._send(self._active, ("announce", table, self._generation))

    def keepalive(self) -> None:
        """The speaker is alive (see the module docstring)."""
        with self._lock:
            self._send(self._active, ("alive",))

    def reannounce(self, ips: Iterable[IPAddress] | None = None) -> None:
        with self._lock:
            self._send(self._active, ("reannounce", None if ips is None else list(ips)))

    def ready(self) -> bool:
        """The active child runs and holds the current table: this node can answer."""
        with self._lock:
            child = self._active
            return (
                child is not None and child.proc.poll() is None and child.acked == self._generation
            )

    @property
    def links(self) -> tuple[str, ...]:
        """Names of the links the active child answers on, as it last reported them."""
        return self._links

    @property
    def pid(self) -> int | None:
        child = self._active
        return child.proc.pid if child is not None else None

    @property
    def standby_pid(self) -> int | None:
        child = self._spare
        return child.proc.pid if child is not None else None

    @property
    def running(self) -> bool:
        child = self._active
        return child is not None and child.proc.poll() is None

    def stop(self) -> None:
        """Withdraw everything, end the children and wait for them. Idempotent."""
        self._stopping.set()
        with self._lock:
            self._table = {}
            children = [c for c in (self._active, self._spare) if c is not None]
            for child in children:
                self._send(child, ("stop",))
        for child in children:
            try:
                child.proc.wait(5)
            except subprocess.TimeoutExpired:
                child.proc.kill()
                child.proc.wait(5)
            child.conn.close()
        for reader in self._readers:
            reader.join(5)

    # -- internals
    def _spawn(self) -> _Child:
        """Start a child (under the lock) and its reader thread."""
        ours, theirs = socket.socketpair()
        with theirs:
            proc = subprocess.Popen(
                [sys.executable, "-m", "orchestrator.l2.child", str(theirs.fileno()), self._config],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
            )
        child = _Child(proc, Connection(ours.detach()))
        reader = threading.Thread(target=self._read, args=(child,), name="l2-child", daemon=True)
        self._readers = [r for r in self._readers if r.is_alive()] + [reader]
        reader.start()
        return child

    @staticmethod
    def _send(child: _Child | None, message: tuple[Any, ...]) -> None:
        if child is None:
            return
        # the child gone: its reader sees EOF and replaces it
        with contextlib.suppress(OSError):
            child.conn.send(message)

    def _read(self, child: _Child) -> None:
        while True:
            try:
                message = child.conn.recv()
            except (EOFError, OSError):
                break
            if message[0] == "state":
                child.acked = message[3]
                if child is self._active:
                    self._links = tuple(message[1])
                    for name, values in (message[2] or {}).items():
                        setattr(self.stats, name, values)
            elif message[0] == "failed":
                self.error = str(message[1])
        if not self._stopping.is_set():
            self._lost(child)

    def _lost(self, child: _Child) -> None:
        """A child's socket closed: it has exited, or is on its way out."""
        with self._lock:
            if self._stopping.is_set():
                return
            if child is self._active:
                # at once: the standby takes the table (or a new child, if there is none)
                self._active, self._spare = self._spare or self._spawn(), None
                self._send(self._active, ("announce", self._table, self._generation))
                self.restarts += 1
            elif child is self._spare:
                self._spare = None
        try:
            code = child.proc.wait(10)
        except subprocess.TimeoutExpired:
            child.proc.kill()
            code = child.proc.wait()
        child.conn.close()
        self.error = f"announcer process exited (code {code}); another took over"
        log.error("event=announcerProcessExited code=%s", code)
        if not self._standby or self._stopping.wait(self._restart_delay):
            return
        with self._lock:
            if self._spare is None and not self._stopping.is_set():
                self._spare = self._spawn()
