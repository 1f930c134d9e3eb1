"""Deckhouse ModuleConfig-v3 kinds: MetalLoadBalancerPool, -BGPPeer, -Configuration.

Matrix: pool fields and defaults; a configuration turning each named peer into one BGPPeer
per sourceAddresses node (hostname selector, that source) plus one for the configuration's
other nodes (nodeSelector + NotIn those nodes); the same peer in two configurations makes
its node session once; password from a labelled Secret (never in a message), unlabelled
Secret or missing key an error; BFD profile per peer; holdTime pattern and timer rules;
advertisements per entry with communities (none ignored), localPref, aggregation length;
unknown peer or pool an error on the configuration; no peers = no advertisements, with a
warning; a broken peer takes its sessions out.
"""

from __future__ import annotations

from ipaddress import ip_address
from typing import Any

from orchestrator.core.model.cluster import PoolKind, Protocol
from orchestrator.core.model.selectors import Operator
from tests.unit.core.parse.parse_support import errors, snap, warnings

LABEL = {"network.deckhouse.io/metallb-bgp-password": "true"}


def dh(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "network.deckhouse.io/v1alpha1",
        "kind": kind,
        "metadata": {"name": name},
        "spec": spec,
    }


def mlbp(name: str, *addresses: str, **spec: Any) -> dict[str, Any]:
    return dh("MetalLoadBalancerPool", name, {"addresses": list(addresses), **spec})


def mlbbp(name: str, **spec: Any) -> dict[str, Any]:
    base = {"peerAddress": "198.51.100.1", "peerASN": 64512, "myASN": 64513}
    return dh("MetalLoadBalancerBGPPeer", name, {**base, **spec})


def config(name: str, peers: list[str], *ads: dict[str, Any], **spec: Any) -> dict[str, Any]:
    body = {"mode": "BGP", "bgp": {"peerNames": peers}, "advertisements": list(ads), **spec}
    return dh("MetalLoadBalancerConfiguration", name, body)


def secret(name: str, labels: dict[str, str] | None = None, **body: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "d8-metallb"}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta, **body}


def node(name: str, **labels: str) -> dict[str, Any]:
    meta = {"name": name, "labels": {"kubernetes.io/hostname": name, **labels}}
    return {"apiVersion": "v1", "kind": "Node", "metadata": meta}


def test_pool_fields_and_defaults() -> None:
    s = snap(mlbp("a", "203.0.113.0/28"), mlbp("b", "203.0.113.16-203.0.113.31", autoAssign=False))
    assert errors(s) == []
    a, b = s.config.pools["a"], s.config.pools["b"]
    assert a.kind is PoolKind.MLBP and a.protocol is Protocol.BGP
    assert (a.auto_assign, a.avoid_buggy_ips, b.auto_assign) == (True, False, False)
    assert [str(c) for c in b.cidrs] == ["203.0.113.16/28"]
    bad = snap(mlbp("c"))
    assert errors(bad) == ["MetalLoadBalancerPool/c: spec.addresses: must not be empty"]


def test_configuration_makes_per_node_and_fallback_sessions() -> None:
    s = snap(
        node("n1", edge=""),
        node("n2", edge=""),
        mlbp("public", "203.0.113.0/28"),
        mlbbp("r1", sourceAddresses=[{"nodeName": "n1", "address": "198.51.100.111"}]),
        mlbbp("r2", peerAddress="198.51.100.2", peerPort=1179, holdTime="1m"),
        config(
            "edge",
            ["r1", "r2"],
            {"poolNames": ["public"], "bgp": {"localPref": 150, "communities": ["1:2", "none"]}},
            nodeSelector={"edge": ""},
        ),
    )
    assert errors(s) == [] and warnings(s) == []
    peers = {p.name: p for p in s.config.bgp_peers}
    assert sorted(peers) == ["r1-edge", "r1-node-n1", "r2-edge"]
    per_node = peers["r1-node-n1"]
    assert per_node.source_address == ip_address("198.51.100.111")
    assert per_node.node_selectors[0].match_labels == {"kubernetes.io/hostname": "n1"}
    fallback = peers["r1-edge"].node_selectors[0]
    assert fallback.match_labels == {"edge": ""}
    (rule,) = fallback.match_expressions
    assert (rule.key, rule.operator, rule.values) == (
        "kubernetes.io/hostname",
        Operator.NOT_IN,
        ("n1",),
    )
    assert peers["r1-edge"].source_address is None
    assert not fallback.matches({"kubernetes.io/hostname": "n1", "edge": ""})
    assert fallback.matches({"kubernetes.io/hostname": "n2", "edge": ""})
    r2 = peers["r2-edge"]
    assert (r2.peer_port, r2.hold_time, r2.keepalive_time) == (1179, 60, 20)
    (ad,) = s.config.bgp_advertisements
    assert ad.name == "edge-adv-0" and ad.pools == ("public",)
    assert ad.peers == ("r1-edge", "r1-node-n1", "r2-edge")
    assert (ad.local_pref, [str(c) for c in ad.communities]) == (150, ["1:2"])
    assert ad.node_selectors[0].match_labels == {"edge": ""}


