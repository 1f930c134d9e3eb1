"""``mlb l2 announce`` against real kernels in network namespaces (root).

Topology (per test, built by ``tests.harness.lan``)::

            sw: bridge br0                       sw: bridge br1
         /        |          \\                   /          \\
    n1 eth0    n2 eth0     client eth0      n1 veth1      client eth1
    .11 ::11   .12 ::12    .100 ::100       (excluded by   (second segment,
                                             default name)  no addresses)

The announcer runs as ``python -m orchestrator.cli l2 announce`` inside a node namespace,
exactly as an engineer would run it; assertions use the client's kernel (``ping`` triggers
ARP/NDP resolution, ``ip neigh`` shows the result) and, where the kernel cannot tell us
"nobody answered" quickly, a raw-socket prober in the client namespace. Matrix:

- IPv4 and IPv6 VIPs resolve to the announcing node's MAC; an ARP probe (sender 0.0.0.0)
  is answered; a client running DAD on a VIP sees the address in use;
- takeover: the client's existing entries move to the new node's MAC within 5 s, and the
  client sends no request in between (gratuitous ARP / unsolicited NA with Override);
- SIGTERM withdraws: exit 0, counters printed, no answer afterwards;
- interfaces: auto mode answers on eth0 but not on the default-excluded veth1; an explicit
  ``--interface veth1`` answers there and not on eth0;
- malformed frames (truncated, wrong hardware type, bad hop limit, bad checksum, random
  bytes past the BPF filter) are counted as drops by reason and the announcer keeps
  answering.

Every wait is bounded; traffic never leaves the namespaces; addresses are 192.0.2.0/24 and
2001:db8::/64 only.
"""

from __future__ import annotations

import json
import random
import re
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import ip_address
from pathlib import Path
from typing import TypeVar

import pytest

from orchestrator.core.l2.wire.frames import ETH_P_ARP, ETH_P_IPV6
from orchestrator.l2.bpf import ETH_P_ALL
from orchestrator.l2.probe import Prober, in_netns
from tests.harness.lan import VIP4, VIP6, Lan, answered_by, prober
from tests.harness.polling import poll

pytestmark = pytest.mark.root

T = TypeVar("T")


@dataclass
class Running:
    proc: subprocess.Popen[bytes]
    stderr: Path
    ready: str


def announce(lan: Lan, node: str, *args: str) -> Running:
    """Start ``mlb l2 announce`` in ``node`` and wait for its ready line (<= 15 s)."""
    stderr = lan.tmp / f"announce-{node}-{time.monotonic_ns()}.err"
    with stderr.open("wb") as err:
        proc = lan.ns.popen(
            node,
            sys.executable,
            "-m",
            "orchestrator.cli",
            "l2",
            "announce",
            *args,
            stdout=subprocess.PIPE,
            stderr=err,
        )
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 15.0)
    line = proc.stdout.readline().decode() if ready else ""
    if not line.startswith("announcing"):
        proc.kill()
        proc.wait(5)
        pytest.fail(f"announcer did not get ready: {line!r} {stderr.read_text()[-2000:]}")
    return Running(proc, stderr, line.strip())


def stop(running: Running) -> dict[str, object]:
    """SIGTERM; expect a clean exit 0 and return the printed counters."""
    running.proc.send_signal(signal.SIGTERM)
    assert running.proc.wait(timeout=10) == 0, running.stderr.read_text()[-2000:]
    match = re.search(r"^stats (\{.*\})$", running.stderr.read_text(), re.MULTILINE)
    assert match, running.stderr.read_text()[-2000:]
    stats: dict[str, object] = json.loads(match.group(1))
    return stats


def neigh_mac(lan: Lan, ip: str) -> str | None:
    out = lan.ns.run(lan.client, "ip", "neigh", "show", ip, "dev", "eth0").stdout
    match = re.search(r"lladdr (\S+)", out)
    return match.group(1) if match else None


