"""The pure ARP/NDP decision and frame builders (orchestrator.core.l2.wire), with scapy as the
reference for every layout.

Matrix:
- ARP: request, probe (sender 0.0.0.0), unicast to our MAC, padded frame -> answer; each
  malformed or foreign field -> its own drop reason; wrong interface / not announced.
- NDP: multicast NS with source LLA, unicast NS without it, DAD probe -> the right NA
  (flags, addresses, target LLA option, checksum recomputed by scapy); every RFC 4861 7.1.1
  validity rule -> its drop reason.
- Builders: gratuitous ARP pair, unsolicited NA, requests and solicitations equal to or
  parsed by scapy; the ICMPv6 checksum against scapy for random data.
- Properties: arbitrary bytes and mutations of valid requests always give an Answer or a
  Drop with a reason, never an exception.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scapy.layers.inet6 import (
    ICMPv6ND_NA,
    ICMPv6ND_NS,
    ICMPv6NDOptDstLLAddr,
    ICMPv6NDOptSrcLLAddr,
    IPv6,
    IPv6ExtHdrHopByHop,
    in6_chksum,
)
from scapy.layers.l2 import ARP, Dot1Q, Ether
from scapy.packet import Packet, Raw

from orchestrator.core.l2.wire import Answer, AnswerKind, Drop, DropReason, Link, decide
from orchestrator.core.l2.wire.frames import icmpv6_checksum, icmpv6_checksum_ok, solicited_node

MAC = "02:00:00:00:00:01"
CLIENT_MAC = "02:00:00:00:00:99"
VIP4 = "192.0.2.50"
VIP6 = "2001:db8::50"
CLIENT4 = "192.0.2.100"
CLIENT6 = "2001:db8::100"
LINK = Link("eth0", bytes.fromhex(MAC.replace(":", "")))


def packed(ip: str) -> bytes:
    return ipaddress.ip_address(ip).packed


TABLE: dict[bytes, frozenset[str] | None] = {
    packed(VIP4): None,
    packed(VIP6): None,
    packed("192.0.2.51"): frozenset({"eth1"}),
    packed("2001:db8::51"): frozenset({"eth0", "eth1"}),
    packed("ff02::1:2"): None,  # absurd entry, to reach the multicast-target rule
}


def run(frame: object) -> Answer | Drop:
    return decide(bytes(frame), link=LINK, announced=TABLE)  # type: ignore[call-overload]


def arp(**fields: Any) -> Packet:
    eth: dict[str, Any] = {"dst": "ff:ff:ff:ff:ff:ff", "src": CLIENT_MAC}
    for key in ("dst", "src"):
        if f"eth_{key}" in fields:
            eth[key] = fields.pop(f"eth_{key}")
    base: dict[str, Any] = {"op": 1, "hwsrc": CLIENT_MAC, "psrc": CLIENT4, "pdst": VIP4}
    base.update(fields)
    return Ether(**eth) / ARP(**base)


def ns(
    target: str = VIP6,
    *,
    src: str = CLIENT6,
    dst: str | None = None,
    hlim: int = 255,
    slla: str | None = CLIENT_MAC,
    eth_dst: str | None = None,
) -> Packet:
    dst = dst or str(ipaddress.ip_address(solicited_node(packed(target))))
    eth_dst = eth_dst or "33:33:" + ":".join(f"{b:02x}" for b in packed(dst)[12:])
    pkt = Ether(src=CLIENT_MAC, dst=eth_dst) / IPv6(src=src, dst=dst, hlim=hlim)
    pkt = pkt / ICMPv6ND_NS(tgt=target)
    if slla is not None:
        pkt = pkt / ICMPv6NDOptSrcLLAddr(lladdr=slla)
    return pkt


def answer(frame: object) -> Answer:
    result = run(frame)
    assert isinstance(result, Answer), result
    return result


def reason(frame: object) -> DropReason:
    result = run(frame)
    assert isinstance(result, Drop), result
    return result.reason


# --------------------------------------------------------------------------- ARP


def test_arp_request_gets_unicast_reply_from_interface_mac() -> None:
    result = answer(arp())
    assert result.kind is AnswerKind.ARP and result.ip == packed(VIP4)
    reply = Ether(result.reply)
    assert (reply.src, reply.dst) == (MAC, CLIENT_MAC)
    a = reply[ARP]
    assert (a.op, a.hwsrc, a.psrc, a.hwdst, a.pdst) == (2, MAC, VIP4, CLIENT_MAC, CLIENT4)
    assert (a.hwtype, a.ptype, a.hwlen, a.plen) == (1, 0x0800, 6, 4)
    assert len(result.reply) == 42


def test_arp_probe_is_answered_like_any_request() -> None:
    result = answer(arp(psrc="0.0.0.0"))
    assert result.kind is AnswerKind.ARP_PROBE
    a = Ether(result.reply)[ARP]
    assert (a.pdst, a.hwdst, a.psrc) == ("0.0.0.0", CLIENT_MAC, VIP4)


def test_arp_unicast_to_us_and_padded_frames_are_answered() -> None:
    assert isinstance(run(arp(eth_dst=MAC)), Answer)
    assert isinstance(run(bytes(arp()) + bytes(18)), Answer)


def test_arp_reply_uses_sender_hardware_address_not_ethernet_source() -> None:
    result = answer(arp(eth_src="02:00:00:00:00:77"))
    assert Ether(result.reply).dst == CLIENT_MAC


@pytest.mark.parametrize(
    ("frame", "why"),
    [
        (bytes(arp())[:41], DropReason.TRUNCATED),
        (bytes(arp())[:13], DropReason.TRUNCATED),
        (b"", DropReason.TRUNCATED),
        (arp(hwtype=6), DropReason.WRONG_HARDWARE_TYPE),
        (arp(ptype=0x86DD), DropReason.WRONG_PROTOCOL_TYPE),
        (arp(hwlen=8), DropReason.WRONG_ADDRESS_LENGTH),
        (arp(op=2), DropReason.NOT_REQUEST),
        (arp(op=3), DropReason.NOT_REQUEST),
        (arp(eth_dst="02:00:00:00:00:42"), DropReason.ETHERNET_DESTINATION),
        (arp(hwsrc=MAC), DropReason.OWN_FRAME),
        (arp(eth_src=MAC), DropReason.OWN_FRAME),
        (arp(hwsrc="01:00:5e:00:00:01"), DropReason.BAD_SENDER),
        (arp(hwsrc="00:00:00:00:00:00"), DropReason.BAD_SENDER),
        (arp(pdst="192.0.2.99"), DropReason.NOT_ANNOUNCED),
        (arp(pdst="192.0.2.51"), DropReason.WRONG_INTERFACE),
        (
            Ether(src=CLIENT_MAC, dst="ff:ff:ff:ff:ff:ff") / Dot1Q(vlan=5) / ARP(pdst=VIP4),
            DropReason.NOT_ARP_OR_NDP,
        ),
    ],
)
def test_arp_drops(frame: object, why: DropReason) -> None:
    assert reason(frame) is why


def test_interface_list_narrows_answers() -> None:
    eth1 = Link("eth1", LINK.mac)
    frame = bytes(arp(pdst="192.0.2.51"))
    assert isinstance(decide(frame, link=eth1, announced=TABLE), Answer)
    assert isinstance(decide(frame, link=LINK, announced=TABLE), Drop)


# --------------------------------------------------------------------------- NDP


def check_na(reply_bytes: bytes, *, dst_mac: str, dst: str, solicited: bool) -> None:
    reply = Ether(reply_bytes)
    assert (reply.src, reply.dst) == (MAC, dst_mac)
    ip6 = reply[IPv6]
    assert (ip6.src, ip6.dst, ip6.hlim, ip6.nh, ip6.plen) == (VIP6, dst, 255, 58, 32)
    na = reply[ICMPv6ND_NA]
    assert (na.R, na.S, na.O, na.tgt) == (0, int(solicited), 1, VIP6)
    assert reply[ICMPv6NDOptDstLLAddr].lladdr == MAC
    ours = na.cksum
    del na.cksum
    assert Ether(bytes(reply))[ICMPv6ND_NA].cksum == ours
    assert len(reply_bytes) == 86


def test_ns_to_solicited_node_group_gets_solicited_na_to_source_lla() -> None:
    result = answer(ns())
    assert result.kind is AnswerKind.NDP and result.ip == packed(VIP6)
    check_na(result.reply, dst_mac=CLIENT_MAC, dst=CLIENT6, solicited=True)


def test_ns_reply_goes_to_source_lla_option_when_it_differs_from_ethernet_source() -> None:
    result = answer(ns(slla="02:00:00:00:00:77"))
    assert Ether(result.reply).dst == "02:00:00:00:00:77"


def test_unicast_ns_without_source_lla_is_answered_to_ethernet_source() -> None:
    result = answer(ns(dst=VIP6, eth_dst=MAC, slla=None))
    check_na(result.reply, dst_mac=CLIENT_MAC, dst=CLIENT6, solicited=True)


def test_dad_probe_gets_unsolicited_na_to_all_nodes() -> None:
    result = answer(ns(src="::", slla=None))
    assert result.kind is AnswerKind.NDP_DAD
    check_na(result.reply, dst_mac="33:33:00:00:00:01", dst="ff02::1", solicited=False)


def test_ns_with_trailing_padding_is_answered() -> None:
    assert isinstance(run(bytes(ns()) + bytes(10)), Answer)


def bad_checksum() -> bytes:
    frame = bytearray(bytes(ns()))
    frame[56] ^= 0xFF
    return bytes(frame)


def with_plen(plen: int) -> bytes:
    frame = bytearray(bytes(ns()))
    frame[18:20] = plen.to_bytes(2, "big")
    return bytes(frame)


def with_version(version: int) -> bytes:
    frame = bytearray(bytes(ns()))
    frame[14] = (version << 4) | (frame[14] & 0x0F)
    return bytes(frame)


def zero_length_option() -> Packet:
    return ns(slla=None) / Raw(b"\x01\x00" + bytes(6))


def ns_of(icmp: Packet, *, dst: str = "ff02::1:ff00:50") -> Packet:
    return Ether(src=CLIENT_MAC, dst="33:33:ff:00:00:50") / IPv6(src=CLIENT6, dst=dst) / icmp


@pytest.mark.parametrize(
    ("frame", "why"),
    [
        (bytes(ns())[:77], DropReason.TRUNCATED),
        (bytes(ns())[:85], DropReason.TRUNCATED),  # payload length says 32
        (with_plen(16), DropReason.BAD_LENGTH),
        (with_version(4), DropReason.NOT_IPV6),
        (ns(hlim=64), DropReason.BAD_HOP_LIMIT),
        (bad_checksum(), DropReason.BAD_CHECKSUM),
        (ns_of(ICMPv6ND_NA(tgt=VIP6) / Raw(bytes(8))), DropReason.NOT_NEIGHBOR_SOLICITATION),
        (ns_of(ICMPv6ND_NS(tgt=VIP6, code=1) / Raw(bytes(8))), DropReason.BAD_ICMP_CODE),
        (
            Ether(src=CLIENT_MAC, dst="33:33:ff:00:00:50")
            / IPv6(src=CLIENT6, dst="ff02::1:ff00:50")
            / IPv6ExtHdrHopByHop()
            / ICMPv6ND_NS(tgt=VIP6),
            DropReason.NOT_ICMPV6,
        ),
        (ns(target="2001:db8::99"), DropReason.NOT_ANNOUNCED),
        (ns(src="ff02::5"), DropReason.BAD_SOURCE),
        (ns(target="ff02::1:2", dst="ff02::1:2"), DropReason.MULTICAST_TARGET),
        (zero_length_option(), DropReason.BAD_OPTION),
        (ns(slla=None) / Raw(b"\x01\x02" + bytes(14)), DropReason.BAD_OPTION),
        (ns(slla=None) / Raw(b"\x05\x02" + bytes(6)), DropReason.BAD_OPTION),
        (ns(slla="33:33:00:00:00:01"), DropReason.BAD_SENDER),
        (ns(src="::"), DropReason.BAD_DAD_PROBE),  # DAD probes carry no source LLA
        (ns(src="::", slla=None, dst=VIP6, eth_dst=MAC), DropReason.BAD_DAD_PROBE),
        (ns(eth_dst="02:00:00:00:00:42", dst=VIP6), DropReason.ETHERNET_DESTINATION),
        (
            Ether(src=MAC, dst="33:33:ff:00:00:50")
            / IPv6(src=CLIENT6, dst="ff02::1:ff00:50")
            / ICMPv6ND_NS(tgt=VIP6),
            DropReason.OWN_FRAME,
        ),
    ],
)
def test_ndp_drops(frame: object, why: DropReason) -> None:
    assert reason(frame) is why


def test_unknown_option_types_are_skipped() -> None:
    frame = ns(slla=None) / Raw(b"\x0e\x01" + bytes(6)) / ICMPv6NDOptSrcLLAddr(lladdr=CLIENT_MAC)
    assert Ether(answer(frame).reply).dst == CLIENT_MAC


def test_ns_answered_on_listed_interface_only() -> None:
    assert isinstance(run(ns(target="2001:db8::51")), Answer)
    eth2 = Link("eth2", LINK.mac)
    assert decide(bytes(ns(target="2001:db8::51")), link=eth2, announced=TABLE) == Drop(
        DropReason.WRONG_INTERFACE
    )


# --------------------------------------------------------------------------- builders


def test_gratuitous_arp_pair() -> None:
    request, reply = (Ether(f) for f in LINK.gratuitous_arp(packed(VIP4)))
    for frame, op in ((request, 1), (reply, 2)):
        assert (frame.src, frame.dst) == (MAC, "ff:ff:ff:ff:ff:ff")
        a = frame[ARP]
        assert (a.op, a.hwsrc, a.psrc, a.pdst) == (op, MAC, VIP4, VIP4)
    assert request[ARP].hwdst == "ff:ff:ff:ff:ff:ff"
    assert reply[ARP].hwdst == MAC  # Linux treats a reply as gratuitous only with tha == sha


def test_unsolicited_na() -> None:
    check_na(
        LINK.unsolicited_na(packed(VIP6)),
        dst_mac="33:33:00:00:00:01",
        dst="ff02::1",
        solicited=False,
    )


def test_requests_match_scapy_byte_for_byte() -> None:
    ours = LINK.arp_request(src_ip=packed(CLIENT4), target_ip=packed(VIP4))
    theirs = Ether(src=MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(
        op=1, hwsrc=MAC, psrc=CLIENT4, hwdst="00:00:00:00:00:00", pdst=VIP4
    )
    assert ours == bytes(theirs)
    ours = LINK.neighbor_solicit(src_ip=packed(CLIENT6), target=packed(VIP6))
    theirs = (
        Ether(src=MAC, dst="33:33:ff:00:00:50")
        / IPv6(src=CLIENT6, dst="ff02::1:ff00:50", hlim=255)
        / ICMPv6ND_NS(tgt=VIP6)
        / ICMPv6NDOptSrcLLAddr(lladdr=MAC)
    )
    assert ours == bytes(theirs)
    dad = LINK.neighbor_solicit(src_ip=bytes(16), target=packed(VIP6))
    assert dad == bytes(
        Ether(src=MAC, dst="33:33:ff:00:00:50")
        / IPv6(src="::", dst="ff02::1:ff00:50", hlim=255)
        / ICMPv6ND_NS(tgt=VIP6)
    )


def test_link_rejects_a_mac_of_the_wrong_size() -> None:
    with pytest.raises(ValueError):
        Link("eth0", b"\x01\x02")


addresses6 = st.binary(min_size=16, max_size=16)


@given(src=addresses6, dst=addresses6, body=st.binary(min_size=4, max_size=80))
def test_icmpv6_checksum_matches_scapy(src: bytes, dst: bytes, body: bytes) -> None:
    body = body[:2] + b"\x00\x00" + body[4:]
    pkt = IPv6(src=str(ipaddress.IPv6Address(src)), dst=str(ipaddress.IPv6Address(dst)), nh=58)
    expected = in6_chksum(58, pkt, body)  # type: ignore[no-untyped-call]
    ours = icmpv6_checksum(src, dst, body)
    assert ours == expected or {ours, expected} == {0, 0xFFFF}  # both encode zero
    filled = body[:2] + ours.to_bytes(2, "big") + body[4:]
    assert icmpv6_checksum_ok(src, dst, filled)


@given(target=addresses6, dst=addresses6, solicited=st.booleans())
def test_na_checksum_matches_scapy(target: bytes, dst: bytes, solicited: bool) -> None:
    frame = LINK.neighbor_advert(target=target, dst_mac=LINK.mac, dst_ip=dst, solicited=solicited)
    pkt = Ether(frame)
    ours = pkt[ICMPv6ND_NA].cksum
    del pkt[ICMPv6ND_NA].cksum
    theirs = Ether(bytes(pkt))[ICMPv6ND_NA].cksum
    assert ours == theirs or {ours, theirs} == {0, 0xFFFF}


# --------------------------------------------------------------------------- properties


def assert_total(result: object) -> None:
    assert isinstance(result, Answer | Drop)
    if isinstance(result, Drop):
        assert isinstance(result.reason, DropReason)
    else:
        assert len(result.reply) in (42, 86)


@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    assert_total(run(data))


@given(
    st.sampled_from([bytes(arp()), bytes(ns()), bytes(ns(src="::", slla=None))]),
    st.lists(st.tuples(st.integers(0, 120), st.integers(0, 255)), max_size=6),
    st.integers(0, 130),
)
def test_mutated_requests_never_raise(base: bytes, flips: list[tuple[int, int]], cut: int) -> None:
    frame = bytearray(base)
    for offset, value in flips:
        if offset < len(frame):
            frame[offset] = value
    assert_total(run(bytes(frame[: max(cut, 1)])))
    assert_total(run(bytes(frame)))


@given(
    sha=st.binary(min_size=6, max_size=6).filter(lambda m: not m[0] & 1 and any(m)),
    spa=st.binary(min_size=4, max_size=4),
)
def test_any_unicast_requester_gets_a_reply_addressed_to_it(sha: bytes, spa: bytes) -> None:
    mac = sha.hex(":")
    if mac == MAC:
        return
    ip = str(ipaddress.IPv4Address(spa))
    result = answer(arp(eth_src=mac, hwsrc=mac, psrc=ip))
    a = Ether(result.reply)[ARP]
    assert (a.hwdst, a.pdst, a.psrc, a.hwsrc) == (mac, ip, VIP4, MAC)
