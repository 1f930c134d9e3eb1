"""``AnnouncerProcess``: the L2 announcer in a process of its own, driven over a pipe.

Why: in a cluster the speaker holds the informer caches and parses snapshots. In one
process the announcer's thread shares the GIL with that work and stops for every full
garbage collection over those caches: with 10,000 Services, ARP answers had p99 9.3 ms and
a worst case of 140 ms, against 125 µs with the same work in another process
(``make bench-l2-heap``). The child runs the very same ``Announcer``; the parent keeps the
surface the speaker uses: ``set_announced``, ``reannounce``, ``links``, ``stats``,
``running``, ``error``, ``stop``.

Protocol: pickled tuples over a ``multiprocessing`` pipe.

- parent to child: ``("announce", {ip: names or None})``, ``("reannounce", ips or None)``,
  ``("alive",)``, ``("stop",)``;
- child to parent: ``("state", links, counters)`` at start, after every message and every
  second, and ``("failed", text)`` if its loop died. ``counters`` (the ``L2Stats`` dicts,
  which the parent's ``stats`` then mirrors for the metrics) is None except every
  ``COUNTERS_EVERY`` seconds: with 10,000 IPs announced, pickling them holds the child's GIL
  for ~3 ms, which the answers would wait for, and Prometheus scrapes every 15 s or more.

The child is a fresh interpreter (``python -m orchestrator.l2.process FD CONFIG``, one end
of a socket pair passed as FD): it holds none of the parent's objects and no copy of its
threads' locks, and it starts in the network namespace of the thread that called
``start``. It ignores SIGINT and SIGTERM, because the parent decides when it ends, and it
ends when the socket closes, so it never outlives the speaker.
If it dies, the parent starts another after ``restart_delay`` and hands it the current
table; the new announcer sends its gratuitous burst, as any takeover does.

**Liveness.** In one process, a frozen speaker (stopped, thrashing) stopped answering when
it stopped renewing its lease, so the node that took its IPs over answered alone. A child
would go on answering. So with ``quiet_after`` the child withdraws everything when it has
heard nothing from the parent for that long, and announces its table again at the next
message; the speaker calls ``keepalive`` with every lease renewal and passes its lease
duration, so the child goes quiet when the other nodes start to take over.
"""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from multiprocessing.connection import Connection
from typing import Any

from orchestrator import log as log_channel
from orchestrator.core.model.cluster import IPAddress
from orchestrator.l2.announcer import Announcer
from orchestrator.l2.garp import GarpTiming
from orchestrator.l2.priority import Priority, raise_priority
from orchestrator.l2.stats import L2Stats

log = logging.getLogger(__name__)

Table = dict[IPAddress, tuple[str, ...] | None]
_COUNTERS = ("requests_received", "responses_sent", "gratuitous_sent", "dropped", "send_errors")
#: How often the child reports its links while nothing else happens.
REPORT_EVERY = 1.0
#: How often it adds its counters (see the module docstring).
COUNTERS_EVERY = 10.0


def _counters(stats: L2Stats) -> dict[str, dict[Any, int]]:
    return {name: dict(getattr(stats, name).copy()) for name in _COUNTERS}


