"""The Layer-2 announcer: answers ARP and NDP for the IPs it is told to announce.

One thread runs an epoll loop over one filtered AF_PACKET socket per allowed link (see
``bpf``), an eventfd for wake-ups from other threads, and the gratuitous-announcement timers.
Per frame it does ``recv`` → ``decide`` (pure, in ``orchestrator.core.l2.wire``) → ``send``
of the reply bytes, with nothing else on that path: no lock, no logging, one dict probe.
Between receive batches it sends due gratuitous frames in small slices, so a takeover burst
for thousands of IPs never holds up answers for long.

Who owns what:

- ``set_announced`` (any thread) builds the new lookup table and swaps one attribute; the
  loop reads that attribute for every frame, so a withdrawal takes effect for the very next
  frame and nothing is sent for a withdrawn IP, not even a queued gratuitous frame. It then
  wakes the loop, which diffs (IP, link) pairs: new pairs get a gratuitous burst
  (``garp``), removed pairs are dropped from it, and solicited-node memberships follow
  (``mcast``).
- Links are the loop's: it rescans (``ports``) on every netlink link event
  (``interfaces.LinkEvents``, a socket in the same epoll), on a receive error and every
  ``rescan_interval`` seconds; a link that becomes eligible gets a burst for its IPs.

Process layout: the announcer is a thread inside whichever process runs it — the speaker,
or ``mlb l2 announce`` which is nothing more than this class plus signal handling.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import select
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from time import perf_counter

from orchestrator.core.l2.wire import (
    DEFAULT_EXCLUDE,
    AnnouncedTable,
    Answer,
    LinkReason,
    decide,
)
from orchestrator.core.model.cluster import IPAddress
from orchestrator.l2.bpf import SNAPLEN
from orchestrator.l2.garp import GarpSchedule, GarpTiming
from orchestrator.l2.interfaces import LinkEvents
from orchestrator.l2.mcast import DEFAULT_LIMIT
from orchestrator.l2.ports import Port, Ports
from orchestrator.l2.stats import L2Stats, ip_text

log = logging.getLogger(__name__)

_RECV_BATCH = 64  # frames per socket per wake-up, so one busy link cannot starve the rest
_GARP_BATCH = 32  # (IP, link) pairs per slice of gratuitous sending
DEFAULT_SPIN = 200e-6  # busy-poll window after an answer, seconds (see _drain)
_Pair = tuple[bytes, str]


class Announcer:
    """Answers ARP/NDP on the allowed links for the announced IPs. See the module doc."""

    def __init__(
        self,
        *,
        interfaces: Iterable[str] | None = None,
        exclude: Sequence[str] = DEFAULT_EXCLUDE,
        timing: GarpTiming | None = None,
        stats: L2Stats | None = None,
        rescan_interval: float = 10.0,
        spin: float = DEFAULT_SPIN,
        group_limit: int = DEFAULT_LIMIT,
    ) -> None:
        """``interfaces``: answer only on these (the operator named them, so MetalLB's
        exclusion regexes do not apply); None: every eligible link minus ``exclude``."""
        self._garp: GarpSchedule[_Pair] = GarpSchedule(timing)
        self.stats = stats or L2Stats()
        self._rescan_interval = rescan_interval
        self._spin = spin

        self._table: AnnouncedTable = {}
        self._pairs: set[_Pair] = set()

        self._wake = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self._epoll = select.epoll()
        self._epoll.register(self._wake, select.EPOLLIN)
        self._ports = Ports(
            self._epoll,
            selected=None if interfaces is None else frozenset(interfaces),
            exclude=exclude,
            group_limit=group_limit,
        )
        self._lock = threading.Lock()  # guards the request flags below and _closed
        self._want_reconcile = False
        self._want_rescan = False
        self._reannounce: list[frozenset[bytes] | None] = []
        self._stopping = False
        self._closed = False
        self._thread: threading.Thread | None = None
        self._events: LinkEvents | None = None
        self.error: BaseException | None = None

    # ------------------------------------------------------------------ public API

    def start(self) -> None:
        """Open sockets on the eligible links now, then run the loop in its own thread."""
        if self._thread is not None:
            raise RuntimeError("announcer already started")
        # subscribe before the first scan: a change in between is then not missed
        self._events = LinkEvents()
        self._epoll.register(self._events.fileno(), select.EPOLLIN)
        self._rescan(time.monotonic())
        self._thread = threading.Thread(target=self._run, name="l2-announcer", daemon=True)
        self._thread.start()

    def set_announced(self, announced: Mapping[IPAddress, Iterable[str] | None]) -> None:
        """Announce exactly these IPs: each on the named interfaces, or None for all allowed.

        Effective for the next received frame; newly announced (IP, link) pairs get a
        gratuitous burst, withdrawn ones are never answered or announced again.
        """
        table: dict[bytes, frozenset[str] | None] = {}
        for ip, names in announced.items():
            table[ip.packed] = None if names is None else frozenset(names)
        self._table = table
        with self._lock:
            self._want_reconcile = True
        self._poke()

    def reannounce(self, ips: Iterable[IPAddress] | None = None) -> None:
        """Send a new gratuitous burst for these announced IPs (None: all of them), e.g.
        after a network partition heals."""
        packed = None if ips is None else frozenset(ip.packed for ip in ips)
        with self._lock:
            self._reannounce.append(packed)
        self._poke()

    @property
    def links(self) -> tuple[str, ...]:
        """Names of the links answering now."""
        return self._ports.names

    def link_status(self) -> dict[str, LinkReason | None]:
        """Every link seen at the last scan: None if we answer on it, else why not."""
        return dict(self._ports.status)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        """Withdraw everything at once, stop the loop and close every socket. Idempotent."""
        self._table = {}
        self._stopping = True
        self._poke()
        if self._thread is not None:
            self._thread.join(timeout=5)
            if self._thread.is_alive():  # stuck in a syscall: leave its descriptors alone
                log.warning("event=announcerStopTimeout")
                return
        with self._lock:
            if self._closed:
                return
            self._closed = True  # no _poke may write to the eventfd number from now on
        if self._events is not None:
            self._events.close()
            self._events = None
        self._ports.close_all()
        self._epoll.close()
        os.close(self._wake)

    def __enter__(self) -> Announcer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ loop

    def _poke(self) -> None:
        with self._lock:
            if not self._closed:
                os.eventfd_write(self._wake, 1)

    def _run(self) -> None:
        try:
            self._loop()
        except BaseException as e:
            self.error = e
            log.exception("event=announcerFailed")
            self._table = {}

    def _loop(self) -> None:
        next_rescan = time.monotonic() + self._rescan_interval
        while not self._stopping:
            now = time.monotonic()
            due = self._garp.next_due()
            deadline = next_rescan if due is None else min(due, next_rescan)
            for fd, _ in self._epoll.poll(max(0.0, deadline - now)):
                port = self._ports.by_fd.get(fd)
                if port is not None:
                    if not self._drain(port):
                        self._want_rescan = True
                elif fd == self._wake:
                    with contextlib.suppress(BlockingIOError):
                        os.eventfd_read(self._wake)
                elif self._events is not None and fd == self._events.fileno():
                    events = self._events.read()
                    log.debug("event=netlink changes=%s", events)
                    self._want_rescan = True
            if self._stopping:
                break
            now = time.monotonic()
            with self._lock:
                rescan, self._want_rescan = self._want_rescan, False
                reconcile, self._want_reconcile = self._want_reconcile, False
                reannounce, self._reannounce = self._reannounce, []
            if rescan or now >= next_rescan:
                self._rescan(now)
                next_rescan = now + self._rescan_interval
            elif reconcile:
                self._reconcile(now)
            for ips in reannounce:
                for pair in self._pairs:
                    if ips is None or pair[0] in ips:
                        self._garp.announce(pair, now)
            self._send_gratuitous(now)

    def _drain(self, port: Port) -> bool:
        """Answer what is queued on one socket; False if the link reported an error.

        After an answer it keeps polling the socket for ``spin`` seconds before going back
        to epoll: requests come in bursts (a client resolving several VIPs, every host on
        the segment after a takeover), and a thread woken from sleep on another CPU costs
        tens of microseconds — more than the answer itself. Frames we drop do not extend
        the window, so background ARP chatter never makes the loop spin.
        """
        recv, send, link = port.sock.recv, port.sock.send, port.link
        stats = self.stats
        spin_until = 0.0
        handled = 0
        while handled < _RECV_BATCH:
            try:
                frame = recv(SNAPLEN)
            except BlockingIOError:
                if spin_until and perf_counter() < spin_until:
                    continue  # busy-poll: we answered less than `spin` ago
                return True
            except OSError as e:  # ENETDOWN once after the link went down, ENXIO if gone
                log.info("event=receiveError iface=%s reason=%s", link.name, e.strerror)
                return False
            handled += 1
            verdict = decide(frame, link=link, announced=self._table)
            if isinstance(verdict, Answer):
                try:
                    send(verdict.reply)
                except OSError:
                    stats.send_errors[link.name] += 1
                else:
                    stats.responses_sent[verdict.ip] += 1
                stats.requests_received[verdict.ip] += 1
                if self._spin:
                    spin_until = perf_counter() + self._spin
            else:
                stats.dropped[link.name, verdict.reason] += 1
        return True

    def _send_gratuitous(self, now: float) -> None:
        table = self._table
        for ip, name in self._garp.pop_due(now, limit=_GARP_BATCH):
            port = self._ports.by_name.get(name)
            if port is None or ip not in table:
                continue  # withdrawn since: the next reconcile forgets the pair
            link = port.link
            frames = link.gratuitous_arp(ip) if len(ip) == 4 else (link.unsolicited_na(ip),)
            try:
                for frame in frames:
                    port.sock.send(frame)
            except OSError as e:
                self.stats.send_errors[name] += 1
                if e.errno not in (errno.ENOBUFS, errno.EAGAIN):
                    log.info(
                        "event=gratuitousFailed iface=%s ip=%s reason=%s", name, ip_text(ip), e
                    )
            else:
                self.stats.gratuitous_sent[ip] += 1

    # ------------------------------------------------------------------ links and pairs

    def _rescan(self, now: float) -> None:
        for name in self._ports.rescan():
            # forget its pairs, so that the link coming back (or with a new MAC) gets a
            # new burst
            for pair in [p for p in self._pairs if p[1] == name]:
                self._pairs.discard(pair)
                self._garp.withdraw(pair)
        self._reconcile(now)

    def _reconcile(self, now: float) -> None:
        """Bring gratuitous schedules and multicast groups in line with table x links."""
        ports = self._ports.by_name
        pairs: set[_Pair] = set()
        v6: dict[str, list[bytes]] = {name: [] for name in ports}
        for ip, names in self._table.items():
            for name in ports if names is None else names:
                if name in ports:
                    pairs.add((ip, name))
                    if len(ip) == 16:
                        v6[name].append(ip)
        for pair in pairs - self._pairs:
            self._garp.announce(pair, now)
        for pair in self._pairs - pairs:
            self._garp.withdraw(pair)
        self._pairs = pairs
        for name, port in ports.items():
            port.groups.update(v6[name])
