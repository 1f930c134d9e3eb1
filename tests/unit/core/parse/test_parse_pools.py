"""Pools and classes: IPAddressPool, legacy AddressPool, MetalLoadBalancerClass.

Matrix: defaults and every field honoured; bad entries reported at their index; overlaps
across pools (both named), across kinds and within one pool; duplicate pool names across
kinds; serviceAllocation duplicates; at most one default class; the legacy AddressPool's
implied advertisements; invalid objects left out of the config, all errors at once.
"""

from __future__ import annotations

from ipaddress import ip_network
from typing import Any

from orchestrator.core.model.cluster import PoolKind, Protocol
from orchestrator.core.model.selectors import LabelSelector
from tests.unit.core.parse.parse_support import created, errors, serving, snap, warnings


def ipool(name: str, *addresses: Any, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "IPAddressPool",
        "metadata": {"name": name, "namespace": "metallb-system"},
        "spec": {"addresses": list(addresses), **spec},
    }


def mlbc(name: str, *addresses: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "network.deckhouse.io/v1alpha1",
        "kind": "MetalLoadBalancerClass",
        "metadata": {"name": name},
        "spec": {"addressPool": list(addresses), **spec},
    }


def test_ip_address_pool_defaults_and_fields() -> None:
    s = snap(
        ipool("a", "192.0.2.0/28", "2001:db8::/120"),
        ipool(
            "b",
            "198.51.100.1-198.51.100.3",
            autoAssign=False,
            avoidBuggyIPs=True,
            serviceAllocation={
                "priority": 5,
                "namespaces": ["apps"],
                "namespaceSelectors": [{"matchLabels": {"team": "a"}}],
                "serviceSelectors": [{"matchExpressions": [{"key": "x", "operator": "Exists"}]}],
            },
        ),
    )
    assert errors(s) == []
    a, b = s.config.pools["a"], s.config.pools["b"]
    assert a.kind is PoolKind.IPADDRESSPOOL and a.auto_assign and not a.avoid_buggy_ips
    assert a.cidrs == (ip_network("192.0.2.0/28"), ip_network("2001:db8::/120"))
    assert a.allocation is None and a.protocol is None
    assert b.cidrs == (ip_network("198.51.100.1/32"), ip_network("198.51.100.2/31"))
    assert not b.auto_assign and b.avoid_buggy_ips
    assert b.allocation is not None
    assert b.allocation.priority == 5 and b.allocation.namespaces == frozenset({"apps"})
    assert b.allocation.namespace_selectors == (LabelSelector({"team": "a"}),)
    assert len(b.allocation.service_selectors) == 1


def test_empty_service_allocation_pins_for_everyone() -> None:
    s = snap(ipool("a", "192.0.2.0/28", serviceAllocation={}))
    alloc = s.config.pools["a"].allocation
    assert alloc is not None and alloc.priority == 0 and not alloc.namespaces


def test_all_bad_entries_reported_and_pool_left_out() -> None:
    s = snap(ipool("bad", "192.0.2.0/28", "192.168.7.300", "192.0.2.30-192.0.2.20", 7))
    assert errors(s) == [
        'IPAddressPool/bad: spec.addresses[1]: "192.168.7.300" is not an IP, CIDR or range',
        'IPAddressPool/bad: spec.addresses[2]: "192.0.2.30-192.0.2.20": start 192.0.2.30 is '
        "after end 192.0.2.20",
        "IPAddressPool/bad: spec.addresses[3]: must be a string, not an integer; quote it in YAML",
    ]
    assert "bad" not in s.config.pools


def test_missing_addresses_and_typos() -> None:
    s = snap(ipool("empty"), ipool("typo", "192.0.2.0/28", autoAsign=False))
    assert errors(s) == ["IPAddressPool/empty: spec.addresses: must not be empty"]
    assert warnings(s) == ["warning: IPAddressPool/typo: spec.autoAsign: unknown field, ignored"]
    assert list(s.config.pools) == ["typo"]


def test_host_bits_warn() -> None:
    s = snap(ipool("a", "192.0.2.7/28"))
    assert warnings(s) == [
        "warning: IPAddressPool/a: spec.addresses[0]: host bits set; using 192.0.2.0/28"
    ]
    assert s.config.pools["a"].cidrs == (ip_network("192.0.2.0/28"),)


def test_overlapping_pools_name_both_and_are_dropped() -> None:
    s = snap(
        ipool("left", "203.0.113.0/25"),
        mlbc("right", "203.0.113.100-203.0.113.200"),
        ipool("other", "198.51.100.0/24"),
    )
    assert errors(s) == [
        'MetalLoadBalancerClass/right: spec.addressPool[0]: "203.0.113.100-203.0.113.200" '
        'overlaps "203.0.113.0/25" of IPAddressPool/left'
        + serving("IPAddressPool/left", "t.yaml#1"),
    ]
    assert list(s.config.pools) == ["left", "other"]
    assert s.config.classes == {}


