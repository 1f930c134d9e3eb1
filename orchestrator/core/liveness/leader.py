"""Leader election between controller replicas over one Lease, decided purely.

Only the leader allocates; two replicas must never both write status. The Lease names a
holder; writes carry the Lease's resourceVersion, so of two replicas racing for it the API
server accepts one and answers the other 409 (the adapter treats that as "not leader").

Decisions use the observer's own clock, as for speaker leases (``leases``): a foreign
holder is presumed alive while its Lease keeps changing; once it has not changed for its
duration the Lease may be taken over. We count ourselves leader only while our own last
successful renewal is younger than the duration *minus a margin*, so we stop acting before
anyone else may start.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class LeaderLease:
    holder: str | None
    token: str  # changes on every write (resourceVersion)
    duration: float


class Action(StrEnum):
    CREATE = "create"  # no Lease yet
    RENEW = "renew"  # ours: write it again
    TAKE_OVER = "takeOver"  # the holder stopped renewing
    WAIT = "wait"  # someone else holds it


class LeaderElector:
    def __init__(self, identity: str, *, duration: float = 15.0, margin: float = 0.2) -> None:
        self.identity = identity
        self.duration = duration
        self.margin = margin  # fraction of the duration we give up early
        self._seen: tuple[str, float] | None = None  # (token, first seen at)
        self._renewed_at: float | None = None

    def next_action(self, lease: LeaderLease | None, now: float) -> Action:
        if lease is None:
            return Action.CREATE
        if lease.holder == self.identity:
            return Action.RENEW
        if self._seen is None or self._seen[0] != lease.token:
            self._seen = (lease.token, now)
        if not lease.holder or now - self._seen[1] >= lease.duration:
            return Action.TAKE_OVER
        return Action.WAIT

    def written(self, now: float) -> None:
        """Our create/renew/take-over was accepted at ``now``."""
        self._renewed_at = now

    def lost(self) -> None:
        """Our write was refused (conflict) or the Lease names someone else."""
        self._renewed_at = None

    def is_leader(self, now: float) -> bool:
        if self._renewed_at is None:
            return False
        return now - self._renewed_at < self.duration * (1 - self.margin)
