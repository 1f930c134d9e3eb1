"""When to send gratuitous ARP / unsolicited NA: a timer wheel driven by the caller's clock.

MetalLB (``announcer.go`` ``spamLoop``) sends at once when an IP is (re)asserted, then on a
global 1.1 s ticker until 5 s after the last assertion. The 1.1 s spacing matters: Linux
ignores a second conflicting update of a neighbour entry within its 1 s ``locktime``. A
global ticker can fire right after the immediate send, wasting that round; here each key
keeps its own phase, so sends are always at least ``interval`` apart.

Keys are whatever the caller schedules — the announcer uses (packed IP, interface name) so
that a link coming up gets its own burst. After the burst a key is forgotten, or, with
``refresh`` set, sent once every ``refresh`` seconds until withdrawn (for switches whose MAC
tables age out entries of quiet hosts; MetalLB feature request #2910).

Pure: ``now`` comes in as an argument (no clock, no thread), so tests drive it with virtual
time. A heap orders due times; withdrawn or re-armed keys leave stale heap entries that are
skipped by generation number, which keeps every operation O(log n).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class GarpTiming:
    interval: float = 1.1  # MetalLB issue #172
    burst: float = 5.0  # keep sending until this long after the last assertion
    refresh: float | None = None  # afterwards: one round every this many seconds, or never

    def __post_init__(self) -> None:
        if self.interval <= 0 or self.burst < 0:
            raise ValueError("gratuitous interval must be > 0 and burst >= 0")
        if self.refresh is not None and self.refresh <= 0:
            raise ValueError("refresh must be > 0 (or None for no refresh)")


class GarpSchedule(Generic[K]):
    def __init__(self, timing: GarpTiming | None = None) -> None:
        self.timing = timing or GarpTiming()
        self._until: dict[K, float] = {}  # key -> end of its burst
        self._gen: dict[K, int] = {}  # key -> generation of its live heap entry
        self._heap: list[tuple[float, int, int, K]] = []  # (due, seq, gen, key)
        self._seq = itertools.count()

    def __contains__(self, key: object) -> bool:
        return key in self._gen

    def __len__(self) -> int:
        return len(self._gen)

    def announce(self, key: K, now: float) -> None:
        """(Re)assert ``key``: send at once unless a burst is running, then keep sending."""
        until = now + self.timing.burst
        running = self._until.get(key)
        if running is not None and now <= running:
            self._until[key] = until  # extend the burst, keep its phase
            return
        self._until[key] = until
        # a fresh generation, never reused: entries left in the heap by an earlier
        # burst of this key (even one withdrawn meanwhile) can no longer fire
        self._push(key, now, next(self._seq))

    def withdraw(self, key: K) -> None:
        self._until.pop(key, None)
        self._gen.pop(key, None)

    def next_due(self) -> float | None:
        """When ``pop_due`` will next return something (None: nothing scheduled)."""
        heap = self._heap
        while heap and self._gen.get(heap[0][3]) != heap[0][2]:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def pop_due(self, now: float, *, limit: int | None = None) -> list[K]:
        """Keys due at ``now`` (at most ``limit``), each rescheduled or finished."""
        out: list[K] = []
        heap = self._heap
        while heap and heap[0][0] <= now and (limit is None or len(out) < limit):
            _, _, gen, key = heapq.heappop(heap)
            if self._gen.get(key) != gen:
                continue  # withdrawn or re-armed since this entry was pushed
            out.append(key)
            following = now + self.timing.interval
            if following <= self._until[key]:
                self._push(key, following, gen)
            elif self.timing.refresh is not None:
                self._push(key, now + self.timing.refresh, gen)
            else:
                self.withdraw(key)
        return out

    def _push(self, key: K, due: float, gen: int) -> None:
        self._gen[key] = gen
        heapq.heappush(self._heap, (due, next(self._seq), gen, key))
