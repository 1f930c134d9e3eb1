"""BGPPeer and BFDProfile.

Matrix: peer field defaults and XOR rules; timer rules (hold only, keepalive only, both,
2s, keepalive > hold, Go durations); password inline / from a Secret (stringData, data,
wrong type, missing, bad base64), never echoed; iBGP multihop; BFD ranges and references;
session and myASN conflicts between peers; v1beta1 node selectors.
"""

from __future__ import annotations

import base64
from ipaddress import ip_address

import pytest

from orchestrator.core.model.cluster import DynamicASN
from orchestrator.core.parse.durations import DurationError, parse_duration
from tests.unit.core.parse.parse_support import created, errors, obj, peer, secret, serving, snap

# --------------------------------------------------------------------------- peers


def test_peer_defaults() -> None:
    s = snap(peer("p"))
    assert errors(s) == []
    (p,) = s.config.bgp_peers
    assert (p.my_asn, p.peer_asn, p.peer_port) == (64513, 64512, 179)
    assert p.peer_address == ip_address("198.51.100.1")
    assert (p.hold_time, p.keepalive_time) == (90.0, 30.0)  # MetalLB v0.14.8 in every mode
    assert p.password is None


def test_peer_all_fields() -> None:
    s = snap(
        obj("BFDProfile", "fast", {}),
        peer(
            "p",
            peerASN=None,
            dynamicASN="external",
            peerAddress=None,
            interface="eth1",
            sourceAddress="2001:db8::2",
            peerPort=1179,
            holdTime="1m30s",
            connectTime="10s",
            routerID="192.0.2.1",
            nodeSelectors=[{"matchLabels": {"rack": "a"}}],
            bfdProfile="fast",
            enableGracefulRestart=True,
            ebgpMultiHop=True,
            vrf="red",
            dualStackAddressFamily=True,
            localASN=65001,
        ),
    )
    assert errors(s) == []
    (p,) = s.config.bgp_peers
    assert p.dynamic_asn is DynamicASN.EXTERNAL and p.peer_asn is None
    assert p.interface == "eth1" and p.peer_address is None
    assert p.hold_time == 90 and p.keepalive_time == 30 and p.connect_time == 10
    assert p.router_id == ip_address("192.0.2.1") and p.source_address == ip_address("2001:db8::2")
    assert p.graceful_restart and p.ebgp_multihop and p.dual_stack
    assert (p.vrf, p.bfd_profile, p.local_asn, p.peer_port) == ("red", "fast", 65001, 1179)


def test_peer_xor_rules() -> None:
    s = snap(
        peer("both-asn", dynamicASN="internal"),
        peer("no-asn", peerASN=None, peerAddress="198.51.100.2"),
        peer("both-target", interface="eth0", peerAddress="198.51.100.3"),
        peer("no-target", peerAddress=None, interface=None),
        peer("zero", myASN=0, peerAddress="198.51.100.5"),
        peer("missing", myASN=None, peerAddress="198.51.100.6"),
    )
    assert errors(s) == [
        "BGPPeer/both-asn: spec.peerASN: exactly one of peerASN and dynamicASN must be set",
        "BGPPeer/both-target: spec.peerAddress: exactly one of peerAddress and interface must "
        "be set",
        "BGPPeer/missing: spec.myASN: is required",
        "BGPPeer/no-asn: spec.peerASN: exactly one of peerASN and dynamicASN must be set",
        "BGPPeer/no-target: spec.peerAddress: exactly one of peerAddress and interface must be set",
        "BGPPeer/zero: spec.myASN: must not be 0",
    ]
    assert s.config.bgp_peers == ()


