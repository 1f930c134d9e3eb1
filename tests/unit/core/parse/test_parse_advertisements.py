"""Communities, BGPAdvertisement and L2Advertisement.

Matrix: community grammar (standard, well-known, large), aliases from Community CRs
(duplicates, broken definitions), the 63 limit; advertisement references to pools and
peers and protocol mismatch; L2Advertisement fields; aggregation length vs pool prefixes
(CIDRs and summarized ranges); localPref conflicts (with peers, aggregation, nodes and
service selectors as MetalLB); identical duplicates.
"""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.core.model.cluster import CommunityKind
from orchestrator.core.parse.communities import CommunityError, parse_value
from tests.unit.core.parse.parse_support import (
    bgpadv,
    created,
    errors,
    obj,
    peer,
    pool,
    serving,
    snap,
)

# --------------------------------------------------------------------------- communities


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("64512:100", CommunityKind.STANDARD, "64512:100"),
        ("0065535:0", CommunityKind.STANDARD, "65535:0"),
        ("NO-EXPORT", CommunityKind.STANDARD, "no-export"),
        ("no-export-subconfed", CommunityKind.STANDARD, "local-as"),
        ("graceful-shutdown", CommunityKind.STANDARD, "graceful-shutdown"),
        ("large:64512:1:4294967295", CommunityKind.LARGE, "64512:1:4294967295"),
    ],
)
def test_community_values(text: str, kind: CommunityKind, value: str) -> None:
    c = parse_value(text)
    assert (c.kind, c.value) == (kind, value)


@pytest.mark.parametrize(
    "text", ["65536:1", "1:2:3", "large:1:2", "large:1:2:4294967296", "a:b", "-1:2"]
)
def test_bad_community_values(text: str) -> None:
    with pytest.raises(CommunityError):
        parse_value(text)


def test_community_aliases_and_advertisement_communities() -> None:
    s = snap(
        pool("p", "203.0.113.0/24"),
        obj(
            "Community",
            "c1",
            {
                "communities": [
                    {"name": "edge", "value": "64512:200"},
                    {"name": "big", "value": "large:1:2:3"},
                ]
            },
        ),
        obj(
            "Community",
            "c2",
            {
                "communities": [
                    {"name": "edge", "value": "64512:300"},
                    {"name": "broken", "value": "1:99999"},
                ]
            },
        ),
        bgpadv("a", communities=["big", "no-export", "64512:7"]),
        bgpadv("b", localPref=0, communities=["edge"], peers=[]),
        bgpadv(
            "c",
            communities=["broken", "nothing", "1:2:3", "64512:7", "64512:7"],
            nodeSelectors=[{"matchLabels": {"x": "y"}}],
        ),
    )
    assert errors(s) == [
        'BGPAdvertisement/b: spec.communities[0]: community alias "edge" is invalid (see '
        "Community/c1 and Community/c2)",
        'BGPAdvertisement/c: spec.communities[0]: community alias "broken" is invalid (see '
        "Community/c2)",
        'BGPAdvertisement/c: spec.communities[1]: unknown community alias "nothing"',
        'BGPAdvertisement/c: spec.communities[2]: "1:2:3" is not a valid community (A:B, '
        "large:A:B:C or a well-known name)",
        'BGPAdvertisement/c: spec.communities[4]: duplicate entry "64512:7"',
        'Community/c2: spec.communities[0]: duplicate community alias "edge" (also in '
        "Community/c1)",
        'Community/c2: spec.communities[1]: "1:99999" is not a valid community: 99999 does not '
        "fit in 16 bits",
    ]
    (a,) = s.config.bgp_advertisements
    # the model's order: by kind ("large" < "standard"), then by value
    assert [str(c) for c in a.communities] == ["large:1:2:3", "64512:7", "no-export"]


def test_at_most_63_communities() -> None:
    s = snap(pool("p", "203.0.113.0/24"), bgpadv("a", communities=[f"1:{i}" for i in range(64)]))
    assert errors(s) == [
        "BGPAdvertisement/a: spec.communities: has 64 communities; at most 63 allowed"
    ]


# --------------------------------------------------------------------------- advertisements


def test_advertisement_references() -> None:
    s = snap(
        pool("p", "203.0.113.0/24"),
        peer("r"),
        bgpadv("ok", ipAddressPools=["p"], peers=["r"]),
        bgpadv("bad", ipAddressPools=["p", "ghost"], peers=["r", "nobody"], aggregationLength=30),
        obj("L2Advertisement", "l2", {"ipAddressPools": ["ghost"], "interfaces": ["eth0"]}),
    )
    assert errors(s) == [
        'BGPAdvertisement/bad: spec.ipAddressPools: names pool "ghost", which does not exist',
        'BGPAdvertisement/bad: spec.peers: names BGPPeer "nobody", which does not exist',
        'L2Advertisement/l2: spec.ipAddressPools: names pool "ghost", which does not exist',
    ]
    assert [a.name for a in s.config.bgp_advertisements] == ["ok"]


def test_advertisement_protocol_must_match_pool() -> None:
    s = snap(
        {
            "apiVersion": "network.deckhouse.io/v1alpha1",
            "kind": "MetalLoadBalancerClass",
            "metadata": {"name": "cls"},
            "spec": {"addressPool": ["192.0.2.0/28"]},
        },
        bgpadv("a", ipAddressPools=["cls"]),
    )
    assert errors(s) == [
        "BGPAdvertisement/a: spec.ipAddressPools: names MetalLoadBalancerClass/cls, which is a "
        "layer2 pool"
    ]


