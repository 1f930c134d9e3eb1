"""Label maps, label selectors and tolerations, validated as the API server would.

Selectors are kept as ``LabelSelector`` values (not resolved to node or namespace sets
here): the snapshot changes when a Node is relabelled, and the consumers re-evaluate them
against the current labels. Duplicate selectors in one list are errors, as in MetalLB
(``validateLabelSelectorDuplicate``); two selectors are duplicates when they render to the
same selector string.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from orchestrator.core.model.errors import Errors, quote
from orchestrator.core.model.selectors import LabelSelector, Operator, Requirement
from orchestrator.core.parse.fields import Fields, as_fields

_LABEL_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_TOLERATION_OPERATORS = ("Exists", "Equal")
_TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


def label_key_problem(key: str) -> str | None:
    prefix, slash, name = key.rpartition("/")
    if slash and (len(prefix) > 253 or not _DNS_SUBDOMAIN.fullmatch(prefix)):
        return f"{quote(key)}: the prefix must be a DNS subdomain"
    if not name or len(name) > 63 or not _LABEL_NAME.fullmatch(name):
        return f"{quote(key)} is not a valid label key"
    return None


def label_value_problem(value: str) -> str | None:
    if value and (len(value) > 63 or not _LABEL_NAME.fullmatch(value)):
        return f"{quote(value)} is not a valid label value"
    return None


def label_map(fields: Fields, key: str) -> dict[str, str]:
    """A map of label key to value (metadata.labels, nodeSelector, matchLabels)."""
    out = fields.string_map(key)
    base = fields.at(key)
    for k, v in out.items():
        problem = label_key_problem(k) or label_value_problem(v)
        if problem:
            fields.errs.add(f"{base}[{k}]", problem)
    return out


def label_selector(errs: Errors, path: str, value: object) -> LabelSelector | None:
    """``{matchLabels, matchExpressions}``; None (with errors recorded) when invalid."""
    sel = as_fields(errs, path, value)
    if sel is None:
        return None
    before = errs.count
    sel.only(("matchLabels", "matchExpressions"))
    labels = label_map(sel, "matchLabels")
    reqs: list[Requirement] = []
    seen: set[str] = set()
    for epath, item in sel.elements("matchExpressions"):
        req = _requirement(errs, epath, item)
        if req is None:
            continue
        text = str(LabelSelector(match_expressions=(req,)))
        if text in seen:
            errs.add(epath, f"duplicate expression {quote(text)}")
            continue
        seen.add(text)
        reqs.append(req)
    if errs.count > before:
        return None
    return LabelSelector(match_labels=labels, match_expressions=tuple(reqs))


def _requirement(errs: Errors, path: str, value: object) -> Requirement | None:
    expr = as_fields(errs, path, value)
    if expr is None:
        return None
    expr.only(("key", "operator", "values"))
    key = expr.text("key", required=True)
    op_text = expr.text("operator", required=True)
    values = [v for _, v in expr.texts("values")]
    if key is not None and (problem := label_key_problem(key)):
        errs.add(expr.at("key"), problem)
        key = None
    op: Operator | None = None
    if op_text is not None:
        try:
            op = Operator(op_text)
        except ValueError:
            errs.add(
                expr.at("operator"), f"{quote(op_text)} is not In, NotIn, Exists or DoesNotExist"
            )
    if op in (Operator.IN, Operator.NOT_IN) and not values:
        errs.add(expr.at("values"), f"must not be empty for operator {op}")
        return None
    if op in (Operator.EXISTS, Operator.DOES_NOT_EXIST) and values:
        errs.add(expr.at("values"), f"must be empty for operator {op}")
        return None
    if key is None or op is None:
        return None
    return Requirement(key, op, tuple(sorted(values)))


def selector_list(fields: Fields, key: str) -> tuple[LabelSelector, ...]:
    """A list of label selectors (OR); duplicates are errors."""
    out: list[LabelSelector] = []
    seen: dict[str, str] = {}
    for path, item in fields.elements(key):
        sel = label_selector(fields.errs, path, item)
        if sel is None:
            continue
        text = str(sel)
        if text in seen:
            fields.errs.add(path, f"duplicate selector {quote(text)} (same as {seen[text]})")
            continue
        seen[text] = path
        out.append(sel)
    return tuple(out)


def tolerations(fields: Fields, key: str) -> tuple[Mapping[str, object], ...]:
    """Pod tolerations, checked for shape and kept as plain mappings for the chart."""
    out: list[Mapping[str, object]] = []
    for path, item in fields.elements(key):
        tol = as_fields(fields.errs, path, item)
        if tol is None:
            continue
        before = fields.errs.count
        tol.only(("key", "operator", "value", "effect", "tolerationSeconds"))
        tol.text("key")
        op = tol.text("operator")
        tol.text("value")
        effect = tol.text("effect")
        tol.number("tolerationSeconds", lo=-(2**63), hi=2**63 - 1)
        if op is not None and op not in _TOLERATION_OPERATORS:
            fields.errs.add(tol.at("operator"), f"{quote(op)} is not Exists or Equal")
        if effect is not None and effect not in _TAINT_EFFECTS:
            fields.errs.add(
                tol.at("effect"),
                f"{quote(effect)} is not NoSchedule, PreferNoSchedule or NoExecute",
            )
        if op == "Exists" and tol.text("value"):
            fields.errs.add(tol.at("value"), "must be empty when operator is Exists")
        if fields.errs.count == before:
            out.append(dict(tol.raw))
    return tuple(out)
