"""ModuleConfig ``metallb``: settings versions 1, 2 and 3.

Matrix: top-level settings (loadBalancerClass, speaker.nodeSelector); bgpPeers with every
key, hold-time as int and as duration, deterministic names; bgp pools with and without
bgp-advertisements, community keys; layer2 pools -> l2-default in v1 only without bgp pools
(default unless another class is; yields to an existing l2-default), else ignored with a
warning, as in v2 and v3; v3 deprecations honoured with warnings; version missing (3) /
unsupported; one bad pool drops only that pool; other modules' configs ignored.
"""

from __future__ import annotations

from ipaddress import ip_address, ip_network
from typing import Any

from orchestrator.core.model.cluster import PoolKind, Protocol
from tests.unit.core.parse.parse_support import errors, snap, warnings


def mc(settings: dict[str, Any], version: int | None = 1, name: str = "metallb") -> dict[str, Any]:
    spec: dict[str, Any] = {"enabled": True, "settings": settings}
    if version is not None:
        spec["version"] = version
    return {
        "apiVersion": "deckhouse.io/v1alpha1",
        "kind": "ModuleConfig",
        "metadata": {"name": name},
        "spec": spec,
    }


SETTINGS: dict[str, Any] = {
    "loadBalancerClass": "my-lb.example.com/bgp",
    "speaker": {"nodeSelector": {"role": "lb"}, "tolerations": [{"operator": "Exists"}]},
    "nodeSelector": {"role": "system"},
    "bgpCommunities": {"edge": "64512:200", "no-advertise": "65535:65282"},
    "bgpPeers": [
        {
            "peer-address": "198.51.100.1",
            "peer-asn": 64512,
            "my-asn": 64513,
            "hold-time": 9,
            "node-selector": {"matchLabels": {"rack": "a"}},
            "password": "secret-ok",
            "router-id": "192.0.2.1",
            "source-address": "192.0.2.10",
        },
        {"peer-address": "198.51.100.2", "peer-asn": 64512, "my-asn": 64513, "hold-time": "1m30s"},
    ],
    "addressPools": [
        {
            "name": "public",
            "protocol": "bgp",
            "addresses": ["203.0.113.0/26"],
            "bgp-advertisements": [
                {
                    "aggregation-length": 30,
                    "localpref": 120,
                    "communities": ["edge", "no-advertise"],
                }
            ],
        },
        {
            "name": "plain",
            "protocol": "bgp",
            "addresses": ["203.0.113.64/26"],
            "auto-assign": False,
        },
        {"name": "office", "protocol": "layer2", "addresses": ["192.0.2.100-192.0.2.103"]},
        {"name": "lab", "protocol": "layer2", "addresses": ["192.0.2.200/30"]},
    ],
}


L2_ONLY: dict[str, Any] = {
    **SETTINGS,
    "addressPools": [p for p in SETTINGS["addressPools"] if p["protocol"] == "layer2"],
}
IGNORED = (
    "layer2 pool ignored: Deckhouse drops layer2 pools from settings version 2 on, and makes "
    "the class l2-default of them only while no pool is a bgp pool; use a MetalLoadBalancerClass"
)


