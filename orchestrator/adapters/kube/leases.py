"""Per-node membership leases (docs/design.md §4) as ``coordination.k8s.io/v1`` Leases.

Each speaker owns one Lease, ``<prefix>-<node>`` in one namespace, labelled
``metallb-orchestrator.io/lease=speaker``, and renews it every second: ``holderIdentity`` is
the node, ``renewTime`` now, ``leaseDurationSeconds`` the duration (an integer in the API:
rounded up, at least 1). A renewal is one ``PUT`` of the Lease as we last wrote it (its
``resourceVersion`` is the precondition); when that fails because someone else touched or
deleted it, the Lease is read again (or created) and written once more. ``release`` deletes
the Lease so the others take over at once.

Observers turn Leases into ``LeaseRecord`` s for the core's ``LeaseTracker``: from an
informer's cache when one is given (no request per reconcile pass), else by listing. The
token is the ``resourceVersion`` (changes on every write) or else ``renewTime``: the tracker
measures freshness on the observer's own clock from the moment the token changed, never by
comparing ``renewTime`` with a local clock (clocks on two nodes disagree). Leases without
our label (the controller's leader Lease, other components') are not speakers.
"""

from __future__ import annotations

import contextlib
import datetime
import math
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from orchestrator.adapters.kube.client import KubeClient
from orchestrator.adapters.kube.errors import KubeConflict, KubeNotFound
from orchestrator.adapters.kube.resources import LEASE, SPEAKER_LEASE_LABEL
from orchestrator.core.liveness.leases import LeaseRecord

LABEL_SELECTOR = "=".join(SPEAKER_LEASE_LABEL)


def _micro_now() -> str:
    # MicroTime: RFC 3339 with microseconds, as client-go writes it.
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Cache(Protocol):
    def items(self) -> list[dict[str, Any]]: ...


class KubeLeases:
    def __init__(
        self,
        client: KubeClient,
        *,
        namespace: str,
        prefix: str = "mlb",
        cache: Cache | None = None,
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.prefix = prefix
        self.cache = cache
        self._mine: dict[str, dict[str, Any]] = {}  # node -> the Lease as last written

    def name(self, node: str) -> str:
        return f"{self.prefix}-{node}"

    def renew(self, node: str, *, duration: float) -> None:
        spec = {
            "holderIdentity": node,
            "leaseDurationSeconds": max(1, math.ceil(duration)),
            "renewTime": _micro_now(),
        }
        last = self._mine.get(node)
        if last is not None:
            with contextlib.suppress(KubeConflict, KubeNotFound):
                self._mine[node] = self.client.replace(LEASE, self._body(last, spec))
                return
        for attempt in range(2):
            try:
                current = self.client.get(LEASE, self.name(node), self.namespace)
            except KubeNotFound:
                meta = {"name": self.name(node), "namespace": self.namespace}
                self._mine[node] = self.client.create(LEASE, self._body({"metadata": meta}, spec))
                return
            try:
                self._mine[node] = self.client.replace(LEASE, self._body(current, spec))
                return
            except KubeConflict:
                if attempt:
                    raise

    @staticmethod
    def _body(current: Mapping[str, Any], spec: Mapping[str, Any]) -> dict[str, Any]:
        meta = dict(current.get("metadata") or {})
        key, value = SPEAKER_LEASE_LABEL
        meta["labels"] = {**(meta.get("labels") or {}), key: value}
        return {**current, "metadata": meta, "spec": {**(current.get("spec") or {}), **spec}}

    def release(self, node: str) -> None:
        self._mine.pop(node, None)
        with contextlib.suppress(KubeNotFound):
            self.client.delete(LEASE, self.name(node), self.namespace)

    def read(self) -> list[LeaseRecord]:
        if self.cache is not None:
            return records(self.cache.items(), prefix=self.prefix)
        items, _ = self.client.list(LEASE, self.namespace, label_selector=LABEL_SELECTOR)
        return records(items, prefix=self.prefix)


def records(leases: Iterable[Mapping[str, Any]], *, prefix: str) -> list[LeaseRecord]:
    """Our speakers' Leases (labelled, named ``<prefix>-<node>``) as ``LeaseRecord`` s;
    foreign or broken ones are skipped."""
    key, value = SPEAKER_LEASE_LABEL
    out = []
    for lease in leases:
        meta = lease.get("metadata") or {}
        spec = lease.get("spec") or {}
        name = str(meta.get("name") or "")
        if not name.startswith(f"{prefix}-") or (meta.get("labels") or {}).get(key) != value:
            continue
        node = spec.get("holderIdentity") or name[len(prefix) + 1 :]
        token = meta.get("resourceVersion") or spec.get("renewTime")
        duration = spec.get("leaseDurationSeconds")
        if not token or not isinstance(duration, int | float) or isinstance(duration, bool):
            continue
        out.append(LeaseRecord(node=str(node), token=str(token), duration=float(duration)))
    return out
