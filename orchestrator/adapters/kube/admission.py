"""Admission: would ``mlb validate`` accept this object next to what the cluster holds?

``decide(existing, incoming, operation)`` is the whole rule, a pure function: the documents
the controller's informers hold (``KubeSource.documents``), with the incoming object put in
place of its stored version, go through ``isolate`` with no last good version — the very
rule (parse, cross-object checks, which object of a conflict is the junior) that
``mlb validate`` and a freshly started controller apply — and the errors that name the
incoming object are the answer. The API server stamps ``creationTimestamp`` before it
asks, so in a conflict with a stored object the incoming one is the junior and refused.
So the messages are ``mlb validate``'s lines, word for
word, and a pool overlapping a stored pool, or an advertisement naming a pool that does not
exist, is refused with the same line a file check prints. Warnings on the object go back as
admission warnings (``kubectl`` prints them), and never refuse anything.

What is never refused:

- ``DELETE``: removing an object never makes another one unparseable; what then depends on
  a missing object is reported on that object by the controller (Events, conditions).
- Errors on *other* objects: a broken object already stored is not a reason to refuse a
  good one (the controller leaves the broken one out on its own).
- MetalLB objects outside the controller's namespace: the controller never reads them, as
  MetalLB does not; they are admitted with a warning saying so.

``review(body, ...)`` turns an ``admission.k8s.io/v1`` AdmissionReview into its response.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from orchestrator.core.model.errors import FieldError, Severity
from orchestrator.core.parse.documents import KINDS, METALLB, read_document
from orchestrator.core.parse.isolation import isolate

Document = tuple[str, Mapping[str, Any]]

#: Kinds that never bear on whether a config object is valid: left out of the parse, which
#: then costs the config objects only, not every Service of the cluster.
_NOT_CONFIG = frozenset({"Service", "EndpointSlice"})


@dataclass(frozen=True)
class Allowed:
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Denied:
    messages: tuple[str, ...]
    warnings: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        return "\n".join(self.messages)


Decision = Allowed | Denied


def _identity(obj: Mapping[str, Any]) -> tuple[str, str, str]:
    meta = obj.get("metadata") or {}
    if not isinstance(meta, Mapping):
        meta = {}
    return str(obj.get("kind", "")), str(meta.get("namespace") or ""), str(meta.get("name", ""))


def source_of(obj: Mapping[str, Any]) -> str:
    """The document name ``KubeSource`` gives an object: ``Kind/ns/name`` or ``Kind/name``."""
    kind, namespace, name = _identity(obj)
    return f"{kind}/{namespace}/{name}" if namespace else f"{kind}/{name}"


def decide(
    existing: Sequence[Document],
    incoming: Mapping[str, Any],
    operation: str,
    *,
    namespace: str | None = None,
) -> Decision:
    """Admit or refuse ``incoming`` (``CREATE``/``UPDATE``/``DELETE``) given the ``existing``
    documents; ``namespace`` is the controller's (MetalLB objects elsewhere are not read)."""
    if operation == "DELETE":
        return Allowed()
    kind, obj_ns, _ = _identity(incoming)
    info = KINDS.get(kind)
    if info is not None and info.group == METALLB and namespace and obj_ns != namespace:
        return Allowed(
            (f"{kind} outside namespace {namespace} is not read by the controller; ignored",)
        )
    me = _identity(incoming)
    source = source_of(incoming)
    others = [d for d in existing if d[1].get("kind") not in _NOT_CONFIG and _identity(d[1]) != me]
    # the very rule a fresh controller and `mlb validate` apply: same errors, same junior
    snapshot = isolate([*others, (source, incoming)]).snapshot
    found = read_document(source, incoming, [])
    ref = found[0].ref if found is not None else None
    mine = [p for p in snapshot.problems if _names(p, ref, source)]
    errors = tuple(str(p) for p in mine if p.severity is Severity.ERROR)
    warnings = tuple(str(p) for p in mine if p.severity is Severity.WARNING)
    return Denied(errors, warnings) if errors else Allowed(warnings)


def _names(problem: FieldError, ref: str | None, source: str) -> bool:
    """The problem is about the incoming object (by its ref, or its source while nameless)."""
    return problem.obj == ref or problem.obj == source or f"<{source}>" in problem.obj


def review(
    body: Mapping[str, Any], existing: Sequence[Document], *, namespace: str | None
) -> dict[str, Any]:
    """The AdmissionReview response to one AdmissionReview request."""
    request = body.get("request") or {}
    uid = str(request.get("uid", ""))
    operation = str(request.get("operation", ""))
    obj = request.get("object")
    if not isinstance(obj, Mapping):
        obj = request.get("oldObject") or {}
    decision = decide(existing, obj, operation, namespace=namespace)
    response: dict[str, Any] = {"uid": uid, "allowed": isinstance(decision, Allowed)}
    if decision.warnings:
        response["warnings"] = list(decision.warnings)
    if isinstance(decision, Denied):
        response["status"] = {
            "code": 422,
            "reason": "Invalid",
            "message": decision.message,
        }
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "response": response,
    }
