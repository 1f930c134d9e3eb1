"""The lab's client: HTTP requests and ARP questions asked from inside ``<p>client``.

This process stays in its own namespace. A socket is created by a short-lived thread that
has entered the client namespace (``orchestrator.l2.probe.in_netns``); the socket keeps that
namespace for life, so connecting, sending and reading happen in the calling thread. That
lets the demo and the tests poll several VIPs at once from plain threads, with
sub-second connect timeouts, and no ``ip netns exec curl`` process per attempt.

``get`` speaks just enough HTTP/1.0 for the lab's pods (status line, body = node name).
``who_has`` sends one ARP request from the client's LAN link and collects *every* answer for
a short while, so two nodes answering for one IP (a split brain) would show as two.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from ipaddress import IPv4Address, ip_address

from orchestrator.l2.probe import Prober, in_netns
from orchestrator.lab.config import CLIENT_LAN, LAN_IF, LabConfig, node_of_mac


@dataclass(frozen=True)
class Answer:
    ip: str
    status: int  # 0: no HTTP answer
    body: str
    error: str
    at: float  # time.monotonic() when the answer (or the failure) came
    elapsed: float

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def node(self) -> str | None:
        return (self.body.strip() or None) if self.ok else None


def get(ns: str, ip: str, *, port: int = 80, timeout: float = 1.0) -> Answer:
    """``GET /`` from namespace ``ns``; never raises for network errors."""
    start = time.monotonic()

    def fail(error: str) -> Answer:
        now = time.monotonic()
        return Answer(ip, 0, "", error, now, now - start)

    try:
        sock = in_netns(ns, lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    except OSError as e:
        return fail(f"socket: {e}")
    with sock:
        sock.settimeout(timeout)
        try:
            sock.connect((ip, port))
            sock.sendall(f"GET / HTTP/1.0\r\nHost: {ip}\r\n\r\n".encode())
            chunks = []
            while True:
                data = sock.recv(4096)
                if not data:
                    break
                chunks.append(data)
        except TimeoutError:
            return fail("timeout")
        except OSError as e:
            return fail(e.strerror or type(e).__name__)
    raw = b"".join(chunks).decode("latin-1")
    head, _, body = raw.partition("\r\n\r\n")
    try:
        status = int(head.split(" ", 2)[1])
    except (IndexError, ValueError):
        return fail("not HTTP")
    now = time.monotonic()
    return Answer(ip, status, body, "", now, now - start)


class Arp:
    """ARP questions from the client's LAN link (an AF_PACKET socket in the client ns)."""

    def __init__(self, config: LabConfig) -> None:
        self.prober = Prober(LAN_IF, netns=config.client, ip4=CLIENT_LAN)

    def close(self) -> None:
        self.prober.close()

    def __enter__(self) -> Arp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def who_has(self, ip: str, *, wait: float = 0.15) -> list[str]:
        """MACs that answered an ARP request for ``ip`` within ``wait`` seconds (sorted)."""
        target = ip_address(ip)
        assert isinstance(target, IPv4Address)
        frame = self.prober.request(target)
        self.prober.drain()
        self.prober.send(frame)
        macs: set[str] = set()
        deadline = time.monotonic() + wait
        while (left := deadline - time.monotonic()) > 0:
            reply = self.prober.receive(left)
            if reply is None:
                break
            if reply.ip == target.packed:
                macs.add(reply.mac.hex(":"))
        return sorted(macs)

    def nodes(self, ip: str, *, wait: float = 0.15) -> list[str]:
        """The nodes whose MAC answered for ``ip`` (``?<mac>`` for a foreign MAC)."""
        return [node_of_mac(m) or f"?{m}" for m in self.who_has(ip, wait=wait)]