def test_overlap_leaves_out_the_younger_and_never_counts_a_broken_pool() -> None:
    s = snap(
        created(ipool("young", "203.0.113.0/25"), "2025-06-01T00:00:00Z"),
        created(ipool("old", "203.0.113.64/26"), "2024-06-01T00:00:00Z"),
        # overlaps only "young", which is left out: it stays
        created(ipool("after", "203.0.113.0/27"), "2025-07-01T00:00:00Z"),
        # broken on its own: it displaces nothing
        created(ipool("broken", "203.0.113.128/25", "203.0.113.300"), "2020-01-01T00:00:00Z"),
        ipool("fine", "203.0.113.192/26"),
    )
    assert [e.split(":")[0] for e in errors(s)] == ["IPAddressPool/broken", "IPAddressPool/young"]
    assert "IPAddressPool/old" in errors(s)[1]
    assert sorted(s.config.pools) == ["after", "fine", "old"]


def test_overlap_within_one_pool() -> None:
    s = snap(ipool("a", "192.0.2.0/24", "192.0.2.128/25"))
    assert errors(s) == [
        'IPAddressPool/a: spec.addresses[1]: "192.0.2.128/25" overlaps "192.0.2.0/24" '
        "(spec.addresses[0])"
    ]


def test_duplicate_entry_text() -> None:
    s = snap(ipool("a", "192.0.2.0/28", "192.0.2.0/28"))
    assert errors(s) == ['IPAddressPool/a: spec.addresses[1]: duplicate entry "192.0.2.0/28"']


def test_pool_names_are_unique_across_kinds() -> None:
    s = snap(ipool("x", "192.0.2.0/28"), mlbc("x", "198.51.100.0/28"))
    assert errors(s) == [
        'MetalLoadBalancerClass/x: metadata.name: name "x" is also used by IPAddressPool/x'
        + serving("IPAddressPool/x", "t.yaml#1"),
    ]
    assert [p.kind for p in s.config.pools.values()] == [PoolKind.IPADDRESSPOOL]


def test_service_allocation_duplicates() -> None:
    sel = {"matchLabels": {"a": "b"}}
    s = snap(
        ipool(
            "a",
            "192.0.2.0/28",
            serviceAllocation={
                "namespaces": ["x", "x"],
                "namespaceSelectors": [sel, sel],
                "serviceSelectors": [{"matchLabels": {"k": "Bad Value"}}],
            },
        )
    )
    assert errors(s) == [
        'IPAddressPool/a: spec.serviceAllocation.namespaceSelectors[1]: duplicate selector "a=b" '
        "(same as spec.serviceAllocation.namespaceSelectors[0])",
        'IPAddressPool/a: spec.serviceAllocation.namespaces[1]: duplicate entry "x"',
        "IPAddressPool/a: spec.serviceAllocation.serviceSelectors[0].matchLabels[k]: "
        '"Bad Value" is not a valid label value',
    ]


def test_class_produces_class_and_pool() -> None:
    s = snap(
        mlbc(
            "ingress",
            "192.168.2.100-192.168.2.150",
            isDefault=True,
            type="L2",
            l2={"interfaces": ["eth0", "bond0.100"]},
            nodeSelector={"node-role.kubernetes.io/frontend": ""},
            tolerations=[{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}],
        )
    )
    assert errors(s) == []
    cls = s.config.classes["ingress"]
    assert cls.is_default and cls.pool == "ingress"
    assert cls.interfaces == ("eth0", "bond0.100")
    assert cls.node_selector == {"node-role.kubernetes.io/frontend": ""}
    assert cls.tolerations == ({"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"},)
    pool = s.config.pools["ingress"]
    assert pool.kind is PoolKind.CLASS and pool.class_name == "ingress"
    assert pool.protocol is Protocol.LAYER2 and pool.auto_assign
    assert sum(c.num_addresses for c in pool.cidrs) == 51


