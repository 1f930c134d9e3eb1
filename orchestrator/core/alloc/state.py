"""Working state of one reconcile: the per-Service ``Work`` record and the shared ``Context``.

``Context`` owns every mutation of the address tables, so the two invariants hold in one
place: an address is marked used in its pool exactly when some Service holds it in the
``SharingTable``, and an address stops being used only when its last holder lets go (it then
joins the pool's retired queue, see ``pool``).

``Work`` is what the restore and allocation steps fill in for one Service: the IPs it holds
(class Services: one slot per requested IP, ``None`` for a slot still empty), the pool, what
was released and why, and the first failure. ``allocator`` turns it into an ``Outcome``.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping

from orchestrator.core.alloc.pool import PoolSpace
from orchestrator.core.alloc.pool_choice import PoolChooser
from orchestrator.core.alloc.result import Reason
from orchestrator.core.alloc.sharing import SharingTable, ip_key
from orchestrator.core.model.cluster import (
    IPAddress,
    IPFamilyPolicy,
    Namespace,
    PoolKind,
    Service,
)

_COMMON_FAMILIES = frozenset({(4,), (6,), (4, 6), (6, 4)})


def service_families(service: Service) -> tuple[int, ...]:
    """The Service's IP families, primary first: ``ipFamilies``, else its ClusterIPs."""
    if service.ip_families in _COMMON_FAMILIES:
        return service.ip_families
    fams = tuple(dict.fromkeys(f for f in service.ip_families if f in (4, 6)))
    if not fams:
        fams = tuple(dict.fromkeys(ip.version for ip in service.cluster_ips))
    return fams or (4,)


class Work:
    """One Service being decided in this reconcile."""

    __slots__ = (
        "asked",
        "class_name",
        "current",
        "failure",
        "families",
        "key",
        "note",
        "released",
        "service",
        "slots",
        "space",
        "wanted",
    )

    def __init__(
        self,
        service: Service,
        *,
        class_name: str | None,
        space: PoolSpace | None,
        current: tuple[IPAddress, ...],
    ) -> None:
        self.service = service
        self.key = service.key
        self.class_name = class_name
        self.space = space
        self.current = current
        fams = service_families(service)
        if class_name is not None:
            # Deckhouse renders one single-stack child object per IP, from the ClusterIP.
            self.families: tuple[int, ...] = fams[:1]
            #: what the annotation asked; ``wanted`` (the slots) is at most the pool's
            #: addresses of the family: more than that cannot be had, and a slot list as long
            #: as the count would cost memory for nothing
            self.asked = max(1, service.request.ips_count)
            capacity = space.capacity.get(self.families[0], 0) if space is not None else 0
            self.wanted = max(1, min(self.asked, capacity))
            self.slots: list[IPAddress | None] = [None] * self.wanted
        else:
            single = service.ip_family_policy is IPFamilyPolicy.SINGLE
            self.families = fams[:1] if single else fams[:2]
            self.wanted = len(service.request.ips) or len(self.families)
            self.asked = self.wanted
            self.slots = []
        self.released: list[tuple[IPAddress, str]] = []
        self.failure: tuple[Reason, str] | None = None
        self.note = ""

    @property
    def is_class(self) -> bool:
        return self.class_name is not None

    def ips(self) -> tuple[IPAddress, ...]:
        slots = self.slots
        if len(slots) == 2 and not self.is_class:
            # Status order for plain Services: primary family first.
            first, second = slots
            if first is not None and first.version != self.families[0]:
                return (second, first) if second is not None else (first,)
        return tuple([ip for ip in slots if ip is not None])

    def fail(self, reason: Reason, message: str) -> None:
        """Record a failure; the first one is what the Service reports."""
        if self.failure is None:
            self.failure = (reason, message)


