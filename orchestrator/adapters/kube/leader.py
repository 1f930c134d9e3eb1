"""Leader election over a coordination.k8s.io/v1 Lease (the decision is ``core.liveness.leader``).

``KubeLeader.tick(now)`` reads the Lease, asks the elector what to do, and writes with the
Lease's resourceVersion as precondition: a 409 means another replica won the race, so this
one is not leader. Call it about every ``duration / 3`` seconds; act only while it says so.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from orchestrator.adapters.kube.client import KubeClient
from orchestrator.adapters.kube.errors import KubeConflict, KubeError, KubeNotFound
from orchestrator.adapters.kube.resources import LEASE
from orchestrator.core.liveness.leader import Action, LeaderElector, LeaderLease


class KubeLeader:
    def __init__(
        self,
        client: KubeClient,
        *,
        namespace: str,
        identity: str,
        name: str = "mlb-controller",
        duration: float = 15.0,
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.name = name
        self.elector = LeaderElector(identity, duration=duration)
        self._next_tick = float("-inf")

    def leading(self, now: float) -> bool:
        """For the controller loop, called often: a round every ``duration / 3`` seconds,
        the elector's own view in between."""
        if now >= self._next_tick:
            self._next_tick = now + self.elector.duration / 3
            return self.tick(now)
        return self.elector.is_leader(now)

    def _spec(self) -> dict[str, Any]:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return {
            "holderIdentity": self.elector.identity,
            "leaseDurationSeconds": max(1, math.ceil(self.elector.duration)),
            "renewTime": now,
        }

    def tick(self, now: float) -> bool:
        """One round of the election; True while this replica is leader."""
        try:
            current: dict[str, Any] | None = self.client.get(LEASE, self.name, self.namespace)
        except KubeNotFound:
            current = None
        except KubeError:
            return self.elector.is_leader(now)  # API trouble: keep what we had, until expiry
        lease = None
        if current is not None:
            spec = current.get("spec") or {}
            lease = LeaderLease(
                holder=spec.get("holderIdentity"),
                token=str((current.get("metadata") or {}).get("resourceVersion", "")),
                duration=float(spec.get("leaseDurationSeconds") or self.elector.duration),
            )
        action = self.elector.next_action(lease, now)
        try:
            if action is Action.CREATE:
                meta = {"name": self.name, "namespace": self.namespace}
                self.client.create(LEASE, {"metadata": meta, "spec": self._spec()})
            elif action in (Action.RENEW, Action.TAKE_OVER) and current is not None:
                # resourceVersion is in current's metadata: a concurrent writer makes this 409
                body = {**current, "spec": {**(current.get("spec") or {}), **self._spec()}}
                self.client.replace(LEASE, body)
            else:
                self.elector.lost()
                return False
        except KubeConflict:
            self.elector.lost()
            return False
        except KubeError:
            return self.elector.is_leader(now)
        self.elector.written(now)
        return True

    def release(self) -> None:
        """On a clean stop: clear the holder, so a standby takes over at once instead of
        after the whole duration (client-go's ReleaseOnCancel). Only a Lease we still hold,
        with its resourceVersion as precondition; any error leaves it to expire."""
        try:
            current = self.client.get(LEASE, self.name, self.namespace)
            spec = current.get("spec") or {}
            if spec.get("holderIdentity") != self.elector.identity:
                return
            self.elector.lost()  # stop counting ourselves leader before anyone may start
            released = {**spec, "holderIdentity": None, "leaseDurationSeconds": 1}
            self.client.replace(LEASE, {**current, "spec": released})
        except KubeError:
            return
