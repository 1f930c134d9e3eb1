"""``admission.decide``: the same lines as ``mlb validate``, against what is stored."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from orchestrator.adapters.kube.admission import Allowed, Denied, decide, review, source_of
from orchestrator.cli.validate import validate

INVALID = Path(__file__).resolve().parents[4] / "examples" / "invalid"
NS = "metallb-system"


def _pool(name: str, *addresses: str, ns: str = NS) -> dict[str, Any]:
    return {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "IPAddressPool",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"addresses": list(addresses)},
    }


def test_every_invalid_example_is_refused_with_the_validate_line() -> None:
    """Applied one by one, as ``kubectl apply -f examples/invalid`` does: every object but
    the first of the overlapping pair is refused, each with ``mlb validate``'s own line."""
    lines = {_sourceless(str(p)) for p in validate(INVALID)}
    stored: list[tuple[str, Any]] = []
    refused: dict[str, tuple[str, ...]] = {}
    for f in sorted(INVALID.glob("*.yaml")):
        for doc in yaml.safe_load_all(f.read_text()):
            d = decide(stored, doc, "CREATE", namespace=NS)
            if isinstance(d, Denied):
                refused[doc["metadata"]["name"]] = d.messages
            else:
                stored.append((source_of(doc), doc))
    assert [d[1]["metadata"]["name"] for d in stored] == ["left"]
    assert set(refused) == {"tagged", "badrange", "short-hold", "bad-password", "no-bfd", "right"}
    for messages in refused.values():
        # every line is one mlb validate prints (the advertisement also names its pool,
        # which the file check finds in the same directory and the cluster does not hold)
        assert [m for m in messages if _sourceless(m) in lines], messages
    assert refused["right"] == (
        'IPAddressPool/right: spec.addresses[0]: "203.0.113.100-203.0.113.200" overlaps '
        '"203.0.113.0/25" of IPAddressPool/left; IPAddressPool/left '
        "(IPAddressPool/metallb-system/left) keeps serving (the senior: valid before, else "
        "older, else first by name); this one is left out",
    )


def _sourceless(line: str) -> str:
    """A line without the senior's origin: a file and line in a directory, the object's
    kind, namespace and name in a cluster; the rest is the same words."""
    return re.sub(r" \([^()]*\) keeps serving", " keeps serving", line)


def test_update_replaces_the_stored_version() -> None:
    old = _pool("a", "192.0.2.0/28")
    new = _pool("a", "192.0.2.0/27")
    assert isinstance(decide([(source_of(old), old)], new, "UPDATE", namespace=NS), Allowed)


def test_errors_of_other_objects_do_not_refuse() -> None:
    broken = _pool("broken", "192.0.2.300")
    assert isinstance(
        decide([(source_of(broken), broken)], _pool("ok", "198.51.100.0/28"), "CREATE"), Allowed
    )


def test_delete_and_other_namespaces_are_admitted() -> None:
    bad = _pool("x", "nope")
    assert decide([], bad, "DELETE") == Allowed()
    d = decide([], _pool("x", "nope", ns="elsewhere"), "CREATE", namespace=NS)
    assert isinstance(d, Allowed) and "not read by the controller" in d.warnings[0]
    assert isinstance(decide([], bad, "CREATE", namespace=NS), Denied)


def test_review_shape() -> None:
    body = {"request": {"uid": "u1", "operation": "CREATE", "object": _pool("x", "nope")}}
    out = review(body, [], namespace=NS)
    assert out["kind"] == "AdmissionReview" and out["response"]["uid"] == "u1"
    assert out["response"]["allowed"] is False
    assert out["response"]["status"]["message"].startswith("IPAddressPool/x: spec.addresses[0]")
    ok = {"request": {"uid": "u2", "operation": "CREATE", "object": _pool("y", "192.0.2.1")}}
    assert review(ok, [], namespace=NS)["response"] == {"uid": "u2", "allowed": True}
