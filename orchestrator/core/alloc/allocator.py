"""The allocator: a whole snapshot in, one decision per Service out.

MetalLB's allocator, made sticky. ``Allocator.reconcile(snapshot)`` is level-triggered: it
looks at every Service each time and runs these steps in order:

1. **Sort out** what is ours. Not ``type: LoadBalancer``: its IPs are released. Class choice
   (``classes.choose_class``): a Service with field errors, or bound to a class that is gone,
   is **held**: it keeps its current IPs untouched and nothing is decided for it
   (``decided=False``). Another implementation's Service (``notOurClass``) is left alone too.
   So is a Service of a class whose nodeSelector matches no Node (``noNodesForClass``): as in
   Deckhouse, whose hook skips such a Service, it gets no new IP (an IP without any node to
   answer for it would be a black hole), and IPs it already holds stay untouched. A snapshot
   without any Node judges no class.
2. **Hold**: held Services claim their IPs first; nobody can take them. This includes the
   status IPs of ``notOurClass`` Services: an address still shown on a Service (after
   ``loadBalancerClass`` was reconfigured, or set by another implementation inside our pools)
   is never handed to a second one.
3. **Restore** (``restore``): every Service gets back the IPs its status shows, Services
   with more IPs first, before anything new is handed out. A restart never moves an IP.
4. **Retire**: addresses let go of in step 3, or in use last time and not any more (deleted
   Services), join their pool's retired queue: they are handed out again only when the pool
   has no never-used address left (``pool``).
5. **Allocate** (``new``) what is still missing: Services with explicit IPs first (so
   that an automatic pick cannot take an address somebody asked for), then Services adding a
   family to restored IPs, then the rest, each group by ``namespace/name``.
6. **Report**: one ``Outcome`` per Service, events, pool counters.

What lives across reconciles, in the ``Allocator`` object: per pool the next-fit cursor and
the retired queue, and the IPs decided last time for each Service. The latter stand in for a
Service's status while the status does not show anything yet (a write still pending or
failed), so one decision is not taken twice differently. Everything else is rebuilt from the
snapshot every time: the cluster is the source of truth (decision 1), and a fresh
``Allocator`` given the status written from a result reproduces that result exactly.
"""

from __future__ import annotations

from collections.abc import Iterable

from orchestrator.core.alloc.classes import choose_class
from orchestrator.core.alloc.new import allocate_class, allocate_plain
from orchestrator.core.alloc.pool import FAMILIES, PoolSpace
from orchestrator.core.alloc.restore import restore_class, restore_plain
from orchestrator.core.alloc.result import (
    AllocationResult,
    Event,
    EventKind,
    Outcome,
    PoolStats,
    Reason,
)
from orchestrator.core.alloc.sharing import ip_key
from orchestrator.core.alloc.state import Context, Work
from orchestrator.core.model.cluster import (
    Assignment,
    ClusterConfig,
    ClusterSnapshot,
    IPAddress,
    Service,
)

__all__ = [
    "AllocationResult",
    "Allocator",
    "Event",
    "EventKind",
    "Outcome",
    "PoolStats",
    "Reason",
    "allocate",
]


def _failed(key: str, message: str) -> Event:
    return Event(key, EventKind.ALLOCATION_FAILED, f'Failed to allocate IP for "{key}": {message}')


def _released_events(key: str, released: list[tuple[IPAddress, str]]) -> list[Event]:
    if not released:
        return []
    by_why: dict[str, list[IPAddress]] = {}
    for ip, why in released:
        by_why.setdefault(why, []).append(ip)
    return [
        Event(key, EventKind.CLEAR_ASSIGNMENT, "Released IP {ips}: " + why, ips=tuple(ips))
        for why, ips in by_why.items()
    ]


class _Hold:
    """A Service that keeps its IPs untouched; nothing is decided for it."""

    __slots__ = ("class_name", "current", "foreign", "message", "reason", "service")

    def __init__(
        self,
        service: Service,
        current: tuple[IPAddress, ...],
        *,
        reason: Reason,
        message: str,
        class_name: str | None,
        foreign: bool = False,
    ) -> None:
        self.service = service
        self.current = current
        self.reason = reason
        self.message = message
        self.class_name = class_name
        #: Another implementation's Service: its IPs are reserved but it gets no assignment.
        self.foreign = foreign


