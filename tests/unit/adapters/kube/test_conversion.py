"""BGPPeer v1beta1 <-> v1beta2: lossless both ways, a ConversionReview answered."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.adapters.kube.conversion import ConversionError, convert, review

PEER: dict[str, Any] = {
    "apiVersion": "metallb.io/v1beta1",
    "kind": "BGPPeer",
    "metadata": {"name": "r", "namespace": "metallb-system"},
    "spec": {
        "myASN": 64512,
        "peerASN": 64513,
        "peerAddress": "192.0.2.1",
        "nodeSelectors": [
            {
                "matchLabels": {"rack": "a"},
                "matchExpressions": [{"key": "zone", "operator": "In", "values": ["z1"]}],
            }
        ],
    },
}


def test_round_trip_is_lossless() -> None:
    up = convert(PEER, "metallb.io/v1beta2")
    assert up["apiVersion"] == "metallb.io/v1beta2"
    assert up["spec"] == PEER["spec"]
    assert convert(up, "metallb.io/v1beta1") == PEER


def test_selector_keeps_only_the_fields_both_types_have() -> None:
    odd = {**PEER, "spec": {**PEER["spec"], "nodeSelectors": [{"matchLabels": {}, "x": 1}]}}
    assert convert(odd, "metallb.io/v1beta2")["spec"]["nodeSelectors"] == [{"matchLabels": {}}]


def test_unknown_target_fails_the_review() -> None:
    with pytest.raises(ConversionError):
        convert(PEER, "metallb.io/v2")
    body = {"request": {"uid": "u", "desiredAPIVersion": "metallb.io/v9", "objects": [PEER]}}
    out = review(body)["response"]
    assert out["uid"] == "u" and out["result"]["status"] == "Failure"
    assert out["result"]["message"].startswith("BGPPeer/r: ")


def test_review_converts_every_object() -> None:
    body = {
        "request": {"uid": "u", "desiredAPIVersion": "metallb.io/v1beta2", "objects": [PEER, PEER]}
    }
    out = review(body)["response"]
    assert out["result"] == {"status": "Success"}
    assert [o["apiVersion"] for o in out["convertedObjects"]] == ["metallb.io/v1beta2"] * 2
