"""Kill a node and measure, from the client, how long its L2 IP is unreachable.

The measurement is what a user sees: ``t0`` is taken just before the first SIGKILL
(``nodes.kill_node``: every process of the node, then its LAN link down), and the failover
ends at the first HTTP 200 for the node's IP served by *another* node. The client polls
with 50 ms connect timeouts, one attempt right after the other, so the resolution is about
that; the time includes lease expiry (``--lease-duration`` after the last renewal the
others saw), the new owner's reconcile, and the client's ARP cache being corrected by the
new owner's gratuitous ARP.

Meanwhile every *other* IP is polled continuously by its own thread (``Watch``): each
answer must come from the node that answered before the kill. Afterwards one ARP round
from the client counts how many IPs changed owner; a correct partial failover moves
exactly the dead node's IPs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from orchestrator.lab import client, nodes
from orchestrator.lab.config import LabConfig


@dataclass
class Watch:
    """Polls one IP from the client until stopped; every answer must come from ``node``."""

    config: LabConfig
    ip: str
    node: str
    timeout: float = 0.5
    pause: float = 0.02
    answers: list[client.Answer] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Watch:
        self._thread = threading.Thread(target=self._run, name=f"watch-{self.ip}", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.answers.append(client.get(self.config.client, self.ip, timeout=self.timeout))
            self._stop.wait(self.pause)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout + 2)

    @property
    def good(self) -> int:
        return sum(1 for a in self.answers if a.node == self.node)

    @property
    def bad(self) -> list[client.Answer]:
        return [a for a in self.answers if a.node != self.node]


@dataclass(frozen=True)
class Result:
    victim: str
    ip: str
    t0: float  # time.monotonic() of the kill
    before: Mapping[str, str]  # IP -> node answering ARP before the kill
    after: Mapping[str, str]  # IP -> node answering ARP after the failover
    failover_ms: float | None  # None: not reachable again within the timeout
    new_node: str | None
    watches: tuple[Watch, ...]

    @property
    def moved(self) -> list[str]:
        return [ip for ip in self.before if self.after.get(ip) != self.before[ip]]

    @property
    def others_ok(self) -> bool:
        return all(not w.bad and w.good > 0 for w in self.watches)

    def problems(self) -> list[str]:
        out = []
        if self.failover_ms is None:
            out.append(f"{self.ip} not answered by another node after killing {self.victim}")
        for w in self.watches:
            if w.bad:
                first = w.bad[0]
                what = f"from {first.node}" if first.ok else (first.error or str(first.status))
                out.append(f"{w.ip} failed {len(w.bad)}/{len(w.answers)} probes ({what})")
        if self.moved != [self.ip]:
            out.append(f"moved {self.moved}, expected only {self.ip}")
        return out


def owners(arp: client.Arp, ips: list[str]) -> dict[str, str]:
    """IP -> the one node answering ARP for it ('none' / 'a+b' when not exactly one)."""
    out = {}
    for ip in ips:
        got = arp.nodes(ip)
        out[ip] = "+".join(got) if got else "none"
    return out


def kill_and_measure(
    config: LabConfig,
    *,
    ips: list[str],
    victim: str,
    timeout: float = 15.0,
    settle: float = 0.5,
) -> Result:
    """Kill ``victim`` (home of one of ``ips``); measure and check as described above."""
    with client.Arp(config) as arp:
        before = owners(arp, ips)
        mine = [ip for ip, n in before.items() if n == victim]
        if len(mine) != 1:
            raise ValueError(f"{victim} answers for {mine}, need exactly one of {ips}")
        ip = mine[0]
        watches = tuple(Watch(config, other, before[other]).start() for other in ips if other != ip)
        time.sleep(0.3)  # a few good answers before the kill: the watches work
        failover_ms: float | None = None
        new_node: str | None = None
        t0 = time.monotonic()
        try:
            t0 = nodes.kill_node(config, victim)
            while time.monotonic() - t0 < timeout:
                answer = client.get(config.client, ip, timeout=0.05)
                if answer.ok and answer.node != victim:
                    failover_ms = (answer.at - t0) * 1000
                    new_node = answer.node
                    break
            time.sleep(settle)  # the others keep being watched a little after the move
        finally:
            for w in watches:
                w.stop()
        after = owners(arp, ips)
    return Result(victim, ip, t0, before, after, failover_ms, new_node, watches)