def test_one_peer_in_two_configurations_makes_its_node_session_once() -> None:
    source = [{"nodeName": "n1", "address": "198.51.100.111"}]
    s = snap(
        node("n1", a=""),
        node("n2", b=""),
        mlbbp("r1", sourceAddresses=source),
        config("ca", ["r1"], nodeSelector={"a": ""}),
        config("cb", ["r1"], nodeSelector={"b": ""}),
    )
    assert errors(s) == []
    assert sorted(p.name for p in s.config.bgp_peers) == ["r1-ca", "r1-cb", "r1-node-n1"]


def test_password_from_a_labelled_secret_only() -> None:
    ref = {"passwordSecretRef": {"name": "pw", "namespace": "d8-metallb"}}
    good = snap(
        secret("pw", LABEL, stringData={"password": "s3cret-Value"}),
        mlbbp("r1", **ref),
        config("c", ["r1"]),
    )
    assert errors(good) == []
    (peer,) = good.config.bgp_peers
    assert peer.password is not None and peer.password.reveal() == "s3cret-Value"
    assert "s3cret" not in repr(good)

    unlabelled = snap(secret("pw", stringData={"password": "s3cret-Value"}), mlbbp("r1", **ref))
    assert errors(unlabelled) == [
        "MetalLoadBalancerBGPPeer/r1: spec.passwordSecretRef: Secret d8-metallb/pw lacks the "
        'label network.deckhouse.io/metallb-bgp-password: "true"'
    ]
    bad = snap(secret("pw", LABEL, stringData={"password": "has space s3cret"}), mlbbp("r1", **ref))
    assert errors(bad) == [
        "MetalLoadBalancerBGPPeer/r1: spec.passwordSecretRef: contains a forbidden character "
        "(value hidden)"
    ]
    assert "s3cret" not in " ".join(errors(bad))
    no_ns = snap(mlbbp("r1", passwordSecretRef={"name": "pw"}))
    assert errors(no_ns) == [
        "MetalLoadBalancerBGPPeer/r1: spec.passwordSecretRef.namespace: is required"
    ]


def test_bfd_profile_hold_time_and_ranges() -> None:
    s = snap(
        mlbbp("r1", bfd={"receiveInterval": 200, "echoMode": True, "minimumTTL": 250}),
        config("c", ["r1"]),
    )
    assert errors(s) == []
    profile = s.config.bfd_profiles["bfd-r1"]
    assert (profile.receive_interval, profile.transmit_interval, profile.echo_mode) == (
        200,
        300,
        True,
    )
    assert profile.minimum_ttl == 250
    assert s.config.bgp_peers[0].bfd_profile == "bfd-r1"
    bad = snap(
        mlbbp("r1", holdTime="90", peerAddress="2001:db8::1", peerPort=0),
        mlbbp("r2", peerAddress="198.51.100.2", holdTime="2s", bfd={"detectMultiplier": 1}),
    )
    assert errors(bad) == [
        "MetalLoadBalancerBGPPeer/r1: spec.holdTime: '90' does not match ^([0-9]+(ms|s|m|h))+$",
        "MetalLoadBalancerBGPPeer/r1: spec.peerAddress: 2001:db8::1 is not an IPv4 address",
        "MetalLoadBalancerBGPPeer/r1: spec.peerPort: 0 is out of range 1..65535",
        "MetalLoadBalancerBGPPeer/r2: spec.bfd.detectMultiplier: 1 is out of range 2..255",
        "MetalLoadBalancerBGPPeer/r2: spec.holdTime: hold time 2s must be 0 or at least 3s",
    ]


def test_references_and_advertisement_rules() -> None:
    s = snap(
        mlbp("public", "203.0.113.0/28"),
        mlbbp("r1"),
        config(
            "c",
            ["r1", "ghost"],
            {"poolNames": ["public", "nowhere"]},
            {"poolNames": ["public"], "bgp": {"aggregationLength": 33, "communities": ["1:x"]}},
        ),
    )
    assert errors(s) == [
        'MetalLoadBalancerConfiguration/c: spec.advertisements[0]: names pool "nowhere", '
        "which does not exist",
        "MetalLoadBalancerConfiguration/c: spec.advertisements[1].bgp.aggregationLength: 33 is "
        "not an IPv4 aggregation length (1..32); IPv6 prefixes stay /128",
        'MetalLoadBalancerConfiguration/c: spec.advertisements[1].bgp.communities[0]: "1:x" is '
        "not A:B, no-export, no-advertise, local-as or none",
        "MetalLoadBalancerConfiguration/c: spec.bgp.peerNames[1]: names MetalLoadBalancerBGPPeer "
        '"ghost", which does not exist',
    ]
    # the invalid configuration takes its sessions and advertisements out
    assert s.config.bgp_peers == () and s.config.bgp_advertisements == ()


def test_no_peers_announces_nothing_and_a_broken_peer_drops_its_sessions() -> None:
    s = snap(mlbp("public", "203.0.113.0/28"), config("c", [], {"poolNames": ["public"]}))
    assert errors(s) == []
    assert warnings(s) == [
        "warning: MetalLoadBalancerConfiguration/c: spec.bgp.peerNames: no peers: the "
        "advertisements reach no router"
    ]
    assert s.config.bgp_advertisements == () and "public" in s.config.pools
    broken = snap(mlbbp("r1", myASN=0), config("c", ["r1"]))
    assert errors(broken) == [
        "MetalLoadBalancerBGPPeer/r1: spec.myASN: 0 is out of range 1..4294967295"
    ]
    assert broken.config.bgp_peers == ()