def test_peer_value_checks() -> None:
    s = snap(
        peer("a", peerPort=16385, peerAddress="198.51.100.300", routerID="2001:db8::1"),
        peer("b", peerAddress="198.51.100.2", ebgpMultiHop=True, peerASN=64513, vrf="a b"),
        peer("c", peerAddress="198.51.100.3", connectTime="1.5s", peerPort=True),
    )
    assert errors(s) == [
        'BGPPeer/a: spec.peerAddress: "198.51.100.300" is not an IP address',
        "BGPPeer/a: spec.peerPort: 16385 is out of range 1..16384",
        "BGPPeer/a: spec.routerID: 2001:db8::1 is not an IPv4 address",
        "BGPPeer/b: spec.ebgpMultiHop: is not allowed for iBGP (myASN equals peerASN)",
        'BGPPeer/b: spec.vrf: "a b" is not a valid interface name (1-15 characters of letters, '
        "digits, '_', '.', ':' and '-')",
        "BGPPeer/c: spec.connectTime: must be whole seconds between 1s and 65535s",
        "BGPPeer/c: spec.peerPort: must be an integer, not a boolean",
    ]


@pytest.mark.parametrize(
    ("spec", "hold", "keepalive"),
    [
        ({"holdTime": "90s"}, 90.0, 30.0),
        ({"keepaliveTime": "10s"}, 30.0, 10.0),
        ({"holdTime": "9s", "keepaliveTime": "1s"}, 9.0, 1.0),
        ({"holdTime": "0s"}, 0.0, 0.0),
        ({"holdTime": "3s"}, 3.0, 1.0),
    ],
)
def test_timers(spec: dict[str, str], hold: float, keepalive: float) -> None:
    s = snap(peer("p", **spec))
    assert errors(s) == []
    (p,) = s.config.bgp_peers
    assert (p.hold_time, p.keepalive_time) == pytest.approx((hold, keepalive))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"holdTime": "2s"}, "spec.holdTime: hold time 2s must be 0 or at least 3s"),
        ({"keepaliveTime": "500ms"}, "spec.keepaliveTime: hold time 1.5s must be 0 or at least 3s"),
        (
            {"holdTime": "9s", "keepaliveTime": "10s"},
            "spec.keepaliveTime: keepalive time 10s is longer than the hold time 9s",
        ),
        ({"holdTime": "20h"}, "spec.holdTime: hold time 72000s is longer than 65535s"),
        ({"holdTime": "-5s"}, "spec.holdTime: must not be negative"),
        (
            {"holdTime": "90"},
            "spec.holdTime: '90' is not a duration (use a number and a unit: 90s, 1m30s, 500ms)",
        ),
    ],
)
def test_timer_errors(spec: dict[str, str], message: str) -> None:
    assert errors(snap(peer("p", **spec))) == [f"BGPPeer/p: {message}"]


def test_go_durations() -> None:
    assert parse_duration("1m30s") == 90
    assert parse_duration("500ms") == 0.5
    assert parse_duration("1.5h") == 5400
    assert parse_duration("0") == 0
    assert parse_duration("2us") == pytest.approx(2e-6)
    for bad in ("", "s", "1", "1x", "1s2", "--1s"):
        with pytest.raises(DurationError):
            parse_duration(bad)


# --------------------------------------------------------------------------- passwords


SECRET_TEXT = "hunter2-very-secret"


def test_inline_password_and_secret_sources() -> None:
    encoded = base64.b64encode(SECRET_TEXT.encode()).decode()
    s = snap(
        peer("inline", password=SECRET_TEXT),
        peer("plain", peerAddress="198.51.100.2", passwordSecret={"name": "s1"}),
        peer(
            "b64",
            peerAddress="198.51.100.3",
            passwordSecret={"name": "s2", "namespace": "metallb-system"},
        ),
        secret("s1", type="kubernetes.io/basic-auth", stringData={"password": SECRET_TEXT}),
        secret("s2", type="kubernetes.io/basic-auth", data={"password": encoded}),
    )
    assert errors(s) == []
    for p in s.config.bgp_peers:
        assert p.password is not None and p.password.reveal() == SECRET_TEXT
        assert SECRET_TEXT not in repr(p)