def resolve_with_kernel(lan: Lan, ip: str) -> str:
    """Make the client's kernel resolve ``ip`` (ping sends nothing before it has a MAC)."""
    lan.ns.run(lan.client, "ping", "-c1", "-W1", ip, check=False)
    return poll(f"client neighbour entry for {ip}", lambda: neigh_mac(lan, ip), timeout=3)


# --------------------------------------------------------------------------- tests


def test_client_kernel_resolves_vips_to_announcing_node(lan: Lan) -> None:
    running = announce(lan, lan.n1, "--interface", "eth0", VIP4, VIP6)
    assert running.ready == "announcing 2 addresses on eth0"
    n1 = lan.mac(lan.n1)
    assert resolve_with_kernel(lan, VIP4) == n1
    assert resolve_with_kernel(lan, VIP6) == n1
    with Prober("eth0", netns=lan.client) as anonymous:  # sender 0.0.0.0: an ARP probe
        assert answered_by(anonymous, VIP4) == n1
    stats = stop(running)
    assert stats["responses_sent"] == stats["requests_received"]
    assert isinstance(stats["responses_sent"], int) and stats["responses_sent"] >= 3
    assert isinstance(stats["gratuitous_sent"], int) and stats["gratuitous_sent"] >= 2


def test_client_dad_on_a_vip_sees_a_conflict(lan: Lan) -> None:
    running = announce(lan, lan.n1, "--interface", "eth0", VIP6)
    lan.ns.run(lan.client, "sysctl", "-qw", "net.ipv6.conf.eth0.accept_dad=1")
    lan.ns.run(lan.client, "ip", "addr", "add", f"{VIP6}/64", "dev", "eth0")

    def dad_failed() -> bool:
        out = lan.ns.run(lan.client, "ip", "-6", "addr", "show", "dev", "eth0").stdout
        return any(VIP6 in line and "dadfailed" in line for line in out.splitlines())

    poll("the client's DAD to fail", dad_failed, timeout=6)
    stop(running)


def open_capture(lan: Lan) -> socket.socket:
    def make() -> socket.socket:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        sock.bind(("eth0", ETH_P_ALL))
        sock.setblocking(False)
        return sock

    return in_netns(lan.client, make)


def client_requests(sock: socket.socket, targets: set[bytes]) -> list[bytes]:
    """ARP requests / neighbour solicitations the client itself sent for ``targets``."""
    sent: list[bytes] = []
    while True:
        try:
            frame, addr = sock.recvfrom(2048)
        except BlockingIOError:
            return sent
        if addr[2] != socket.PACKET_OUTGOING or len(frame) < 42:
            continue
        ethertype = int.from_bytes(frame[12:14], "big")
        if ethertype == ETH_P_ARP and frame[20:22] == b"\x00\x01" and frame[38:42] in targets:
            sent.append(frame)
        is_ns = ethertype == ETH_P_IPV6 and len(frame) >= 78 and frame[54] == 135
        if is_ns and frame[62:78] in targets:
            sent.append(frame)


def test_takeover_moves_client_entries_without_client_probing(lan: Lan) -> None:
    first = announce(lan, lan.n1, "--interface", "eth0", VIP4, VIP6)
    n1, n2 = lan.mac(lan.n1), lan.mac(lan.n2)
    assert resolve_with_kernel(lan, VIP4) == n1
    assert resolve_with_kernel(lan, VIP6) == n1
    capture = open_capture(lan)
    try:
        stop(first)
        second = announce(lan, lan.n2, "--interface", "eth0", VIP4, VIP6)
        poll("IPv4 entry to move to n2", lambda: neigh_mac(lan, VIP4) == n2, timeout=5)
        poll("IPv6 entry to move to n2", lambda: neigh_mac(lan, VIP6) == n2, timeout=5)
        targets = {ip_address(VIP4).packed, ip_address(VIP6).packed}
        assert client_requests(capture, targets) == []
    finally:
        capture.close()
    stats = stop(second)
    assert stats["requests_received"] == 0  # the move came from gratuitous frames alone


