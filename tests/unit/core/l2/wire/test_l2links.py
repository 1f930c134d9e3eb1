"""Interface rules (orchestrator.core.l2.wire.links) and the kernel filter program
(orchestrator.l2.bpf), the latter run through a small classic-BPF interpreter.

Matrix: each link rule gives its reason; an explicit selection bypasses only the name
exclusions; MetalLB's default regexes match what they should and nothing more. The filter
accepts ARP requests and neighbour solicitations, and drops ARP replies, other ICMPv6, IPv6
with extension headers, IPv4, 802.1Q frames (tag in the frame or in metadata), our own
outgoing frames and frames too short to hold the tested fields.
"""

from __future__ import annotations

import struct

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import (
    ICMPv6EchoRequest,
    ICMPv6ND_NA,
    ICMPv6ND_NS,
    IPv6,
    IPv6ExtHdrHopByHop,
)
from scapy.layers.l2 import ARP, Dot1Q, Ether

from orchestrator.core.l2.wire import DEFAULT_EXCLUDE, LinkInfo, LinkReason, link_verdict
from orchestrator.core.l2.wire.links import (
    IFF_BROADCAST,
    IFF_LOOPBACK,
    IFF_NOARP,
    IFF_UP,
    compile_exclude,
)
from orchestrator.l2.bpf import FILTER, PACKET_OUTGOING

EXCLUDE = compile_exclude(DEFAULT_EXCLUDE)
MAC = bytes.fromhex("020000000001")
GOOD = IFF_UP | IFF_BROADCAST


def info(name: str = "eth0", **kw: object) -> LinkInfo:
    base: dict[str, object] = {"index": 2, "name": name, "mac": MAC, "flags": GOOD}
    base.update(kw)
    return LinkInfo(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("link", "why"),
    [
        (info(), None),
        (info("bond0"), None),
        (info(flags=IFF_BROADCAST), LinkReason.DOWN),
        (info(flags=GOOD | IFF_LOOPBACK), LinkReason.LOOPBACK),
        (info(link_type=772), LinkReason.NOT_ETHERNET),
        (info(mac=b""), LinkReason.NOT_ETHERNET),
        (info(flags=IFF_UP), LinkReason.NO_BROADCAST),
        (info(flags=GOOD | IFF_NOARP), LinkReason.NOARP),
        (info(master=5), LinkReason.ENSLAVED),
        (info("veth12ab"), LinkReason.EXCLUDED),
        (info("docker0"), LinkReason.EXCLUDED),
        (info("lo"), LinkReason.EXCLUDED),
        (info("cali1234"), LinkReason.EXCLUDED),
        (info("kube-ipvs0"), LinkReason.EXCLUDED),
        (info("nodelocaldns"), LinkReason.EXCLUDED),
    ],
)
def test_default_rules(link: LinkInfo, why: LinkReason | None) -> None:
    assert link_verdict(link, selected=None, exclude=EXCLUDE) is why


def test_exclusions_are_anchored() -> None:
    for name in ("lo0", "eth-veth", "mydocker", "ens3"):
        assert link_verdict(info(name), selected=None, exclude=EXCLUDE) is None


def test_explicit_selection_bypasses_name_exclusion_only() -> None:
    selected = frozenset({"veth0", "eth1"})
    assert link_verdict(info("veth0"), selected=selected, exclude=EXCLUDE) is None
    assert link_verdict(info("eth0"), selected=selected, exclude=EXCLUDE) is LinkReason.NOT_SELECTED
    down = info("eth1", flags=IFF_BROADCAST)
    assert link_verdict(down, selected=selected, exclude=EXCLUDE) is LinkReason.DOWN
    port = info("veth0", master=3)
    assert link_verdict(port, selected=selected, exclude=EXCLUDE) is LinkReason.ENSLAVED


# --------------------------------------------------------------------------- BPF


def run_filter(frame: bytes, *, pkttype: int = 0, vlan_present: int = 0) -> int:
    """Classic BPF, just the opcodes our program uses; out-of-bounds loads return 0."""
    insns: list[tuple[int, int, int, int]] = [
        struct.unpack("HBBI", FILTER[i : i + 8]) for i in range(0, len(FILTER), 8)
    ]
    ancillary = {0xFFFFF000 + 4: pkttype, 0xFFFFF000 + 48: vlan_present}
    acc, pc = 0, 0
    for _ in range(len(insns)):
        code, jt, jf, k = insns[pc]
        pc += 1
        if code in (0x20, 0x28, 0x30):  # ld w/h/b abs
            size = {0x20: 4, 0x28: 2, 0x30: 1}[code]
            if k in ancillary:
                acc = ancillary[k]
            elif k + size > len(frame):
                return 0
            else:
                acc = int.from_bytes(frame[k : k + size], "big")
        elif code == 0x15:  # jeq k
            pc += jt if acc == k else jf
        elif code == 0x06:  # ret k
            return k
        else:
            raise AssertionError(f"unexpected opcode {code:#x}")
    raise AssertionError("filter ran off its end")


ETH = Ether(src="02:00:00:00:00:99", dst="ff:ff:ff:ff:ff:ff")
NS = Ether(dst="33:33:ff:00:00:50") / IPv6(dst="ff02::1:ff00:50") / ICMPv6ND_NS(tgt="2001:db8::50")


@pytest.mark.parametrize(
    ("frame", "accepted"),
    [
        (ETH / ARP(op=1), True),
        (NS, True),
        (ETH / ARP(op=2), False),
        (Ether() / IPv6() / ICMPv6ND_NA(), False),
        (Ether() / IPv6() / ICMPv6EchoRequest(), False),
        (Ether() / IPv6() / IPv6ExtHdrHopByHop() / ICMPv6ND_NS(), False),
        (Ether() / IP() / UDP(), False),
        (ETH / Dot1Q(vlan=7) / ARP(op=1), False),
        (bytes(ETH / ARP(op=1))[:21], False),
    ],
)
def test_filter_program(frame: object, accepted: bool) -> None:
    assert bool(run_filter(bytes(frame))) is accepted  # type: ignore[call-overload]


def test_filter_drops_outgoing_and_offloaded_vlan_frames() -> None:
    frame = bytes(ETH / ARP(op=1))
    assert run_filter(frame) > len(frame)  # accepted whole
    assert run_filter(frame, pkttype=PACKET_OUTGOING) == 0
    assert run_filter(frame, vlan_present=1) == 0
