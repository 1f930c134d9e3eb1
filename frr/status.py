"""Session status from FRR's JSON, and the Prometheus metrics that publish it.

``peer_status`` reads ``show bgp summary json`` (per address family: state, prefixes sent)
and ``show bfd peers json`` for the neighbours we configured, and names each by its BGPPeer.
Metric names are MetalLB's, so Deckhouse's alerts (``D8MetalLBBGPSessionDown`` on
``metallb_bgp_session_up == 0``) keep working; the ``peer`` label is the neighbour address
as in MetalLB's FRR mode:

- ``metallb_bgp_session_up{peer}``: 1 when the session is Established;
- ``metallb_bgp_announced_prefixes_total{peer}``: prefixes sent, summed over families;
- ``metallb_bfd_session_up{peer}``: 1 when the BFD session is up (peers with BFD only);
- ``metallb_frr_stage_ok{stage}``: 1 when the last conversion / apply / running check
  succeeded (our own; the stages of frr-k8s's FRRNodeState).

A session that stays down with a TCP MD5 password configured gets a hint: the kernel drops
segments with a wrong signature silently, so "down, password set" is all FRR can show.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Gauge

from frr.model import FrrView

ESTABLISHED = "Established"


@dataclass(frozen=True)
class PeerStatus:
    peer: str  # BGPPeer name
    neighbor: str  # address or interface
    state: str  # FRR's BGP state: Idle, Connect, Active, OpenSent, ..., Established
    announced: int
    bfd: str | None  # "up", "down", "init", ... or None without BFD
    hint: str | None = None

    @property
    def up(self) -> bool:
        return self.state == ESTABLISHED


def peer_status(view: FrrView, summary: Mapping[str, Any], bfd: Any) -> tuple[PeerStatus, ...]:
    states: dict[str, str] = {}
    sent: dict[str, int] = {}
    for family in summary.values():
        if not isinstance(family, Mapping):
            continue
        for key, info in (family.get("peers") or {}).items():
            if not isinstance(info, Mapping):
                continue
            states[key] = str(info.get("state", "unknown"))
            sent[key] = sent.get(key, 0) + int(info.get("pfxSnt", 0) or 0)
    bfd_state: dict[str, str] = {}
    if isinstance(bfd, list):
        for entry in bfd:
            if isinstance(entry, Mapping) and "peer" in entry:
                bfd_state[str(entry["peer"])] = str(entry.get("status", "unknown"))
            if isinstance(entry, Mapping) and "interface" in entry and "peer" not in entry:
                bfd_state[str(entry["interface"])] = str(entry.get("status", "unknown"))
    out: list[PeerStatus] = []
    for n in view.neighbors:
        state = states.get(n.key, "missing")
        has_bfd = any(o.startswith("bfd") for o in n.options)
        hint = None
        if state != ESTABLISHED and n.password is not None:
            hint = (
                "session down with a TCP MD5 password configured: "
                "check that both sides use the same password"
            )
        elif state == "missing":
            hint = "the neighbour is not in FRR's running state"
        out.append(
            PeerStatus(
                peer=n.peer,
                neighbor=n.key,
                state=state,
                announced=sent.get(n.key, 0),
                bfd=bfd_state.get(n.key, "missing") if has_bfd else None,
                hint=hint,
            )
        )
    return tuple(out)


class FrrMetrics:
    """The backend's gauges; pass a registry in tests to keep them apart."""

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
            "metallb_frr_stage_ok",
            "1 when the last run of the stage (conversion, apply, running) succeeded",
            ["stage"],
            **kw,
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
