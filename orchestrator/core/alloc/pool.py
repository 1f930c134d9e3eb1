"""Address bookkeeping for one pool: what it contains, what is in use, what comes next.

Nothing is materialized per address, so a /64 costs the same as a /32. A pool is a list of
``(first, last)`` integer ranges per family, in the spec order of its CIDRs (IPv4 and IPv6
are kept apart: their integers overlap). Three things are tracked per family:

- ``used``: the integers in use. Rebuilt from the Services' status on every reconcile, so it
  can never drift from the cluster (decision 1: the cluster is the source of truth).
- ``retired``: addresses freed during this process's life and not handed out since, oldest
  first (a dict keeps insertion order). They are the last resort.
- a **next-fit cursor**: the position just after the last address handed out. New addresses
  come from the cursor onwards and the cursor wraps around at the end of the last range. An
  address behind the cursor is either in use or was skipped because it was; it becomes
  available again only as a retired address, once nothing never-used is left. This is what
  keeps IPs from shifting when a Service is deleted (MetalLB's lowest-free scan reuses the
  freed address at once, its issue #2723).

``fresh`` (allocatable minus used minus retired) is kept exact, so "is there a never-used
address?" is one subtraction and a scan for one never fails. Each scan resumes where the last
one stopped, so over one lap the cursor passes every address once: O(1) amortized.

After a restart the history is gone; the cursor is rebuilt as "just after the highest address
in use" (walk order), which is where it would most likely have been.

``avoidBuggyIPs`` removes IPv4 ``x.x.x.0`` and ``x.x.x.255`` from the pool altogether (MetalLB's
``poolFor`` treats them as outside the pool): they are never handed out, not even on request,
and not counted.
"""

from __future__ import annotations

from bisect import bisect_right

from orchestrator.core.alloc.result import MAX_INT64, PoolStats
from orchestrator.core.model.cluster import AddressPool

FAMILIES = (4, 6)


def _count_mod256(first: int, last: int, residue: int) -> int:
    """How many integers in [first, last] are congruent to ``residue`` modulo 256."""
    return (last - residue) // 256 - (first - 1 - residue) // 256


def _buggy(value: int) -> bool:
    low = value & 0xFF
    return low == 0 or low == 0xFF