def test_class_validation() -> None:
    s = snap(
        mlbc(
            "bad",
            "192.0.2.0/28",
            type="BGP",
            l2={"interfaces": ["eth0; rm", "a-very-long-interface-name"]},
            nodeSelector={"role": 1},
            tolerations=[{"operator": "Maybe"}],
        ),
        mlbc("badrange", "192.0.2.100-192.0.2.110", "192.168.7.300"),
    )
    assert errors(s) == [
        'MetalLoadBalancerClass/bad: spec.l2.interfaces[0]: "eth0; rm" is not a valid interface '
        "name (1-15 characters of letters, digits, '_', '.', ':' and '-')",
        'MetalLoadBalancerClass/bad: spec.l2.interfaces[1]: "a-very-long-interface-name" is not '
        "a valid interface name (1-15 characters of letters, digits, '_', '.', ':' and '-')",
        "MetalLoadBalancerClass/bad: spec.nodeSelector[role]: must be a string, not an integer; "
        "quote it in YAML",
        'MetalLoadBalancerClass/bad: spec.tolerations[0].operator: "Maybe" is not Exists or Equal',
        'MetalLoadBalancerClass/bad: spec.type: "BGP" is not supported; the only type is L2',
        'MetalLoadBalancerClass/badrange: spec.addressPool[1]: "192.168.7.300" is not an IP, '
        "CIDR or range",
    ]
    assert s.config.classes == {} and s.config.pools == {}


def test_only_one_default_class() -> None:
    s = snap(
        mlbc("b", "192.0.2.16/28", isDefault=True),
        mlbc("a", "192.0.2.0/28", isDefault=True),
        mlbc("c", "192.0.2.32/28"),
    )
    # tolerated, as Deckhouse does: the senior is the default, both are warned
    assert errors(s) == []
    assert warnings(s) == [
        "warning: MetalLoadBalancerClass/a: spec.isDefault: several classes are marked default "
        "(MetalLoadBalancerClass/a, MetalLoadBalancerClass/b); this one is the default "
        "(the oldest)",
        "warning: MetalLoadBalancerClass/b: spec.isDefault: several classes are marked default "
        "(MetalLoadBalancerClass/a, MetalLoadBalancerClass/b); this one is not the default: "
        "MetalLoadBalancerClass/a is (the oldest)",
    ]
    assert sorted(s.config.classes) == ["a", "b", "c"]
    assert [c.name for c in s.config.classes.values() if c.is_default] == ["a"]
    s = snap(
        created(mlbc("b", "192.0.2.16/28", isDefault=True), "2024-01-01T00:00:00Z"),
        created(mlbc("a", "192.0.2.0/28", isDefault=True), "2025-01-01T00:00:00Z"),
    )
    assert [c.name for c in s.config.classes.values() if c.is_default] == ["b"]


def test_broken_class_does_not_steal_the_default() -> None:
    s = snap(mlbc("a", "192.168.7.300", isDefault=True), mlbc("b", "192.0.2.0/28", isDefault=True))
    assert [e.split(":")[0] for e in errors(s)] == ["MetalLoadBalancerClass/a"]
    assert s.config.classes["b"].is_default


def test_legacy_address_pool_layer2_and_bgp() -> None:
    def legacy(name: str, protocol: str, *addresses: str, **spec: Any) -> dict[str, Any]:
        return {
            "apiVersion": "metallb.io/v1beta1",
            "kind": "AddressPool",
            "metadata": {"name": name},
            "spec": {"protocol": protocol, "addresses": list(addresses), **spec},
        }

    s = snap(
        legacy("l2", "layer2", "192.0.2.0/28"),
        legacy("b1", "bgp", "198.51.100.0/28"),
        legacy(
            "b2",
            "bgp",
            "198.51.100.16/28",
            autoAssign=False,
            bgpAdvertisements=[
                {"aggregationLength": 28, "localPref": 50},
                {"communities": ["no-export"]},
            ],
        ),
        legacy("wrong", "layer3", "203.0.113.0/28"),
        legacy("mixed", "layer2", "203.0.113.16/28", bgpAdvertisements=[{}]),
    )
    assert errors(s) == [
        "AddressPool/mixed: spec.bgpAdvertisements: is only allowed with protocol bgp",
        'AddressPool/wrong: spec.protocol: "layer3" is not layer2 or bgp',
    ]
    assert s.config.pools["l2"].kind is PoolKind.ADDRESSPOOL
    assert s.config.pools["l2"].protocol is Protocol.LAYER2
    assert not s.config.pools["b2"].auto_assign
    assert [a.name for a in s.config.l2_advertisements] == ["addresspool-l2"]
    assert s.config.l2_advertisements[0].pools == ("l2",)
    ads = {a.name: a for a in s.config.bgp_advertisements}
    assert sorted(ads) == ["addresspool-b1-0", "addresspool-b2-0", "addresspool-b2-1"]
    assert ads["addresspool-b1-0"].aggregation_length == 32 and ads["addresspool-b1-0"].pools == (
        "b1",
    )
    assert ads["addresspool-b2-0"].aggregation_length == 28
    assert ads["addresspool-b2-0"].local_pref == 50
    assert [str(c) for c in ads["addresspool-b2-1"].communities] == ["no-export"]
