"""Which speakers are live, judged from their per-node leases (docs/design.md §4, §15).

Each speaker renews its own lease (a Kubernetes ``Lease`` or, standalone, a file) every
second. Observers must not compare the renew timestamp with their own clock: clocks on two
nodes disagree. Instead an observer notes *when it saw the lease change* on its own
monotonic clock; a node is live while that moment is younger than the lease duration. A
lease that is deleted (graceful shutdown) makes the node not live at once, which is how a
stopped speaker hands its IPs over without waiting.

``LeaseTracker`` keeps that per-observer memory; time comes in as ``now``, and ``now`` must
be the moment the leases were read (§15): a timestamp taken before a slow load stamps a
renewal seconds too early, and the next look at the unchanged lease finds it "expired". As
a second guard, time never runs backwards here: a ``now`` older than one already seen
counts as the latest one seen, so a late caller can only err on the live side.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class LeaseRecord:
    node: str
    #: Anything that changes on every renewal (renewTime, resourceVersion, a counter).
    token: str
    duration: float  # seconds, leaseDurationSeconds


class LeaseTracker:
    def __init__(self) -> None:
        self._seen: dict[str, tuple[str, float, float]] = {}  # node -> (token, since, duration)
        self._latest = float("-inf")  # the latest ``now`` observed

    def observe(self, leases: Iterable[LeaseRecord], now: float) -> frozenset[str]:
        """Record the leases as read at ``now``; return the live nodes at ``now``."""
        now = self._latest = max(now, self._latest)
        current: dict[str, tuple[str, float, float]] = {}
        for lease in leases:
            prev = self._seen.get(lease.node)
            if prev is not None and prev[0] == lease.token:
                current[lease.node] = (lease.token, prev[1], lease.duration)
            else:
                current[lease.node] = (lease.token, now, lease.duration)
        self._seen = current
        return self.live(now)

    def live(self, now: float) -> frozenset[str]:
        return frozenset(n for n, (_, since, d) in self._seen.items() if now - since < d)

    def expires_in(self, now: float) -> float | None:
        """Seconds until the next live node would expire (to schedule the next check)."""
        left = [since + d - now for _, since, d in self._seen.values() if now - since < d]
        return min(left) if left else None