class PoolSpace:
    """Mutable per-pool state owned by one ``Allocator``."""

    __slots__ = (
        "_ends",
        "_order",
        "_starts",
        "avoid_buggy",
        "capacity",
        "cursor",
        "name",
        "pool",
        "ranges",
        "retired",
        "used",
    )

    def __init__(self, pool: AddressPool) -> None:
        self.pool = pool
        self.name = pool.name
        self.avoid_buggy = pool.avoid_buggy_ips
        self.ranges: dict[int, list[tuple[int, int]]] = {4: [], 6: []}
        for net in pool.cidrs:
            self.ranges[net.version].append((int(net.network_address), int(net.broadcast_address)))
        # Sorted copies for containment by bisection; _order maps back to the spec index.
        self._starts: dict[int, list[int]] = {}
        self._ends: dict[int, list[int]] = {}
        self._order: dict[int, list[int]] = {}
        self.capacity: dict[int, int] = {}
        for fam in FAMILIES:
            fam_ranges = self.ranges[fam]
            order = sorted(range(len(fam_ranges)), key=fam_ranges.__getitem__)
            self._order[fam] = order
            self._starts[fam] = [self.ranges[fam][i][0] for i in order]
            self._ends[fam] = [self.ranges[fam][i][1] for i in order]
            size = sum(last - first + 1 for first, last in self.ranges[fam])
            if fam == 4 and self.avoid_buggy:
                size -= sum(
                    _count_mod256(first, last, 0) + _count_mod256(first, last, 255)
                    for first, last in self.ranges[fam]
                )
            self.capacity[fam] = size
        self.used: dict[int, set[int]] = {4: set(), 6: set()}
        self.retired: dict[int, dict[int, None]] = {4: {}, 6: {}}
        self.cursor: dict[int, tuple[int, int] | None] = {4: None, 6: None}

    def same_addresses(self, pool: AddressPool) -> bool:
        """Whether ``pool`` has exactly this space's addresses (so the state carries over)."""
        return pool.cidrs == self.pool.cidrs and pool.avoid_buggy_ips == self.avoid_buggy

    # ------------------------------------------------------------------ queries

    def _range_index(self, fam: int, value: int) -> int:
        """Spec index of the range holding ``value``, or -1."""
        i = bisect_right(self._starts[fam], value) - 1
        if i < 0 or value > self._ends[fam][i]:
            return -1
        return self._order[fam][i]

    def contains(self, fam: int, value: int) -> bool:
        """Whether the address may be allocated from this pool at all."""
        if fam == 4 and self.avoid_buggy and _buggy(value):
            return False
        return self._range_index(fam, value) >= 0

    def covers(self, fam: int, value: int) -> bool:
        """Whether the address lies in one of the CIDRs, ``avoidBuggyIPs`` aside."""
        return self._range_index(fam, value) >= 0

    def has_family(self, fam: int) -> bool:
        return self.capacity[fam] > 0

    def fresh(self, fam: int) -> int:
        """Never-used (as far as this process knows) allocatable addresses."""
        return self.capacity[fam] - len(self.used[fam]) - len(self.retired[fam])

    def available(self, fam: int) -> bool:
        """Any free address, fresh or retired."""
        return self.capacity[fam] > len(self.used[fam])

    # ------------------------------------------------------------------ changes

    def mark_used(self, fam: int, value: int) -> None:
        self.used[fam].add(value)
        self.retired[fam].pop(value, None)

    def release(self, fam: int, value: int) -> None:
        """Free an address; it joins the retired queue (it was in use, so it is not fresh)."""
        self.used[fam].discard(value)
        if self.contains(fam, value):
            self.retired[fam][value] = None

    def retire(self, fam: int, value: int) -> None:
        """Record that a no-longer-used address was in use before (no-op if it is in use)."""
        if value not in self.used[fam] and self.contains(fam, value):
            self.retired[fam][value] = None

    def take(self, fam: int) -> int | None:
        """The next free address: never-used from the cursor on, else the oldest retired.

        The caller marks it used; nothing changes here except the cursor.
        """
        if self.fresh(fam) > 0:
            return self._next_fresh(fam)
        for value in self.retired[fam]:
            return value
        return None

    def _next_fresh(self, fam: int) -> int:
        ranges = self.ranges[fam]
        used = self.used[fam]
        retired = self.retired[fam]
        buggy = fam == 4 and self.avoid_buggy
        idx, value = self.cursor[fam] or (0, ranges[0][0])
        # Terminates: fresh() > 0 guarantees a hit within one lap.
        while True:
            first, last = ranges[idx]
            value = max(value, first)
            while value <= last:
                if value not in used and value not in retired and not (buggy and _buggy(value)):
                    self.cursor[fam] = (idx, value + 1)
                    return value
                value += 1
            idx = idx + 1 if idx + 1 < len(ranges) else 0
            value = ranges[idx][0]

    def rebuild_cursor(self) -> None:
        """Place a missing cursor just after the highest address in use, in walk order."""
        for fam in FAMILIES:
            if self.cursor[fam] is not None or not self.ranges[fam]:
                continue
            best: tuple[int, int] | None = None
            for value in self.used[fam]:
                pos = (self._range_index(fam, value), value)
                if best is None or pos > best:
                    best = pos
            self.cursor[fam] = (best[0], best[1] + 1) if best is not None else None

    def stats(self) -> PoolStats:
        v6_total = self.capacity[6]
        # MetalLB: a CIDR with 62 or more host bits would overflow its int64 counter.
        if any(last - first + 1 >= 2**62 for first, last in self.ranges[6]):
            v6_total = MAX_INT64
        return PoolStats(
            pool=self.name,
            ipv4_total=self.capacity[4],
            ipv6_total=min(v6_total, MAX_INT64),
            ipv4_in_use=len(self.used[4]),
            ipv6_in_use=len(self.used[6]),
        )
