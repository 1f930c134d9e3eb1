"""Benchmark: GoBGP backend apply times against the targets in docs/design.md (run as root).

Setup, all inside one network namespace (documentation addresses on its loopback): the
node's gobgpd (AS 64512, 198.51.100.11) driven by ``GobgpDriver`` over a unix socket, and a
second gobgpd acting as the router (AS 64500, 198.51.100.1) with an established session, so
that every apply also pays for export-policy evaluation and UPDATE generation, as on a real
node.

Measured (wall clock, around ``GobgpDriver.apply_desired``):

- 5,000 paths from empty: a bare daemon, one apply (instance, peer, policies, 5,000 paths;
  256 IPv4 /32 from 203.0.113.0/24 and 4,744 IPv6 /128 from 2001:db8:5::/64);
- +1 path / -1 path with 5,000 present: the median of 20 incremental applies each;
- for information: when the router had received all 5,000.

    python tests/bench/bench_gobgp.py        (make bench-gobgp)
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from ipaddress import IPv4Address, IPv6Address, ip_network
from pathlib import Path

from gobgp import GobgpDesired, GobgpDriver, GobgpGlobal, GobgpPath, GobgpPeer
from gobgp.client import GobgpClient
from gobgp.daemon import gobgpd_command, prepare_socket, unix_target, wait_ready
from gobgp.model import Family
from orchestrator.adapters.netns import Namespaces

PATHS = 5000
ROUNDS = 20
TARGET_BULK_S = 2.0
TARGET_DELTA_MS = 50.0
NODE, ROUTER = IPv4Address("198.51.100.11"), IPv4Address("198.51.100.1")
NODE_V6 = IPv6Address("2001:db8:100::11")


def service_paths(count: int) -> tuple[GobgpPath, ...]:
    to_router = frozenset({"router"})
    v4 = [ip_network(f"203.0.113.{i}/32") for i in range(256)][:count]
    v6 = [ip_network(f"2001:db8:5::{i:x}/128") for i in range(1, 1 + count - len(v4))]
    return tuple(
        [GobgpPath(p, to_router) for p in v4]
        + [GobgpPath(p, to_router, next_hop=NODE_V6) for p in v6]
    )


def desired(paths: tuple[GobgpPath, ...]) -> GobgpDesired:
    return GobgpDesired(
        instance=GobgpGlobal(64512, NODE, listen_addresses=(NODE,)),
        peers=(GobgpPeer("router", ROUTER, 64500, source_address=NODE, connect_retry=1),),
        paths=paths,
    )


def start_router(ns: Namespaces, name: str, sock: Path) -> GobgpClient:
    """A plain gobgpd (no policies: it accepts everything) peering with the node."""
    api = unix_target(sock)
    prepare_socket(sock)
    ns.popen(name, *gobgpd_command(api, log_level="warn"), stdout=subprocess.DEVNULL)
    wait_ready(api)
    client = GobgpClient(api)
    client.start(GobgpGlobal(64500, ROUTER, listen_addresses=(ROUTER,)))
    client.add_peer(GobgpPeer("node", NODE, 64512, source_address=ROUTER, connect_retry=1))
    return client


def received(router: GobgpClient) -> int:
    return sum(router.table_size(f) for f in Family)


def wait_until(condition: object, timeout: float) -> float:
    started = time.perf_counter()
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.01)
    return time.perf_counter() - started


def line(what: str, value: str, target: str, ok: bool) -> None:
    print(f"{what:<44} {value:>10}   target {target:<9} {'ok' if ok else 'MISSED'}")


def main() -> int:
    if os.geteuid() != 0:
        print("bench_gobgp: needs root (network namespaces)", file=sys.stderr)
        return 2
    with Namespaces("b") as ns, tempfile.TemporaryDirectory(prefix="mlb-bench-") as tmp:
        name = ns.add("gobgp")
        for address in (f"{NODE}/32", f"{ROUTER}/32", f"{NODE_V6}/128"):
            ns.addr(name, "lo", address)
        router = start_router(ns, name, Path(tmp) / "router.sock")
        api = unix_target(Path(tmp) / "node.sock")
        prepare_socket(Path(tmp) / "node.sock")
        ns.popen(name, *gobgpd_command(api, log_level="warn"), stdout=subprocess.DEVNULL)
        wait_ready(api)
        backend = GobgpDriver(api)
        try:
            # instance and session first, so that the bulk apply also pays for the UPDATEs
            backend.apply_desired(desired(()))
            if wait_until(lambda: backend.status()[0].up, 30) >= 30:
                print("bench_gobgp: session to the router did not come up", file=sys.stderr)
                return 1
            return measure(backend, router)
        finally:
            backend.close()
            router.close()


def measure(backend: GobgpDriver, router: GobgpClient) -> int:
    full = service_paths(PATHS)
    started = time.perf_counter()
    report = backend.apply_desired(desired(full))
    bulk = time.perf_counter() - started
    assert report.detail["paths_announced"] == PATHS, report
    delivered = bulk + wait_until(lambda: received(router) >= PATHS, 60)

    extra = GobgpPath(ip_network("2001:db8:6::1/128"), frozenset({"router"}), next_hop=NODE_V6)
    plus, minus = [], []
    for i in range(ROUNDS):
        started = time.perf_counter()
        backend.apply_desired(desired((*full, extra)))
        plus.append(time.perf_counter() - started)
        backend.apply_desired(desired(full))
        # -1 from 5,000: withdraw one of the original paths, then restore it
        started = time.perf_counter()
        backend.apply_desired(desired(full[:i] + full[i + 1 :]))
        minus.append(time.perf_counter() - started)
        backend.apply_desired(desired(full))
    plus_ms = statistics.median(plus) * 1000
    minus_ms = statistics.median(minus) * 1000
    ok_bulk = bulk <= TARGET_BULK_S
    ok_delta = max(plus_ms, minus_ms) <= TARGET_DELTA_MS
    print(f"GoBGP backend, one established router session, median of {ROUNDS} for deltas")
    line(f"{PATHS:,} paths into an empty RIB", f"{bulk:.2f} s", f"<= {TARGET_BULK_S:g} s", ok_bulk)
    line(
        f"+1 path with {PATHS:,} present",
        f"{plus_ms:.1f} ms",
        f"<= {TARGET_DELTA_MS:g} ms",
        plus_ms <= TARGET_DELTA_MS,
    )
    line(
        f"-1 path with {PATHS:,} present",
        f"{minus_ms:.1f} ms",
        f"<= {TARGET_DELTA_MS:g} ms",
        minus_ms <= TARGET_DELTA_MS,
    )
    print(f"{'(info) router had all paths after':<44} {delivered:>8.2f} s")
    print(f"{'(info) worst +1 / -1':<44} {max(plus) * 1000:>7.1f} ms / {max(minus) * 1000:.1f} ms")
    return 0 if ok_bulk and ok_delta else 1


if __name__ == "__main__":
    sys.exit(main())
