"""``crd_conditions``: the InUse condition of every Deckhouse CRD object, with its reason.

Matrix: pool announced / NotAnnounced (no configuration) / announced through a label
selector; peer InUse with its session nodes / NotReferenced / ReferrerInvalid / NoNodes;
configuration NoPeers / NoNodes; L2LoadBalancer InUse / NoNodes; Invalid with the first
error (and the count of the others); an object held at its last good version
(``core.parse.isolation``) says its last good version stays in use.
"""

from __future__ import annotations

from orchestrator.core.model.errors import FieldError
from orchestrator.core.parse.isolation import isolate
from orchestrator.core.status.crd_usage import crd_conditions
from tests.unit.core.parse.parse_support import bgpadv, snap
from tests.unit.core.parse.test_parse_deckhouse_v3 import config, dh, mlbbp, mlbp, node


def reasons(s: object) -> dict[str, tuple[str, str, str]]:
    return {ref: (c.status, c.reason, c.message) for ref, c in crd_conditions(s).items()}  # type: ignore[arg-type]


def test_reasons_of_pools_peers_and_configurations() -> None:
    s = snap(
        node("n1", edge=""),
        mlbp("announced", "203.0.113.0/28"),
        mlbp("quiet", "203.0.113.16/28"),
        mlbbp("r1"),
        mlbbp("spare", peerAddress="198.51.100.9"),
        mlbbp("far", peerAddress="198.51.100.8"),
        config("edge", ["r1"], {"poolNames": ["announced"]}, nodeSelector={"edge": ""}),
        config("nowhere", ["far"], nodeSelector={"zone": "mars"}),
        config("empty", []),
    )
    got = reasons(s)
    assert got["MetalLoadBalancerPool/announced"] == (
        "True",
        "InUse",
        "announced by BGPAdvertisement edge-adv-0",
    )
    assert got["MetalLoadBalancerPool/quiet"][:2] == ("False", "NotAnnounced")
    assert got["MetalLoadBalancerBGPPeer/r1"] == ("True", "InUse", "sessions from nodes n1")
    assert got["MetalLoadBalancerBGPPeer/spare"][:2] == ("False", "NotReferenced")
    assert got["MetalLoadBalancerBGPPeer/far"][:2] == ("False", "NoNodes")
    assert got["MetalLoadBalancerConfiguration/nowhere"][:2] == ("False", "NoNodes")
    assert got["MetalLoadBalancerConfiguration/empty"][:2] == ("False", "NoPeers")
    assert got["MetalLoadBalancerConfiguration/edge"] == (
        "True",
        "InUse",
        "1 sessions (r1-edge) from nodes n1",
    )


def test_invalid_referrer_selector_and_l2_load_balancer() -> None:
    s = snap(
        node("n1", role="lb"),
        mlbp("labelled", "203.0.113.0/28"),
        bgpadv("all-labelled", ipAddressPoolSelectors=[{"matchLabels": {"x": "y"}}]),
        mlbbp("r1"),
        config("bad", ["r1", "ghost"]),
        dh("MetalLoadBalancerPool", "broken", {"addresses": ["nope", "also-nope"]}),
        dh(
            "L2LoadBalancer",
            "lb",
            {"addressPool": ["192.0.2.0/28"], "nodeSelector": {"role": "lb"}},
        ),
        dh(
            "L2LoadBalancer",
            "idle",
            {"addressPool": ["192.0.2.16/28"], "nodeSelector": {"role": "x"}},
        ),
    )
    got = reasons(s)
    assert got["MetalLoadBalancerBGPPeer/r1"][:2] == ("False", "ReferrerInvalid")
    assert got["MetalLoadBalancerConfiguration/bad"][1] == "Invalid"
    status, reason, message = got["MetalLoadBalancerPool/broken"]
    assert (status, reason) == ("False", "Invalid")
    assert message.startswith('spec.addresses[0]: "nope"') and message.endswith(
        "(and 1 more errors)"
    )
    assert got["MetalLoadBalancerPool/labelled"][1] == "NotAnnounced"  # no labels: no match
    assert got["L2LoadBalancer/lb"] == ("True", "InUse", "announced from nodes n1")
    assert got["L2LoadBalancer/idle"][:2] == ("False", "NoNodes")


def test_an_object_held_at_its_last_good_version_says_so() -> None:
    good = isolate([("t.yaml#1", mlbp("public", "203.0.113.0/28"))])
    broken = isolate([("t.yaml#1", mlbp("public", "203.0.113.300/28"))], good.last_good)
    c = crd_conditions(broken.snapshot)["MetalLoadBalancerPool/public"]
    assert (c.status, c.reason) == ("False", "Invalid")
    assert c.message.startswith('spec.addresses[0]: "203.0.113.300/28"')
    assert c.message.endswith("; its last good version stays in use")
    # with no last good version (first start) it is simply left out
    first = isolate([("t.yaml#1", mlbp("public", "203.0.113.300/28"))])
    assert not crd_conditions(first.snapshot)["MetalLoadBalancerPool/public"].message.endswith(
        "stays in use"
    )
    new = [FieldError("MetalLoadBalancerBGPPeer/new", "spec.myASN", "is required")]
    s = good.snapshot
    assert (
        crd_conditions(s, new)["MetalLoadBalancerBGPPeer/new"].message == "spec.myASN: is required"
    )
