"""GobgpBackend: make one local gobgpd hold a ``GobgpDesired``, sending only what changed.

``apply(desired)`` works in three steps:

1. **Refuse bad input early.** ``gobgp.model.validate`` runs first; an invalid state raises
   ``ConfigRejected`` before any call reaches the daemon.
2. **Check the daemon is still the one we configured.** A gobgpd restarted by systemd or
   Kubernetes comes back bare (asn 0, no peers, empty RIB) while we still remember what we
   applied. Each apply therefore asks for the instance (``GetBgp``), the neighbour list and
   the RIB sizes per family (``GetTable``) — four cheap calls — and compares them with the
   last applied state. Any mismatch, or an apply that failed half-way, or the first apply of
   this process, means "we do not know what the daemon holds".
3. **Change the daemon.** When we know what it holds, the plan is the model-level diff of the
   last applied desired state against the new one (``gobgp.diff.diff``): adding one service
   sends one path. When we do not, the daemon is read back (instance, neighbours, our policy
   objects, local paths) and ``gobgp.diff.reconcile`` computes the changes from there, so a
   restarted speaker does not flap sessions or re-send 5,000 unchanged paths, and a
   restarted daemon gets everything again.

A changed instance (ASN, router id, listen port) cannot be edited in gobgpd: the instance is
stopped and started again, then reconciled from empty.

``status()`` reports sessions and announced-prefix counts for the
``metallb_bgp_session_up`` / ``metallb_bgp_announced_prefixes_total`` metrics; an unreachable
daemon is reported as down rather than raised, because metrics must keep flowing.

Not thread-safe by design beyond one lock: the speaker's reconcile loop is the only writer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from gobgp import client as rpc
from gobgp.diff import (
    IMPORT_POLICY,
    NAME_PREFIX,
    ActualState,
    Deletions,
    ExportPolicy,
    PeerSnapshot,
    Plan,
    RibPath,
    SessionState,
    diff,
    reconcile,
)
from gobgp.errors import ConfigRejected, TransientBackendError
from gobgp.messages import instance_matches
from gobgp.model import (
    Family,
    GobgpDesired,
    GobgpGlobal,
    GobgpPeer,
    IPAddress,
    IPNetwork,
    validate,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ApplyReport:
    """What one ``apply`` did (for logs, tests and benchmarks)."""

    full_sync: bool  # the daemon was read back instead of trusting the last applied state
    restarted_instance: bool
    peers_added: int = 0
    peers_updated: int = 0
    peers_deleted: int = 0
    paths_announced: int = 0
    paths_withdrawn: int = 0
    exports_added: int = 0
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(
            self.restarted_instance
            or self.peers_added
            or self.peers_updated
            or self.peers_deleted
            or self.paths_announced
            or self.paths_withdrawn
            or self.exports_added
        )


@dataclass(frozen=True)
class PeerStatus:
    name: str
    address: IPAddress
    session: SessionState
    announced: int  # prefixes currently advertised to this neighbour

    @property
    def up(self) -> bool:
        return self.session is SessionState.ESTABLISHED


@dataclass(frozen=True)
class GobgpStatus:
    reachable: bool  # the daemon answered and runs our instance
    peers: tuple[PeerStatus, ...]


class DaemonClient(Protocol):
    """The calls the backend makes (``gobgp.client.GobgpClient``; a fake in unit tests)."""

    def close(self) -> None: ...
    def get_global(self) -> GobgpGlobal | None: ...
    def start(self, instance: GobgpGlobal) -> None: ...
    def stop(self) -> None: ...
    def list_peers(self, *, advertised: bool = False) -> list[PeerSnapshot]: ...
    def add_peer(self, peer: GobgpPeer) -> None: ...
    def update_peer(self, peer: GobgpPeer) -> None: ...
    def delete_peer(self, address: IPAddress) -> None: ...
    def table_size(self, family: Family) -> int: ...
    def list_paths(self, family: Family) -> list[RibPath]: ...
    def push_paths(self, announce: Sequence[RibPath], withdraw: Sequence[IPNetwork]) -> None: ...
    def list_policy_names(self) -> set[str]: ...
    def list_defined_sets(self, kind: int) -> set[str]: ...
    def get_assignment(self, direction: int) -> tuple[tuple[str, ...], bool]: ...
    def set_assignment(self, direction: int, policies: Iterable[str]) -> None: ...
    def add_export(self, export: ExportPolicy) -> None: ...
    def add_import_policy(self) -> None: ...
    def delete_policy(self, name: str) -> None: ...
    def delete_defined_set(self, kind: int, name: str) -> None: ...


class GobgpBackend:
    def __init__(
        self,
        api: str = "127.0.0.1:50051",
        *,
        timeout: float = 5.0,
        client: Callable[[Callable[[], Iterable[str]]], DaemonClient] | None = None,
    ) -> None:
        """``api``: gRPC target of the local gobgpd. ``client`` replaces the gRPC client (it
        is called with the function returning the passwords to scrub from errors)."""
        self._applied: GobgpDesired | None = None  # what the daemon is known to hold
        self._desired: GobgpDesired | None = None  # what it should hold (for status)
        self._secrets: tuple[str, ...] = ()
        secrets = self._current_secrets
        self._client: DaemonClient = (
            client(secrets)
            if client is not None
            else rpc.GobgpClient(api, timeout=timeout, secrets=secrets)
        )
        self._lock = threading.Lock()

    def _current_secrets(self) -> tuple[str, ...]:
        return self._secrets

    def close(self) -> None:
        self._client.close()

    def forget(self) -> None:
        """Make the next apply read the daemon back instead of trusting the last apply."""
        with self._lock:
            self._applied = None

    # ------------------------------------------------------------------ apply

    def apply(self, desired: GobgpDesired) -> ApplyReport:
        """Make gobgpd hold ``desired``. Raises ``ConfigRejected`` (invalid state, or gobgpd
        refused part of it) or ``TransientBackendError`` (retry later); either way the next
        apply reads the daemon back and repairs what was left half-done."""
        problems = validate(desired)
        if problems:
            raise ConfigRejected("invalid GoBGP desired state: " + "; ".join(problems))
        with self._lock:
            # passwords of the old and the new state: an error may quote either
            previous = self._desired.secrets if self._desired else ()
            self._secrets = (*previous, *desired.secrets)
            self._desired = desired
            started = time.perf_counter()
            try:
                report = self._apply(desired)
            except Exception:
                self._applied = None  # half-applied, state unknown: read it back next time
                raise
            finally:
                self._secrets = desired.secrets
            self._applied = desired
        report = _with_seconds(report, time.perf_counter() - started)
        if report.changed:
            log.info(
                "event=gobgp_apply backend=gobgp full_sync=%s peers_added=%d peers_updated=%d "
                "peers_deleted=%d paths_announced=%d paths_withdrawn=%d seconds=%.3f",
                report.full_sync,
                report.peers_added,
                report.peers_updated,
                report.peers_deleted,
                report.paths_announced,
                report.paths_withdrawn,
                report.seconds,
            )
        return report

    def _apply(self, desired: GobgpDesired) -> ApplyReport:
        applied = self._applied
        if applied is not None and applied.instance == desired.instance:
            if self._daemon_holds(applied):
                plan = diff(applied, desired)
                self._execute(plan)
                return _report(plan, full_sync=False, restarted=False)
            log.warning(
                "event=gobgp_drift backend=gobgp reason=daemon_restarted_or_changed "
                "action=full_resync"
            )
        restarted = self._ensure_instance(desired)
        plan = reconcile(self._read_actual(desired.instance.asn), desired)
        self._execute(plan)
        return _report(plan, full_sync=True, restarted=restarted)

    def _daemon_holds(self, applied: GobgpDesired) -> bool:
        """Cheap check that gobgpd still holds what we applied (four small calls)."""
        running = self._client.get_global()
        if running is None or not instance_matches(running, applied.instance):
            return False
        addresses = {p.address for p in self._client.list_peers()}
        if addresses != {p.address for p in applied.peers}:
            return False
        return all(
            self._client.table_size(family) == count
            for family, count in applied.path_counts.items()
        )

    def _ensure_instance(self, desired: GobgpDesired) -> bool:
        """Start (or restart) the instance when it is missing or different."""
        running = self._client.get_global()
        if running is not None and instance_matches(running, desired.instance):
            return False
        if running is not None:
            log.warning(
                "event=gobgp_instance_restart backend=gobgp reason=instance_changed asn=%d",
                desired.instance.asn,
            )
            self._client.stop()
        self._client.start(desired.instance)
        return True

    def _read_actual(self, instance_asn: int) -> ActualState:
        client = self._client
        policies = {n for n in client.list_policy_names() if n.startswith(NAME_PREFIX)}
        export_names, export_rejects = client.get_assignment(rpc.EXPORT)
        import_names, import_rejects = client.get_assignment(rpc.IMPORT)
        paths = {p.prefix: p for family in Family for p in client.list_paths(family)}
        return ActualState(
            instance_asn=instance_asn,
            peers={p.address: p for p in client.list_peers()},
            paths=paths,
            policies=frozenset(policies),
            neighbor_sets=frozenset(
                n for n in client.list_defined_sets(rpc.NEIGHBOR) if n.startswith(NAME_PREFIX)
            ),
            tag_sets=frozenset(
                n
                for n in client.list_defined_sets(rpc.LARGE_COMMUNITY)
                if n.startswith(NAME_PREFIX)
            ),
            export_assignment=export_names if export_rejects else None,
            import_assigned=import_rejects and import_names == (IMPORT_POLICY,),
        )

    def _execute(self, plan: Plan) -> None:
        client = self._client
        self._delete(plan.delete_first)
        if plan.import_policy:
            client.add_import_policy()
        if plan.import_assignment:
            client.set_assignment(rpc.IMPORT, (IMPORT_POLICY,))
        for export in plan.exports_add:
            client.add_export(export)
        if plan.export_assignment is not None:
            client.set_assignment(rpc.EXPORT, plan.export_assignment)
        for address in plan.peers_delete:
            client.delete_peer(address)
        for peer in plan.peers_add:
            client.add_peer(peer)
        for peer in plan.peers_update:
            client.update_peer(peer)
        client.push_paths(plan.announce, plan.withdraw)
        self._delete(plan.delete_last)

    def _delete(self, deletions: Deletions) -> None:
        for name in deletions.policies:
            self._client.delete_policy(name)
        for name in deletions.neighbor_sets:
            self._client.delete_defined_set(rpc.NEIGHBOR, name)
        for name in deletions.tag_sets:
            self._client.delete_defined_set(rpc.LARGE_COMMUNITY, name)

    # ------------------------------------------------------------------ status

    def status(self) -> GobgpStatus:
        """Per-neighbour session state and advertised-prefix count of the desired peers."""
        with self._lock:
            desired = self._desired
        wanted = desired.peers if desired is not None else ()
        try:
            running = self._client.get_global()
            seen = {p.address: p for p in self._client.list_peers(advertised=True)}
        except TransientBackendError:
            running, seen = None, {}
        peers: list[PeerStatus] = []
        for peer in wanted:
            snap = seen.get(peer.address)
            peers.append(
                PeerStatus(
                    name=peer.name,
                    address=peer.address,
                    session=snap.session if snap else SessionState.UNKNOWN,
                    announced=snap.advertised if snap else 0,
                )
            )
        return GobgpStatus(reachable=running is not None, peers=tuple(peers))


def _report(plan: Plan, *, full_sync: bool, restarted: bool) -> ApplyReport:
    return ApplyReport(
        full_sync=full_sync,
        restarted_instance=restarted,
        peers_added=len(plan.peers_add),
        peers_updated=len(plan.peers_update),
        peers_deleted=len(plan.peers_delete),
        paths_announced=len(plan.announce),
        paths_withdrawn=len(plan.withdraw),
        exports_added=len(plan.exports_add),
    )


def _with_seconds(report: ApplyReport, seconds: float) -> ApplyReport:
    return ApplyReport(**{**report.__dict__, "seconds": seconds})


__all__ = [
    "ApplyReport",
    "ConfigRejected",
    "DaemonClient",
    "GobgpBackend",
    "GobgpStatus",
    "PeerStatus",
    "TransientBackendError",
]
