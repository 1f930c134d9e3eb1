"""Ethernet, ARP and IPv6 neighbour-discovery frames as bytes: layouts, builders, checksums.

Everything on the answer path is built here with ``struct`` and bytes concatenation, never
with scapy: scapy needs ~455 µs to build an ARP reply, a join of pre-made chunks ~1 µs. The
unit tests build the same frames with scapy and compare byte for byte, so scapy remains the
reference for the layouts without sitting on the hot path.

Offsets (untagged Ethernet II; 802.1Q frames never reach the decoder, the BPF filter drops
them)::

    Ethernet     dst 0-6   src 6-12  ethertype 12-14
    ARP          htype 14  ptype 16  hlen 18  plen 19  op 20
                 sha 22-28 spa 28-32 tha 32-38 tpa 38-42
    IPv6         version 14 (high nibble)  payload length 18-20  next header 20
                 hop limit 21  src 22-38  dst 38-54
    ICMPv6 NS/NA type 54  code 55  checksum 56-58  flags 58-62  target 62-78  options 78-

A ``Link`` holds the constant chunks of every frame we send from one interface (its MAC is
fixed), so a reply is ``b"".join`` of five to nine pieces. The Ethernet source MAC always
equals the ARP sender / NDP target link-layer address: switches learn the VIP's port from it.

The ICMPv6 checksum uses the fact that 2**16 ≡ 1 (mod 0xFFFF): the ones'-complement sum of
16-bit big-endian words is congruent to the whole buffer read as one big integer, so
``int.from_bytes(...) % 0xFFFF`` replaces a word loop. A remainder of 0 means the
ones'-complement sum is 0xFFFF (the data is never all zero: the pseudo-header carries
next-header 58), whose complement is 0.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

ETH_P_ARP = 0x0806
ETH_P_IPV6 = 0x86DD
IPPROTO_ICMPV6 = 58
ICMPV6_NS = 135
ICMPV6_NA = 136
ND_OPT_SOURCE_LLA = 1
ND_OPT_TARGET_LLA = 2

ETH_HEADER = 14
ARP_FRAME = 42  # Ethernet + ARP for Ethernet/IPv4, without padding
IPV6_START = 14
ICMPV6_START = 54
NS_FRAME_MIN = 78  # Ethernet + IPv6 + the 24-byte NS without options
NA_FRAME = 86  # Ethernet + IPv6 + 24-byte NA + 8-byte target link-layer option

BROADCAST_MAC = b"\xff" * 6
ZERO_MAC = b"\x00" * 6
ALL_NODES = bytes.fromhex("ff020000000000000000000000000001")
ALL_NODES_MAC = b"\x33\x33\x00\x00\x00\x01"
UNSPECIFIED6 = bytes(16)
UNSPECIFIED4 = bytes(4)
_SOLICITED_PREFIX = bytes.fromhex("ff0200000000000000000001ff")

NA_ROUTER = 0x80000000
NA_SOLICITED = 0x40000000
NA_OVERRIDE = 0x20000000
#: Flags of our answer to a neighbour solicitation. Override is set (MetalLB leaves it clear):
#: the VIP is ours alone, and with O=0 a host whose cache still holds the previous owner's MAC
#: would keep that MAC (RFC 4861 7.2.5) until its entry fails.
NA_FLAGS_SOLICITED = NA_SOLICITED | NA_OVERRIDE
#: Flags of unsolicited advertisements (takeover) and of answers to DAD probes (RFC 4861
#: 7.2.4: a reply to the unspecified address goes to all-nodes with Solicited clear).
NA_FLAGS_UNSOLICITED = NA_OVERRIDE

_ARP_REPLY_HEAD = struct.pack("!HHHBBH", ETH_P_ARP, 1, 0x0800, 6, 4, 2)
_ARP_REQUEST_HEAD = struct.pack("!HHHBBH", ETH_P_ARP, 1, 0x0800, 6, 4, 1)
# IPv6 header up to the addresses: version 6, payload 32 bytes (NA + TLLA), ICMPv6, hop 255
_NA_IPV6_HEAD = struct.pack("!HIHBB", ETH_P_IPV6, 0x60000000, 32, IPPROTO_ICMPV6, 255)
_ICMP_HEAD = struct.Struct("!BBHI")  # type, code, checksum, flags/reserved
_MOD = 0xFFFF


def _fold(total: int) -> int:
    """The checksum field for data whose word sum is congruent to ``total`` (mod 0xFFFF)."""
    rest = total % _MOD
    return _MOD - rest if rest else 0


def icmpv6_checksum(src: bytes, dst: bytes, body: bytes) -> int:
    """RFC 4443 checksum of ``body`` (checksum field zeroed) with the IPv6 pseudo-header."""
    length = len(body)
    if length % 2:
        body = body + b"\x00"
    total = int.from_bytes(src, "big") + int.from_bytes(dst, "big")
    # upper-layer length (32 bits) and next header: each 32-bit field is congruent to itself
    total += length + IPPROTO_ICMPV6 + int.from_bytes(body, "big")
    return _fold(total)


def icmpv6_checksum_ok(src: bytes, dst: bytes, body: bytes) -> bool:
    """True when ``body`` (checksum field included) carries a valid ICMPv6 checksum."""
    length = len(body)
    if length % 2:
        body = body + b"\x00"
    total = int.from_bytes(src, "big") + int.from_bytes(dst, "big") + length + IPPROTO_ICMPV6
    return (total + int.from_bytes(body, "big")) % _MOD == 0


def solicited_node(addr: bytes) -> bytes:
    """The solicited-node multicast group ff02::1:ffXX:XXXX of an IPv6 address."""
    return _SOLICITED_PREFIX + addr[13:16]


def multicast_mac(group: bytes) -> bytes:
    """The Ethernet address an IPv6 multicast group maps to (RFC 2464: 33:33 + low 32 bits)."""
    return b"\x33\x33" + group[12:16]


@dataclass(frozen=True, slots=True)
class Link:
    """An interface we answer on: its name, MAC and the constant chunks of our frames."""

    name: str
    mac: bytes
    _arp_reply_mid: bytes = field(init=False, repr=False, compare=False)
    _arp_request_mid: bytes = field(init=False, repr=False, compare=False)
    _na_head: bytes = field(init=False, repr=False, compare=False)
    _na_tlla: bytes = field(init=False, repr=False, compare=False)
    _na_sum_solicited: int = field(init=False, repr=False, compare=False)
    _na_sum_unsolicited: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.mac) != 6:
            raise ValueError(f"link {self.name}: MAC must be 6 bytes, got {len(self.mac)}")
        mac = self.mac
        tlla = bytes((ND_OPT_TARGET_LLA, 1)) + mac
        # pseudo-header length + next header, type/code word, option words; flags added below
        base = 32 + IPPROTO_ICMPV6 + (ICMPV6_NA << 8) + int.from_bytes(tlla, "big")
        setter = object.__setattr__
        setter(self, "_arp_reply_mid", mac + _ARP_REPLY_HEAD + mac)
        setter(self, "_arp_request_mid", mac + _ARP_REQUEST_HEAD + mac)
        setter(self, "_na_head", mac + _NA_IPV6_HEAD)
        setter(self, "_na_tlla", tlla)
        setter(self, "_na_sum_solicited", base + NA_FLAGS_SOLICITED)
        setter(self, "_na_sum_unsolicited", base + NA_FLAGS_UNSOLICITED)

    # ------------------------------------------------------------------ ARP

    def arp_reply(self, *, ip: bytes, to_mac: bytes, to_ip: bytes) -> bytes:
        """Unicast ARP reply "``ip`` is at our MAC" to the requester ``to_mac``/``to_ip``."""
        return b"".join((to_mac, self._arp_reply_mid, ip, to_mac, to_ip))

    def gratuitous_arp(self, ip: bytes) -> tuple[bytes, bytes]:
        """Broadcast ARP request and reply with sender = target = ``ip``.

        MetalLB sends both because some hosts update their cache from only one kind. The
        request's target MAC is broadcast as in MetalLB; the reply's is our own MAC (RFC 2002
        4.6), which Linux requires to treat a reply as gratuitous and to apply it even within
        the 1 s ``locktime`` of the entry's last update.
        """
        request = b"".join((BROADCAST_MAC, self._arp_request_mid, ip, BROADCAST_MAC, ip))
        reply = b"".join((BROADCAST_MAC, self._arp_reply_mid, ip, self.mac, ip))
        return request, reply

    # ------------------------------------------------------------------ NDP

    def neighbor_advert(
        self, *, target: bytes, dst_mac: bytes, dst_ip: bytes, solicited: bool
    ) -> bytes:
        """Neighbour advertisement for ``target`` from ``target`` with the target LLA option.

        ``solicited`` selects Solicited+Override (answer to a solicitation) or Override only
        (unsolicited takeover announcement, answer to a DAD probe).
        """
        if solicited:
            flags, const = NA_FLAGS_SOLICITED, self._na_sum_solicited
        else:
            flags, const = NA_FLAGS_UNSOLICITED, self._na_sum_unsolicited
        # target appears twice: as the IPv6 source and in the NA body
        tgt = int.from_bytes(target, "big")
        checksum = _fold(const + tgt + tgt + int.from_bytes(dst_ip, "big"))
        icmp = _ICMP_HEAD.pack(ICMPV6_NA, 0, checksum, flags)
        return b"".join((dst_mac, self._na_head, target, dst_ip, icmp, target, self._na_tlla))

    def unsolicited_na(self, ip: bytes) -> bytes:
        """Takeover announcement: NA to all-nodes, Override set, Solicited clear."""
        return self.neighbor_advert(
            target=ip, dst_mac=ALL_NODES_MAC, dst_ip=ALL_NODES, solicited=False
        )

    # ------------------------------------------------------------------ requests (probes)

    def arp_request(self, *, src_ip: bytes, target_ip: bytes) -> bytes:
        """Broadcast "who has ``target_ip``" from this link (for probes and benchmarks)."""
        return b"".join((BROADCAST_MAC, self._arp_request_mid, src_ip, ZERO_MAC, target_ip))

    def neighbor_solicit(self, *, src_ip: bytes, target: bytes) -> bytes:
        """Multicast NS for ``target`` to its solicited-node group, with our source LLA.

        With ``src_ip`` unspecified (::) it is a DAD probe and, as RFC 4861 requires,
        carries no source link-layer option.
        """
        group = solicited_node(target)
        options = b"" if src_ip == UNSPECIFIED6 else bytes((ND_OPT_SOURCE_LLA, 1)) + self.mac
        body = _ICMP_HEAD.pack(ICMPV6_NS, 0, 0, 0) + target + options
        checksum = icmpv6_checksum(src_ip, group, body)
        body = body[:2] + checksum.to_bytes(2, "big") + body[4:]
        ipv6 = struct.pack("!HIHBB", ETH_P_IPV6, 0x60000000, len(body), IPPROTO_ICMPV6, 255)
        return b"".join((multicast_mac(group), self.mac, ipv6, src_ip, group, body))
