"""One isolation rule for both snapshot sources: a bad object is left out, never the rest.

``isolate(documents, last_good)`` parses the documents and decides, object by object, which
version of each configuration object runs (docs/design.md §2, §16):

1. an object without errors runs as it is now, and becomes its own last good version;
2. an object with errors that had a last good version (valid in an earlier pass) runs on
   that version, *held*: its pools keep every IP they hold and give out no new one
   (``AddressPool.held``), and its current errors are reported with a warning saying so;
3. an object with errors and no last good version (first start, or new) is left out with
   its errors; objects depending on it are left out too, naming it (``crosscheck``);
4. conflicts between objects valid alone leave out the junior one: the one not in
   ``last_good``, then the younger, then by name (``drafts.seniority``), so an object that
   has been serving is never displaced by one added or fixed later;
5. documents of an *unreadable* origin (a Secret that cannot be decoded: ``unreadable``
   holds the part of a source before ``#``) keep their last good versions, held;
6. a Service whose recorded state we wrote cannot be read (an ingress IP that is no IP,
   a damaged home-node annotation) keeps the state of its last clean read
   (``last_states``), reported: dropped, it made every speaker withdraw or move the
   Service's IPs while the controller was down. The controller then rewrites the record.

Only configuration kinds are held (``KEPT_KINDS``); Services, EndpointSlices, Nodes and
Namespaces are facts and always read as they are (a Service's own errors never touch its
status IPs: the parser keeps it). Step 2 can make another object valid again (an
advertisement naming the held pool), so the parse repeats until no more object turns to
its last good version; each object turns at most once, so that ends.

Pure: the caller keeps ``Isolated.last_good`` and passes it back next time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from orchestrator.core.model.cluster import Annotation, ClusterSnapshot, Service, ServiceState
from orchestrator.core.model.errors import FieldError, Severity
from orchestrator.core.parse.documents import ref_of
from orchestrator.core.parse.leaves import ParseMemo
from orchestrator.core.parse.service_request import annotation_path
from orchestrator.core.parse.snapshot import CONFIG_KINDS, expand, parse_snapshot

Document = tuple[str, Mapping[str, Any]]

#: Kinds whose last good version stands in for an invalid current one.
KEPT_KINDS = frozenset({kind for kind, _, _ in CONFIG_KINDS} | {"Community"})

HELD = (
    "its last good version stays in use until this is fixed (the IPs it holds stay, "
    "no new IP is taken from it)"
)


@dataclass(frozen=True)
class Isolated:
    """What runs, and what to pass back as ``last_good`` next time."""

    snapshot: ClusterSnapshot
    #: ``Kind/name`` -> the document version to fall back on.
    last_good: Mapping[str, Document] = field(default_factory=dict)
    #: Objects running on their last good version.
    held: frozenset[str] = frozenset()
    #: Configuration objects with errors and no usable version: not in the snapshot.
    left_out: frozenset[str] = frozenset()
    #: ``namespace/name`` -> the Service's recorded state as last read cleanly.
    states: Mapping[str, ServiceState] = field(default_factory=dict)


#: Paths of a Service whose warnings mean the state we recorded is damaged.
_HOMES = annotation_path(Annotation.HOMES)
STATE_KEPT = "cannot be read; the Service's last good recorded state is kept"


def _damaged_state(problem: FieldError) -> bool:
    return (
        problem.severity is Severity.WARNING
        and problem.obj.startswith("Service/")
        and (problem.path.startswith("status.loadBalancer.ingress") or problem.path == _HOMES)
    )


def keep_states(
    services: Sequence[Service],
    problems: Sequence[FieldError],
    last_states: Mapping[str, ServiceState],
) -> tuple[list[Service], dict[str, ServiceState], list[FieldError]]:
    """Services with a damaged recorded state get their last clean one back (rule 6)."""
    damaged = {p.obj for p in problems if _damaged_state(p)}
    out: list[Service] = []
    states: dict[str, ServiceState] = {}
    notes: list[FieldError] = []
    for service in services:
        ref = f"Service/{service.key}"
        if ref in damaged and service.key in last_states:
            service = replace(service, state=last_states[service.key])
            notes.append(FieldError(ref, "", STATE_KEPT, Severity.WARNING))
        if ref not in damaged or service.key in last_states:
            states[service.key] = service.state
        out.append(service)
    return out, states, notes


def origin(source: str) -> str:
    """The file (or Secret key) a source names: ``pools.yaml#2`` -> ``pools.yaml``."""
    head, sep, _ = source.rpartition("#")
    return head if sep else source


