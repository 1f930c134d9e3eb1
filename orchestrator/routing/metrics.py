"""The BGP metrics, the same for both backends, published by the routing worker.

Session metrics carry MetalLB's names, so Deckhouse's alerts (``D8MetalLBBGPSessionDown``
on ``metallb_bgp_session_up == 0``) keep working; the ``peer`` label is the neighbour
address (or interface), as in MetalLB's FRR mode:

- ``metallb_bgp_session_up{peer}``: 1 when the session is Established, 0 otherwise, and 0
  while the daemon cannot be read (a gauge says what the daemon says *now*);
- ``metallb_bgp_announced_prefixes_total{peer}``: prefixes announced on the session;
- ``metallb_bfd_session_up{peer}``: 1 when the BFD session is up (peers with BFD only).

Our own, about the work of driving the daemon:

- ``metallb_bgp_stage_ok{stage}``: 1 when the last conversion / apply / running check
  succeeded (a repair that makes the daemon run the target sets ``apply`` back to 1);
- ``metallb_bgp_apply_errors_total{reason}``: failed applies and repairs by fault
  (``invalid``, ``rejected``, ``unavailable``, ``internal``);
- ``metallb_bgp_repairs_total{reason}``: repairs that changed the daemon, by trigger
  (``daemonRestarted``, ``daemonBack``, ``periodic``);
- ``metallb_bgp_daemon_up``: 1 while the last probe reached the routing daemon.

Sessions that are no longer configured stop reporting (their series are removed).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge

from orchestrator.routing.report import PeerStatus


class RoutingMetrics:
    """Pass a registry in tests to keep them apart."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        kw: dict[str, Any] = {"registry": registry} if registry is not None else {}
        self.session_up = Gauge(
            "metallb_bgp_session_up", "BGP session state (1 = established)", ["peer"], **kw
        )
        self.announced = Gauge(
            "metallb_bgp_announced_prefixes_total",
            "Number of prefixes currently advertised on the BGP session",
            ["peer"],
            **kw,
        )
        self.bfd_up = Gauge("metallb_bfd_session_up", "BFD session state (1 = up)", ["peer"], **kw)
        self.stage_ok = Gauge(
            "metallb_bgp_stage_ok",
            "1 when the last run of the stage (conversion, apply, running) succeeded",
            ["stage"],
            **kw,
        )
        self.apply_errors = Counter(
            "metallb_bgp_apply_errors",
            "Failed applies and repairs of the routing daemon, by fault",
            ["reason"],
            **kw,
        )
        self.repairs = Counter(
            "metallb_bgp_repairs",
            "Repairs that changed the routing daemon, by what triggered them",
            ["reason"],
            **kw,
        )
        self.daemon_up = Gauge(
            "metallb_bgp_daemon_up", "1 while the routing daemon answers the probe", **kw
        )
        self._peers: set[str] = set()
        self._bfd_peers: set[str] = set()

    def publish(self, statuses: Iterable[PeerStatus]) -> None:
        seen: set[str] = set()
        seen_bfd: set[str] = set()
        for s in statuses:
            seen.add(s.neighbor)
            self.session_up.labels(peer=s.neighbor).set(1 if s.up else 0)
            self.announced.labels(peer=s.neighbor).set(s.announced)
            if s.bfd is not None:
                seen_bfd.add(s.neighbor)
                self.bfd_up.labels(peer=s.neighbor).set(1 if s.bfd == "up" else 0)
        # peers that went away must not keep reporting their last value
        for gone in self._peers - seen:
            self.session_up.remove(gone)
            self.announced.remove(gone)
        for gone in self._bfd_peers - seen_bfd:
            self.bfd_up.remove(gone)
        self._peers, self._bfd_peers = seen, seen_bfd

    def stage(self, stage: str, ok: bool) -> None:
        self.stage_ok.labels(stage=stage).set(1 if ok else 0)

    def apply_error(self, reason: str) -> None:
        self.apply_errors.labels(reason=reason).inc()

    def repaired(self, reason: str) -> None:
        self.repairs.labels(reason=reason).inc()

    def daemon(self, up: bool) -> None:
        self.daemon_up.set(1 if up else 0)
