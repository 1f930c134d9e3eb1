"""``Membership``: lease observations stamped on this process's clock when they are read.

Why (docs/design.md §15): liveness is judged from *when this observer saw a lease change*.
If leases are only looked at by the reconcile pass, two things go wrong when a pass is slow
(a 1 MB manifest, 2,000 Services): a ``now`` taken before the load stamps a renewal seconds
too early, so the next pass finds live nodes (this one included) expired; and renewals are
seen only once per pass, so failover waits for the load.

How: ``observe`` reads the leases first and the clock right after, under one lock, and
hands both to the pure ``LeaseTracker``. ``run`` observes every ``poll`` seconds on a
thread of its own (the leases are a handful of small files, or the informer's cache), so a
renewal is stamped within ``poll`` of its arrival however long a pass takes, and
``on_change`` is called when such a poll changes the live set (a lease expired or came
back): the speaker then decides again on its last snapshot, without waiting for a load.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

from orchestrator.core.liveness.leases import LeaseRecord, LeaseTracker
from orchestrator.log import Logger

Clock = Callable[[], float]


class Membership:
    def __init__(
        self,
        read: Callable[[], Iterable[LeaseRecord]],
        *,
        clock: Clock = time.monotonic,
        poll: float = 0.1,
        on_change: Callable[[frozenset[str]], None] | None = None,
        log: Logger | None = None,
    ) -> None:
        self._read = read
        self.clock = clock
        self.poll = poll
        self.on_change = on_change
        self.log = log or Logger("membership")
        self._tracker = LeaseTracker()
        self._lock = threading.Lock()
        self._live: frozenset[str] = frozenset()

    def observe(self, now: float | None = None) -> frozenset[str]:
        """Read the leases, then the clock (``now`` only for tests in virtual time)."""
        with self._lock:
            leases = list(self._read())
            at = self.clock() if now is None else now
            self._live = self._tracker.observe(leases, at)
            return self._live

    def poll_once(self) -> frozenset[str]:
        """One observation of the polling thread; ``on_change`` if it changed the live set
        (a change the loop's own observation found first is the loop's to act on)."""
        before = self._live
        live = self.observe()
        if live != before and self.on_change is not None:
            self.on_change(live)
        return live

    def live(self) -> frozenset[str]:
        """The live nodes now, from what was last observed."""
        with self._lock:
            return self._tracker.live(self.clock())

    def expires_in(self) -> float | None:
        with self._lock:
            return self._tracker.expires_in(self.clock())

    def run(self, stop: threading.Event) -> threading.Thread:
        """Observe every ``poll`` seconds until ``stop``, on a daemon thread."""

        def loop() -> None:
            while not stop.wait(self.poll):
                try:
                    self.poll_once()
                except Exception as e:  # an unreadable lease store: try again next poll
                    self.log("leaseReadFailed", level="error", reason=type(e).__name__, msg=str(e))

        thread = threading.Thread(target=loop, name="membership", daemon=True)
        thread.start()
        return thread
