"""GoBGP desired-state model: communities, normalisation, and ``validate``.

Covers: community numbers and range checks at construction (parsing is the core's),
sorted/deduplicated communities (equal paths compare equal), every ``validate`` problem,
and that no problem text carries a password.
"""

from __future__ import annotations

from ipaddress import IPv4Address, ip_address, ip_network

import pytest

from gobgp.model import (
    INTERNAL_GLOBAL_ADMIN,
    Community,
    Family,
    GobgpDesired,
    GobgpGlobal,
    GobgpPath,
    GobgpPeer,
    LargeCommunity,
    validate,
)
from orchestrator.core.model.cluster import Secret

INSTANCE = GobgpGlobal(64512, IPv4Address("198.51.100.11"))
R1 = GobgpPeer("r1", ip_address("198.51.100.1"), 64500)
V4 = ip_network("203.0.113.10/32")
V6 = ip_network("2001:db8:5::10/128")


def test_community_number_and_range() -> None:
    c = Community(65000, 100)
    assert (c.asn, c.value, c.number, str(c)) == (65000, 100, 65000 << 16 | 100, "65000:100")
    assert Community.from_number(c.number) == c
    for asn, value in ((65536, 1), (1, 65536), (-1, 2)):
        with pytest.raises(ValueError):
            Community(asn, value)


def test_large_community_range() -> None:
    assert str(LargeCommunity(1, 2, 3)) == "1:2:3"
    for bad in ((4294967296, 0, 0), (-1, 0, 0)):
        with pytest.raises(ValueError):
            LargeCommunity(*bad)


def test_path_communities_are_sorted_and_deduplicated() -> None:
    a, b = Community(65000, 2), Community(65000, 1)
    one = GobgpPath(V4, frozenset({"r1"}), communities=(a, b, a))
    two = GobgpPath(V4, frozenset({"r1"}), communities=(b, a))
    assert one == two and one.communities == (b, a)
    assert one.family is Family.IPV4_UNICAST
    assert GobgpPath(V6, frozenset({"r1"})).family is Family.IPV6_UNICAST


def test_valid_state_has_no_problems() -> None:
    desired = GobgpDesired(INSTANCE, (R1,), (GobgpPath(V4, frozenset({"r1"})),))
    assert validate(desired) == []
    assert desired.path_counts == {Family.IPV4_UNICAST: 1, Family.IPV6_UNICAST: 0}


def test_every_problem_is_reported_at_once() -> None:
    secret = "hunter2-very-secret"
    peers = (
        GobgpPeer("r1", ip_address("198.51.100.1"), 0, password=Secret(secret), hold_time=2),
        GobgpPeer("r1", ip_address("198.51.100.1"), 64500, port=0, ebgp_multihop=300),
        GobgpPeer(
            "v4only", ip_address("198.51.100.3"), 64500, families=frozenset({Family.IPV4_UNICAST})
        ),
        GobgpPeer("ka", ip_address("198.51.100.4"), 64500, hold_time=9, keepalive=9),
        GobgpPeer("pw", ip_address("198.51.100.5"), 64500, password=Secret("line\nbreak")),
    )
    paths = (
        GobgpPath(V4, frozenset({"r1"})),
        GobgpPath(V4, frozenset({"r1"})),
        GobgpPath(ip_network("203.0.113.11/32"), frozenset()),
        GobgpPath(ip_network("203.0.113.12/32"), frozenset({"nobody"})),
        GobgpPath(V6, frozenset({"v4only"})),
        GobgpPath(
            ip_network("2001:db8:5::11/128"), frozenset({"ka"}), next_hop=ip_address("192.0.2.1")
        ),
        GobgpPath(ip_network("203.0.113.13/32"), frozenset({"ka"}), local_pref=-1),
        GobgpPath(
            ip_network("203.0.113.14/32"),
            frozenset({"ka"}),
            large_communities=(LargeCommunity(INTERNAL_GLOBAL_ADMIN, 1, 1),),
        ),
    )
    problems = validate(GobgpDesired(GobgpGlobal(0, INSTANCE.router_id, 70000), peers, paths))
    text = "\n".join(problems)
    for expected in (
        "instance: asn 0",
        "listen_port 70000",
        "peer 'r1': duplicate name",
        "address 198.51.100.1 used by another peer",
        "peer 'r1': asn 0",
        "hold_time must be at least 3",
        "port 0",
        "ebgp_multihop ttl 300",
        "peer 'ka': keepalive must be shorter",
        "peer 'pw': password must be",
        "path 203.0.113.10/32: listed twice",
        "path 203.0.113.11/32: no peer may receive it",
        "path 203.0.113.12/32: unknown peer(s) nobody",
        "path 2001:db8:5::10/128: peer(s) v4only do not carry ipv6-unicast",
        "path 2001:db8:5::11/128: an IPv6 prefix needs an IPv6 next hop",
        "local_pref -1",
        "reserved global administrator",
    ):
        assert expected in text, expected
    assert secret not in text and "line\nbreak" not in text