def test_l2_advertisement_fields() -> None:
    s = snap(
        pool("p", "192.0.2.0/28"),
        obj(
            "L2Advertisement",
            "l2",
            {
                "ipAddressPools": ["p"],
                "ipAddressPoolSelectors": [{"matchLabels": {"a": "b"}}],
                "nodeSelectors": [{"matchLabels": {"rack": "1"}}],
                "interfaces": ["eth0", "eth1"],
                "serviceSelectors": [{"matchLabels": {"app": "x"}}],
                "preferredNodeSelectors": [],
            },
        ),
    )
    assert errors(s) == []
    assert [str(w) for w in s.problems] == [
        "warning: L2Advertisement/l2: spec.preferredNodeSelectors: is not supported yet and is "
        "ignored"
    ]
    (ad,) = s.config.l2_advertisements
    assert ad.pools == ("p",) and ad.interfaces == ("eth0", "eth1")
    assert len(ad.pool_selectors) == len(ad.node_selectors) == len(ad.service_selectors) == 1


def test_aggregation_length_rules() -> None:
    s = snap(
        pool("p", "203.0.113.0/26", "2001:db8::/120", "198.51.100.1-198.51.100.6"),
        bgpadv("short", ipAddressPools=["p"], aggregationLength=24),
        bgpadv("short6", ipAddressPools=["p"], aggregationLength=32, aggregationLengthV6=64),
        bgpadv(
            "range-ok",
            ipAddressPools=["p"],
            aggregationLength=31,
            aggregationLengthV6=120,
            localPref=5,
        ),
        bgpadv("out", aggregationLength=33, aggregationLengthV6=0),
        bgpadv("sel", serviceSelectors=[{"matchLabels": {"a": "b"}}], aggregationLength=30),
    )
    assert errors(s) == [
        "BGPAdvertisement/out: spec.aggregationLength: 33 is out of range 1..32",
        "BGPAdvertisement/out: spec.aggregationLengthV6: 0 is out of range 1..128",
        "BGPAdvertisement/sel: spec.aggregationLength: must be 32 when serviceSelectors is set",
        'BGPAdvertisement/sel: spec.aggregationLength: prefix "198.51.100.1-198.51.100.6" (/31) '
        "of IPAddressPool/p is more specific than the aggregation length 30",
        'BGPAdvertisement/short: spec.aggregationLength: prefix "198.51.100.1-198.51.100.6" (/31) '
        "of IPAddressPool/p is more specific than the aggregation length 24",
        'BGPAdvertisement/short: spec.aggregationLength: prefix "203.0.113.0/26" (/26) of '
        "IPAddressPool/p is more specific than the aggregation length 24",
        'BGPAdvertisement/short6: spec.aggregationLengthV6: prefix "2001:db8::/120" (/120) of '
        "IPAddressPool/p is more specific than the aggregation length 64",
    ]
    assert [a.name for a in s.config.bgp_advertisements] == ["range-ok"]


def test_local_pref_conflicts() -> None:
    s = snap(
        pool("p", "203.0.113.0/24"),
        peer("r1"),
        peer("r2", peerAddress="198.51.100.2"),
        bgpadv("a", ipAddressPools=["p"], localPref=100),
        bgpadv("b", ipAddressPools=["p"], localPref=200),
        # disjoint peers: no conflict
        bgpadv("c", ipAddressPools=["p"], localPref=300, peers=["r1"], aggregationLength=28),
        bgpadv("d", ipAddressPools=["p"], localPref=400, peers=["r2"], aggregationLength=28),
        # different aggregation: no conflict
        bgpadv("e", ipAddressPools=["p"], localPref=500, aggregationLength=30),
        # service selectors: not checked (as MetalLB)
        bgpadv(
            "f", ipAddressPools=["p"], localPref=600, serviceSelectors=[{"matchLabels": {"a": "b"}}]
        ),
    )
    # only the junior (by name here: no timestamps) is left out, naming both
    assert errors(s) == [
        "BGPAdvertisement/b: spec.localPref: localPref 200 conflicts with localPref 100 of "
        "BGPAdvertisement/a: both advertise IPAddressPool/p to the same peers from the same "
        "nodes with the same aggregation length" + serving("BGPAdvertisement/a", "t.yaml#4"),
    ]
    assert [a.name for a in s.config.bgp_advertisements] == ["a", "c", "d", "e", "f"]


def test_local_pref_uses_known_nodes() -> None:
    def node(name: str, rack: str) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": name, "labels": {"rack": rack}},
        }

    s = snap(
        pool("p", "203.0.113.0/24"),
        node("n1", "a"),
        node("n2", "b"),
        bgpadv("a", localPref=1, nodeSelectors=[{"matchLabels": {"rack": "a"}}]),
        bgpadv("b", localPref=2, nodeSelectors=[{"matchLabels": {"rack": "b"}}]),
    )
    assert errors(s) == []


def test_identical_advertisements() -> None:
    s = snap(
        pool("p", "203.0.113.0/24"),
        bgpadv("b", ipAddressPools=["p"], localPref=7),
        bgpadv("a", ipAddressPools=["p"], localPref=7),
    )
    assert errors(s) == [
        "BGPAdvertisement/b: spec: is identical to BGPAdvertisement/a"
        + serving("BGPAdvertisement/a", "t.yaml#3")
    ]
    # the older one stays, whatever the names
    s = snap(
        pool("p", "203.0.113.0/24"),
        created(bgpadv("b", ipAddressPools=["p"], localPref=7), "2024-01-01T00:00:00Z"),
        created(bgpadv("a", ipAddressPools=["p"], localPref=7), "2025-01-01T00:00:00Z"),
    )
    assert [a.name for a in s.config.bgp_advertisements] == ["b"]