def test_sigterm_withdraws(lan: Lan) -> None:
    running = announce(lan, lan.n1, "--interface", "eth0", VIP4, VIP6)
    with prober(lan) as p:
        assert answered_by(p, VIP4) == lan.mac(lan.n1)
        assert answered_by(p, VIP6) == lan.mac(lan.n1)
        stop(running)
        assert answered_by(p, VIP4) is None
        assert answered_by(p, VIP6) is None


def test_auto_mode_skips_default_excluded_interface(lan: Lan) -> None:
    running = announce(lan, lan.n1, VIP4, VIP6)
    assert running.ready == "announcing 2 addresses on eth0"
    with prober(lan, "eth0") as near, prober(lan, "eth1") as far:
        assert answered_by(near, VIP4) == lan.mac(lan.n1)
        assert answered_by(near, VIP6) == lan.mac(lan.n1)
        assert answered_by(far, VIP4) is None
        assert answered_by(far, VIP6) is None
    stop(running)


def test_explicit_interface_answers_there_only(lan: Lan) -> None:
    running = announce(lan, lan.n1, "--interface", "veth1", VIP4, VIP6)
    assert running.ready == "announcing 2 addresses on veth1"
    with prober(lan, "eth0") as other, prober(lan, "eth1") as chosen:
        assert answered_by(chosen, VIP4) == lan.mac(lan.n1, "veth1")
        assert answered_by(chosen, VIP6) == lan.mac(lan.n1, "veth1")
        assert answered_by(other, VIP4) is None
        assert answered_by(other, VIP6) is None
    stop(running)


def malformed_frames(p: Prober) -> Iterator[bytes]:
    request = p.request(ip_address(VIP4))
    solicit = p.request(ip_address(VIP6))
    yield request[:30]  # truncated ARP (still passes the kernel filter)
    yield request[:14] + b"\x00\x06" + request[16:]  # hardware type IEEE 802
    yield solicit[:21] + b"\x40" + solicit[22:]  # hop limit 64
    yield solicit[:56] + b"\x00\x00" + solicit[58:]  # checksum zeroed
    yield solicit[:70]  # truncated NS
    rng = random.Random(4242)
    for _ in range(150):  # random bytes shaped to pass the filter as ARP requests
        body = bytearray(rng.randbytes(rng.randrange(22, 80)))
        body[0:6] = b"\xff" * 6
        body[12:14] = b"\x08\x06"
        body[20:22] = b"\x00\x01"
        yield bytes(body)
    for _ in range(150):  # ... and as neighbour solicitations
        body = bytearray(rng.randbytes(rng.randrange(55, 120)))
        body[0:6] = b"\x33\x33\xff\x00\x00\x50"
        body[12:14] = b"\x86\xdd"
        body[14] = 0x60
        body[20] = 58
        body[54] = 135
        yield bytes(body)


def test_malformed_frames_are_dropped_with_reasons_and_never_crash(lan: Lan) -> None:
    running = announce(lan, lan.n1, "--interface", "eth0", VIP4, VIP6)
    n1 = lan.mac(lan.n1)
    # Injected on the bridge port facing n1, not through the bridge: with multicast
    # snooping the bridge itself drops IPv6 frames whose payload length is inconsistent.
    with prober(lan) as p, Prober("n1e0", netns=lan.sw) as port:
        frames = list(malformed_frames(p))
        for frame in frames:
            port.send(frame)
        time.sleep(0.2)
        assert running.proc.poll() is None
        assert answered_by(p, VIP4) == n1
        assert answered_by(p, VIP6) == n1
    stats = stop(running)
    dropped = stats["dropped"]
    assert isinstance(dropped, dict)
    for reason in ("truncated", "wrongHardwareType", "badHopLimit", "badChecksum"):
        assert dropped.get(reason, 0) >= 1, dropped
    assert sum(dropped.values()) >= len(frames) - 5  # a random frame may be a valid request
