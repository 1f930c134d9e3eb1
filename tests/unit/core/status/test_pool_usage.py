"""Pool counters: assigned from the Services' ingress IPs, available from the pool's size."""

from __future__ import annotations

import ipaddress

from orchestrator.core.model.cluster import AddressPool, PoolKind
from orchestrator.core.status.pool_usage import INT64_MAX, pool_usage


def _pool(
    name: str, *cidrs: str, kind: PoolKind = PoolKind.IPADDRESSPOOL, buggy: bool = False
) -> AddressPool:
    nets = tuple(ipaddress.ip_network(c) for c in cidrs)
    return AddressPool(name=name, kind=kind, cidrs=nets, avoid_buggy_ips=buggy)


def test_counts() -> None:
    pools = {
        "a": _pool("a", "192.0.2.0/28", "2001:db8::/120"),
        "b": _pool("b", "198.51.100.0/24", buggy=True),
        "big": _pool("big", "2001:db8:1::/64"),
        "cls": _pool("cls", "203.0.113.0/28", kind=PoolKind.CLASS),
    }
    ingress = [
        "192.0.2.1",
        "192.0.2.1",
        "192.0.2.2",
        "2001:db8::5",
        "198.51.100.7",
        "junk",
        "203.0.113.1",
    ]
    usage = pool_usage(pools, ingress)
    assert set(usage) == {"a", "b", "big"}  # only IPAddressPools carry the counters
    assert usage["a"].to_status() == {
        "assignedIPv4": 2,
        "assignedIPv6": 1,
        "availableIPv4": 14,
        "availableIPv6": 255,
    }
    assert (usage["b"].assigned_v4, usage["b"].available_v4) == (1, 256 - 2 - 1)
    assert usage["big"].available_v6 == INT64_MAX


def test_buggy_edges_of_small_networks() -> None:
    pools = {"p": _pool("p", "192.0.2.0/25", "192.0.2.255/32", "192.0.2.130/31", buggy=True)}
    assert pool_usage(pools, [])["p"].available_v4 == (128 - 1) + 0 + 2
