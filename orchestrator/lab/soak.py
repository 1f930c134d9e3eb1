"""``make soak`` (``python -m orchestrator.lab.soak``): the lab under continuous probes.

The lab is built (``up``), then every L2 IP of the ``web`` Service is asked for every
20 ms from the client (``ArpWatch``: every MAC that answers each request is recorded), as
is one node's own address, which the *kernel* answers: its gaps are the reference for the
probing itself (the client's scheduling on a loaded machine). The router's next hops for
the BGP Service are polled every 50 ms. Then, one after the other:

1. ``churn``: ``--services`` Services are added, edited and removed (one manifest file);
2. ``restart``: the speaker of the first IP's home node is stopped with SIGTERM (its
   supervisor starts it again), until the IP answers from home again;
3. ``child``: the active announcer child of the second IP's node is killed (SIGKILL);
4. ``freeze``: every process of the third IP's node is stopped (SIGSTOP) for 5 s, then
   continued; its IP must fail over to another node and come back.

Printed per phase, for the IPs the phase does not touch: unanswered stretches of 100 ms
or more, stretches with two answering nodes, next hops lost at the router; for ``child``,
the killed child's IP's longest unanswered stretch; for ``freeze``, the failover time.
The lab is always taken down. Bounded: every wait has a timeout.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from orchestrator.l2.probe import Prober
from orchestrator.lab import manifests, observe, procs, router
from orchestrator.lab.arpwatch import ArpWatch
from orchestrator.lab.config import CLIENT_LAN, LAN_IF, LabConfig, node_ip, node_of_mac
from orchestrator.lab.down import down
from orchestrator.lab.up import up

GAP = 0.1  # an unanswered stretch this long counts
EVERY = 0.02


@dataclass(frozen=True)
class Phase:
    name: str
    start: float
    end: float
    touched: frozenset[str]


class NextHops:
    """The router's active next hops for one prefix, every ``every`` seconds."""

    def __init__(self, config: LabConfig, prefix: str, every: float = 0.05) -> None:
        self.config, self.prefix, self.every = config, prefix, every
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> NextHops:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(15)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.samples.append((time.monotonic(), len(router.next_hops(self.config, self.prefix))))

    def lost(self, start: float, end: float, want: int) -> int:
        """Stretches within [start, end] with fewer than ``want`` next hops."""
        out, low = 0, False
        for t, n in self.samples:
            if start <= t <= end:
                out += n < want and not low
                low = n < want
        return out


def _window(w: ArpWatch, start: float, end: float) -> ArpWatch:
    part = ArpWatch(w.prober, str(w.ip), every=w.every)
    part.samples = [s for s in w.samples if start <= s[0] <= end]
    return part


def _wait(what: str, check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"soak: {what} within {timeout:.0f}s")
        time.sleep(0.05)


def _answered_by(w: ArpWatch, node: str) -> bool:
    return bool(w.samples) and {node_of_mac(m) for m in w.samples[-1][1]} == {node}


def _churn(config: LabConfig, count: int) -> None:
    path = config.manifests / "50-soak.yaml"
    docs = [manifests.service(f"soak-{i}") for i in range(count)]
    manifests.write(path, docs)
    time.sleep(3)
    edited = [manifests.service(f"soak-{i}", port=8080) for i in range(count)]
    manifests.write(path, edited)
    time.sleep(3)
    path.unlink()
    time.sleep(3)


def _children(config: LabConfig, node: str) -> list[int]:
    out = []
    for pid in procs.netns_pids(config.node_ns(node)):
        with contextlib.suppress(OSError):
            if b"orchestrator.l2.child" in Path(f"/proc/{pid}/cmdline").read_bytes():
                out.append(pid)
    return sorted(out)