def _child(
    conn: Connection,
    interfaces: list[str] | None,
    refresh: float | None,
    quiet_after: float | None = None,
    counters_every: float = COUNTERS_EVERY,
    priority: Priority = Priority.NONE,
) -> None:
    """The child process: one ``Announcer``, driven by what comes down ``conn``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise_priority(priority)  # before the announcer's thread starts, so it inherits it
    announcer = Announcer(interfaces=interfaces, timing=GarpTiming(refresh=refresh))
    announcer.start()
    table: Table = {}
    heard = time.monotonic()
    quiet = False
    counted = float("-inf")
    try:
        while True:
            counters = None
            if time.monotonic() - counted >= counters_every:
                counters, counted = _counters(announcer.stats), time.monotonic()
            conn.send(("state", announcer.links, counters))
            if announcer.error is not None:
                conn.send(("failed", f"{type(announcer.error).__name__}: {announcer.error}"))
                return
            wait = REPORT_EVERY
            if quiet_after is not None and not quiet:
                left = heard + quiet_after - time.monotonic()
                if left <= 0:
                    log.error("event=announcerWithdrawn reason=speakerSilent")
                    announcer.set_announced({})
                    quiet = True
                else:
                    wait = min(wait, left)
            if not conn.poll(wait):
                continue
            try:
                message = conn.recv()
            except EOFError:  # the parent is gone
                return
            heard = time.monotonic()
            if message[0] == "announce":
                table = message[1]
                announcer.set_announced(table)
            elif quiet and message[0] != "stop":
                announcer.set_announced(table)
            if message[0] == "reannounce":
                announcer.reannounce(message[1])
            elif message[0] == "stop":
                return
            quiet = False
    except (BrokenPipeError, EOFError, OSError):
        return  # the parent is gone
    finally:
        announcer.stop()


class AnnouncerProcess:
    """An ``Announcer`` in a child process (see the module docstring)."""

    def __init__(
        self,
        *,
        interfaces: Iterable[str] | None = None,
        refresh: float | None = None,
        quiet_after: float | None = None,
        restart_delay: float = 1.0,
        counters_every: float = COUNTERS_EVERY,
        priority: Priority = Priority.NONE,
    ) -> None:
        self._priority = priority
        self._interfaces = list(interfaces) if interfaces is not None else None
        self._refresh = refresh
        self._quiet_after = quiet_after
        self._counters_every = counters_every
        self._restart_delay = restart_delay
        self._lock = threading.Lock()  # the table, the pipe and the process change together
        self._table: Table = {}
        self._proc: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        self._stopping = threading.Event()
        self._reader: threading.Thread | None = None
        self._links: tuple[str, ...] = ()
        self.stats = L2Stats()
        self.error: str | None = None
        self.restarts = 0

    # -- the speaker's surface
    def start(self) -> None:
        with self._lock:
            self._spawn()
        self._reader = threading.Thread(target=self._read, name="l2-process", daemon=True)
        self._reader.start()

    def set_announced(self, announced: Mapping[IPAddress, Iterable[str] | None]) -> None:
        table: Table = {
            ip: None if names is None else tuple(names) for ip, names in announced.items()
        }
        with self._lock:
            self._table = table
            self._send(("announce", table))

    def keepalive(self) -> None:
        """The speaker is alive (see Liveness in the module docstring)."""
        with self._lock:
            self._send(("alive",))

    def reannounce(self, ips: Iterable[IPAddress] | None = None) -> None:
        with self._lock:
            self._send(("reannounce", None if ips is None else list(ips)))

    @property
    def links(self) -> tuple[str, ...]:
        """Names of the links the child answers on, as it last reported them."""
        return self._links

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self) -> None:
        """Withdraw everything, end the child and wait for it. Idempotent."""
        self._stopping.set()
        with self._lock:
            self._table = {}
            self._send(("stop",))
            proc, conn = self._proc, self._conn
        if proc is not None:
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if conn is not None:
            conn.close()
        if self._reader is not None:
            self._reader.join(5)

    # -- internals
    def _spawn(self) -> None:
        ours, theirs = socket.socketpair()
        config = json.dumps(
            {
                "interfaces": self._interfaces,
                "refresh": self._refresh,
                "quiet_after": self._quiet_after,
                "counters_every": self._counters_every,
                "priority": self._priority.value,
            }
        )
        with theirs:
            proc = subprocess.Popen(
                [sys.executable, "-m", "orchestrator.l2.process", str(theirs.fileno()), config],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
            )
        self._proc, self._conn = proc, Connection(ours.detach())
        if self._table:
            self._send(("announce", self._table))

    def _send(self, message: tuple[Any, ...]) -> None:
        if self._conn is None:
            return
        # the child gone: the reader starts another and hands it the table
        with contextlib.suppress(OSError):
            self._conn.send(message)

    def _read(self) -> None:
        while not self._stopping.is_set():
            conn = self._conn
            if conn is None:
                return
            try:
                message = conn.recv()
            except (EOFError, OSError):
                if self._stopping.is_set():
                    return
                self._restart()
                continue
            if message[0] == "state":
                self._links = tuple(message[1])
                for name, values in (message[2] or {}).items():
                    setattr(self.stats, name, values)
            elif message[0] == "failed":
                self.error = str(message[1])

    def _restart(self) -> None:
        proc, code = self._proc, None
        if proc is not None:  # EOF: it has exited, or is withdrawing on its way out
            try:
                code = proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
        self.error = f"announcer process exited (code {code}); starting another"
        log.error("event=announcerProcessExited code=%s", code)
        if self._stopping.wait(self._restart_delay):
            return
        with self._lock:
            if self._conn is not None:
                self._conn.close()
            self._spawn()
            self.restarts += 1


def main(argv: list[str]) -> int:
    """The child's entry point: ``FD CONFIG`` (see the module docstring)."""
    log_channel.configure()  # the parent's level, from MLB_LOG_LEVEL
    config = json.loads(argv[1])
    conn = Connection(int(argv[0]))
    _child(
        conn,
        config["interfaces"],
        config["refresh"],
        config["quiet_after"],
        config["counters_every"],
        Priority(config.get("priority", Priority.NONE.value)),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
