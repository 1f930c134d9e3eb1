"""How many addresses of each IPAddressPool are given out and how many are left: the
``status`` counters MetalLB writes (``assignedIPv4/IPv6``, ``availableIPv4/IPv6``).

Counted from what is recorded on the Services (their ingress IPs), not from an allocator's
memory, so the numbers are those a user can check with ``kubectl get svc``: an IP is
assigned to a pool when it lies in the pool's CIDRs; a shared IP counts once. Available is
the pool's size minus assigned, where the size leaves out the ``.0``/``.255`` addresses of a
pool with ``avoidBuggyIPs`` (they are never handed out). IPv6 sizes are capped at 2^63-1,
the largest value the CRD's int64 field holds.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from orchestrator.core.model.cluster import AddressPool, PoolKind

INT64_MAX = 2**63 - 1


@dataclass(frozen=True)
class PoolUsage:
    assigned_v4: int
    assigned_v6: int
    available_v4: int
    available_v6: int

    def to_status(self) -> dict[str, int]:
        return {
            "assignedIPv4": self.assigned_v4,
            "assignedIPv6": self.assigned_v6,
            "availableIPv4": self.available_v4,
            "availableIPv6": self.available_v6,
        }


def _buggy(net: ipaddress.IPv4Network) -> int:
    """Addresses of ``net`` whose last octet is 0 or 255."""
    if net.prefixlen <= 24:
        return int(2 * (2 ** (24 - net.prefixlen)))
    ends = {net.network_address, net.broadcast_address}  # one address for a /32
    return sum(1 for ip in ends if ip.packed[3] in (0, 255))


def _size(pool: AddressPool, version: int) -> int:
    total = 0
    for net in pool.cidrs:
        if net.version != version:
            continue
        total += net.num_addresses
        if pool.avoid_buggy_ips and isinstance(net, ipaddress.IPv4Network):
            total -= _buggy(net)
    return min(total, INT64_MAX)


def pool_usage(pools: Mapping[str, AddressPool], ingress: Iterable[str]) -> dict[str, PoolUsage]:
    """IPAddressPool name -> its counters, given every ingress IP recorded on Services."""
    ips = set()
    for text in ingress:
        try:
            ips.add(ipaddress.ip_address(text))
        except ValueError:
            continue  # a foreign or damaged status entry is not ours to count
    out: dict[str, PoolUsage] = {}
    for name, pool in sorted(pools.items()):
        if pool.kind is not PoolKind.IPADDRESSPOOL:
            continue
        mine = [ip for ip in ips if any(ip.version == c.version and ip in c for c in pool.cidrs)]
        v4 = sum(1 for ip in mine if ip.version == 4)
        v6 = len(mine) - v4
        out[name] = PoolUsage(
            assigned_v4=v4,
            assigned_v6=v6,
            available_v4=max(_size(pool, 4) - v4, 0),
            available_v6=max(_size(pool, 6) - v6, 0),
        )
    return out