def test_password_problems_never_show_the_value() -> None:
    s = snap(
        peer("newline", password=SECRET_TEXT + "\nneighbor 1.2.3.4"),
        peer("bang", peerAddress="198.51.100.2", password=SECRET_TEXT + "!"),
        peer("long", peerAddress="198.51.100.3", password="x" * 81),
        peer(
            "both",
            peerAddress="198.51.100.4",
            password=SECRET_TEXT,
            passwordSecret={"name": "s"},
        ),
        peer("missing", peerAddress="198.51.100.5", passwordSecret={"name": "nope"}),
        peer("wrongtype", peerAddress="198.51.100.6", passwordSecret={"name": "opaque"}),
        peer("badb64", peerAddress="198.51.100.7", passwordSecret={"name": "garbled"}),
        peer("nokey", peerAddress="198.51.100.8", passwordSecret={"name": "nokey"}),
        peer("badsecret", peerAddress="198.51.100.9", passwordSecret={"name": "quote"}),
        secret("opaque", type="Opaque", stringData={"password": SECRET_TEXT}),
        secret("garbled", type="kubernetes.io/basic-auth", data={"password": SECRET_TEXT + "?"}),
        secret("nokey", type="kubernetes.io/basic-auth", data={"username": "eA=="}),
        secret(
            "quote", type="kubernetes.io/basic-auth", stringData={"password": 'a"' + SECRET_TEXT}
        ),
    )
    assert errors(s) == [
        "BGPPeer/badb64: spec.passwordSecret: Secret metallb-system/garbled: data.password is "
        "not valid base64 UTF-8",
        "BGPPeer/badsecret: spec.passwordSecret: contains a forbidden character (value hidden)",
        "BGPPeer/bang: spec.password: contains a forbidden character (value hidden)",
        "BGPPeer/both: spec.password: password and passwordSecret are mutually exclusive",
        "BGPPeer/long: spec.password: is longer than 80 characters (value hidden)",
        "BGPPeer/missing: spec.passwordSecret: Secret metallb-system/nope not found",
        "BGPPeer/newline: spec.password: contains a forbidden character (value hidden)",
        "BGPPeer/nokey: spec.passwordSecret: Secret metallb-system/nokey has no 'password' key",
        "BGPPeer/wrongtype: spec.passwordSecret: Secret metallb-system/opaque has type 'Opaque'; "
        "it must be 'kubernetes.io/basic-auth'",
    ]
    assert all(SECRET_TEXT not in str(p) for p in s.problems)
    assert s.config.bgp_peers == ()


# --------------------------------------------------------------------------- BFD


def test_bfd_profile_defaults_ranges_and_references() -> None:
    s = snap(
        obj("BFDProfile", "default", {}),
        obj(
            "BFDProfile",
            "custom",
            {"receiveInterval": 100, "detectMultiplier": 5, "echoMode": True, "minimumTtl": 10},
        ),
        obj("BFDProfile", "broken", {"transmitInterval": 5, "detectMultiplier": 1}),
        peer("a", bfdProfile="custom"),
        peer("b", peerAddress="198.51.100.2", bfdProfile="broken"),
        peer("c", peerAddress="198.51.100.3", bfdProfile="absent"),
    )
    assert errors(s) == [
        "BFDProfile/broken: spec.detectMultiplier: 1 is out of range 2..255",
        "BFDProfile/broken: spec.transmitInterval: 5 is out of range 10..60000",
        "BGPPeer/b: spec.bfdProfile: names BFDProfile/broken, which is invalid",
        'BGPPeer/c: spec.bfdProfile: names BFDProfile "absent", which does not exist',
    ]
    d, c = s.config.bfd_profiles["default"], s.config.bfd_profiles["custom"]
    assert (d.receive_interval, d.transmit_interval, d.detect_multiplier, d.echo_interval) == (
        300,
        300,
        3,
        50,
    )
    assert (c.receive_interval, c.detect_multiplier, c.echo_mode, c.minimum_ttl) == (
        100,
        5,
        True,
        10,
    )
    assert [p.name for p in s.config.bgp_peers] == ["a"]


