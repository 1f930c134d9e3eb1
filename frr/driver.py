"""The FRR driver: intent in, minimal vtysh batches out, drift repaired.

``FrrDriver`` implements the routing contract (``orchestrator.routing.driver``); the
routing worker decides when each operation runs and reports how it went.

- ``apply(intent)``: ``build_view`` validates and translates the intent (a
  ``ConversionError`` is the user's to fix: nothing is sent, FRR keeps the last good
  configuration); then the diff between what FRR runs and what we intend goes out as one
  vtysh batch per daemon. "What FRR runs" is our own record of the last successful apply;
  when we have none (first start, a failed apply, ``forget`` after a daemon restart) it is
  read from FRR's running config, so a bare FRR gets everything and a speaker restart
  against a configured FRR sends nothing. A failure forgets the record (the next attempt
  re-reads).
- ``check_drift()``: reads FRR's running config, compares the objects we own with the last
  good target and, when they differ (bgpd restarted with an empty config, our objects
  edited by hand), applies the diff from what is running to what we want. Only objects
  recognisable as ours are ever read or touched (``frr.owned``).
- ``status()``: session state and prefix counts from vtysh JSON (``frr.status``).
- ``probe()``: the identity of the daemons' processes, from their vty sockets
  (``frr.client.Vtysh.identity``): a restarted bgpd is noticed within a probe interval.

Not thread-safe: the worker's thread is the only caller. Passwords never appear in an
exception raised from here (``redact``).
"""

from __future__ import annotations

import time
from collections.abc import Hashable

from frr.client import VtyshLike
from frr.diff import Command, diff
from frr.errors import VtyshCommandError, VtyshError, redact
from frr.model import FrrView
from frr.owned import Owned, defaults_profile, in_profile, owned_from_view, parse_running
from frr.status import peer_status, sessions
from frr.translate import build_view
from orchestrator.core.bgp.intent import NodeBGPIntent
from orchestrator.core.model.cluster import Secret
from orchestrator.routing.report import ApplyReport, DriftReport, PeerStatus, Session


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


class FrrDriver:
    backend = "frr"

    def __init__(self, vtysh: VtyshLike) -> None:
        self._vtysh = vtysh
        self._applied: Owned | None = None  # what FRR runs, as far as we know
        self._target: Owned | None = None  # last good intent, as owned config (our terms)
        self._view: FrrView | None = None
        self._secrets: tuple[Secret, ...] = ()  # of the last good and the last tried view
        self.repairs = 0  # drift repairs so far
        self._profile: str | None = None  # FRR's defaults profile, from its running config

    @property
    def view(self) -> FrrView | None:
        """The last view applied successfully (or being kept after a failed conversion)."""
        return self._view

    def _read_running(self) -> Owned:
        text = self._vtysh.show("show running-config")
        self._profile = defaults_profile(text)
        return parse_running(text)

    def _in_frr_terms(self, target: Owned) -> Owned:
        return in_profile(target, self._profile)

    def _send(self, commands: list[Command], view: FrrView) -> None:
        try:
            self._vtysh.apply(commands, secrets=view.secrets)
        except VtyshError as e:
            self._applied = None  # FRR may be half-changed: re-read before the next attempt
            # whatever a runner put into the exception, it leaves here without passwords
            e.args = (redact(str(e), view.secrets),)
            if isinstance(e, VtyshCommandError):
                e.errors = tuple(redact(x, view.secrets) for x in e.errors)
            raise

    # -- the contract
    def apply(self, intent: NodeBGPIntent) -> ApplyReport:
        """Converge FRR on ``intent``. Raises ``ConversionError`` (user input, keep the last
        good config) or ``VtyshError`` (the daemon refused, or is unreachable)."""
        start = time.perf_counter()
        view = build_view(intent)  # ConversionError: messages never quote a password
        self._secrets = (*(self._view.secrets if self._view else ()), *view.secrets)
        full_sync = self._applied is None
        current = self._read_running() if full_sync else self._applied
        assert current is not None
        target = owned_from_view(view)
        commands = diff(current, self._in_frr_terms(target))
        if commands:
            self._send(commands, view)
        self._applied, self._target, self._view = self._in_frr_terms(target), target, view
        return ApplyReport(
            changes=len(commands),
            full_sync=full_sync,
            seconds=time.perf_counter() - start,
            detail={"commands": len(commands)},
            problems=tuple(str(p) for p in intent.problems),
        )

    def check_drift(self, *, repair: bool = True) -> DriftReport:
        """Compare FRR's running config with the last good target; repair what we own."""
        if self._target is None or self._view is None:
            return DriftReport((), False, 0)
        running = self._read_running()
        # in FRR's terms of the profile it runs under now (a restarted daemon may have another)
        target = self._in_frr_terms(self._target)
        if running == target:
            self._applied = running
            return DriftReport((), False, 0)
        drifted = differences(running, target)
        if not repair:
            return DriftReport(drifted, False, 0)
        commands = diff(running, target)
        self._send(commands, self._view)
        self._applied = target
        self.repairs += 1
        return DriftReport(drifted, True, len(commands))

    def status(self) -> tuple[PeerStatus, ...]:
        """Per-peer session state of the sessions we configured."""
        if self._view is None or not self._view.neighbors:
            return ()
        summary_json = self._vtysh.show_json("show bgp summary json", daemon="bgpd")
        bfd_json: object = []
        if any(s.bfd for s in sessions(self._view)):
            try:
                bfd_json = self._vtysh.show_json("show bfd peers json", daemon="bfdd")
            except VtyshError:
                bfd_json = []  # bfdd down: every BFD session reports "missing"
        return peer_status(self._view, summary_json, bfd_json)

    def sessions(self) -> tuple[Session, ...]:
        return sessions(self._view)

    def probe(self) -> Hashable:
        return self._vtysh.identity()

    def forget(self) -> None:
        self._applied = None

    def redact(self, text: str) -> str:
        return redact(text, self._secrets)

    def close(self) -> None:
        """Nothing to close: every vtysh call is a process of its own."""
