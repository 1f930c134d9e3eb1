"""L2 announcer: who answers for an L2 IP right now, decided the same way on every speaker.

**Announcer** (``announcer_for``, ``decide``, every speaker). The home node when it is eligible
(live included); otherwise the fallback winner among the live eligible nodes: first those
holding none of the Service's other IPs as home, then the lowest sha256(node + "#" + ip). Each
IP's fallback depends only on the homes and the eligible set, never on another IP's fallback,
so killing one node moves only the IPs that node announced. An IP shared by several Services
(allow-shared-ip) is decided once, for the lowest Service key holding it (its *owner*); the
other Services follow, so one IP never has two announcers.

The homes come from the controller (``placement.place_homes``); the scope and eligible sets
from an ``scope.L2View`` of the same snapshot. The work list (``work_list``: one assignment
per Service, in key order, shared IPs resolved to their owner) is shared with home placement,
which also asks ``fallback_for`` where an IP without a home is announced right now.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Set
from dataclasses import dataclass, field
from enum import StrEnum

from orchestrator.core.eligibility import Reason
from orchestrator.core.l2.scope import L2Reason, L2Scope, L2View, WhyNot, digest
from orchestrator.core.model.cluster import (
    Assignment,
    ClusterSnapshot,
    IPAddress,
    Service,
)

#: service key -> {ip: home node}, Services in key order, IPs in status order.
Homes = dict[str, dict[IPAddress, str]]
HomesInput = Mapping[str, Mapping[IPAddress, str]]


class Role(StrEnum):
    HOME = "home"
    FALLBACK = "fallback"


def fallback_winner(ip: IPAddress, candidates: Collection[str], avoid: Set[str]) -> str | None:
    """The fallback ranking: nodes outside ``avoid`` first, then lowest sha256(node#ip)."""
    preferred = [n for n in candidates if n not in avoid]
    pool = preferred or list(candidates)
    if not pool:
        return None
    return min(pool, key=lambda n: digest(f"{n}#{ip}"))


def fallback_for(
    ip: IPAddress,
    *,
    ips: tuple[IPAddress, ...],
    homes: Mapping[IPAddress, str],
    eligible: frozenset[str],
) -> str | None:
    """The fallback winner the speakers pick for ``ip`` with these homes (see ``decide``)."""
    return fallback_winner(ip, eligible, {homes[x] for x in ips if x != ip and x in homes})


# --------------------------------------------------------------------------- work list


@dataclass(frozen=True, slots=True)
class WorkItem:
    """One L2 assignment to decide, with the IPs it owns (index in status order, IP)."""

    assignment: Assignment
    service: Service
    scope: L2Scope
    owned: tuple[tuple[int, IPAddress], ...]
    followed: Mapping[IPAddress, str]  # IP shared with a lower Service key -> that key
    #: Owned IPs that later Services share; filled while planning those Services.
    shared: set[IPAddress] = field(default_factory=set)


def work_list(
    view: L2View, assignments: Iterable[Assignment]
) -> tuple[list[WorkItem], list[Assignment]]:
    """Sort by Service key, resolve IP owners; returns L2 items and the non-L2 rest."""
    chosen: dict[str, Assignment] = {}
    for a in assignments:
        # One assignment per Service; should a caller pass several, the choice must not
        # depend on their order.
        old = chosen.get(a.service)
        if old is None or _tiebreak(a) < _tiebreak(old):
            chosen[a.service] = a
    items: list[WorkItem] = []
    rest: list[Assignment] = []
    owners: dict[IPAddress, str] = {}
    by_key: dict[str, WorkItem] = {}
    for key in sorted(chosen):
        a = chosen[key]
        service = view.services.get(key)
        scope = view.scope(a, service)
        if service is None or not scope.announced:
            rest.append(a)
            continue
        owned: list[tuple[int, IPAddress]] = []
        followed: dict[IPAddress, str] = {}
        for index, ip in enumerate(a.ips):
            owner = owners.setdefault(ip, key)
            if owner == key:
                owned.append((index, ip))
            else:
                followed[ip] = owner
                by_key[owner].shared.add(ip)
        items.append(item := WorkItem(a, service, scope, tuple(owned), followed))
        by_key[key] = item
    return items, rest


def _tiebreak(a: Assignment) -> tuple[str, list[str]]:
    # IPv4 and IPv6 addresses do not compare with each other: compare their text.
    return a.pool, [str(ip) for ip in a.ips]


# --------------------------------------------------------------------------- announcer


@dataclass(frozen=True, slots=True)
class Announcer:
    """Who announces one (Service, IP) right now; ``node`` None means nobody, see ``reason``."""

    service: str
    ip: IPAddress
    node: str | None
    role: Role | None = None
    home: str | None = None  # the recorded home, if any
    reason: WhyNot | None = None
    owner: str = ""  # Service key whose eligibility decided (differs for shared IPs)


def decide(view: L2View, assignments: Iterable[Assignment], homes: HomesInput) -> list[Announcer]:
    """The announcer of every IP of every assignment, ordered by (Service key, status order)."""
    items, rest = work_list(view, assignments)
    out: dict[str, list[Announcer]] = {}
    for a in rest:
        reason = view.scope(a, view.services.get(a.service)).reason
        out[a.service] = [
            Announcer(a.service, ip, None, reason=reason, owner=a.service) for ip in a.ips
        ]
    shared: dict[IPAddress, Announcer] = {}
    for item in items:
        a = item.assignment
        mine = homes.get(a.service, {})
        eligible = view.eligible(item.scope, item.service)
        decided: list[Announcer] = []
        for ip in a.ips:
            if item.followed and ip in item.followed:
                o = shared[ip]
                decided.append(Announcer(a.service, ip, o.node, o.role, o.home, o.reason, o.owner))
                continue
            d = _decide_one(view, item, ip, homes=mine, eligible=eligible)
            if item.shared and ip in item.shared:
                shared[ip] = d
            decided.append(d)
        out[a.service] = decided
    return [d for key in sorted(out) for d in out[key]]


def _decide_one(
    view: L2View,
    item: WorkItem,
    ip: IPAddress,
    *,
    homes: Mapping[IPAddress, str],
    eligible: frozenset[str],
) -> Announcer:
    key = item.assignment.service
    home = homes.get(ip) if homes else None
    if home is not None and home in eligible:
        return Announcer(key, ip, home, Role.HOME, home, owner=key)
    winner = fallback_for(ip, ips=item.assignment.ips, homes=homes, eligible=eligible)
    if winner is not None:
        return Announcer(key, ip, winner, Role.FALLBACK, home, owner=key)
    ready = view.endpoints(item.service).ready
    reason = L2Reason.NO_ELIGIBLE_NODE if ready else Reason.NO_ENDPOINTS
    return Announcer(key, ip, None, home=home, reason=reason, owner=key)


def announcers(
    snapshot: ClusterSnapshot,
    assignments: Iterable[Assignment],
    homes: HomesInput,
    *,
    live_nodes: Set[str],
    ignore_exclude_label: bool = False,
) -> list[Announcer]:
    """``decide`` over a fresh view: the whole cluster's L2 answer, as every speaker sees it."""
    view = L2View(snapshot, live_nodes=live_nodes, ignore_exclude_label=ignore_exclude_label)
    return decide(view, assignments, homes)


def announcer_for(
    snapshot: ClusterSnapshot,
    assignments: Iterable[Assignment],
    homes: HomesInput,
    *,
    ip: IPAddress,
    live_nodes: Set[str],
    service: str | None = None,
    ignore_exclude_label: bool = False,
) -> Announcer:
    """The node that must announce ``ip`` right now (for ``service``, or for the IP's owner).

    Only the assignments holding ``ip`` matter: an IP's decision reads its own Service's
    homes and, when shared, its owner's.
    """
    holding = [a for a in assignments if ip in a.ips]
    found = decide(
        L2View(snapshot, live_nodes=live_nodes, ignore_exclude_label=ignore_exclude_label),
        holding,
        homes,
    )
    matches = [d for d in found if d.ip == ip and (service is None or d.service == service)]
    if service is None:
        # The owner is the lowest L2 Service key; prefer an announced decision if any.
        matches.sort(key=lambda d: (d.node is None, d.service))
    if not matches:
        return Announcer(service or "", ip, None, reason=L2Reason.NOT_ASSIGNED)
    return matches[0]
