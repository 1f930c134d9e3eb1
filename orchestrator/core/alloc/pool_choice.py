"""Which plain pools a class-less Service may use, and in what order (MetalLB's ``Allocate``).

Compatibility (``isPoolCompatibleWithService``): a pool without ``serviceAllocation`` takes
every Service. With one, the Service's namespace must be listed in ``namespaces`` or match one
of ``namespaceSelectors`` (when either is given), **and** its labels must match one of
``serviceSelectors`` (when given). Namespace selectors are evaluated against the Namespace
labels in the snapshot (plus ``kubernetes.io/metadata.name``, which the API server sets on
every Namespace). Unlike MetalLB, a pool whose namespace selectors match no Namespace is
closed, not open to all: MetalLB merges the matches into one list and an empty list there
means "no restriction", which turns a typo into a pool for everybody.

Order for automatic allocation:

1. **pinned** pools, those with ``serviceAllocation`` compatible with the Service and
   ``autoAssign: true``, by priority ascending with 0 (unset) last, ties by name;
2. every ``autoAssign: true`` pool **without** ``serviceAllocation``, by name. MetalLB walks a
   Go map here, so its order is random; by name it is reproducible.

Class pools (``PoolKind.CLASS``) never appear: they belong to their MetalLoadBalancerClass.
Compatibility depends only on the namespace and (if any pool has service selectors) the
labels, so candidate lists are cached per such key for the reconcile.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from orchestrator.core.model.cluster import AddressPool, Namespace, PoolKind, Service

METADATA_NAME = "kubernetes.io/metadata.name"


def namespace_labels(name: str, namespaces: Mapping[str, Namespace]) -> Mapping[str, str]:
    ns = namespaces.get(name)
    labels = dict(ns.labels) if ns is not None else {}
    labels.setdefault(METADATA_NAME, name)
    return labels


def pool_allows(
    pool: AddressPool, service: Service, namespaces: Mapping[str, Namespace]
) -> str | None:
    """Why the pool's ``serviceAllocation`` refuses the Service; None if it accepts it."""
    alloc = pool.allocation
    if alloc is None:
        return None
    if alloc.namespaces or alloc.namespace_selectors:
        listed = service.namespace in alloc.namespaces
        if not listed and alloc.namespace_selectors:
            labels = namespace_labels(service.namespace, namespaces)
            listed = any(s.matches(labels) for s in alloc.namespace_selectors)
        if not listed:
            return (
                f"pool {pool.name} serves only selected namespaces, "
                f"not {service.namespace} (serviceAllocation)"
            )
    if alloc.service_selectors and not any(
        s.matches(service.labels) for s in alloc.service_selectors
    ):
        return f"pool {pool.name} serves only Services matching its serviceSelectors"
    return None


def _priority_key(pool: AddressPool) -> tuple[bool, int, str]:
    priority = pool.allocation.priority if pool.allocation is not None else 0
    return (priority == 0, priority, pool.name)


class PoolChooser:
    """Candidate plain pools per Service, for one reconcile."""

    __slots__ = ("_cache", "_labels_matter", "_namespaces", "_pinned", "_unpinned")

    def __init__(self, pools: Iterable[AddressPool], namespaces: Mapping[str, Namespace]) -> None:
        plain = [p for p in pools if p.kind is not PoolKind.CLASS and p.auto_assign]
        self._pinned = sorted((p for p in plain if p.allocation is not None), key=_priority_key)
        self._unpinned = tuple(
            sorted((p for p in plain if p.allocation is None), key=lambda p: p.name)
        )
        self._labels_matter = any(
            p.allocation is not None and p.allocation.service_selectors for p in self._pinned
        )
        self._namespaces = namespaces
        self._cache: dict[tuple[str, frozenset[tuple[str, str]]], tuple[AddressPool, ...]] = {}

    def candidates(self, service: Service) -> tuple[AddressPool, ...]:
        labels = frozenset(service.labels.items()) if self._labels_matter else frozenset()
        key = (service.namespace, labels)
        found = self._cache.get(key)
        if found is None:
            pinned = tuple(
                p for p in self._pinned if pool_allows(p, service, self._namespaces) is None
            )
            found = self._cache[key] = pinned + self._unpinned
        return found
