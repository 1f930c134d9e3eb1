"""Should this frame be answered? ``decide`` returns an ``Answer`` (the reply bytes) or a
``Drop`` with a reason, for any input whatsoever — it never raises.

It is the whole ARP/NDP responder logic, pure and synchronous: the wire adapter hands it each
frame its BPF filter let through and sends ``Answer.reply`` unchanged. Checks run cheapest
first, so the frames we see most (requests for addresses that are not ours) leave after a few
byte comparisons and one dict probe.

ARP (MetalLB ``arp.go``): only requests; the Ethernet destination must be broadcast or our
MAC; the target must be announced on this interface. Probes (sender IP 0.0.0.0) are answered
like any request, as MetalLB does: a host running DAD for our VIP must see the conflict.

NDP (RFC 4861 7.1.1 validity, then MetalLB ``ndp.go``): IPv6 without extension headers,
hop limit 255, ICMPv6 type 135 code 0, valid checksum, non-multicast target, well-formed
options. A solicitation from a host answers unicast to its source link-layer option (or the
Ethernet source when the option is absent, as for unicast NUD probes; MetalLB drops those),
Solicited and Override set. A DAD probe (source ::) must go to the target's solicited-node
group and carry no source option; it is answered to all-nodes with Solicited clear.

The announced table maps a packed address (4 or 16 bytes) to the interfaces it is limited to,
or to None for every interface we answer on; the adapter swaps the whole dict on change.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from orchestrator.core.l2.wire.frames import (
    ARP_FRAME,
    BROADCAST_MAC,
    ETH_P_ARP,
    ETH_P_IPV6,
    ICMPV6_NS,
    ICMPV6_START,
    IPPROTO_ICMPV6,
    ND_OPT_SOURCE_LLA,
    NS_FRAME_MIN,
    UNSPECIFIED4,
    UNSPECIFIED6,
    ZERO_MAC,
    Link,
    icmpv6_checksum_ok,
    solicited_node,
)

#: packed IP -> interface names it is announced on, or None for all of ours
AnnouncedTable = Mapping[bytes, frozenset[str] | None]


class DropReason(StrEnum):
    """Why a frame got no answer (MetalLB's dropReason, finer grained)."""

    TRUNCATED = "truncated"
    NOT_ARP_OR_NDP = "notArpOrNdp"
    WRONG_HARDWARE_TYPE = "wrongHardwareType"
    WRONG_PROTOCOL_TYPE = "wrongProtocolType"
    WRONG_ADDRESS_LENGTH = "wrongAddressLength"
    NOT_REQUEST = "notRequest"  # MetalLB: arpReply
    ETHERNET_DESTINATION = "ethernetDestination"  # neither broadcast/multicast nor our MAC
    OWN_FRAME = "ownFrame"
    BAD_SENDER = "badSender"  # multicast or zero sender MAC
    NOT_ANNOUNCED = "notAnnounced"  # MetalLB: announceIP
    WRONG_INTERFACE = "wrongInterface"  # MetalLB: notMatchInterface
    NOT_IPV6 = "notIpv6"
    NOT_ICMPV6 = "notIcmpv6"  # includes extension headers before ICMPv6
    NOT_NEIGHBOR_SOLICITATION = "notNeighborSolicitation"
    BAD_HOP_LIMIT = "badHopLimit"
    BAD_ICMP_CODE = "badIcmpCode"
    BAD_LENGTH = "badLength"
    BAD_CHECKSUM = "badChecksum"
    BAD_SOURCE = "badSource"  # multicast IPv6 source
    MULTICAST_TARGET = "multicastTarget"
    BAD_OPTION = "badOption"
    BAD_DAD_PROBE = "badDadProbe"


class AnswerKind(StrEnum):
    ARP = "arp"
    ARP_PROBE = "arpProbe"
    NDP = "ndp"
    NDP_DAD = "ndpDad"


@dataclass(frozen=True, slots=True)
class Answer:
    reply: bytes
    ip: bytes  # the announced address asked for, packed
    kind: AnswerKind


@dataclass(frozen=True, slots=True)
class Drop:
    reason: DropReason


# One Drop per reason, shared: the decoder allocates nothing for the frames it drops.
_DROP = {reason: Drop(reason) for reason in DropReason}
_ARP_FIELDS = struct.Struct("!HHBBH")  # htype, ptype, hlen, plen, op at offset 14


def decide(frame: bytes, *, link: Link, announced: AnnouncedTable) -> Answer | Drop:
    """Answer or drop one received Ethernet frame on ``link``."""
    if len(frame) < 14:
        return _DROP[DropReason.TRUNCATED]
    ethertype = (frame[12] << 8) | frame[13]
    if ethertype == ETH_P_ARP:
        return _arp(frame, link, announced)
    if ethertype == ETH_P_IPV6:
        return _ndp(frame, link, announced)
    return _DROP[DropReason.NOT_ARP_OR_NDP]


def _lookup(ip: bytes, link: Link, announced: AnnouncedTable) -> Drop | None:
    try:
        names = announced[ip]
    except KeyError:
        return _DROP[DropReason.NOT_ANNOUNCED]
    if names is not None and link.name not in names:
        return _DROP[DropReason.WRONG_INTERFACE]
    return None


def _arp(frame: bytes, link: Link, announced: AnnouncedTable) -> Answer | Drop:
    if len(frame) < ARP_FRAME:
        return _DROP[DropReason.TRUNCATED]
    htype, ptype, hlen, plen, op = _ARP_FIELDS.unpack_from(frame, 14)
    if htype != 1:
        return _DROP[DropReason.WRONG_HARDWARE_TYPE]
    if ptype != 0x0800:
        return _DROP[DropReason.WRONG_PROTOCOL_TYPE]
    if hlen != 6 or plen != 4:
        return _DROP[DropReason.WRONG_ADDRESS_LENGTH]
    if op != 1:
        return _DROP[DropReason.NOT_REQUEST]
    dst = frame[0:6]
    if dst != BROADCAST_MAC and dst != link.mac:
        return _DROP[DropReason.ETHERNET_DESTINATION]
    sha = frame[22:28]
    if sha == link.mac or frame[6:12] == link.mac:
        return _DROP[DropReason.OWN_FRAME]
    if sha[0] & 1 or sha == ZERO_MAC or frame[6] & 1:
        return _DROP[DropReason.BAD_SENDER]
    tpa = frame[38:42]
    drop = _lookup(tpa, link, announced)
    if drop is not None:
        return drop
    spa = frame[28:32]
    kind = AnswerKind.ARP_PROBE if spa == UNSPECIFIED4 else AnswerKind.ARP
    return Answer(link.arp_reply(ip=tpa, to_mac=sha, to_ip=spa), tpa, kind)


def _ndp(frame: bytes, link: Link, announced: AnnouncedTable) -> Answer | Drop:
    size = len(frame)
    if size < NS_FRAME_MIN:
        return _DROP[DropReason.TRUNCATED]
    if frame[14] >> 4 != 6:
        return _DROP[DropReason.NOT_IPV6]
    if frame[20] != IPPROTO_ICMPV6:
        return _DROP[DropReason.NOT_ICMPV6]
    if frame[54] != ICMPV6_NS:
        return _DROP[DropReason.NOT_NEIGHBOR_SOLICITATION]
    end = ICMPV6_START + ((frame[18] << 8) | frame[19])  # trailing Ethernet padding ignored
    if end > size:
        return _DROP[DropReason.TRUNCATED]
    if end < NS_FRAME_MIN:
        return _DROP[DropReason.BAD_LENGTH]
    if frame[21] != 255:  # a router would have decremented it: the sender is off-link
        return _DROP[DropReason.BAD_HOP_LIMIT]
    if frame[55] != 0:
        return _DROP[DropReason.BAD_ICMP_CODE]
    if frame[0] & 1 == 0 and frame[0:6] != link.mac:
        return _DROP[DropReason.ETHERNET_DESTINATION]
    eth_src = frame[6:12]
    if eth_src == link.mac:
        return _DROP[DropReason.OWN_FRAME]
    if eth_src[0] & 1:
        return _DROP[DropReason.BAD_SENDER]
    target = frame[62:78]
    drop = _lookup(target, link, announced)
    if drop is not None:
        return drop
    src = frame[22:38]
    dst = frame[38:54]
    if not icmpv6_checksum_ok(src, dst, frame[ICMPV6_START:end]):
        return _DROP[DropReason.BAD_CHECKSUM]
    if src[0] == 0xFF:
        return _DROP[DropReason.BAD_SOURCE]
    if target[0] == 0xFF:
        return _DROP[DropReason.MULTICAST_TARGET]
    source_lla = _source_lla(frame, end)
    if isinstance(source_lla, Drop):
        return source_lla
    if src == UNSPECIFIED6:
        if source_lla is not None or dst != solicited_node(target):
            return _DROP[DropReason.BAD_DAD_PROBE]
        return Answer(link.unsolicited_na(target), target, AnswerKind.NDP_DAD)
    to_mac = eth_src if source_lla is None else source_lla
    reply = link.neighbor_advert(target=target, dst_mac=to_mac, dst_ip=src, solicited=True)
    return Answer(reply, target, AnswerKind.NDP)


def _source_lla(frame: bytes, end: int) -> bytes | Drop | None:
    """The source link-layer address option's MAC, None without one, a Drop if malformed."""
    found: bytes | None = None
    offset = NS_FRAME_MIN
    while offset < end:
        if offset + 2 > end:
            return _DROP[DropReason.BAD_OPTION]
        kind, units = frame[offset], frame[offset + 1]
        following = offset + units * 8
        if units == 0 or following > end:  # a zero length would loop forever (RFC 4861 4.6)
            return _DROP[DropReason.BAD_OPTION]
        if kind == ND_OPT_SOURCE_LLA:
            if units != 1:  # Ethernet: type, length, 6-byte MAC
                return _DROP[DropReason.BAD_OPTION]
            if frame[offset + 2] & 1:  # we would answer to a multicast MAC
                return _DROP[DropReason.BAD_SENDER]
            found = frame[offset + 2 : offset + 8]
        offset = following
    return found