class Allocator:
    """Lives as long as the controller; one ``reconcile`` per snapshot."""

    def __init__(self) -> None:
        self._spaces: dict[str, PoolSpace] = {}
        self._last: dict[str, tuple[IPAddress, ...]] = {}

    def reconcile(self, snapshot: ClusterSnapshot) -> AllocationResult:
        previous = self._sync_spaces(snapshot.config)
        ctx = Context(self._spaces, snapshot.namespaces)
        homeless = _classes_without_nodes(snapshot)
        outcomes: dict[str, Outcome] = {}
        works: list[Work] = []
        holds: list[_Hold] = []
        seen: set[str] = set()
        for service in snapshot.services:
            if service.key in seen:
                continue
            seen.add(service.key)
            sorted_out = self._sort_out(ctx, snapshot.config, service, homeless)
            if isinstance(sorted_out, Work):
                works.append(sorted_out)
            elif isinstance(sorted_out, _Hold):
                holds.append(sorted_out)
            else:
                outcomes[service.key] = sorted_out

        for hold in holds:
            self._claim(ctx, hold)
        for work in sorted((w for w in works if w.current), key=lambda w: (-len(w.current), w.key)):
            if work.is_class:
                restore_class(ctx, work)
            else:
                restore_plain(ctx, work)

        ctx.retire_pending()
        for space, fam, values in previous:
            for value in values:
                space.retire(fam, value)
        for space in self._spaces.values():
            space.rebuild_cursor()

        pending = [w for w in works if _needs_more(w)]
        pending.sort(key=lambda w: (_group(w), w.key))
        for work in pending:
            if work.is_class:
                allocate_class(ctx, work)
            else:
                allocate_plain(ctx, work)

        for hold in holds:
            outcomes[hold.service.key] = self._held_outcome(ctx, hold)
        for work in works:
            outcomes[work.key] = _outcome(work)
        outcomes = {k: outcomes[k] for k in _seen_order(snapshot.services)}
        self._last = {k: o.assignment.ips for k, o in outcomes.items() if o.assignment}
        pools = {name: space.stats() for name, space in sorted(self._spaces.items())}
        return AllocationResult(outcomes=outcomes, pools=pools)

    # ------------------------------------------------------------------ steps

    def _sync_spaces(self, config: ClusterConfig) -> list[tuple[PoolSpace, int, set[int]]]:
        """Bring the pool spaces in line with the config; return what was in use last time.

        A pool whose addresses did not change keeps its cursor and retired queue; a changed
        pool starts over, keeping the retired addresses it still contains.
        """
        previous: list[tuple[PoolSpace, int, set[int]]] = []
        spaces: dict[str, PoolSpace] = {}
        for name, pool in config.pools.items():
            old = self._spaces.get(name)
            if old is not None and old.same_addresses(pool):
                space = old
                space.pool = pool
            else:
                space = PoolSpace(pool)
                if old is not None:
                    for fam in FAMILIES:
                        for value in old.retired[fam]:
                            space.retire(fam, value)
            if old is not None:
                previous.extend((space, fam, old.used[fam]) for fam in FAMILIES)
            space.used = {4: set(), 6: set()}
            spaces[name] = space
        self._spaces = spaces
        return previous

    def _current(self, service: Service) -> tuple[IPAddress, ...]:
        ips = service.state.ingress_ips or self._last.get(service.key, ())
        return ips if len(ips) < 2 or len(set(ips)) == len(ips) else tuple(dict.fromkeys(ips))

    def _sort_out(
        self, ctx: Context, config: ClusterConfig, service: Service, homeless: frozenset[str]
    ) -> Outcome | Work | _Hold:
        """Step 1: a final outcome, a Service to hold, or a Service to decide."""
        key = service.key
        current = self._current(service)
        if service.errors:
            message = "the Service has invalid fields: " + "; ".join(map(str, service.errors))
            return _Hold(
                service,
                current,
                reason=Reason.INVALID_SERVICE,
                message=message,
                class_name=service.state.bound_class,
            )
        pool = service.state.allocated_pool
        if current and pool in config.invalid_pools and pool not in config.pools:
            return _Hold(
                service,
                current,
                reason=Reason.POOL_INVALID,
                message=f"pool {pool} is invalid and left out (see its errors)",
                class_name=service.state.bound_class,
            )
        if service.type != "LoadBalancer":
            ctx.retire_later.extend(current)
            had = service.state.ingress_ips
            why = f"type {service.type} is not LoadBalancer"
            events = _released_events(key, [(ip, why) for ip in had])
            return Outcome(
                key,
                None,
                Reason.NOT_LOAD_BALANCER,
                message=why,
                changed=bool(had),
                events=tuple(events),
            )
        choice = choose_class(service, config)
        if choice.skip is not None:
            # Not our Service, or bound to a class that is gone: no decision. Its status IPs
            # stay reserved all the same, so that no other Service is handed an address that
            # is still shown (and maybe announced) on this one.
            return _Hold(
                service,
                service.state.ingress_ips if choice.skip is Reason.NOT_OUR_CLASS else current,
                reason=choice.skip,
                message=choice.message,
                class_name=service.state.bound_class,
                foreign=choice.skip is Reason.NOT_OUR_CLASS,
            )
        if choice.class_name is None:
            return Work(service, class_name=None, space=None, current=current)
        cls = config.classes[choice.class_name]
        if cls.name in homeless:
            message = f"no Node matches the nodeSelector of MetalLoadBalancerClass {cls.name}"
            return _Hold(
                service, current, reason=Reason.NO_CLASS_NODES, message=message, class_name=cls.name
            )
        space = self._spaces.get(cls.pool)
        if space is None:
            message = (
                f"MetalLoadBalancerClass {cls.name} refers to pool {cls.pool}, which does not exist"
            )
            return _Hold(
                service, current, reason=Reason.UNKNOWN_POOL, message=message, class_name=cls.name
            )
        return Work(service, class_name=cls.name, space=space, current=current)

    def _claim(self, ctx: Context, hold: _Hold) -> None:
        for ip in hold.current:
            space = ctx.any_space_for(ip, hold.service.state.allocated_pool)
            if space is not None:
                space.mark_used(ip.version, int(ip))
            ctx.table.add(ip_key(ip), hold.service, space)

    def _held_outcome(self, ctx: Context, hold: _Hold) -> Outcome:
        service = hold.service
        if hold.foreign:
            message = hold.message
            if hold.current:
                message += "; its status IPs stay reserved"
            return Outcome(service.key, None, hold.reason, message=message, decided=False)
        assignment = None
        if hold.current:
            space = ctx.any_space_for(hold.current[0], service.state.allocated_pool)
            pool = space.name if space is not None else (service.state.allocated_pool or "")
            assignment = Assignment(service.key, pool, hold.current, hold.class_name)
        message = hold.message + (
            "; keeping the current IPs untouched" if hold.current else "; nothing allocated"
        )
        return Outcome(
            service.key,
            assignment,
            hold.reason,
            message=message,
            wanted=len(hold.current),
            decided=False,
            events=(_failed(service.key, message),),
        )


