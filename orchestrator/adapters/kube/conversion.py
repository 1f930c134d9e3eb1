"""BGPPeer ``metallb.io/v1beta1`` <-> ``v1beta2``: the CRD's conversion webhook.

MetalLB still serves its deprecated ``v1beta1`` BGPPeer and stores ``v1beta2``; manifests
written for it must apply here unchanged (``docs/crds.md``). The two versions differ in one
type only: ``v1beta1.nodeSelectors`` is MetalLB's own ``NodeSelector`` struct, ``v1beta2``
the standard ``LabelSelector``; both are ``matchLabels`` plus ``matchExpressions`` of
``key``/``operator``/``values`` on the wire. The fields added after ``v1beta1`` are kept in
our ``v1beta1`` schema too, so a round trip loses nothing (the API server requires that of a
conversion: it may convert a stored object down and back up at will).

So a conversion rebuilds each node selector from the parts both types have (anything else
in it — there is nothing else in either type — is dropped, not passed through) and sets the
new ``apiVersion``; everything else is the object as it was. ``review`` answers an
``apiextensions.k8s.io/v1`` ConversionReview; an object it cannot convert fails the whole
review with a message naming it, as the API server expects.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

GROUP = "metallb.io"
VERSIONS = ("v1beta1", "v1beta2")


class ConversionError(ValueError):
    pass


def _selector(raw: object, where: str) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise ConversionError(f"{where}: must be an object")
    out: dict[str, Any] = {}
    if raw.get("matchLabels") is not None:
        out["matchLabels"] = raw["matchLabels"]
    expressions = raw.get("matchExpressions")
    if expressions is not None:
        if not isinstance(expressions, list):
            raise ConversionError(f"{where}.matchExpressions: must be a list")
        out["matchExpressions"] = [
            {k: e[k] for k in ("key", "operator", "values") if k in e}
            if isinstance(e, Mapping)
            else e
            for e in expressions
        ]
    return out


def convert(obj: Mapping[str, Any], desired: str) -> dict[str, Any]:
    """``obj`` (a BGPPeer of either version) as ``desired`` (``metallb.io/v1beta1|2``)."""
    group, _, version = desired.rpartition("/")
    if group != GROUP or version not in VERSIONS:
        raise ConversionError(f"cannot convert BGPPeer to {desired}")
    if obj.get("kind") != "BGPPeer":
        raise ConversionError(f"cannot convert {obj.get('kind')!r}, only BGPPeer")
    out = dict(obj)
    out["apiVersion"] = desired
    spec = obj.get("spec")
    if isinstance(spec, Mapping) and spec.get("nodeSelectors") is not None:
        selectors = spec["nodeSelectors"]
        if not isinstance(selectors, list):
            raise ConversionError("spec.nodeSelectors: must be a list")
        out["spec"] = {
            **spec,
            "nodeSelectors": [
                _selector(s, f"spec.nodeSelectors[{i}]") for i, s in enumerate(selectors)
            ],
        }
    return out


def review(body: Mapping[str, Any]) -> dict[str, Any]:
    """The ConversionReview response to one ConversionReview request."""
    request = body.get("request") or {}
    uid = str(request.get("uid", ""))
    desired = str(request.get("desiredAPIVersion", ""))
    converted: list[dict[str, Any]] = []
    result: dict[str, Any] = {"status": "Success"}
    try:
        for obj in request.get("objects") or []:
            if not isinstance(obj, Mapping):
                raise ConversionError("an object in the review is not an object")
            try:
                converted.append(convert(obj, desired))
            except ConversionError as e:
                name = (obj.get("metadata") or {}).get("name", "?")
                raise ConversionError(f"BGPPeer/{name}: {e}") from e
    except ConversionError as e:
        converted = []
        result = {"status": "Failure", "message": str(e)}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "ConversionReview",
        "response": {"uid": uid, "convertedObjects": converted, "result": result},
    }
