"""The FRR routing backend: intent in, minimal vtysh batches out, drift repaired.

``FrrBackend.apply(intent)`` runs three stages, each reported in logs and in the
``metallb_frr_stage_ok{stage}`` gauge:

1. conversion: ``build_view`` validates and translates the intent. A ``ConversionError``
   is the user's to fix; nothing is sent and FRR keeps the last good configuration.
2. apply: the diff between what FRR runs and what we intend, as one vtysh batch per
   daemon. "What FRR runs" is our own record of the last successful apply; when we have
   none (first start, or a previous apply failed half-way) it is read from FRR's running
   config, so a bare FRR gets everything and a speaker restart against a configured FRR
   sends nothing. A failure forgets the record (the next attempt re-reads) and is raised as
   a ``VtyshError`` for the caller to retry with backoff.
3. running: ``check_drift()`` reads FRR's running config, compares the objects we own with
   the last good target and, when they differ (bgpd restarted with an empty config, our
   objects edited by hand), applies the diff from what is running to what we want. Only
   objects recognisable as ours are ever read or touched (``frr.owned``).

``status()`` reads session state and prefix counts from vtysh JSON and publishes metrics.

The class is not thread-safe; ``frr.reconciler.FrrReconciler`` serializes calls, coalesces
bursts and retries. Passwords never appear in a log line or exception raised from here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from frr.client import VtyshLike
from frr.diff import Command, diff, summary
from frr.errors import ConversionError, VtyshCommandError, VtyshError, redact
from frr.model import FrrView
from frr.owned import Owned, owned_from_view, parse_running
from frr.status import FrrMetrics, PeerStatus, peer_status
from frr.translate import build_view
from orchestrator.core.bgp.intent import NodeBGPIntent

log = logging.getLogger("mlb.frr")


class Stage(StrEnum):
    CONVERSION = "conversion"
    APPLY = "apply"
    RUNNING = "running"


@dataclass(frozen=True)
class StageStatus:
    stage: Stage
    ok: bool
    message: str
    at: float  # wall clock, seconds since the epoch


@dataclass(frozen=True)
class ApplyResult:
    commands: int
    full_sync: bool  # FRR's running config was read (start, after a failure)
    seconds: float


@dataclass(frozen=True)
class DriftReport:
    drifted: tuple[str, ...]  # the objects that differed, e.g. "neighbor 198.51.100.1"
    repaired: bool
    commands: int


def _kv(event: str, **fields: object) -> str:
    """MetalLB-style key=value log text with our fixed vocabulary (event, peer, reason...)."""
    parts = [f"event={event}", "backend=frr"]
    parts += [f"{k}={v}" for k, v in fields.items() if v is not None]
    return " ".join(parts)


def differences(running: Owned, target: Owned) -> tuple[str, ...]:
    """Names of the owned objects that differ, for logs (never values)."""
    out: list[str] = []
    if running.asn != target.asn:
        out.append(f"router bgp {running.asn} -> {target.asn}")
    elif running.router != target.router:
        out.append("router bgp settings")
    if running.globals != target.globals:
        out.append("global settings")
    for key in sorted(set(running.neighbors) | set(target.neighbors)):
        if running.neighbors.get(key) != target.neighbors.get(key):
            out.append(f"neighbor {key}")
    for rm in sorted(set(running.route_maps) | set(target.route_maps)):
        if running.route_maps.get(rm) != target.route_maps.get(rm):
            out.append(f"route-map {rm[0]} {rm[1]}")
    for name in sorted(set(running.lists) | set(target.lists)):
        if running.lists.get(name) != target.lists.get(name):
            out.append(f"large-community-list {name}")
    for name in sorted(set(running.bfd) | set(target.bfd)):
        if running.bfd.get(name) != target.bfd.get(name):
            out.append(f"bfd profile {name}")
    nets = sum(
        1
        for k in set(running.networks) | set(target.networks)
        if running.networks.get(k) != target.networks.get(k)
    )
    if nets:
        out.append(f"{nets} network statement(s)")
    return tuple(out)


class FrrBackend:
    def __init__(
        self,
        vtysh: VtyshLike,
        *,
        metrics: FrrMetrics | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._vtysh = vtysh
        self._metrics = metrics
        self._wall = wall_clock
        self._applied: Owned | None = None  # what FRR runs, as far as we know
        self._target: Owned | None = None  # last good intent, as owned config
        self._view: FrrView | None = None
        self.stages: dict[Stage, StageStatus] = {}
        self._problems_logged: frozenset[str] = frozenset()
        self.repairs = 0  # drift repairs so far

    # -- stages
    def _stage(self, stage: Stage, ok: bool, message: str) -> None:
        self.stages[stage] = StageStatus(stage, ok, message, self._wall())
        if self._metrics is not None:
            self._metrics.stage(stage.value, ok)

    @property
    def view(self) -> FrrView | None:
        """The last view applied successfully (or being kept after a failed conversion)."""
        return self._view

    def _read_running(self) -> Owned:
        return parse_running(self._vtysh.show("show running-config"))

    def _send(self, commands: list[Command], view: FrrView) -> None:
        try:
            self._vtysh.apply(commands, secrets=view.secrets)
        except VtyshError as e:
            self._applied = None  # FRR may be half-changed: re-read before the next attempt
            message = redact(str(e), view.secrets)
            # whatever a runner put into the exception, it leaves here without passwords
            e.args = (message,)
            if isinstance(e, VtyshCommandError):
                e.errors = tuple(redact(x, view.secrets) for x in e.errors)
            self._stage(Stage.APPLY, False, message)
            log.warning(_kv("apply", stage="apply", result="error", reason=repr(message)))
            raise

    # -- the three operations
    def apply(self, intent: NodeBGPIntent) -> ApplyResult:
        """Converge FRR on ``intent``. Raises ``ConversionError`` (user input, keep the last
        good config) or ``VtyshError`` (transient: retry)."""
        start = time.perf_counter()
        try:
            view = build_view(intent)
        except ConversionError as e:
            self._stage(Stage.CONVERSION, False, str(e))
            log.error(_kv("convert", stage="conversion", result="error", reason=repr(str(e))))
            raise
        self._stage(Stage.CONVERSION, True, "ok")
        problems = frozenset(str(p) for p in intent.problems)
        for text in sorted(problems - self._problems_logged):  # once, not on every apply
            log.warning(_kv("intentProblem", node=intent.node, msg=repr(text)))
        self._problems_logged = problems

        target = owned_from_view(view)
        full_sync = self._applied is None
        try:
            current = self._read_running() if full_sync else self._applied
        except VtyshError as e:
            self._stage(Stage.APPLY, False, str(e))
            raise
        assert current is not None
        commands = diff(current, target)
        if commands:
            self._send(commands, view)
        self._applied, self._target, self._view = target, target, view
        seconds = time.perf_counter() - start
        self._stage(Stage.APPLY, True, summary(commands))
        log.info(
            _kv(
                "apply",
                stage="apply",
                result="ok",
                node=intent.node,
                prefixes=len(intent.prefixes),
                peers=len(intent.peers),
                commands=len(commands),
                fullSync=full_sync,
                ms=f"{seconds * 1000:.1f}",
            )
        )
        return ApplyResult(len(commands), full_sync, seconds)

    def check_drift(self, *, repair: bool = True) -> DriftReport:
        """Compare FRR's running config with the last good target; repair what we own."""
        if self._target is None or self._view is None:
            return DriftReport((), False, 0)
        try:
            running = self._read_running()
        except VtyshError as e:
            self._stage(Stage.RUNNING, False, str(e))
            raise
        if running == self._target:
            self._applied = running
            self._stage(Stage.RUNNING, True, "in sync")
            return DriftReport((), False, 0)
        drifted = differences(running, self._target)
        log.warning(_kv("drift", stage="running", objects=repr("; ".join(drifted))))
        if not repair:
            self._stage(Stage.RUNNING, False, "drift: " + "; ".join(drifted))
            return DriftReport(drifted, False, 0)
        commands = diff(running, self._target)
        self._send(commands, self._view)
        self._applied = self._target
        self.repairs += 1
        self._stage(Stage.RUNNING, True, f"repaired: {'; '.join(drifted)}")
        log.info(_kv("repair", stage="running", result="ok", commands=len(commands)))
        return DriftReport(drifted, True, len(commands))

    def status(self) -> tuple[PeerStatus, ...]:
        """Per-peer session state; also published as metrics."""
        if self._view is None or not self._view.neighbors:
            if self._metrics is not None:
                self._metrics.publish(())
            return ()
        summary_json = self._vtysh.show_json("show bgp summary json", daemon="bgpd")
        uses_bfd = any(o.startswith("bfd") for n in self._view.neighbors for o in n.options)
        bfd_json: object = []
        if uses_bfd:
            try:
                bfd_json = self._vtysh.show_json("show bfd peers json", daemon="bfdd")
            except VtyshError:
                bfd_json = []  # bfdd down: every BFD session reports "missing"
        statuses = peer_status(self._view, summary_json, bfd_json)
        if self._metrics is not None:
            self._metrics.publish(statuses)
        for s in statuses:
            if not s.up:
                log.info(
                    _kv(
                        "sessionDown",
                        peer=s.peer,
                        neighbor=s.neighbor,
                        state=s.state,
                        hint=repr(s.hint),
                    )
                )
        return statuses
