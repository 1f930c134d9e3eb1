"""AF_PACKET sockets that only ever see ARP requests and ICMPv6 neighbour solicitations.

A classic BPF program (``SO_ATTACH_FILTER``) runs in the kernel for every frame on the
interface and copies to us only:

- frames that were received, not sent (``pkttype != PACKET_OUTGOING``): an ``ETH_P_ALL``
  socket also sees what the host itself sends on the link (the kernel, other processes,
  our other sockets), and we must never answer the host itself;
- without an 802.1Q tag, neither in the skb metadata (offloaded) nor in the frame: a tagged
  request belongs to the VLAN sub-interface, not to this one;
- ARP with opcode 1 (request), or IPv6 whose next header is ICMPv6 (no extension headers)
  and whose ICMPv6 type is 135.

Everything else — the bulk of a busy segment — never wakes Python. The decoder still
re-checks every field: the filter is an optimisation, not the validation.

The socket is created with protocol 0 (receives nothing), gets its filter, and only then is
bound to the interface with ``ETH_P_ALL``, so no unfiltered frame can slip in between.
"""

from __future__ import annotations

import ctypes
import socket
import struct

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_DROP_MEMBERSHIP = 2
PACKET_MR_MULTICAST = 0
PACKET_MR_ALLMULTI = 2
PACKET_OUTGOING = 4
SO_ATTACH_FILTER = 26
SO_RCVBUFFORCE = 33  # not exported by the socket module

# BPF opcodes (linux/bpf_common.h)
_LD_W_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
_LD_H_ABS = 0x28  # BPF_LD | BPF_H | BPF_ABS
_LD_B_ABS = 0x30  # BPF_LD | BPF_B | BPF_ABS
_JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_RET_K = 0x06  # BPF_RET | BPF_K
# ancillary loads (linux/filter.h): SKF_AD_OFF + SKF_AD_*
_AD_PKTTYPE = 0xFFFFF000 + 4
_AD_VLAN_TAG_PRESENT = 0xFFFFF000 + 48

_ACCEPT = 0x40000  # copy the whole frame
SNAPLEN = 2048  # receive buffer: NS with options is well under it; larger frames are bogus


# One instruction: (opcode, jump-if-true label, jump-if-false label, k); None = next one.
_Insn = tuple[int, str | None, str | None, int]

_PROGRAM: list[_Insn | str] = [
    (_LD_W_ABS, None, None, _AD_PKTTYPE),
    (_JEQ_K, "drop", None, PACKET_OUTGOING),
    (_LD_W_ABS, None, None, _AD_VLAN_TAG_PRESENT),
    (_JEQ_K, None, "drop", 0),
    (_LD_H_ABS, None, None, 12),  # ethertype; an in-frame 0x8100 tag matches neither test
    (_JEQ_K, None, "ipv6", 0x0806),
    (_LD_H_ABS, None, None, 20),  # ARP opcode
    (_JEQ_K, "accept", "drop", 1),
    "ipv6",
    (_JEQ_K, None, "drop", 0x86DD),
    (_LD_B_ABS, None, None, 20),  # next header
    (_JEQ_K, None, "drop", 58),
    (_LD_B_ABS, None, None, 54),  # ICMPv6 type
    (_JEQ_K, "accept", "drop", 135),
    "accept",
    (_RET_K, None, None, _ACCEPT),
    "drop",
    (_RET_K, None, None, 0),
]


def assemble(program: list[_Insn | str]) -> bytes:
    """Resolve labels into relative jumps and pack ``struct sock_filter`` entries."""
    labels: dict[str, int] = {}
    insns: list[_Insn] = []
    for item in program:
        if isinstance(item, str):
            labels[item] = len(insns)
        else:
            insns.append(item)
    out = []
    for i, (code, true, false, k) in enumerate(insns):
        jt = 0 if true is None else labels[true] - i - 1
        jf = 0 if false is None else labels[false] - i - 1
        if not (0 <= jt <= 255 and 0 <= jf <= 255):
            raise ValueError(f"BPF jump out of range at instruction {i}")
        out.append(struct.pack("HBBI", code, jt, jf, k))
    return b"".join(out)


FILTER = assemble(_PROGRAM)


def attach_filter(sock: socket.socket, program: bytes = FILTER) -> None:
    """SO_ATTACH_FILTER with ``struct sock_fprog {u16 len; struct sock_filter *filter}``."""
    buf = ctypes.create_string_buffer(program)
    fprog = struct.pack("HL", len(program) // 8, ctypes.addressof(buf))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)  # the kernel copies buf


def open_packet_socket(ifname: str, *, rcvbuf: int = 4 << 20) -> socket.socket:
    """A filtered, bound AF_PACKET socket on ``ifname`` (raises OSError)."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    try:
        attach_filter(sock)
        # a burst of 10,000 requests must not overflow the queue while Python catches up;
        # SO_RCVBUFFORCE (root) is not capped by net.core.rmem_max
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, rcvbuf)
        except OSError:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.bind((ifname, ETH_P_ALL))
    except BaseException:
        sock.close()
        raise
    return sock


def packet_membership(
    sock: socket.socket, ifindex: int, *, mac: bytes | None, add: bool = True
) -> None:
    """Join (or leave) a multicast MAC on the NIC for this socket; ``mac=None`` = allmulti.

    The membership belongs to the socket: it is dropped by the kernel when the socket
    closes, so a crash never leaves the NIC in allmulti mode.
    """
    kind = PACKET_MR_ALLMULTI if mac is None else PACKET_MR_MULTICAST
    addr = mac or b""
    mreq = struct.pack("iHH8s", ifindex, kind, len(addr), addr)
    option = PACKET_ADD_MEMBERSHIP if add else PACKET_DROP_MEMBERSHIP
    sock.setsockopt(SOL_PACKET, option, mreq)
