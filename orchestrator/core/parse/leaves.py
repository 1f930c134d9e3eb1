"""Services and EndpointSlices: parsed each on its own, and reused while unchanged.

These two kinds depend on nothing else (no pool, class or Secret is looked up while parsing
them), and in a large cluster they are nearly every object: 10,000 Services with their
slices took ~0.7 s to parse, and every Service or endpoint change anywhere triggered a whole
parse in the controller and in every speaker. A ``ParseMemo`` keeps the last parse's
``Leaf`` per source and hands it back while the caller passes *the very same object*
(``is``, not ``==``, which would cost as much as parsing). The caller promises never to
mutate an object it passed; the Kubernetes informer replaces an object on every change, so
a changed Service is a new object and is parsed again. Only the last call's leaves are
kept, so memory follows the cluster, not its history.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from orchestrator.core.model.cluster import EndpointSlice, Service
from orchestrator.core.model.errors import FieldError
from orchestrator.core.parse.cluster import parse_endpoint_slice
from orchestrator.core.parse.documents import Doc, read_document
from orchestrator.core.parse.fields import is_mapping
from orchestrator.core.parse.services import parse_service

LEAF_KINDS = frozenset({"Service", "EndpointSlice"})


@dataclass(frozen=True)
class Leaf:
    """One Service or EndpointSlice document, parsed, with the problems it raised."""

    raw: object  # the object parsed: its identity is the memo's key
    doc: Doc | None  # None: not identified (``read`` says why), or not ours
    read: tuple[FieldError, ...]  # identity problems: always reported
    parsed: tuple[FieldError, ...]  # its own fields' problems: not for a duplicate
    service: Service | None = None
    endpoint_slice: EndpointSlice | None = None


def is_leaf(raw: object) -> bool:
    return is_mapping(raw) and raw.get("kind") in LEAF_KINDS


def parse_leaf(source: str, raw: Mapping[str, object]) -> Leaf:
    problems: list[FieldError] = []
    found = read_document(source, raw, problems)
    if found is None:
        return Leaf(raw, None, tuple(problems), ())
    doc, errs = found
    read = len(problems)
    if doc.kind == "Service":
        service, endpoint_slice = parse_service(doc, errs), None
    else:
        service, endpoint_slice = None, parse_endpoint_slice(doc, errs)
    return Leaf(raw, doc, tuple(problems[:read]), tuple(problems[read:]), service, endpoint_slice)


class ParseMemo:
    """The leaves of the last parse, by source (see the module docstring)."""

    def __init__(self) -> None:
        self._leaves: dict[str, Leaf] = {}
        self._next: dict[str, Leaf] = {}
        self.hits = 0  # leaves reused (cumulative): for tests and benchmarks
        self.misses = 0

    def leaf(self, source: str, raw: Mapping[str, object]) -> Leaf:
        old = self._leaves.get(source)
        if old is not None and old.raw is raw:
            self.hits += 1
            leaf = old
        else:
            self.misses += 1
            leaf = parse_leaf(source, raw)
        self._next[source] = leaf
        return leaf

    def done(self) -> None:
        """End of one parse: forget the leaves it did not ask for."""
        self._leaves, self._next = self._next, {}
