"""The speaker loop: renew this node's lease, decide locally what it announces, drive the
L2 announcer and the BGP backend.

Two threads:

- the lease thread renews ``STATE/leases/<node>.json`` every ``renew_interval`` (1 s); on
  stop it deletes the lease, so the other speakers take over this node's IPs at once;
- the reconcile loop wakes on any file change (manifests, state, leases) and at the latest
  when the next known lease would expire, reads the snapshot, and computes this node's L2
  and BGP intent with the same pure functions every other speaker runs
  (``l2.intent.l2_announcements``, ``bgp.compute.bgp_intent``). Failover is therefore
  local: when a home node's lease goes stale, the fallback winner starts answering (and
  sends gratuitous ARP/NA) without waiting for the controller.

Ports (``orchestrator.ports``) keep this loop independent of the wire: ``L2Port`` (the
announcer) and ``RoutingBackend`` (FRR or GoBGP); either may be absent.

Every lease renewal of every node wakes the loop, but most change neither the snapshot nor
the set of live nodes; the intent is a pure function of those two, so it is computed again
only when one of them changed (``_intents``). With 10,000 Services a pass cost ~0.4 s, and
with N nodes there are N renewals a second. A pass whose intent is the one already applied,
on the same links, stops right there: the reporting that follows is O(Services) too.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry

from orchestrator.core.bgp.compute import bgp_intent
from orchestrator.core.bgp.intent import NodeBGPIntent
from orchestrator.core.l2.handover import Handover, hand_over
from orchestrator.core.l2.intent import Announcement, l2_announcements
from orchestrator.core.model.cluster import Assignment, ClusterSnapshot, IPAddress, IPNetwork
from orchestrator.core.status.assignments import assignments_from_status
from orchestrator.log import Logger
from orchestrator.ports import (
    AnnouncedReport,
    EventSink,
    L2Port,
    RoutingBackend,
    Source,
    Store,
    Waker,
)
from orchestrator.runtime.membership import Clock, Membership
from orchestrator.runtime.metrics import ConfigMetrics, SpeakerMetrics
from orchestrator.runtime.readiness import HoldReason, hold_reason


@dataclass(frozen=True)
class Intents:
    """What one (snapshot, live nodes) pair means for this node."""

    l2: tuple[Announcement, ...]
    wanted: Mapping[IPAddress, tuple[str, ...]]  # IP -> interfaces (empty: all)
    bgp: NodeBGPIntent | None
    metrics: tuple[tuple[str, str, str, str], ...]  # metallb_speaker_announced label sets
    assigned: frozenset[IPAddress] = frozenset()  # every IP some Service holds


@dataclass(frozen=True)
class SpeakerState:
    """What this node announces after one pass (for tests and ``explain``)."""

    live: frozenset[str] = frozenset()
    l2: Mapping[IPAddress, tuple[str, ...]] = field(default_factory=dict)
    bgp: NodeBGPIntent | None = None


#: How soon a held lease is tried again (an announcer confirms a new table within ms).
HELD_RETRY = 0.05


class Speaker:
    def __init__(
        self,
        node: str,
        source: Source,
        state: Store,
        *,
        l2: L2Port | None = None,
        bgp: RoutingBackend | None = None,
        lease_duration: float = 2.0,
        renew_interval: float = 1.0,
        log: Logger | None = None,
        registry: CollectorRegistry | None = None,
        events: EventSink | None = None,
        announced: AnnouncedReport | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self.node = node
        self.events = events
        self.announced = announced
        self._reported: tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]] | None = None
        self._failed: set[IPAddress] = set()  # L2 IPs whose interfaces this node lacks
        self.source = source
        self.state = state
        self.l2 = l2
        self.bgp = bgp
        self.lease_duration = lease_duration
        self.renew_interval = renew_interval
        self.log = log or Logger(f"speaker/{node}")
        self.clock = clock
        #: leases stamped when read, on a thread of their own while running (§15)
        self.membership = Membership(
            state.read_leases, clock=clock, log=self.log, on_change=self._live_changed
        )
        self._deciding = threading.Lock()  # one decision at a time: the loop's or membership's
        self._snapshot: ClusterSnapshot | None = None  # the last one loaded
        self.current = SpeakerState()
        self.retry_in: float | None = None  # the source asked to be read again this soon
        self._counter = 0
        #: what the announcer answers: the wanted IPs plus those handed over, until their
        #: overlap (one renewal interval) ends: make-before-break (§15)
        self.handover = Handover()
        self.overlap = renew_interval
        self._renewing = threading.Lock()
        self._passes = 0  # reconcile passes run (the lease waits for the first)
        self._usable = False  # the last pass had a configuration to act on
        self.held: HoldReason | None = HoldReason.STARTING  # why the lease is not renewed
        self._bgp_applied: NodeBGPIntent | None = None
        self._computed: tuple[ClusterSnapshot, frozenset[str], Intents] | None = None
        self._passed_links: tuple[str, ...] | None = None  # the announcer's links last pass
        self.registry = registry or CollectorRegistry()
        self._config_metrics = ConfigMetrics(self.registry)
        self._announced_metrics = SpeakerMetrics(self.registry)

    # -- lease
    def renew(self) -> bool:
        """Renew the lease if this node can answer for what it holds (§15); False if held."""
        held = hold_reason(passes=self._passes, usable=self._usable, l2=self.l2, bgp=self.bgp)
        if held != self.held:
            if held is None:
                self.log("leaseRenewing", node=self.node)
            else:
                level = "warning" if self.held is None else "info"  # not at start
                self.log("leaseHeld", level=level, node=self.node, reason=held)
            self.held = held
        if held is not None:
            return False  # it lapses: the other nodes take this node's IPs over
        with self._renewing:
            self._counter += 1
            self.state.renew_lease(self.node, duration=self.lease_duration, counter=self._counter)
        # an announcer in its own process answers only while the lease is being renewed
        keepalive = getattr(self.l2, "keepalive", None)
        if keepalive is not None:
            keepalive()
        return True

    def _lease_loop(self, stop: threading.Event) -> None:
        wait = 0.0
        while not stop.wait(wait):
            wait = self.renew_interval
            try:
                if not self.renew():
                    # look again soon: an announcer confirms a new table within ms
                    wait = min(HELD_RETRY, self.renew_interval)
            except OSError as e:  # a full disk must not kill the speaker; peers take over
                self.log("leaseRenewFailed", level="error", node=self.node, msg=str(e))

    # -- reconcile
    def reconcile(self, now: float | None = None) -> SpeakerState:
        """One pass. The leases are read, and the clock (or ``now``, in virtual-time
        tests) after them, only once the snapshot is loaded: a load may take seconds."""
        started = time.time()
        loaded = self.source.load()
        loaded_at = time.time()
        self.retry_in = loaded.retry_in
        with self._deciding:
            live = self.membership.observe(now)
            self._config_metrics.observe(loaded=loaded.snapshot is not None, stale=loaded.stale)
            self._passes += 1
            self._usable = loaded.snapshot is not None
            if loaded.snapshot is None:
                return self.current
            self._snapshot = loaded.snapshot
            return self._decide(loaded.snapshot, live, now, times=(started, loaded_at))

    def _live_changed(self, live: frozenset[str]) -> None:
        """The membership thread saw the live set change: decide again at once on the last
        snapshot, so a failover never waits for a slow load to finish (§15)."""
        with self._deciding:
            if self._snapshot is None:
                return
            try:
                self._decide(self._snapshot, self.membership.live(), None)
            except Exception as e:  # report, keep announcing what we had
                self.log("InternalError", level="error", reason=type(e).__name__, msg=str(e))

    def _decide(
        self,
        snapshot: ClusterSnapshot,
        live: frozenset[str],
        now: float | None,
        *,
        times: tuple[float, float] | None = None,
    ) -> SpeakerState:
        """This node's intent for ``snapshot`` and ``live``, applied (under ``_deciding``);
        ``times``: when the pass started and its load ended, for the ``passTimes`` line."""
        started, loaded_at = times if times is not None else (time.time(), time.time())
        before = self._computed
        computed = self._intents(snapshot, live)
        computed_at = time.time()
        fresh = before is None or before[2] is not computed
        links = self._links()
        if (
            not fresh
            and links == self._passed_links
            and not self.handover.until
            and (self.bgp is None or computed.bgp is None or computed.bgp is self._bgp_applied)
        ):
            # the same intent, applied, on the same links, no handover running out: what
            # follows would redo the same (it is O(Services), and every lease renewal of
            # every node gets here)
            return self.current
        self._passed_links = links
        wanted = computed.wanted
        self._hand_over(wanted, live=self.node in live, now=now, assigned=computed.assigned)
        self._announce_failed(computed.l2)
        service_of = {a.ip: a.service for a in computed.l2}
        for ip in wanted.keys() - self.current.l2.keys() - self._failed:
            service = service_of[ip]
            self.log(
                "nodeAssigned",
                service=service,
                ip=ip,
                node=self.node,
                protocol="layer2",
                msg=f"announcing from node {self.node} with protocol layer2",
            )
        bgp = computed.bgp
        if self.bgp is not None and bgp is not None and bgp != self._bgp_applied:
            try:
                self.bgp.apply(bgp)
                self._bgp_applied = bgp
            except Exception as e:  # transient or rejected: retried on the next pass
                self.log(
                    "bgpApplyFailed",
                    level="error",
                    node=self.node,
                    reason=type(e).__name__,
                    msg=str(e),
                )
        if fresh:
            # the stages of a pass that computed a new intent, for ``make bench-e2e``
            self.log(
                "passTimes",
                level="debug",
                node=self.node,
                l2=len(wanted),
                prefixes=len(bgp.prefixes) if bgp is not None else 0,
                start=f"{started:.3f}",
                loaded=f"{loaded_at:.3f}",
                computed=f"{computed_at:.3f}",
                applied=f"{time.time():.3f}",
            )
        self._announced_metrics.publish(computed.metrics)
        self._report(computed.l2, bgp)
        self.current = SpeakerState(live=live, l2=wanted, bgp=bgp)
        return self.current

    def _hand_over(
        self,
        wanted: Mapping[IPAddress, tuple[str, ...]],
        *,
        live: bool,
        now: float | None,
        assigned: frozenset[IPAddress],
    ) -> None:
        """Answer ``wanted``; what is no longer wanted stays answered for the overlap while
        this node is live, so its new holder answers first (``core/l2/handover.py``)."""
        at = self.clock() if now is None else now
        before = self.handover
        after = hand_over(
            before, wanted, now=at, overlap=self.overlap, live=live, assigned=assigned
        )
        if self.l2 is not None and after.answer != before.answer:
            self.l2.set_announced({ip: (ifs or None) for ip, ifs in after.answer.items()})
        self.handover = after
        for ip in sorted(after.until.keys() - before.until.keys(), key=lambda i: (i.version, i)):
            msg = f"answered {self.overlap:g}s more, while its new holder starts"
            self.log("handingOver", ip=ip, node=self.node, protocol="layer2", msg=msg)
        for ip in before.answer.keys() - after.answer.keys():
            self.log("withdrawn", ip=ip, node=self.node, protocol="layer2")

    def _intents(self, snapshot: ClusterSnapshot, live: frozenset[str]) -> Intents:
        """This node's intent, computed again only for a new snapshot or live set (a source
        returns the very same snapshot object while nothing it reads changed)."""
        if self._computed is not None:
            before, before_live, computed = self._computed
            if before is snapshot and before_live == live:
                return computed
        assignments = assignments_from_status(snapshot)
        homes = {s.key: s.state.homes for s in snapshot.services if s.state.homes}
        intent = l2_announcements(snapshot, assignments, homes, node=self.node, live_nodes=live)
        bgp = None
        if self.bgp is not None:
            bgp = bgp_intent(snapshot, assignments, node=self.node, live_nodes=live)
        computed = Intents(
            l2=tuple(intent.announcements),
            wanted=intent.interfaces_by_ip(),
            bgp=bgp,
            metrics=tuple(self._announced(intent.announcements, assignments, bgp)),
            assigned=frozenset(ip for a in assignments for ip in a.ips),
        )
        self._computed = (snapshot, live, computed)
        return computed

    def _report(self, l2: Iterable[Announcement], bgp: NodeBGPIntent | None) -> None:
        """Per Service: the L2 interfaces and BGP peers; Events for newly announced ones."""
        # "every interface" is reported as the links the announcer answers on now, when it
        # can tell (the real Announcer's ``links``)
        everywhere = self._links()
        by_service: dict[str, set[str]] = {}
        for a in l2:
            if a.ip in self._failed:
                continue
            usable = set(a.interfaces) & set(everywhere) if everywhere else set(a.interfaces)
            by_service.setdefault(a.service, set()).update(usable or everywhere)
        l2_map = {svc: tuple(sorted(ifs)) for svc, ifs in by_service.items()}
        peers: dict[str, set[str]] = {}
        for p in bgp.prefixes if bgp is not None else ():
            for svc in p.services:
                peers.setdefault(svc, set()).update(p.peers)
        bgp_map = {svc: tuple(sorted(ps)) for svc, ps in peers.items() if ps}
        before = self._reported or ({}, {})
        if (l2_map, bgp_map) == before:
            return
        if self.events is not None:
            for protocol, now, then in (("layer2", l2_map, before[0]), ("bgp", bgp_map, before[1])):
                for svc in sorted(now.keys() - then.keys()):
                    msg = f"announcing from node {self.node!r} with protocol {protocol!r}"
                    self.events.event(svc, "nodeAssigned", msg)
        if self.announced is not None:
            self.announced.report(l2_map, bgp_map)
        self._reported = (l2_map, bgp_map)

    def _links(self) -> tuple[str, ...]:
        """The links the announcer answers on now, when it can tell (the real Announcer)."""
        return tuple(sorted(getattr(self.l2, "links", ())))

    def _announce_failed(self, l2: Iterable[Announcement]) -> None:
        """As MetalLB: interfaces take no part in choosing the node, so the chosen node may
        have none of an IP's interfaces (up). Then the IP is not answered here; a warning
        Event and log line say so when it starts, and again only after it recovered."""
        links = set(self._links())
        failed = {a.ip: a for a in l2 if links and a.interfaces and not links & set(a.interfaces)}
        for ip in sorted(failed.keys() - self._failed, key=lambda i: (i.version, i)):
            a = failed[ip]
            msg = (
                f"node {self.node!r} has none of the interfaces {', '.join(a.interfaces)} up "
                f"for {ip}: not announced"
            )
            self.log("announceFailed", level="warning", service=a.service, ip=ip, msg=msg)
            if self.events is not None:
                self.events.event(a.service, "announceFailed", msg, warning=True)
        self._failed = set(failed)

    def _announced(
        self,
        l2: Iterable[Announcement],
        assignments: Iterable[Assignment],
        bgp: NodeBGPIntent | None,
    ) -> list[tuple[str, str, str, str]]:
        """(service, protocol, node, ip) label sets for metallb_speaker_announced."""
        out = [(a.service, "layer2", self.node, str(a.ip)) for a in l2]
        if bgp is not None and bgp.prefixes:
            # index once: each IP then checks only its own Service's prefixes (this runs on
            # every pass, i.e. on every lease renewal)
            by_service: dict[str, list[IPNetwork]] = {}
            for p in bgp.prefixes:
                for svc in p.services:
                    by_service.setdefault(svc, []).append(p.prefix)
            for a in assignments:
                nets = by_service.get(a.service, ())
                for ip in a.ips:
                    if any(ip.version == net.version and ip in net for net in nets):
                        out.append((a.service, "bgp", self.node, str(ip)))
        return out

    def run(self, stop: threading.Event, waker: Waker, *, tick: float = 0.5) -> None:
        lease_thread = threading.Thread(
            target=self._lease_loop, args=(stop,), name="lease", daemon=True
        )
        lease_thread.start()
        self.membership.run(stop)
        waker.start()
        self.log("started", node=self.node, msg=f"lease={self.lease_duration}s")
        try:
            while not stop.is_set():
                try:
                    self.reconcile()
                except Exception as e:  # report, keep announcing what we had
                    self.log("InternalError", level="error", reason=type(e).__name__, msg=str(e))
                expiry = self.membership.expires_in()
                # wake just after the next lease could expire: that is when failover happens
                timeout = tick if expiry is None else min(tick, max(expiry + 0.01, 0.01))
                if self.retry_in is not None:
                    timeout = min(timeout, self.retry_in)
                if (end := self.handover.next_at) is not None:  # an overlap ends
                    timeout = min(timeout, max(end - self.clock() + 0.001, 0.001))
                waker.wait(timeout)
        finally:
            waker.stop()
            self.state.release_lease(self.node)
            if self.l2 is not None:
                if self.handover.answer:  # a planned handover too: the others answer first
                    time.sleep(self.overlap)
                self.l2.set_announced({})
            self.log("stopped", node=self.node)
