"""L2 placement: the sticky home node of every L2 IP, decided by the controller.

Three questions, answered purely from one snapshot (docs/design.md §3 and §5): where an L2 IP
may live (its *scope*, ``scope``), its sticky home node (here), and who announces it right
now (``announce``). This module also re-exports the public names of the other two, so callers
may keep importing everything L2 from ``placement``.

**Home** (``place_homes``, controller). Every L2 IP gets a home node among the *eligible*
nodes (``eligibility``: selected, not excluded, no NetworkUnavailable, live, endpoints).

- Sticky: a previous home stays while its node exists, is selected and is not excluded, even
  while it is dead or NetworkUnavailable: fallback serves the IP meanwhile, and moving the
  home would move the IP a second time when the node comes back.
- It moves when the node is gone for good (deleted, deselected, labelled excluded) and, with
  ``externalTrafficPolicy: Local``, as soon as the node has no ready endpoint of the Service
  while another eligible node has one. Waiting for "for good" would need a clock; moving at
  once costs nothing extra because the new home is the node that already announces it.
- An IP already in the Service status that needs a home (its home is gone, or none was ever
  recorded) takes its current announcer, the fallback winner, unless that would put two of
  the Service's IPs on one node: a failure moves an IP once, not twice. Other IPs go to the
  least-loaded eligible node (L2 IPs homed across all Services), ties broken by the
  preferred order: IP ``i`` of a Service prefers ``nodes[i % n]`` and then the nodes after
  it, which is exactly Deckhouse's spreading in an empty cluster.
- A Service's IPs sit on distinct nodes whenever there are enough eligible nodes: two IPs on
  one node while an eligible node holds none of them -> the later one moves.
- A Service with errors keeps its recorded homes and gets nothing new (``model.Service``).

Services are processed in key order (kept homes of all Services are counted before any new
one is placed), so the output does not depend on input order. Picking the least-loaded node
uses a per-candidate-set structure filed by load (``_LoadGroup``), which keeps 10,000 Services
over 100 nodes well under a second.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass

from orchestrator.core.l2.announce import (
    Announcer,
    Homes,
    HomesInput,
    Role,
    WorkItem,
    announcer_for,
    announcers,
    decide,
    fallback_for,
    fallback_winner,
    work_list,
)
from orchestrator.core.l2.scope import (
    L2_EXPLAIN,
    SCOPE_REASONS,
    WHY_NOT_TEXT,
    L2Reason,
    L2Scope,
    L2View,
    WhyNot,
    preferred_order,
)
from orchestrator.core.model.cluster import (
    Assignment,
    ClusterSnapshot,
    IPAddress,
    TrafficPolicy,
)

__all__ = [
    "L2_EXPLAIN",
    "SCOPE_REASONS",
    "WHY_NOT_TEXT",
    "Announcer",
    "Homes",
    "HomesInput",
    "L2Reason",
    "L2Scope",
    "L2View",
    "Role",
    "WhyNot",
    "announcer_for",
    "announcers",
    "decide",
    "fallback_winner",
    "place_homes",
    "preferred_order",
]


# --------------------------------------------------------------------------- homes


@dataclass(frozen=True, slots=True)
class _Pending:
    """An IP that needs a home: new, home gone for good, or released to spread out."""

    index: int  # position in status order: IP i prefers nodes[i % n]
    ip: IPAddress
    #: The node announcing it right now by fallback (an IP already in status whose home is
    #: gone or missing); it becomes the home if that keeps the Service spread out.
    current: str | None = None


def place_homes(
    snapshot: ClusterSnapshot,
    assignments: Iterable[Assignment],
    *,
    live_nodes: Set[str],
    previous: HomesInput | None = None,
    ignore_exclude_label: bool = False,
) -> Homes:
    """Home node of every L2 IP, for every L2 Service (possibly an empty map).

    ``previous`` (the controller's last answer) wins over the Service's recorded
    ``state.homes`` IP by IP. IPs with no eligible node and no keepable home get no entry.
    """
    view = L2View(snapshot, live_nodes=live_nodes, ignore_exclude_label=ignore_exclude_label)
    items, _ = work_list(view, assignments)
    loads: dict[str, int] = {}
    placed: dict[str, dict[IPAddress, str]] = {}
    todo: list[tuple[WorkItem, list[_Pending]]] = []
    # Phase 1: keep what may be kept, everywhere, so new IPs see the real loads.
    for item in items:
        key = item.assignment.service
        prev = previous.get(key) if previous is not None else None
        kept, pending = _keep(view, item, prev or {})
        placed[key] = kept
        for home in kept.values():
            loads[home] = loads.get(home, 0) + 1
        if pending:
            todo.append((item, pending))
    # Phase 2: place the rest, Services in key order, IPs in status order.
    groups: dict[tuple[str, frozenset[str]], _LoadGroup] = {}
    for item, pending in todo:
        kept = placed[item.assignment.service]
        eligible = view.eligible(item.scope, item.service)
        taken = set(kept.values())
        for p in pending:
            choice: str | None = None
            if p.current is not None and (p.current not in taken or eligible <= taken):
                choice = p.current
            elif eligible:
                gkey = (item.scope.key, eligible)
                group = groups.get(gkey)
                if group is None:
                    group = groups[gkey] = _LoadGroup(item.scope, eligible, loads)
                choice = group.pick(p.index % len(item.scope.nodes), taken, loads)
            if choice is not None:
                kept[p.ip] = choice
                taken.add(choice)
                loads[choice] = loads.get(choice, 0) + 1
    # Phase 1 filled each map in status order; only Services that got more need re-sorting.
    unordered = {item.assignment.service for item, _ in todo}
    homes: Homes = {}
    for item in items:
        key = item.assignment.service
        mine = placed[key]
        for ip, owner in item.followed.items():
            if ip in placed[owner]:
                mine[ip] = placed[owner][ip]
        if key in unordered or item.followed:
            mine = {ip: mine[ip] for ip in item.assignment.ips if ip in mine}
        homes[key] = mine
    return homes


def _keep(
    view: L2View, item: WorkItem, prev: Mapping[IPAddress, str]
) -> tuple[dict[IPAddress, str], list[_Pending]]:
    """Phase 1 for one Service: the homes it keeps and the IPs that need a new one."""
    service, scope, ips = item.service, item.scope, item.assignment.ips
    recorded = service.state.homes

    def previous_home(ip: IPAddress) -> str | None:
        home = prev.get(ip) if prev else None
        return recorded.get(ip) if home is None and recorded else home

    if service.errors:
        # A Service with errors keeps what it has and gets nothing new (model.Service).
        return {ip: h for _, ip in item.owned if (h := previous_home(ip)) is not None}, []
    eligible = view.eligible(scope, service)
    eps = view.endpoints(service)
    local_moves = (
        service.external_traffic_policy is TrafficPolicy.LOCAL and eps.ready and bool(eligible)
    )
    kept: dict[IPAddress, str] = {}
    pending: list[_Pending] = []
    for index, ip in item.owned:
        home = previous_home(ip)
        if (
            home is not None
            and view.may_keep_home(scope, home)
            and not (local_moves and home not in eps.nodes)
        ):
            kept[ip] = home
            continue
        # Already in status: the speakers announce it by fallback right now (its home is
        # gone, or was never recorded: migration, lost annotation), so keep it there.
        current = None
        if ip in service.state.ingress_ips:
            homes = {x: h for x in ips if (h := previous_home(x)) is not None}
            current = fallback_for(ip, ips=ips, homes=homes, eligible=eligible)
        pending.append(_Pending(index, ip, current))
    # Distinctness: release the latest duplicates, as many as free eligible nodes remain
    # after the IPs that need a home anyway have taken theirs.
    homes_used = set(kept.values())
    spare = len(eligible - homes_used) - len(pending)
    if spare > 0 and len(homes_used) < len(kept):
        seen: set[str] = set()
        dups: list[tuple[int, IPAddress]] = []
        for index, ip in item.owned:
            if ip in kept:
                if kept[ip] in seen:
                    dups.append((index, ip))
                seen.add(kept[ip])
        for index, ip in dups[-spare:]:
            del kept[ip]
            pending.append(_Pending(index, ip))
        pending.sort(key=lambda p: p.index)
    return kept, pending


class _LoadGroup:
    """The candidates of one (scope, eligible set), filed by load for least-loaded picks.

    ``levels`` maps a load to the sorted scope positions filed under it. Loads only grow while
    homes are placed, so a node filed under a stale (lower) load is refiled when met, and no
    group needs updating when another group's pick raises a shared node's load.
    """

    def __init__(self, scope: L2Scope, candidates: frozenset[str], loads: Mapping[str, int]):
        self._order = scope.nodes
        self._levels: dict[int, list[int]] = {}
        for pos in sorted(scope.positions[n] for n in candidates):
            self._levels.setdefault(loads.get(self._order[pos], 0), []).append(pos)

    def pick(self, start: int, avoid: Set[str], loads: Mapping[str, int]) -> str | None:
        """Least-loaded candidate outside ``avoid``, first at or after position ``start``
        (cyclically); when every candidate is in ``avoid``, the least-loaded of those."""
        crowded: str | None = None
        level = -1
        while True:
            above = [lv for lv in self._levels if lv > level]
            if not above:
                return crowded
            level = min(above)
            positions = self._levels[level]
            cut = bisect_left(positions, start)
            for pos in positions[cut:] + positions[:cut]:
                name = self._order[pos]
                load = loads.get(name, 0)
                if load != level:
                    self._refile(pos, level, load)
                elif name not in avoid:
                    return name
                elif crowded is None:
                    crowded = name

    def _refile(self, pos: int, old: int, new: int) -> None:
        positions = self._levels[old]
        del positions[bisect_left(positions, pos)]
        if not positions:
            del self._levels[old]
        insort(self._levels.setdefault(new, []), pos)