def soak(config: LabConfig, *, services: int, out: Callable[[str], None] = print) -> SoakResult:
    up(config, timeout=120, progress=lambda m: out(f"lab: {m}"))
    web = observe.service(config, f"{manifests.NAMESPACE}/{manifests.WEB}")
    api = observe.service(config, f"{manifests.NAMESPACE}/{manifests.API}")
    if web is None or len(web.ips) < 3 or api is None or not api.ips:
        raise RuntimeError("soak: the lab's Services have no IPs")
    ips = list(web.ips[:3])
    home = {ip: web.homes[ip] for ip in ips}
    probers = [Prober(LAN_IF, netns=config.client, ip4=CLIENT_LAN) for _ in range(len(ips) + 1)]
    pairs = zip(ips, probers[:-1], strict=True)
    watches = {ip: ArpWatch(p, ip, every=EVERY, limit=900) for ip, p in pairs}
    kernel = ArpWatch(probers[-1], str(node_ip(home[ips[0]])), every=EVERY, limit=900)
    hops = NextHops(config, f"{api.ips[0]}/32").start()
    phases: list[Phase] = []
    failover: float | None = None
    child_gap = 0.0
    try:
        for w in (*watches.values(), kernel):
            w.__enter__()
        time.sleep(2)
        t = time.monotonic()
        _churn(config, services)
        phases.append(Phase("churn", t, time.monotonic(), frozenset()))

        victim = ips[0]
        t = time.monotonic()
        name = f"{home[victim]}-speaker"
        record = procs.read(config.run_dir, name)
        if record is None:
            raise RuntimeError(f"soak: no {name} to restart")
        os.kill(record.pid, signal.SIGTERM)

        def restarted() -> bool:
            again = procs.read(config.run_dir, name)
            return (
                again is not None
                and again.pid != record.pid
                and procs.running(config.run_dir, name)
            )

        _wait("the speaker restarted", restarted, 60)
        _wait("IP back home", lambda: _answered_by(watches[victim], home[victim]), 60)
        time.sleep(config.renew_interval + 1)  # the overlap ends
        phases.append(Phase("restart", t, time.monotonic(), frozenset({victim})))

        victim = ips[1]
        t = time.monotonic()
        children = _children(config, home[victim])
        if children:
            os.kill(children[0], signal.SIGKILL)
        time.sleep(3)
        phases.append(Phase("child", t, time.monotonic(), frozenset({victim})))
        child_gap = max(_window(watches[victim], t, time.monotonic()).gaps(), default=0.0)

        victim = ips[2]
        frozen = procs.netns_pids(config.node_ns(home[victim]))
        t = time.monotonic()
        for pid in frozen:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
        try:
            deadline = t + 5
            while time.monotonic() < deadline and failover is None:
                last = watches[victim].samples[-1]
                nodes = {node_of_mac(m) for m in last[1]}
                if last[0] > t and nodes and home[victim] not in nodes:
                    failover = last[0] - t
                time.sleep(0.01)
            time.sleep(max(0.0, deadline - time.monotonic()))
        finally:
            for pid in frozen:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)
        _wait("IP back home", lambda: _answered_by(watches[victim], home[victim]), 60)
        time.sleep(2)
        phases.append(Phase("freeze", t, time.monotonic(), frozenset({victim})))
    finally:
        for w in (*watches.values(), kernel):
            w.stop()
        hops.stop()
        for p in probers:
            p.close()
    rows = []
    for ph in phases:
        gaps = doubles = 0
        for ip, w in watches.items():
            if ip in ph.touched:
                continue
            part = _window(w, ph.start, ph.end)
            gaps += sum(g >= GAP for g in part.gaps())
            doubles += len(part.doubles())
        lost = hops.lost(ph.start, ph.end, config.nodes) if ph.name in ("churn", "child") else 0
        ref = max(_window(kernel, ph.start, ph.end).gaps(), default=0.0)
        rows.append(PhaseResult(ph.name, ph.end - ph.start, gaps, doubles, lost, ref))
    return SoakResult(
        services=services,
        phases=tuple(rows),
        child_gap=child_gap,
        failover=failover,
        frozen=home[ips[2]],
        lease=config.lease_duration,
    )


@dataclass(frozen=True)
class PhaseResult:
    name: str
    seconds: float
    unanswered: int  # stretches >= GAP on the IPs the phase does not touch
    two_nodes: int
    next_hops_lost: int
    kernel_worst: float  # the reference: longest gap of the kernel's own answers


@dataclass(frozen=True)
class SoakResult:
    services: int
    phases: tuple[PhaseResult, ...]
    child_gap: float
    failover: float | None
    frozen: str
    lease: float

    @property
    def ok(self) -> bool:
        """0 / 0 / 0 in every phase, and the failover within the lease plus 0.5 s."""
        zero = all(p.unanswered + p.two_nodes + p.next_hops_lost == 0 for p in self.phases)
        return zero and self.failover is not None and self.failover <= self.lease + 0.5

    def lines(self) -> list[str]:
        out = [f"soak: {self.services} Services churned, probes every {EVERY * 1000:.0f} ms"]
        for p in self.phases:
            out.append(
                f"soak: {p.name:8} {p.seconds:5.1f}s untouched IPs: "
                f"unanswered>=100ms={p.unanswered} two-nodes={p.two_nodes} "
                f"next-hops-lost={p.next_hops_lost}  "
                f"kernel reference: worst gap {p.kernel_worst * 1000:.0f}ms"
            )
        out.append(f"soak: child kill: longest unanswered {self.child_gap * 1000:.0f} ms")
        took = "none" if self.failover is None else f"{self.failover * 1000:.0f} ms"
        out.append(f"soak: frozen node {self.frozen}: failover {took} (lease {self.lease:g}s)")
        out.append(f"soak: {'ok' if self.ok else 'failed'}")
        return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m orchestrator.lab.soak", description=__doc__)
    p.add_argument("--services", type=int, default=2000)
    p.add_argument("--directory", type=Path, default=Path("/run/mlb-soak"))
    p.add_argument("--prefix", default="mlbsk-")
    args = p.parse_args(argv)
    config = LabConfig(directory=args.directory, prefix=args.prefix)
    try:
        result = soak(config, services=args.services)
        print("\n".join(["", *result.lines()]))
        return 0 if result.ok else 1
    except Exception as e:  # one last line whatever broke, and always down
        print(f"soak: failed {type(e).__name__}: {e}")
        return 1
    finally:
        print(f"lab: down: {down(config.directory, prefix=config.prefix).summary()}")


if __name__ == "__main__":
    sys.exit(main())
