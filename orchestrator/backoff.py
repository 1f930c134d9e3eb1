"""Retry delays: exponential backoff with a cap, one rule for every loop that retries.

The routing scheduler retries a failed apply with it, the process supervisor restarts a
dead daemon with it. Pure: ``delay(failures)`` is the wait before the next attempt after
``failures`` consecutive failures (0.5 s, 1 s, 2 s ... up to ``maximum`` by default), so the
timing is tested without clocks.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    initial: float = 0.5
    factor: float = 2.0
    maximum: float = 30.0

    def delay(self, failures: int) -> float:
        """Seconds to wait after ``failures`` consecutive failures (1 = the first)."""
        return float(min(self.maximum, self.initial * self.factor ** max(0, failures - 1)))