def _classes_without_nodes(snapshot: ClusterSnapshot) -> frozenset[str]:
    """Classes whose (exact-match) nodeSelector no Node of the snapshot satisfies. With no
    Node at all (a directory of config only) nothing is judged, as in the parser's rules."""
    labels = [node.labels for node in snapshot.nodes.values()]
    if not labels:
        return frozenset()
    return frozenset(
        name
        for name, cls in snapshot.config.classes.items()
        if not any(cls.node_selector.items() <= have.items() for have in labels)
    )


def _seen_order(services: Iterable[Service]) -> list[str]:
    """Service keys in snapshot order, first occurrence only (results read in that order)."""
    return list(dict.fromkeys(s.key for s in services))


def _needs_more(work: Work) -> bool:
    if work.is_class:
        return any(ip is None for ip in work.slots)
    requested = work.service.request.ips
    if requested:
        return set(work.slots) != set(requested)
    return len(work.slots) < len(work.families)


def _group(work: Work) -> int:
    """Allocation order: explicit requests, then Services completing restored IPs, then new."""
    if work.service.request.ips:
        return 0
    return 1 if any(ip is not None for ip in work.slots) else 2


def _outcome(work: Work) -> Outcome:
    key = work.key
    ips = work.ips()
    space = work.space
    assignment = (
        Assignment(key, space.name, ips, work.class_name) if ips and space is not None else None
    )
    reason: Reason | None = None
    if work.is_class:
        message = f"{len(ips)} of {work.asked} public IPs were assigned"
        if work.failure is None and work.asked > work.wanted and space is not None:
            # more than the pool's addresses: those are the limit (Deckhouse makes one child
            # per IP, the ones past the pool's size never get an address)
            work.failure = (
                Reason.POOL_EXHAUSTED,
                f"pool {space.name} has {work.wanted} addresses, fewer than the "
                f"{work.asked} asked for",
            )
        if work.failure is not None:
            reason = Reason.PARTIAL if ips else work.failure[0]
            message = f"{message}: {work.failure[1]}"
    elif work.failure is not None:
        reason, message = work.failure
    else:
        message = f"assigned {len(ips)} IP(s) from pool {space.name if space else ''}"
        if work.note:
            message += f" ({work.note})"
    changed = ips != tuple(work.service.state.ingress_ips)
    events = _released_events(key, work.released)
    if changed and ips and space is not None:
        text = "Assigned IP {ips} from pool " + space.name
        events.append(Event(key, EventKind.IP_ALLOCATED, text, ips=ips))
    if reason is not None:
        events.append(_failed(key, message))
    return Outcome(
        key,
        assignment,
        reason,
        message=message,
        wanted=work.asked,
        changed=changed,
        events=tuple(events),
    )


def allocate(snapshot: ClusterSnapshot) -> AllocationResult:
    """One-shot allocation with a fresh ``Allocator`` (restores from status, then allocates)."""
    return Allocator().reconcile(snapshot)