def test_version_1_with_a_bgp_pool_has_no_l2_default() -> None:
    s = snap(mc(SETTINGS))
    assert errors(s) == []
    assert warnings(s) == [
        f"warning: ModuleConfig/metallb: spec.settings.addressPools[2]: {IGNORED}",
        f"warning: ModuleConfig/metallb: spec.settings.addressPools[3]: {IGNORED}",
    ]
    cfg = s.config
    assert cfg.load_balancer_class == "my-lb.example.com/bgp"
    assert cfg.speaker_node_selector == {"role": "lb"}
    p0, p1 = cfg.bgp_peers
    assert (p0.name, p1.name) == ("mc-peer-0", "mc-peer-1")
    assert (p0.hold_time, p0.keepalive_time, p0.peer_port) == (9, 3, 179)
    assert p0.peer_address == ip_address("198.51.100.1")
    assert p0.router_id == ip_address("192.0.2.1") and p0.source_address == ip_address("192.0.2.10")
    assert p0.password is not None and p0.password.reveal() == "secret-ok"
    # speaker.nodeSelector narrows every peer: no speaker, no session
    assert p0.node_selectors[0].matches({"rack": "a", "role": "lb"})
    assert not p0.node_selectors[0].matches({"rack": "a"})
    assert not p1.node_selectors[0].matches({}) and p1.node_selectors[0].matches({"role": "lb"})
    assert (p1.hold_time, p1.keepalive_time) == (90, 30)
    public, plain = cfg.pools["public"], cfg.pools["plain"]
    assert public.kind is PoolKind.MODULECONFIG and public.protocol is Protocol.BGP
    assert not plain.auto_assign
    ads = {a.name: a for a in cfg.bgp_advertisements}
    assert sorted(ads) == ["mc-plain-0", "mc-public-0"]
    assert ads["mc-public-0"].aggregation_length == 30 and ads["mc-public-0"].local_pref == 120
    assert [str(c) for c in ads["mc-public-0"].communities] == ["64512:200", "65535:65282"]
    assert ads["mc-plain-0"].aggregation_length == 32 and ads["mc-plain-0"].peers == ()
    assert cfg.classes == {} and "office" not in cfg.pools


def test_version_1_layer2_only_is_l2_default() -> None:
    s = snap(mc(L2_ONLY))
    assert errors(s) == [] and warnings(s) == []
    cfg = s.config
    cls = cfg.classes["l2-default"]
    assert cls.is_default and cls.node_selector == {"role": "lb"}
    assert cls.tolerations == ({"operator": "Exists"},)
    pool = cfg.pools["l2-default"]
    assert pool.kind is PoolKind.CLASS and pool.class_name == "l2-default"
    assert pool.cidrs == (ip_network("192.0.2.100/30"), ip_network("192.0.2.200/30"))
    assert "office" not in cfg.pools


def test_version_2_ignores_layer2_pools() -> None:
    s = snap(mc(L2_ONLY, version=2))
    assert errors(s) == []
    assert warnings(s) == [
        f"warning: ModuleConfig/metallb: spec.settings.addressPools[0]: {IGNORED}",
        f"warning: ModuleConfig/metallb: spec.settings.addressPools[1]: {IGNORED}",
    ]
    assert s.config.classes == {} and s.config.pools == {}


def test_version_3_honours_deprecated_settings_with_warnings() -> None:
    s = snap(mc(SETTINGS, version=3))
    assert errors(s) == []
    deprecated = [w for w in warnings(s) if "deprecated in settings version 3" in w]
    assert [w.split(": ")[2] for w in deprecated] == [
        "spec.settings.addressPools",
        "spec.settings.bgpCommunities",
        "spec.settings.bgpPeers",
        "spec.settings.speaker",
    ]
    assert "mlb migrate prints them" in deprecated[0]
    assert sorted(s.config.pools) == ["plain", "public"] and len(s.config.bgp_peers) == 2
    assert s.config.speaker_node_selector == {"role": "lb"}
    plain = snap(mc({"loadBalancerClass": "x.example.com/lb"}, version=3))
    assert errors(plain) == [] and warnings(plain) == []


def test_missing_version_is_latest() -> None:
    s = snap(mc(L2_ONLY, version=None))
    assert "l2-default" not in s.config.classes
    assert sum("deprecated in settings version 3" in w for w in warnings(s)) == 4


def test_unsupported_version_and_other_modules() -> None:
    s = snap(mc(SETTINGS, version=4), mc({"whatever": 1}, name="cni-cilium"))
    assert errors(s) == [
        "ModuleConfig/metallb: spec.version: settings version 4 is not supported (1, 2 or 3)"
    ]
    assert s.config.pools == {} and s.config.bgp_peers == ()