def test_peer_session_and_asn_conflicts() -> None:
    s = snap(
        peer("a"),
        peer("b"),
        peer("c", peerAddress="198.51.100.9", myASN=64999),
        peer("d", peerAddress="198.51.100.1", vrf="red"),
    )
    # the senior (a) keeps serving; each junior is left out naming the one it clashes with
    assert errors(s) == [
        "BGPPeer/b: spec: same session as BGPPeer/a: both peer with 198.51.100.1 in VRF "
        '"default" on the same nodes' + serving("BGPPeer/a", "t.yaml#1"),
        "BGPPeer/c: spec.myASN: myASN 64999 differs from myASN 64513 of BGPPeer/a; peers on the "
        "same nodes and VRF must share one ASN" + serving("BGPPeer/a", "t.yaml#1"),
    ]
    assert [p.name for p in s.config.bgp_peers] == ["a", "d"]


def test_peers_on_one_node_share_the_router_id() -> None:
    s = snap(
        created(peer("z", routerID="192.0.2.1"), "2024-01-01T00:00:00Z"),
        created(
            peer("a", peerAddress="198.51.100.2", routerID="192.0.2.2"), "2025-01-01T00:00:00Z"
        ),
        peer("other-vrf", peerAddress="198.51.100.3", routerID="192.0.2.3", vrf="red"),
        peer("unset", peerAddress="198.51.100.4"),
    )
    assert errors(s) == [
        "BGPPeer/a: spec.routerID: routerID 192.0.2.2 differs from routerID 192.0.2.1 of "
        "BGPPeer/z; peers on the same nodes and VRF must share one router ID"
        + serving("BGPPeer/z", "t.yaml#1"),
    ]
    assert [p.name for p in s.config.bgp_peers] == ["other-vrf", "unset", "z"]


def test_v1beta1_peer_node_selectors() -> None:
    s = snap(
        {
            "apiVersion": "metallb.io/v1beta1",
            "kind": "BGPPeer",
            "metadata": {"name": "old"},
            "spec": {
                "myASN": 64513,
                "peerASN": 64512,
                "peerAddress": "198.51.100.1",
                "nodeSelectors": [
                    {"matchExpressions": [{"key": "rack", "operator": "In", "values": ["b", "a"]}]}
                ],
            },
        }
    )
    assert errors(s) == []
    (p,) = s.config.bgp_peers
    assert p.node_selectors[0].matches({"rack": "a"})
    assert not p.node_selectors[0].matches({"rack": "c"})


def test_bfd_echo_mode_with_ipv6_advertised_leaves_out_the_junior() -> None:
    """MetalLB: echo mode is IPv4 only. The junior of peer and advertisement goes."""
    echo = obj("BFDProfile", "echo", {"echoMode": True})
    v6 = obj("IPAddressPool", "v6", {"addresses": ["2001:db8::/120"]})
    v4 = obj("IPAddressPool", "v4", {"addresses": ["203.0.113.0/24"]})
    ad = created(obj("BGPAdvertisement", "to-all", {}), "2025-01-01T00:00:00Z")
    r1 = created(peer("r1", bfdProfile="echo"), "2024-01-01T00:00:00Z")
    s = snap(echo, v6, v4, ad, r1)
    assert errors(s) == [
        "BGPAdvertisement/to-all: spec: BGPAdvertisement/to-all advertises IPv6 "
        'IPAddressPool/v6 to BGPPeer/r1, whose BFDProfile "echo" has echoMode, which is IPv4 '
        "only" + serving("BGPPeer/r1", "t.yaml#5"),
    ]
    assert [p.name for p in s.config.bgp_peers] == ["r1"] and not s.config.bgp_advertisements
    # the peer is the junior: it goes, the advertisement stays
    s = snap(echo, v6, v4, ad, created(peer("r1", bfdProfile="echo"), "2026-01-01T00:00:00Z"))
    assert [e.split(":")[0] for e in errors(s)] == ["BGPPeer/r1"]
    assert "spec.bfdProfile" in errors(s)[0]
    # IPv4 only, or a peer without echo mode: nothing to say
    assert errors(snap(echo, v4, ad, r1)) == []
    no_echo = obj("BFDProfile", "echo", {"echoMode": False})
    assert errors(snap(no_echo, v6, ad, r1)) == []
