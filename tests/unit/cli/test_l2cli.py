"""``mlb l2 announce`` argument handling and the announcer's metrics exposition.

Matrix: single IPs, CIDRs, ranges, both families, order kept and duplicates removed; errors
for host bits, reversed or mixed ranges, garbage and more than the cap; the argparse wiring
of ``mlb l2 announce``; Prometheus exposition under MetalLB's exact names plus drops by
reason.
"""

from __future__ import annotations

from ipaddress import ip_address

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from orchestrator.cli import build_parser
from orchestrator.cli.l2 import AddressError, expand_addresses
from orchestrator.core.l2.wire import DropReason
from orchestrator.l2 import L2Collector, L2Stats


def test_expand_ips_cidrs_and_ranges() -> None:
    got = expand_addresses(
        ["192.0.2.10", "192.0.2.0/31", "192.0.2.20-192.0.2.22", "2001:db8::1", "2001:db8::/127"]
    )
    assert [str(ip) for ip in got] == [
        "192.0.2.10",
        "192.0.2.0",
        "192.0.2.1",
        "192.0.2.20",
        "192.0.2.21",
        "192.0.2.22",
        "2001:db8::1",
        "2001:db8::",
    ]


def test_expand_removes_duplicates_and_accepts_spaces_around_dash() -> None:
    got = expand_addresses(["2001:db8::1 - 2001:db8::2", "2001:db8::2", "2001:db8::1"])
    assert got == [ip_address("2001:db8::1"), ip_address("2001:db8::2")]


@pytest.mark.parametrize(
    "spec",
    [
        "192.0.2.1/24",  # host bits set
        "192.0.2.9-192.0.2.1",
        "192.0.2.1-2001:db8::1",
        "not-an-ip",
        "300.1.1.1",
        "",
    ],
)
def test_expand_errors(spec: str) -> None:
    with pytest.raises(AddressError):
        expand_addresses([spec])


def test_expand_cap() -> None:
    assert len(expand_addresses(["198.18.0.0/16"])) == 65_536
    with pytest.raises(AddressError, match="more than 65536"):
        expand_addresses(["198.18.0.0/16", "192.0.2.1"])
    with pytest.raises(AddressError):
        expand_addresses(["2001:db8::/64"])


def test_parser_wiring() -> None:
    args = build_parser().parse_args(
        ["l2", "announce", "-i", "eth0", "--interface", "eth1", "--refresh", "30", "192.0.2.1"]
    )
    assert args.interface == ["eth0", "eth1"]
    assert args.refresh == 30.0 and args.addresses == ["192.0.2.1"]
    with pytest.raises(SystemExit):
        build_parser().parse_args(["l2"])  # the subcommand is required


def test_metrics_use_metallb_names() -> None:
    stats = L2Stats()
    vip = ip_address("192.0.2.50").packed
    stats.requests_received[vip] += 3
    stats.responses_sent[vip] += 2
    stats.gratuitous_sent[ip_address("2001:db8::50").packed] += 5
    stats.dropped["eth0", DropReason.TRUNCATED] += 1
    registry = CollectorRegistry()
    registry.register(L2Collector(stats))
    text = generate_latest(registry).decode()
    assert 'metallb_layer2_requests_received{ip="192.0.2.50"} 3.0' in text
    assert 'metallb_layer2_responses_sent{ip="192.0.2.50"} 2.0' in text
    assert 'metallb_layer2_gratuitous_sent{ip="2001:db8::50"} 5.0' in text
    assert 'mlb_layer2_dropped_total{iface="eth0",reason="truncated"} 1.0' in text
    assert stats.summary() == {
        "requests_received": 3,
        "responses_sent": 2,
        "gratuitous_sent": 5,
        "dropped": {"truncated": 1},
        "send_errors": 0,
    }
