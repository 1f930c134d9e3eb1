"""Parsing and validation of Kubernetes manifests into the core model.

``parse_snapshot(docs)`` takes ``(source, mapping)`` pairs, as the file adapter or the
Kubernetes adapter produce them, and returns a ``ClusterSnapshot``. It never raises on bad
input: every problem becomes a ``FieldError`` in ``snapshot.problems``, naming the object
and the field path, and all of them are reported at once.

One module per concept: ``documents`` (identity, kinds), ``fields`` (typed reads),
``names``/``labels``/``durations``/``communities`` (value grammars), one module per kind
family (``pools``, ``classes``, ``advertisements``, ``peers``, ``bfd``, ``moduleconfig``,
``services``/``service_request``, ``cluster``, ``secrets``), ``crosscheck`` for rules that
span objects, and ``snapshot`` tying them together. See ``docs/manifests.md`` for the user
view of every rule.
"""

from orchestrator.core.parse.leaves import ParseMemo
from orchestrator.core.parse.snapshot import parse_snapshot

__all__ = ["ParseMemo", "parse_snapshot"]
