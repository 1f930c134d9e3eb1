"""Pool address entries and range summarization.

Matrix: entry forms (CIDR, host bits set, range with and without spaces, single IP, IPv6)
x failures (bad octet, reversed range, mixed families, zone id, CIDR in a range, empty);
property tests: a summarized range covers exactly the range with disjoint, minimal CIDRs;
the overlap sweep finds every overlapping CIDR and nothing else.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.core.model.addresses import (
    AddressError,
    contains,
    find_overlaps,
    parse_entry,
    parse_ip,
    summarize,
)
from orchestrator.core.model.cluster import IPNetwork


def test_cidr_entry() -> None:
    e = parse_entry("192.0.2.0/24")
    assert e.cidrs == (ip_network("192.0.2.0/24"),)
    assert e.note is None and not e.is_range and e.lowest_prefix == 24


def test_cidr_with_host_bits_is_masked_with_a_note() -> None:
    e = parse_entry("192.0.2.7/24")
    assert e.cidrs == (ip_network("192.0.2.0/24"),)
    assert e.note == "host bits set; using 192.0.2.0/24"


@pytest.mark.parametrize("text", ["192.0.2.10-192.0.2.20", "192.0.2.10 - 192.0.2.20"])
def test_range_entry(text: str) -> None:
    e = parse_entry(text)
    assert e.is_range
    assert [str(c) for c in e.cidrs] == [
        "192.0.2.10/31",
        "192.0.2.12/30",
        "192.0.2.16/30",
        "192.0.2.20/32",
    ]
    assert e.lowest_prefix == 30


def test_single_ip_and_ipv6() -> None:
    assert parse_entry("192.0.2.1").cidrs == (ip_network("192.0.2.1/32"),)
    assert parse_entry("2001:db8::1").cidrs == (ip_network("2001:db8::1/128"),)
    assert parse_entry("2001:db8::/120").cidrs == (ip_network("2001:db8::/120"),)
    assert parse_entry("2001:db8::10-2001:db8::11").cidrs == (ip_network("2001:db8::10/127"),)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("192.168.7.300", '"192.168.7.300" is not an IP, CIDR or range'),
        ("192.0.2.0/33", '"192.0.2.0/33" is not a valid CIDR'),
        (
            "192.0.2.20-192.0.2.10",
            '"192.0.2.20-192.0.2.10": start 192.0.2.20 is after end 192.0.2.10',
        ),
        (
            "192.0.2.1-2001:db8::1",
            '"192.0.2.1-2001:db8::1": 192.0.2.1 and 2001:db8::1 are of different IP families',
        ),
        ("192.0.2.0/24-192.0.2.255", '"192.0.2.0/24-192.0.2.255": a range is two IPs, not CIDRs'),
        ("192.0.2.1-", '"192.0.2.1-" is not an IP, CIDR or range'),
        ("fe80::1%eth0", '"fe80::1%eth0" is not an IP, CIDR or range'),
        ("fe80::/64%eth0", '"fe80::/64%eth0": a zone id is not allowed here'),
        ("  ", "an empty string is not an IP, CIDR or range"),
        ("010.0.0.1", '"010.0.0.1" is not an IP, CIDR or range'),
    ],
)
def test_bad_entries(text: str, message: str) -> None:
    with pytest.raises(AddressError) as exc:
        parse_entry(text)
    assert str(exc.value) == message


def test_parse_ip_rejects_zone_and_garbage() -> None:
    assert parse_ip("192.0.2.1") == IPv4Address("192.0.2.1")
    with pytest.raises(AddressError):
        parse_ip("fe80::1%eth0")
    with pytest.raises(AddressError):
        parse_ip(" 192.0.2.1")


def test_contains() -> None:
    nets = (ip_network("192.0.2.0/28"), ip_network("2001:db8::/120"))
    assert contains(nets, ip_address("192.0.2.15"))
    assert contains(nets, ip_address("2001:db8::ff"))
    assert not contains(nets, ip_address("192.0.2.16"))


def test_find_overlaps_names_each_culprit() -> None:
    nets: list[IPNetwork] = [
        ip_network("192.0.2.0/24"),
        ip_network("198.51.100.0/24"),
        ip_network("192.0.2.128/25"),
        ip_network("2001:db8::/64"),
        ip_network("192.0.2.5/32"),
        ip_network("2001:db8::/120"),
    ]
    pairs = {frozenset(p) for p in find_overlaps(nets)}
    assert pairs == {frozenset({0, 2}), frozenset({0, 4}), frozenset({3, 5})}


def test_summarize_rejects_reversed() -> None:
    with pytest.raises(AddressError):
        summarize(IPv4Address("192.0.2.2"), IPv4Address("192.0.2.1"))


v4 = st.integers(min_value=0, max_value=2**32 - 1)
v6 = st.integers(min_value=0, max_value=2**128 - 1)


@given(st.tuples(v4, v4) | st.tuples(v6, v6).map(lambda t: (t[0], t[1], 6)))
def test_summarize_covers_exactly_the_range(bounds: tuple[int, ...]) -> None:
    lo, hi = sorted(bounds[:2])
    make = IPv6Address if len(bounds) == 3 else IPv4Address
    first, last = make(lo), make(hi)
    cidrs = summarize(first, last)
    # contiguous, in order, disjoint, from first to last exactly
    assert int(cidrs[0].network_address) == lo
    assert int(cidrs[-1].broadcast_address) == hi
    for a, b in pairwise(cidrs):
        assert int(a.broadcast_address) + 1 == int(b.network_address)
    assert sum(c.num_addresses for c in cidrs) == hi - lo + 1
    # minimal: no two neighbours could merge into one aligned CIDR
    for a, b in pairwise(cidrs):
        if a.prefixlen == b.prefixlen and a.prefixlen > 0:
            assert a.supernet() != b.supernet()


@given(st.lists(st.tuples(st.integers(0, 255), st.integers(24, 32)), min_size=1, max_size=12))
def test_find_overlaps_matches_brute_force(specs: list[tuple[int, int]]) -> None:
    nets: list[IPNetwork] = [
        ip_network(f"192.0.2.{host}/{plen}", strict=False) for host, plen in specs
    ]
    truly = {
        i
        for i in range(len(nets))
        for j in range(len(nets))
        if i != j and nets[i].overlaps(nets[j])
    }
    found = {k for pair in find_overlaps(nets) for k in pair}
    assert found == truly
    for i, j in find_overlaps(nets):
        assert nets[i].overlaps(nets[j])
