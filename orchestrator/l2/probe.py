"""A raw-socket ARP/NDP client: send requests, match answers, time them (an ``arping`` for
both families). Used by the integration tests, the benchmark, and engineers debugging.

The socket can be opened inside a named network namespace (``/run/netns/NAME``) from a
process that lives elsewhere: a short-lived thread enters the namespace with ``setns`` —
network namespaces are per thread — creates and binds the socket, and exits. The socket
stays in the namespace for the rest of its life, so the caller never changes namespace.

Timing uses the kernel's receive timestamp of the answer (``SO_TIMESTAMPNS``) minus the
wall clock read just before ``send``: the client's own wake-up and Python overhead are not
counted, and the same method applies to every responder we compare.
"""

from __future__ import annotations

import ctypes
import os
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from orchestrator.core.l2.wire.frames import (
    ETH_P_ARP,
    ETH_P_IPV6,
    ICMPV6_NA,
    ND_OPT_TARGET_LLA,
    Link,
)
from orchestrator.core.model.cluster import IPAddress
from orchestrator.l2.bpf import ETH_P_ALL

CLONE_NEWNET = 0x40000000
SO_TIMESTAMPNS = 35
_TIMESPEC = struct.Struct("qq")
T = TypeVar("T")


def in_netns(netns: str | None, func: Callable[[], T]) -> T:
    """Run ``func`` in a thread that has entered network namespace ``netns`` (None: here)."""
    if netns is None:
        return func()
    result: list[T] = []
    failure: list[BaseException] = []

    def work() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(f"/run/netns/{netns}", os.O_RDONLY | os.O_CLOEXEC)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns {netns}: {os.strerror(err)}")
            finally:
                os.close(fd)
            result.append(func())
        except BaseException as e:
            failure.append(e)

    thread = threading.Thread(target=work, name=f"netns-{netns}")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return result[0]


@dataclass(frozen=True)
class Reply:
    ip: bytes  # the address that was resolved (ARP sender IP / NA target)
    mac: bytes  # the link-layer address it resolves to
    eth_src: bytes
    to_ip: bytes  # whom it answers (ARP target IP / IPv6 destination)
    rx_ns: int  # kernel receive timestamp, CLOCK_REALTIME nanoseconds


def parse_reply(frame: bytes) -> Reply | None:
    """An ARP reply or neighbour advertisement, else None (no timestamp: rx_ns=0)."""
    if len(frame) < 42:
        return None
    ethertype = (frame[12] << 8) | frame[13]
    if ethertype == ETH_P_ARP and frame[20:22] == b"\x00\x02":
        return Reply(frame[28:32], frame[22:28], frame[6:12], frame[38:42], 0)
    if ethertype == ETH_P_IPV6 and len(frame) >= 78 and frame[20] == 58:
        if frame[54] != ICMPV6_NA:
            return None
        mac = frame[6:12]
        offset = 78
        while offset + 8 <= len(frame) and frame[offset + 1]:
            if frame[offset] == ND_OPT_TARGET_LLA:
                mac = frame[offset + 2 : offset + 8]
            offset += frame[offset + 1] * 8
        return Reply(frame[62:78], mac, frame[6:12], frame[38:54], 0)
    return None


class Prober:
    """An AF_PACKET socket on ``ifname`` (in ``netns``) speaking as ``mac``/``ip4``/``ip6``."""

    def __init__(
        self,
        ifname: str,
        *,
        netns: str | None = None,
        ip4: IPAddress | None = None,
        ip6: IPAddress | None = None,
        rcvbuf: int = 8 << 20,
    ) -> None:
        def make() -> tuple[socket.socket, bytes]:
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
            sock.setsockopt(socket.SOL_SOCKET, 33, rcvbuf)  # SO_RCVBUFFORCE
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            sock.bind((ifname, ETH_P_ALL))
            # the bound address carries the device MAC (/sys would show the mount
            # namespace's interfaces, not the network namespace's)
            mac: bytes = sock.getsockname()[4]
            return sock, mac

        self.sock, self.mac = in_netns(netns, make)
        self.link = Link(ifname, self.mac)
        self.ip4 = ip4.packed if ip4 is not None else bytes(4)
        self.ip6 = ip6.packed if ip6 is not None else bytes(16)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Prober:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, target: IPAddress, *, source: IPAddress | None = None) -> bytes:
        """The ARP request or neighbour solicitation asking for ``target`` (from ``source``,
        default our own address: answers go to whatever address the request names)."""
        if target.version == 4:
            src = self.ip4 if source is None else source.packed
            return self.link.arp_request(src_ip=src, target_ip=target.packed)
        src = self.ip6 if source is None else source.packed
        return self.link.neighbor_solicit(src_ip=src, target=target.packed)

    def send(self, frame: bytes) -> None:
        self.sock.send(frame)

    def receive(self, timeout: float) -> Reply | None:
        """The next ARP reply / NA addressed to us (unicast) within ``timeout``."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                reply = self._read()
            except TimeoutError:
                return None
            if reply is not None:
                return reply
        return None

    def drain(self) -> list[Reply]:
        """Every reply addressed to us already queued, without waiting."""
        out: list[Reply] = []
        self.sock.setblocking(False)  # with a timeout set, Python would poll() that long first
        while True:
            try:
                reply = self._read()
            except BlockingIOError:
                return out
            if reply is not None:
                out.append(reply)

    def _read(self) -> Reply | None:
        data, ancdata, _, addr = self.sock.recvmsg(2048, 256)
        if addr[2] == socket.PACKET_OUTGOING or data[0:6] != self.mac:
            return None  # ours, or broadcast/multicast (gratuitous frames are no answer)
        reply = parse_reply(data)
        if reply is None:
            return None
        rx_ns = time.time_ns()
        for level, kind, payload in ancdata:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                sec, nsec = _TIMESPEC.unpack_from(payload)
                rx_ns = sec * 1_000_000_000 + nsec
        return Reply(reply.ip, reply.mac, reply.eth_src, reply.to_ip, rx_ns)

    def resolve(self, target: IPAddress, *, timeout: float = 1.0) -> tuple[bytes, int] | None:
        """Ask once for ``target``; (MAC, latency in ns) of the first answer, or None."""
        frame = self.request(target)
        self.drain()
        sent = time.time_ns()
        self.send(frame)
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            reply = self.receive(left)
            if reply is None:
                return None
            if reply.ip == target.packed:
                return reply.mac, reply.rx_ns - sent
        return None
