"""Per-node membership leases (DESIGN decision 4) as ``coordination.k8s.io/v1`` Leases.

Each speaker owns one Lease, ``<prefix>-<node>`` in one namespace, and renews it every
second: ``holderIdentity`` is the node, ``renewTime`` now, ``leaseDurationSeconds`` the
duration (an integer in the API: rounded up, at least 1). A missing Lease is created; a 409
(someone else touched it) is answered by one re-read and retry; the next renewal tries again
anyway. ``release`` deletes the Lease so the others take over at once.

Observers turn Leases into ``LeaseRecord`` s for the core's ``LeaseTracker``. The token is the
``resourceVersion`` (changes on every write) or else ``renewTime``: the tracker measures
freshness on the observer's own clock from the moment the token changed, never by comparing
``renewTime`` with a local clock (clocks on two nodes disagree).
"""

from __future__ import annotations

import contextlib
import datetime
import math
from collections.abc import Iterable, Mapping
from typing import Any

from orchestrator.adapters.kube.client import KubeClient
from orchestrator.adapters.kube.errors import KubeConflict, KubeNotFound
from orchestrator.adapters.kube.resources import LEASE
from orchestrator.core.membership import LeaseRecord


def _micro_now() -> str:
    # MicroTime: RFC 3339 with microseconds, as client-go writes it.
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class KubeLeases:
    def __init__(self, client: KubeClient, *, namespace: str, prefix: str = "mlb") -> None:
        self.client = client
        self.namespace = namespace
        self.prefix = prefix

    def name(self, node: str) -> str:
        return f"{self.prefix}-{node}"

    def renew(self, node: str, *, duration: float) -> None:
        spec = {
            "holderIdentity": node,
            "leaseDurationSeconds": max(1, math.ceil(duration)),
            "renewTime": _micro_now(),
        }
        for attempt in range(2):
            try:
                current = self.client.get(LEASE, self.name(node), self.namespace)
            except KubeNotFound:
                self.client.create(
                    LEASE,
                    {
                        "metadata": {"name": self.name(node), "namespace": self.namespace},
                        "spec": spec,
                    },
                )
                return
            body = {**current, "spec": {**(current.get("spec") or {}), **spec}}
            try:
                self.client.replace(LEASE, body)
                return
            except KubeConflict:
                if attempt:
                    raise

    def release(self, node: str) -> None:
        with contextlib.suppress(KubeNotFound):
            self.client.delete(LEASE, self.name(node), self.namespace)

    def read(self) -> list[LeaseRecord]:
        items, _ = self.client.list(LEASE, self.namespace)
        return records(items, prefix=self.prefix)


def records(leases: Iterable[Mapping[str, Any]], *, prefix: str) -> list[LeaseRecord]:
    """Our Leases (name ``<prefix>-<node>``) as ``LeaseRecord`` s; foreign or broken ones are
    skipped (a Lease of another component in the same namespace is not a speaker)."""
    out = []
    for lease in leases:
        meta = lease.get("metadata") or {}
        spec = lease.get("spec") or {}
        name = str(meta.get("name") or "")
        if not name.startswith(f"{prefix}-"):
            continue
        node = spec.get("holderIdentity") or name[len(prefix) + 1 :]
        token = meta.get("resourceVersion") or spec.get("renewTime")
        duration = spec.get("leaseDurationSeconds")
        if not token or not isinstance(duration, int | float) or isinstance(duration, bool):
            continue
        out.append(LeaseRecord(node=str(node), token=str(token), duration=float(duration)))
    return out
