"""Pool address entries: CIDRs, ``a-b`` ranges and single IPs, and range summarization.

A pool entry is written one of three ways, as MetalLB and Deckhouse accept them:

* a CIDR, ``192.0.2.0/24`` or ``2001:db8::/120``. Host bits may be set
  (``192.0.2.7/24``); like Go's ``net.ParseCIDR`` we mask them off, but report it so the
  caller can warn;
* a range ``192.0.2.10-192.0.2.20``, spaces around the dash allowed. It is summarized into
  the minimal list of CIDRs that covers exactly the range (``ipaddr.Summarize`` in MetalLB),
  so the rest of the core only ever deals with CIDRs;
* a single IP, which becomes a /32 or /128.

Everything here is a pure function raising ``AddressError`` with a message meant for a user;
the parser turns it into a ``FieldError`` with the field path. Zone ids (``fe80::1%eth0``)
are rejected: an IP in a pool is global, never scoped to a link.

``find_overlaps`` is a sort-and-sweep over all CIDRs of all pools, O(n log n), so that
validating thousands of pool entries stays cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import (
    IPv4Address,
    IPv4Network,
    IPv6Address,
    IPv6Network,
    ip_address,
    ip_network,
    summarize_address_range,
)

from orchestrator.core.model.cluster import IPAddress, IPNetwork
from orchestrator.core.model.errors import quote


class AddressError(ValueError):
    """A user-facing message about one address entry."""


def parse_ip(text: str) -> IPAddress:
    """One IPv4 or IPv6 address, exactly (no surrounding spaces, no zone id)."""
    try:
        addr = ip_address(text)
    except ValueError:
        raise AddressError(f"{quote(text)} is not an IP address") from None
    if isinstance(addr, IPv6Address) and addr.scope_id is not None:
        raise AddressError(f"{quote(text)}: a zone id is not allowed here") from None
    return addr


def parse_network(text: str) -> tuple[IPNetwork, bool]:
    """A CIDR; returns the network and whether host bits had to be masked off."""
    if "%" in text:
        raise AddressError(f"{quote(text)}: a zone id is not allowed here")
    try:
        net = ip_network(text, strict=False)
        given = ip_address(text.split("/", 1)[0])
    except ValueError:
        raise AddressError(f"{quote(text)} is not a valid CIDR") from None
    return net, given != net.network_address


def summarize(first: IPAddress, last: IPAddress) -> tuple[IPNetwork, ...]:
    """The minimal CIDRs covering exactly ``first..last`` (inclusive), in address order."""
    if first.version != last.version:
        raise AddressError(f"{first} and {last} are of different IP families")
    if int(first) > int(last):
        raise AddressError(f"start {first} is after end {last}")
    if isinstance(first, IPv4Address) and isinstance(last, IPv4Address):
        return tuple(summarize_address_range(first, last))
    if isinstance(first, IPv6Address) and isinstance(last, IPv6Address):
        return tuple(summarize_address_range(first, last))
    raise AddressError(f"{first} and {last} are of different IP families")  # pragma: no cover


@dataclass(frozen=True)
class PoolEntry:
    """One parsed pool entry: the CIDRs it stands for, and a note worth a warning."""

    text: str
    cidrs: tuple[IPNetwork, ...]
    is_range: bool = False
    note: str | None = None  # e.g. "host bits set; using 192.0.2.0/24"

    @property
    def lowest_prefix(self) -> int:
        """Shortest prefix length among the entry's CIDRs (MetalLB's ``lowestMask``)."""
        return min(c.prefixlen for c in self.cidrs)


def parse_entry(text: str) -> PoolEntry:
    """Parse one pool entry (CIDR, range or single IP). Raises ``AddressError``."""
    stripped = text.strip()
    if not stripped:
        raise AddressError("an empty string is not an IP, CIDR or range")
    if "-" in stripped:
        return _parse_range(text, stripped)
    if "/" in stripped:
        net, masked = parse_network(stripped)
        note = f"host bits set; using {net}" if masked else None
        return PoolEntry(text, (net,), note=note)
    try:
        addr = parse_ip(stripped)
    except AddressError:
        raise AddressError(f"{quote(text)} is not an IP, CIDR or range") from None
    return PoolEntry(text, (_host_network(addr),))


def _parse_range(text: str, stripped: str) -> PoolEntry:
    start_text, _, end_text = stripped.partition("-")
    start_text, end_text = start_text.strip(), end_text.strip()
    if "/" in start_text or "/" in end_text:
        raise AddressError(f"{quote(text)}: a range is two IPs, not CIDRs")
    try:
        start = parse_ip(start_text)
        end = parse_ip(end_text)
    except AddressError:
        raise AddressError(f"{quote(text)} is not an IP, CIDR or range") from None
    try:
        cidrs = summarize(start, end)
    except AddressError as e:
        raise AddressError(f"{quote(text)}: {e}") from None
    return PoolEntry(text, cidrs, is_range=True)


def _host_network(addr: IPAddress) -> IPNetwork:
    if isinstance(addr, IPv4Address):
        return IPv4Network((addr, 32))
    return IPv6Network((addr, 128))


def find_overlaps(nets: Sequence[IPNetwork]) -> list[tuple[int, int]]:
    """Pairs of indices into ``nets`` whose networks overlap.

    Every network that overlaps another is reported at least once, paired with the network
    seen earlier in address order that reaches furthest; that names every culprit without
    the quadratic list of all pairs. In each pair the first index sorts first by address.
    """
    order = sorted(
        range(len(nets)),
        key=lambda i: (
            nets[i].version,
            int(nets[i].network_address),
            -int(nets[i].broadcast_address),
        ),
    )
    found: list[tuple[int, int]] = []
    reach: int | None = None  # index holding the furthest end in the current family
    for i in order:
        net = nets[i]
        if reach is not None and nets[reach].version == net.version:
            far = nets[reach]
            if int(net.network_address) <= int(far.broadcast_address):
                found.append((reach, i))
                if int(net.broadcast_address) > int(far.broadcast_address):
                    reach = i
                continue
        reach = i
    return found


def contains(cidrs: Sequence[IPNetwork], ip: IPAddress) -> bool:
    """Whether ``ip`` lies in any of ``cidrs``."""
    return any(ip.version == c.version and ip in c for c in cidrs)


__all__ = [
    "AddressError",
    "PoolEntry",
    "contains",
    "find_overlaps",
    "parse_entry",
    "parse_ip",
    "parse_network",
    "summarize",
]
