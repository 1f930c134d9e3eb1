"""What one node announces in L2, and why it does not announce the rest.

The speaker calls ``l2_announcements`` with its own node name and its view of the live nodes;
the answer is the set of (IP, Service, interfaces) it must answer ARP/NDP for. Every speaker
runs the same pure decision (``placement.decide``) over the same snapshot, so the node sets
agree without a leader: exactly one node announces each IP.

The rest of the answer is for people: every IP the node does not announce carries the reason,
checked in this order, so the first one that applies is the most fundamental:

1. the IP is not announced in L2 by anyone (``noL2Advertisement``, ``unknownClass``, ...);
2. this node is not eligible for the Service (``eligibility.Reason``: selector, exclude
   label, NetworkUnavailable, speaker not live, no endpoints, no local endpoint);
3. another node announces it: its home, which is live (``homeLive``), or the winner of the
   fallback ranking while the home cannot (``lostFallback``).

``explain`` turns that into the one line the CLI prints for "why does node X (not) announce
192.0.2.10".
"""

from __future__ import annotations

from collections.abc import Iterable, Set
from dataclasses import dataclass

from orchestrator.core.l2.placement import (
    SCOPE_REASONS,
    WHY_NOT_TEXT,
    Announcer,
    HomesInput,
    L2Reason,
    L2View,
    Role,
    WhyNot,
    decide,
)
from orchestrator.core.model.cluster import Assignment, ClusterSnapshot, IPAddress


@dataclass(frozen=True, slots=True)
class Announcement:
    """An IP this node answers for, on these interfaces (empty = every allowed interface)."""

    ip: IPAddress
    service: str
    interfaces: tuple[str, ...]
    role: Role


@dataclass(frozen=True, slots=True)
class NotAnnounced:
    """An IP this node leaves alone, why, and who announces it instead (None: nobody)."""

    ip: IPAddress
    service: str
    reason: WhyNot
    announcer: str | None = None


@dataclass(frozen=True)
class L2Intent:
    """One node's L2 answer: announcements and every skipped IP, sorted by Service then IP
    status order."""

    node: str
    announcements: tuple[Announcement, ...] = ()
    not_announced: tuple[NotAnnounced, ...] = ()

    def interfaces_by_ip(self) -> dict[IPAddress, tuple[str, ...]]:
        """Announced IP -> interfaces to answer on (empty = all). An IP shared by several
        Services is answered on the union of theirs, and on all if one of them says all."""
        out: dict[IPAddress, tuple[str, ...]] = {}
        for a in self.announcements:
            known = out.get(a.ip)
            if known is None:
                out[a.ip] = a.interfaces
            elif known and a.interfaces:
                out[a.ip] = tuple(sorted(set(known) | set(a.interfaces)))
            else:
                out[a.ip] = ()
        return out

    def reasons(self, ip: IPAddress) -> list[NotAnnounced]:
        return [n for n in self.not_announced if n.ip == ip]


def why_not(view: L2View, decision: Announcer, assignment: Assignment, node: str) -> WhyNot:
    """Why ``node`` does not announce what ``decision`` (made for ``assignment``) says."""
    if decision.reason in SCOPE_REASONS:
        return decision.reason
    service = view.services.get(assignment.service)
    if service is None:
        return L2Reason.UNKNOWN_SERVICE
    scope = view.scope(assignment, service)
    reason = view.node_reason(scope, service, node)
    if reason is not None:
        return reason
    if decision.node is None:  # cannot happen while this node is eligible; be safe
        return decision.reason or L2Reason.NO_ELIGIBLE_NODE
    return L2Reason.HOME_LIVE if decision.role is Role.HOME else L2Reason.LOST_FALLBACK


def _node_intent(
    view: L2View, assignments: list[Assignment], homes: HomesInput, node: str
) -> L2Intent:
    by_key = {a.service: a for a in assignments}
    announced: list[Announcement] = []
    skipped: list[NotAnnounced] = []
    for d in decide(view, assignments, homes):
        # A shared IP follows its owner: the owner's scope and eligibility explain it.
        deciding = by_key[d.owner]
        if d.node == node and d.role is not None:
            scope = view.scope(deciding, view.services.get(deciding.service))
            announced.append(Announcement(d.ip, d.service, scope.interfaces_for(node), d.role))
        else:
            reason = why_not(view, d, deciding, node)
            skipped.append(NotAnnounced(d.ip, d.service, reason, d.node))
    return L2Intent(node, tuple(announced), tuple(skipped))


def l2_announcements(
    snapshot: ClusterSnapshot,
    assignments: Iterable[Assignment],
    homes: HomesInput,
    *,
    node: str,
    live_nodes: Set[str],
    ignore_exclude_label: bool = False,
) -> L2Intent:
    """What ``node`` announces in L2 right now, and why it skips every other IP."""
    view = L2View(snapshot, live_nodes=live_nodes, ignore_exclude_label=ignore_exclude_label)
    return _node_intent(view, list(assignments), homes, node)


def explain(
    snapshot: ClusterSnapshot,
    assignments: Iterable[Assignment],
    homes: HomesInput,
    *,
    node: str,
    ip: IPAddress,
    live_nodes: Set[str],
    ignore_exclude_label: bool = False,
) -> str:
    """One line: does ``node`` announce ``ip``, and why (for each Service holding it)."""
    holding = [a for a in assignments if ip in a.ips]
    if not holding:
        return f"{ip} is not assigned to any Service"
    view = L2View(snapshot, live_nodes=live_nodes, ignore_exclude_label=ignore_exclude_label)
    by_key = {a.service: a for a in holding}
    parts: list[str] = []
    for d in decide(view, holding, homes):
        if d.ip != ip:
            continue
        deciding = by_key[d.owner]
        if d.node == node:
            service = view.services.get(deciding.service)
            interfaces = view.scope(deciding, service).interfaces_for(node)
            where = "on " + ",".join(interfaces) if interfaces else "on all interfaces"
            if d.role is Role.HOME:
                parts.append(f"{node} announces {ip} for {d.service} as its home node, {where}")
            else:
                why = _home_trouble(view, d, deciding)
                parts.append(f"{node} announces {ip} for {d.service} by fallback ({why}), {where}")
            continue
        reason = why_not(view, d, deciding, node)
        text = f"{node} does not announce {ip} for {d.service}: {reason} ({WHY_NOT_TEXT[reason]})"
        if d.node is not None:
            role = "home" if d.role is Role.HOME else "fallback"
            text += f"; {d.node} announces it ({role})"
        elif reason not in SCOPE_REASONS:
            text += "; no node announces it"
        parts.append(text)
    return "; ".join(parts)


def _home_trouble(view: L2View, decision: Announcer, assignment: Assignment) -> str:
    """Why the home node does not announce an IP that is served by fallback."""
    service = view.services.get(assignment.service)
    if decision.home is None or service is None:
        return "no home node recorded"
    reason = view.node_reason(view.scope(assignment, service), service, decision.home)
    return f"home {decision.home}: {reason}" if reason is not None else f"home {decision.home}"