def test_l2_default_yields_to_existing_class_and_default() -> None:
    other = {
        "apiVersion": "network.deckhouse.io/v1alpha1",
        "kind": "MetalLoadBalancerClass",
        "metadata": {"name": "mine"},
        "spec": {"addressPool": ["198.51.100.0/28"], "isDefault": True},
    }
    s = snap(mc(L2_ONLY), other)
    assert errors(s) == []
    assert not s.config.classes["l2-default"].is_default
    assert s.config.classes["mine"].is_default

    existing = dict(other, metadata={"name": "l2-default"})
    s = snap(mc(L2_ONLY), existing)
    assert errors(s) == []
    assert warnings(s) == [
        "warning: ModuleConfig/metallb: spec.settings.addressPools: MetalLoadBalancerClass "
        "l2-default already exists; the layer2 pools are not turned into another one"
    ]
    assert s.config.pools["l2-default"].cidrs == (ip_network("198.51.100.0/28"),)


def test_errors_drop_only_the_bad_item() -> None:
    settings = {
        "bgpCommunities": {"bad": "1:70000"},
        "bgpPeers": [
            {"peer-address": "198.51.100.1", "peer-asn": 64512, "my-asn": 64513, "hold-time": 2},
            {"peer-address": "198.51.100.2", "peer-asn": 64512, "my-asn": 64513, "password": "a b"},
            {"peer-address": "198.51.100.3", "peer-asn": 64512, "my-asn": 64513, "typo": 1},
            {"peer-asn": 0, "my-asn": 64513},
        ],
        "addressPools": [
            {"name": "Bad_Name", "protocol": "bgp", "addresses": ["203.0.113.0/28"]},
            {
                "name": "good",
                "protocol": "bgp",
                "addresses": ["203.0.113.16/28"],
            },
            {
                "name": "comm",
                "protocol": "bgp",
                "addresses": ["203.0.113.32/28"],
                "bgp-advertisements": [
                    {"communities": ["bad", "unknown"], "aggregation-length": 24}
                ],
            },
            {"name": "weird", "protocol": "layer3", "addresses": ["203.0.113.48/28"]},
        ],
    }
    s = snap(mc(settings))
    assert errors(s) == [
        'ModuleConfig/metallb: spec.settings.addressPools[0].name: "Bad_Name" is not a valid '
        "name (lower-case letters, digits, '-' and '.', starting and ending with a letter or "
        "digit)",
        "ModuleConfig/metallb: spec.settings.addressPools[2].bgp-advertisements[0]: prefix "
        '"203.0.113.32/28" (/28) of pool "comm" of ModuleConfig/metallb is more specific than the '
        "aggregation length 24",
        "ModuleConfig/metallb: spec.settings.addressPools[2].bgp-advertisements[0].communities[0]: "
        'unknown community alias "bad" (not a key of bgpCommunities)',
        "ModuleConfig/metallb: spec.settings.addressPools[2].bgp-advertisements[0].communities[1]: "
        'unknown community alias "unknown" (not a key of bgpCommunities)',
        'ModuleConfig/metallb: spec.settings.addressPools[3].protocol: "layer3" is not bgp or '
        "layer2",
        'ModuleConfig/metallb: spec.settings.bgpCommunities[bad]: "1:70000" is not a valid '
        "community: 70000 does not fit in 16 bits",
        "ModuleConfig/metallb: spec.settings.bgpPeers[0].hold-time: hold time 2s must be 0 or at "
        "least 3s",
        "ModuleConfig/metallb: spec.settings.bgpPeers[1].password: contains a forbidden "
        "character (value hidden)",
        "ModuleConfig/metallb: spec.settings.bgpPeers[3].peer-address: is required",
        "ModuleConfig/metallb: spec.settings.bgpPeers[3].peer-asn: 0 is out of range 1..4294967295",
    ]
    assert warnings(s) == [
        "warning: ModuleConfig/metallb: spec.settings.bgpPeers[2].typo: unknown field, ignored"
    ]
    assert sorted(s.config.pools) == ["good"]
    assert [p.name for p in s.config.bgp_peers] == ["mc-peer-2"]
