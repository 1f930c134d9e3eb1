"""ARP answer latency when the announcer shares its process with a cluster-sized snapshot.

In a cluster, ``mlb speaker`` holds the informer caches and parses snapshots. With the L2
announcer's thread in the same Python process, they share one interpreter, one GIL and one
garbage collector whose full collections walk every object the caches hold; that is why
the speaker runs the announcer in a child process (``orchestrator.l2.process`` / ``child``, row 4).
``bench_l2`` measures the announcer alone; this measures it beside that work, in the same
topology (node n1 and a client on a bridge), with the kernel's own ARP answers from n1 as
the reference in the same run, interleaved in blocks of 100. The responder is
``tests/bench/heap_announcer.py``:

1. the announcer alone;
2. with N Services and their EndpointSlices held in the same process (10,000 by default),
   one Service edit parsed every 100 ms and a full parse every 5 s (``churn``);
3. the same with the interpreter's switch interval at 0.5 ms instead of 5 ms;
4. the same snapshot work in a separate process beside the announcer's (same CPUs);
5. the announcer alone while two other processes keep both CPUs busy (``BUSY``, plain
   spinning loops at normal priority, as a build or a noisy pod would);
6. the same with the announcer at the priority ``mlb speaker`` gives it by default
   (``--announcer-priority rt``: SCHED_RR, ``orchestrator.l2.priority``).

Requests are spaced ``--gap`` (1 ms), so each one is answered on its own. Prints p50, p99,
p99.9 and the maximum per row, and the full garbage collections of the process holding the
snapshot. Figures only; exits 1 only if the setup fails. Run (root): ``make bench-l2-heap``
or ``.venv/bin/python tests/bench/bench_l2_heap.py [--services N] [--count N] [--rows 1,5,6]``.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import signal
import subprocess
import sys
import time
from ipaddress import IPv4Address
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from orchestrator.adapters.netns import Namespaces  # noqa: E402
from orchestrator.core.model.cluster import IPAddress  # noqa: E402
from orchestrator.l2.probe import Prober  # noqa: E402
from tests.bench.bench_l2 import (  # noqa: E402
    CLIENT4,
    CLIENT6,
    NODE4,
    V4_FIRST,
    V6_FIRST,
    Latency,
    build,
    interleaved,
)

VIPS = 1_000
#: A CPU-bound loader for rows 5 and 6: spins until killed, or for at most 600 s.
BUSY = "import time\nend = time.monotonic() + 600\nwhile time.monotonic() < end:\n    pass\n"


def busy(cpus: int) -> list[subprocess.Popen[bytes]]:
    """``cpus`` spinning processes at normal priority (no network: they only take CPU)."""
    return [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(cpus)]


def start(ns: Namespaces, node: str, services: int, *options: str) -> subprocess.Popen[bytes]:
    args = [sys.executable, str(ROOT / "tests" / "bench" / "heap_announcer.py")]
    args += ["--services", str(services), *options]
    args += [str(V4_FIRST), str(V6_FIRST), str(VIPS)]
    proc = ns.popen(node, *args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 120.0)
    line = proc.stdout.readline().decode() if ready else ""
    if not line.startswith("announcing"):
        proc.kill()
        raise SystemExit(
            f"responder not ready: {line!r} {proc.stderr.read() if proc.stderr else ''!r}"
        )
    return proc


def stop(proc: subprocess.Popen[bytes]) -> dict[str, object]:
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    for line in reversed(err.decode(errors="replace").splitlines()):
        if line.startswith("{"):
            return json.loads(line)  # type: ignore[no-any-return]
    return {"exit": proc.returncode}


def figures(lat: Latency) -> str:
    top = max(lat.samples_us, default=float("nan"))
    return (
        f"{lat.pct(0.5):8.1f} {lat.pct(0.99):8.1f} {lat.pct(0.999):9.1f} {top:9.1f}"
        f"  lost {lat.lost}"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--services", type=int, default=10_000)
    ap.add_argument("--count", type=int, default=5000, help="requests per row and responder")
    ap.add_argument("--gap", type=float, default=0.001, help="seconds between requests")
    ap.add_argument("--rows", default="1,2,3,4,5,6", help="which rows to run, e.g. 1,5,6")
    args = ap.parse_args()
    wanted = {int(r) for r in args.rows.split(",") if r.strip()}
    if os.geteuid() != 0:
        raise SystemExit("bench_l2_heap needs root (network namespaces, raw sockets)")
    count = max(1000, args.count // 100 * 100)
    ours: list[IPAddress] = [IPv4Address(int(V4_FIRST) + i) for i in range(VIPS)]
    n = args.services
    cpus = os.cpu_count() or 1
    every: tuple[tuple[str, int, tuple[str, ...], int], ...] = (
        ("announcer alone", 0, (), 0),
        (f"{n} Services, same process", n, (), 0),
        (f"{n} Services, same, switch 0.5 ms", n, ("--switch", "0.0005"), 0),
        (f"{n} Services, separate process", n, ("--elsewhere",), 0),
        (f"alone, {cpus} CPUs busy, normal priority", 0, (), cpus),
        (f"alone, {cpus} CPUs busy, SCHED_RR (rt)", 0, ("--priority", "rt"), cpus),
    )
    rows = [row for i, row in enumerate(every, 1) if i in wanted]
    out = [
        f"ARP answer latency in us, requests {args.gap * 1e3:g} ms apart, {count} per row; "
        f"CPUs {os.cpu_count()}",
        f"{'':<38} {'':6} {'p50':>8} {'p99':>8} {'p99.9':>9} {'max':>9}",
    ]
    with Namespaces(tag="h") as ns:
        n1, client = build(ns)
        for label, services, options, loaders in rows:
            proc = start(ns, n1, services, *options)
            load: list[subprocess.Popen[bytes]] = []
            try:
                time.sleep(6.5)  # the takeover burst (5 s) is over
                load = busy(loaders)
                with Prober("eth0", netns=client, ip4=CLIENT4, ip6=CLIENT6) as p:
                    p.drain()
                    kernel, mine = interleaved(p, NODE4, ours, count=count, gap=args.gap)
            finally:
                for loader in load:
                    loader.kill()
                    loader.wait(10)
                gcs = stop(proc)
            out.append(f"{label:<38} kernel {figures(kernel)}")
            out.append(f"{'':<38} ours   {figures(mine)}")
            pauses = sorted(float(x) for x in gcs.get("gen2_ms", []))  # type: ignore[attr-defined]
            out.append(
                f"{'':<38} full collections in the responder: {len(pauses)}, "
                f"longest {pauses[-1] if pauses else 0} ms"
            )
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
