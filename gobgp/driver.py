"""The GoBGP driver: make one local gobgpd hold the node's intent, sending only what changed.

``GobgpDriver`` implements the routing contract (``orchestrator.routing.driver``); the
routing worker decides when each operation runs and reports how it went.
``apply(intent)`` translates the intent (``gobgp.translate``) and applies the desired state
(``apply_desired``) in three steps:

1. **Refuse bad input early.** ``gobgp.model.validate`` runs first; an invalid state raises
   ``InvalidDesiredState`` before any call reaches the daemon.
2. **Check the daemon is still the one we configured.** A gobgpd restarted by systemd or
   Kubernetes comes back bare (asn 0, no peers, empty RIB) while we still remember what we
   applied. Each apply therefore asks for the instance (``GetBgp``), the neighbour list and
   the RIB sizes per family (``GetTable``) — four cheap calls — and compares them with the
   last applied state. Any mismatch, or an apply that failed half-way, or the first apply of
   this process, or ``forget`` (the worker saw the daemon restart), means "we do not know
   what the daemon holds".
3. **Change the daemon.** When we know what it holds, the plan is the model-level diff of the
   last applied desired state against the new one (``gobgp.diff.diff``): adding one service
   sends one path. When we do not, the daemon is read back (instance, neighbours, our policy
   objects, local paths) and ``gobgp.diff.reconcile`` computes the changes from there, so a
   restarted speaker does not flap sessions or re-send 5,000 unchanged paths, and a
   restarted daemon gets everything again.

A changed instance (ASN, router id, listen port) cannot be edited in gobgpd: the instance is
stopped and started again, then reconciled from empty.

``check_drift`` is step 2 on its own, followed by step 3 when the daemon differs;
``probe`` is ``GetBgp`` plus the gRPC channel's count of (re)connections, which changes when
the daemon behind the socket was replaced. ``status`` reads sessions and advertised-prefix
counts (``gobgp.status``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from ipaddress import IPv4Address
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
    diff,
    reconcile,
)
from gobgp.errors import InvalidDesiredState, scrub
from gobgp.messages import instance_matches
from gobgp.model import Family, GobgpDesired, GobgpGlobal, GobgpPeer, IPAddress, IPNetwork, validate
from gobgp.status import peer_statuses, sessions
from gobgp.translate import translate
from orchestrator.core.bgp.intent import NodeBGPIntent
from orchestrator.routing.report import ApplyReport, DriftReport, PeerStatus, Session


class DaemonClient(Protocol):
    """The calls the driver makes (``gobgp.client.GobgpClient``; a fake in unit tests)."""

    def close(self) -> None: ...
    def identity(self) -> Hashable: ...
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


class GobgpDriver:
    backend = "gobgp"

    def __init__(
        self,
        api: str = "127.0.0.1:50051",
        *,
        router_id: IPv4Address | None = None,
        timeout: float = 5.0,
        client: Callable[[Callable[[], Iterable[str]]], DaemonClient] | None = None,
    ) -> None:
        """``api``: gRPC target of the local gobgpd. ``router_id``: when no BGPPeer sets one
        (``mlb speaker --router-id``). ``client`` replaces the gRPC client (it is called
        with the function returning the passwords to scrub from errors)."""
        self.router_id = router_id
        self._applied: GobgpDesired | None = None  # what the daemon is known to hold
        self._desired: GobgpDesired | None = None  # what it should hold (status, drift)
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

    # ------------------------------------------------------------------ the contract

    def apply(self, intent: NodeBGPIntent) -> ApplyReport:
        t = translate(intent, router_id=self.router_id)
        problems = (*(str(p) for p in intent.problems), *t.problems)
        if t.desired is None:  # the node has no BGP peer at all
            return ApplyReport(changes=0, full_sync=False, problems=problems)
        report = self.apply_desired(t.desired)
        return ApplyReport(
            changes=report.changes,
            full_sync=report.full_sync,
            seconds=report.seconds,
            detail=report.detail,
            restarted=report.restarted,
            problems=problems,
        )

    def check_drift(self) -> DriftReport:
        """Does gobgpd still hold what we applied? If not, reconcile it from what it holds."""
        with self._lock:
            applied, desired = self._applied, self._desired
            differs = () if applied is None else self._differences(applied)
        if desired is None or (applied is not None and not differs):
            return DriftReport((), False, 0)
        report = self.apply_desired(desired)
        drifted = differs or ("daemon state unknown",)
        return DriftReport(drifted, report.changed, report.changes)

    def status(self) -> tuple[PeerStatus, ...]:
        """Session state and advertised-prefix count of the desired peers; raises
        ``TransientBackendError`` while the daemon cannot be read."""
        with self._lock:
            desired = self._desired
        if desired is None or not desired.peers:
            return ()
        seen = {p.address: p for p in self._client.list_peers(advertised=True)}
        return peer_statuses(desired, seen)

    def sessions(self) -> tuple[Session, ...]:
        return sessions(self._desired)

    def probe(self) -> Hashable:
        return self._client.identity()

    def forget(self) -> None:
        """Make the next apply read the daemon back instead of trusting the last apply."""
        with self._lock:
            self._applied = None

    def redact(self, text: str) -> str:
        return scrub(text, self._secrets)

    def close(self) -> None:
        self._client.close()

    # ------------------------------------------------------------------ desired state

    def apply_desired(self, desired: GobgpDesired) -> ApplyReport:
        """Make gobgpd hold ``desired``. Raises ``InvalidDesiredState``, ``ConfigRejected``
        (gobgpd refused part of it) or ``TransientBackendError`` (retry later); on failure
        the next apply reads the daemon back and repairs what was left half-done."""
        problems = validate(desired)
        if problems:
            raise InvalidDesiredState("invalid GoBGP desired state: " + "; ".join(problems))
        with self._lock:
            # passwords of the old and the new state: an error may quote either
            previous = self._desired.secrets if self._desired else ()
            self._secrets = (*previous, *desired.secrets)
            self._desired = desired
            started = time.perf_counter()
            try:
                plan, full_sync, restarted = self._apply(desired)
            except Exception:
                self._applied = None  # half-applied, state unknown: read it back next time
                raise
            finally:
                self._secrets = desired.secrets
            self._applied = desired
        return _report(plan, full_sync, restarted, time.perf_counter() - started)

    def _apply(self, desired: GobgpDesired) -> tuple[Plan, bool, bool]:
        applied = self._applied
        known = applied is not None and applied.instance == desired.instance
        if known and applied is not None and not self._differences(applied):
            plan = diff(applied, desired)
            self._execute(plan)
            return plan, False, False
        restarted = self._ensure_instance(desired)
        plan = reconcile(self._read_actual(desired.instance.asn), desired)
        self._execute(plan)
        return plan, True, restarted

    def _differences(self, applied: GobgpDesired) -> tuple[str, ...]:
        """Cheap check that gobgpd still holds what we applied (four small calls): what
        differs, by name (never values)."""
        running = self._client.get_global()
        if running is None:
            return ("instance not started (gobgpd restarted bare?)",)
        if not instance_matches(running, applied.instance):
            return (f"instance asn {running.asn} router-id {running.router_id}",)
        out: list[str] = []
        addresses = {p.address for p in self._client.list_peers()}
        if addresses != {p.address for p in applied.peers}:
            out.append(f"neighbours ({len(addresses)} of {len(applied.peers)})")
        for family, count in applied.path_counts.items():
            held = self._client.table_size(family)
            if held != count:
                out.append(f"{family} paths ({held} of {count})")
        return tuple(out)

    def _ensure_instance(self, desired: GobgpDesired) -> bool:
        """Start (or restart) the instance when it is missing or different."""
        running = self._client.get_global()
        if running is not None and instance_matches(running, desired.instance):
            return False
        if running is not None:
            self._client.stop()  # ASN, router id or port changed: gobgpd cannot edit them
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


def _report(plan: Plan, full_sync: bool, restarted: bool, seconds: float) -> ApplyReport:
    detail = {
        "peers_added": len(plan.peers_add),
        "peers_updated": len(plan.peers_update),
        "peers_deleted": len(plan.peers_delete),
        "paths_announced": len(plan.announce),
        "paths_withdrawn": len(plan.withdraw),
        "exports_added": len(plan.exports_add),
    }
    return ApplyReport(
        changes=sum(detail.values()),
        full_sync=full_sync,
        seconds=seconds,
        detail=detail,
        restarted=restarted,
    )


__all__ = ["DaemonClient", "GobgpDriver"]