def _kept_ref(raw: object) -> str | None:
    if not isinstance(raw, Mapping) or raw.get("kind") not in KEPT_KINDS:
        return None
    return ref_of(raw)


def _errors_by_object(problems: Iterable[FieldError]) -> dict[str, list[FieldError]]:
    out: dict[str, list[FieldError]] = {}
    for p in problems:
        if p.severity is Severity.ERROR:
            out.setdefault(p.obj, []).append(p)
    return out


def isolate(
    documents: Sequence[Document],
    last_good: Mapping[str, Document] | None = None,
    *,
    unreadable: frozenset[str] = frozenset(),
    memo: ParseMemo | None = None,
    last_states: Mapping[str, ServiceState] | None = None,
) -> Isolated:
    """Parse ``documents`` under the isolation rule (module docstring)."""
    previous = dict(last_good or {})
    work: list[Document] = []
    index: dict[str, int] = {}  # ref -> position of its first document in ``work``
    for source, raw in expand(documents):
        ref = _kept_ref(raw)
        if ref is not None and ref not in index:
            index[ref] = len(work)
        work.append((source, raw))  # type: ignore[arg-type]  # parse reports non-mappings
    notes: dict[str, list[FieldError]] = {}
    for ref, doc in sorted(previous.items()):
        if ref not in index and origin(doc[0]) in unreadable:
            index[ref] = len(work)
            work.append(doc)
            reason = f"{origin(doc[0])} cannot be read; {HELD}"
            notes[ref] = [FieldError(ref, "", reason, Severity.WARNING)]
    current = {ref: work[i] for ref, i in index.items()}
    serving = frozenset(previous)
    swapped: dict[str, list[FieldError]] = {}
    snapshot = None
    for _ in range(len(index) + 1):
        held = frozenset(notes) | frozenset(swapped)
        snapshot = parse_snapshot(work, memo, serving=serving, held=held)
        failing = _errors_by_object(snapshot.problems)
        turn = [
            ref
            for ref in sorted(failing)
            if ref in index
            and ref not in swapped
            and ref not in notes
            and ref in previous
            and previous[ref][1] != current[ref][1]
        ]
        if not turn:
            break
        for ref in turn:
            swapped[ref] = failing[ref]
            work[index[ref]] = previous[ref]
    assert snapshot is not None
    failing = _errors_by_object(snapshot.problems)
    problems = [p for p in snapshot.problems if p.obj not in swapped or p.obj in failing]
    for ref, errors in swapped.items():
        problems.extend(errors)
        if ref not in failing:
            problems.append(FieldError(ref, "", HELD, Severity.WARNING))
    for extra in notes.values():
        problems.extend(extra)
    good: dict[str, Document] = {}
    for ref, doc in current.items():
        if ref in swapped or ref in notes:
            good[ref] = previous[ref]
        elif ref not in failing:
            good[ref] = doc
    services, states, kept = keep_states(snapshot.services, problems, last_states or {})
    problems.extend(kept)
    unique = sorted(
        set(problems), key=lambda e: (e.obj, e.path, e.severity != Severity.ERROR, e.message)
    )
    return Isolated(
        snapshot=replace(snapshot, problems=tuple(unique), services=tuple(services)),
        states=states,
        last_good=good,
        held=frozenset(r for r in (*swapped, *notes) if r not in failing),
        left_out=frozenset(r for r in index if r in failing),
    )