class PoolIndex:
    """Which plain pool contains an address: bisection over all plain ranges."""

    __slots__ = ("_ends", "_spaces", "_starts")

    def __init__(self, spaces: Iterable[PoolSpace]) -> None:
        entries: dict[int, list[tuple[int, int, PoolSpace]]] = {4: [], 6: []}
        for space in spaces:
            for fam, ranges in space.ranges.items():
                entries[fam].extend((first, last, space) for first, last in ranges)
        self._starts: dict[int, list[int]] = {}
        self._ends: dict[int, list[int]] = {}
        self._spaces: dict[int, list[PoolSpace]] = {}
        for fam, items in entries.items():
            items.sort(key=lambda e: (e[0], e[1], e[2].name))
            self._starts[fam] = [e[0] for e in items]
            self._ends[fam] = [e[1] for e in items]
            self._spaces[fam] = [e[2] for e in items]

    def lookup(self, fam: int, value: int) -> PoolSpace | None:
        i = bisect_right(self._starts[fam], value) - 1
        if i < 0 or value > self._ends[fam][i]:
            return None
        space = self._spaces[fam][i]
        return space if space.contains(fam, value) else None


class Context:
    """Tables shared by every Service of one reconcile."""

    __slots__ = (
        "chooser",
        "class_spaces",
        "index",
        "namespaces",
        "retire_later",
        "spaces",
        "table",
    )

    def __init__(
        self, spaces: Mapping[str, PoolSpace], namespaces: Mapping[str, Namespace]
    ) -> None:
        self.spaces = spaces
        self.namespaces = namespaces
        plain = [s for s in spaces.values() if s.pool.kind is not PoolKind.CLASS]
        self.class_spaces = [s for s in spaces.values() if s.pool.kind is PoolKind.CLASS]
        self.index = PoolIndex(plain)
        self.chooser = PoolChooser((s.pool for s in plain), namespaces)
        self.table = SharingTable()
        #: Addresses let go of before anything new is handed out; retired after the restore.
        self.retire_later: list[IPAddress] = []

    def plain_space_for(self, ip: IPAddress, hint: str | None = None) -> PoolSpace | None:
        """The plain pool holding ``ip``; the pool recorded on the Service wins if it does."""
        fam, value = ip.version, int(ip)
        if hint is not None:
            space = self.spaces.get(hint)
            if (
                space is not None
                and space.pool.kind is not PoolKind.CLASS
                and space.contains(fam, value)
            ):
                return space
        return self.index.lookup(fam, value)

    def any_space_for(self, ip: IPAddress, hint: str | None = None) -> PoolSpace | None:
        """Any pool holding ``ip``, class pools included (for messages and held IPs)."""
        space = self.plain_space_for(ip, hint)
        if space is not None:
            return space
        fam, value = ip.version, int(ip)
        hinted = self.spaces.get(hint or "")
        if hinted is not None and hinted.contains(fam, value):
            return hinted
        for space in self.class_spaces:
            if space.contains(fam, value):
                return space
        return None

    def commit(self, work: Work, space: PoolSpace | None, ip: IPAddress) -> None:
        """``work``'s Service now holds ``ip`` (the caller checked sharing)."""
        if space is not None:
            space.mark_used(ip.version, int(ip))
        self.table.add(ip_key(ip), work.service, space)

    def uncommit(self, work: Work, space: PoolSpace, ip: IPAddress, *, why: str) -> None:
        if self.table.remove(ip_key(ip), work.service):
            space.release(ip.version, int(ip))
        work.released.append((ip, why))

    def drop(self, work: Work, ips: Iterable[IPAddress], why: str) -> None:
        """Let go of IPs the Service had in status but was never given back this time."""
        for ip in ips:
            work.released.append((ip, why))
            self.retire_later.append(ip)

    def retire_pending(self) -> None:
        for ip in self.retire_later:
            space = self.any_space_for(ip)
            if space is not None:
                space.retire(ip.version, int(ip))
        self.retire_later.clear()
