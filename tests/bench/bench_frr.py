"""Benchmark: FRR apply, our incremental path next to MetalLB's, in one run (root).

``make bench-frr`` (= ``python tests/bench/bench_frr.py``). Two node FRRs in network
namespaces, each with BGP sessions to two router FRRs (so updates really go out):

- ours: ``FrrDriver.apply`` on a bare FRR with N service IPs (default 5,000), then +1 and
  -1 with N present, each repeated and the median reported; also the time until the
  router has received all N prefixes;
- reference: the equivalent MetalLB FRR-mode config (reference §5.2: per-prefix
  ``prefix-list`` entries for the allowed list and for the community, per peer) applied
  with ``frr-reload.py --reload``, the way MetalLB's reloader does, from empty and then +1
  and -1. Its cost grows quadratically (docs/design.md §8), so by default it runs at
  ``--reference-sizes 250,500,1000`` and extrapolates to N with the fitted exponent (labelled as
  an estimate); ``--reference-sizes 5000`` measures it for real (expect well over 15 minutes).

Service IPs are IPv6 /128s from 2001:db8:5::/64 (5,000 do not fit into the IPv4
documentation range); peers use 2001:db8:ffff::/64; private ASNs; everything lives in
namespaces and is removed at the end. Targets (docs/design.md, performance targets): from empty
<= 2 s, +1 <= 100 ms.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from ipaddress import IPv4Address, ip_address
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from frr.daemon import FrrInstance
from frr.driver import FrrDriver
from orchestrator.adapters.netns import Namespaces
from orchestrator.core.bgp.compute import bgp_intent
from orchestrator.core.bgp.intent import NodeBGPIntent
from orchestrator.core.model.cluster import (
    Assignment,
    BGPAdvertisement,
    BGPPeer,
    ClusterSnapshot,
)
from tests.golden.frr_scenarios import POOL6, node, service, snapshot, std

ROUTER = ("2001:db8:ffff::1", "2001:db8:ffff::2")
NODE_ADDR = {"ours": "2001:db8:ffff::11", "ref": "2001:db8:ffff::12"}
BASE = int(ip_address("2001:db8:5::1"))
COMMUNITY = "65000:100"
RELOAD = "/usr/lib/frr/frr-reload.py"


def prefixes(count: int) -> list[str]:
    return [f"{ip_address(BASE + i)}/128" for i in range(count)]


# --------------------------------------------------------------------------- our side


def cluster(count: int) -> tuple[ClusterSnapshot, list[Assignment]]:
    peers = [
        BGPPeer(
            name=f"r{i + 1}",
            my_asn=64512,
            peer_asn=64500,
            peer_address=ip_address(a),
            router_id=IPv4Address("198.51.100.11"),  # IPv6-only node: FRR has no IPv4 to pick
        )
        for i, a in enumerate(ROUTER)
    ]
    snap = snapshot(
        peers=peers,
        advertisements=[BGPAdvertisement(name="default", communities=(std(COMMUNITY),))],
        services=[service(f"s{i}") for i in range(count)],
        nodes=[node("n1")],
        pools=(POOL6,),
    )
    assignments = [
        Assignment(f"default/s{i}", "public6", (ip_address(BASE + i),)) for i in range(count)
    ]
    return snap, assignments


def intent_for(count: int) -> tuple[NodeBGPIntent, float]:
    snap, assignments = cluster(count)
    start = time.perf_counter()
    intent = bgp_intent(snap, assignments, node="n1")
    return intent, time.perf_counter() - start


# --------------------------------------------------------------------------- MetalLB style


def metallb_config(count: int) -> str:
    """MetalLB FRR mode's rendering for one advertisement with a community (§5.2)."""
    out = ["frr defaults traditional", "hostname n1", "ip nht resolve-via-default"]
    out += ["ipv6 nht resolve-via-default", "!"]
    nets = prefixes(count)
    for peer in ROUTER:
        out += [f"route-map {peer}-in deny 20", "!"]
        out += [f"ip prefix-list {peer}-allowed-ipv4 seq 1 deny any"]
        clist = f"{peer}-{COMMUNITY}-ipv6-community-prefixes"
        out += [f"ipv6 prefix-list {clist} seq {i} permit {p}" for i, p in enumerate(nets, 1)]
        out += [
            f"ipv6 prefix-list {peer}-allowed-ipv6 seq {i} permit {p}"
            for i, p in enumerate(nets, 1)
        ]
        out += [
            f"route-map {peer}-out permit 1",
            f" match ipv6 address prefix-list {clist}",
            f" set community {COMMUNITY} additive",
            " on-match next",
            "!",
            f"route-map {peer}-out permit 2",
            f" match ip address prefix-list {peer}-allowed-ipv4",
            "!",
            f"route-map {peer}-out permit 3",
            f" match ipv6 address prefix-list {peer}-allowed-ipv6",
            "!",
        ]
    out += [
        "router bgp 64512",
        " no bgp ebgp-requires-policy",
        " no bgp network import-check",
        " no bgp default ipv4-unicast",
        " bgp router-id 198.51.100.12",
    ]
    out += [f" neighbor {p} remote-as 64500" for p in ROUTER]
    out += [" address-family ipv6 unicast"]
    for p in ROUTER:
        out += [
            f"  neighbor {p} activate",
            f"  neighbor {p} route-map {p}-in in",
            f"  neighbor {p} route-map {p}-out out",
        ]
    out += [f"  network {p}" for p in nets]
    out += [" exit-address-family", "exit", "!"]
    return "\n".join(out) + "\n"


def frr_reload(inst: FrrInstance, text: str, workdir: Path) -> float:
    path = workdir / "frr.conf"
    path.write_text(text)
    start = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable if os.access(RELOAD, os.R_OK) else "python3",
            RELOAD,
            "--reload",
            "--pathspace",
            inst.name,
            "--confdir",
            "/etc/frr",
            "--rundir",
            str(workdir),
            str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"frr-reload.py failed: {proc.stderr[-500:]}")
    return elapsed


def reset_bgp(inst: FrrInstance) -> None:
    """Back to a bare FRR between reference sizes (restart bgpd and zebra empty)."""
    for d in ("bgpd", "zebra"):
        inst.kill_daemon(d)
    for d in ("zebra", "bgpd"):
        inst.start_daemon(d)


# --------------------------------------------------------------------------- measuring


def received(router: FrrInstance, neighbor: str) -> int:
    data = router.vtysh.show_json("show bgp ipv6 unicast summary json", daemon="bgpd")
    info = data.get("peers", {}).get(neighbor, {})
    return int(info.get("pfxRcd", 0) or 0)


def wait_for(what: str, probe: Callable[[], bool], timeout: float) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if probe():
            return time.perf_counter() - start
        time.sleep(0.02)
    raise RuntimeError(f"timed out waiting for {what}")


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def fmt(seconds: float) -> str:
    return f"{seconds * 1000:9.1f} ms" if seconds < 10 else f"{seconds:9.1f} s "


def fit(sizes: Sequence[int], seconds: Sequence[float], target: int) -> tuple[float, float]:
    """Exponent k of t = a * n^k from the two largest sizes, and t(target)."""
    (n1, t1), (n2, t2) = sorted(zip(sizes, seconds, strict=True))[-2:]
    k = math.log(t2 / t1) / math.log(n2 / n1)
    return k, t2 * (target / n2) ** k


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--services", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=5, help="runs of +1 / -1 (median)")
    ap.add_argument(
        "--reference-sizes",
        default="250,500,1000",
        help="prefix counts for the frr-reload.py reference ('' to skip)",
    )
    args = ap.parse_args(argv)
    if os.geteuid() != 0 or not shutil.which("vtysh") or not Path(RELOAD).exists():
        print("bench-frr needs root, FRR (vtysh, bgpd) and frr-pythontools (frr-reload.py)")
        return 2
    # a SIGTERM (timeout, Ctrl-C in make) must still run the cleanup below
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    n = args.services
    ref_sizes = [int(x) for x in args.reference_sizes.split(",") if x.strip()]

    with Namespaces(tag="b") as ns, tempfile.TemporaryDirectory() as tmp:
        routers: list[FrrInstance] = []
        nodes: dict[str, FrrInstance] = {}
        first = ns.add("r1")
        ns.bridge(first, "br0")
        for i, addr in enumerate(ROUTER):
            name = first if i == 0 else ns.add(f"r{i + 1}")
            if i:
                ns.veth(name, "eth0", first, f"p-r{i + 1}")
                ns.enslave(first, f"p-r{i + 1}", "br0")
            ns.addr(name, "br0" if i == 0 else "eth0", f"{addr}/64")
            routers.append(FrrInstance(ns, name, daemons=("zebra", "bgpd")))
        for role, addr in NODE_ADDR.items():
            name = ns.add(role)
            ns.veth(name, "eth0", first, f"p-{role}")
            ns.enslave(first, f"p-{role}", "br0")
            ns.addr(name, "eth0", f"{addr}/64")
            nodes[role] = FrrInstance(ns, name, daemons=("zebra", "bgpd"))
        instances = [*routers, *nodes.values()]
        try:
            for inst in instances:
                inst.start()
            for i, router in enumerate(routers):
                configure_router(router, f"198.51.100.{i + 1}")
            report_ours(nodes["ours"], routers[0], n, args.repeat)
            if ref_sizes:
                report_reference(nodes["ref"], n, ref_sizes, Path(tmp))
        finally:
            for inst in instances:
                inst.close()
    return 0


def configure_router(router: FrrInstance, router_id: str) -> None:
    lines = ["router bgp 64500", " no bgp ebgp-requires-policy"]
    lines += [" no bgp default ipv4-unicast", f" bgp router-id {router_id}"]
    lines += [f" neighbor {addr} remote-as 64512" for addr in NODE_ADDR.values()]
    lines += [" address-family ipv6 unicast", "  maximum-paths 8"]
    lines += [f"  neighbor {addr} activate" for addr in NODE_ADDR.values()]
    lines += [" exit-address-family", "exit"]
    subprocess.run(
        ["vtysh", "-N", router.name, "-f", "/dev/stdin"],
        input="\n".join(lines) + "\n",
        text=True,
        check=True,
        capture_output=True,
    )


def report_ours(inst: FrrInstance, router: FrrInstance, n: int, repeat: int) -> None:
    backend = FrrDriver(inst.vtysh)
    base, t_intent = intent_for(n)
    plus, t_intent_plus = intent_for(n + 1)
    print(f"ours: {n} service IPs, 2 peers, incremental vtysh batches (FrrDriver.apply)")
    print(f"  intent computation ({n} services)          {fmt(t_intent)}")
    start = time.perf_counter()
    first = backend.apply(base)
    t_full = time.perf_counter() - start
    print(f"  from empty: apply ({first.changes} commands)        {fmt(t_full)}  target <= 2 s")
    peer = NODE_ADDR["ours"]
    t_conv = wait_for(f"{n} prefixes at the router", lambda: received(router, peer) >= n, 120)
    print(f"  ... until the router has all {n} prefixes    {fmt(t_full + t_conv)}")
    adds, removes = [], []
    for _ in range(repeat):
        s = time.perf_counter()
        backend.apply(plus)
        adds.append(time.perf_counter() - s)
        s = time.perf_counter()
        backend.apply(base)
        removes.append(time.perf_counter() - s)
    print(
        f"  +1 with {n} present (median of {repeat})        {fmt(median(adds))}  target <= 100 ms"
    )
    print(f"  -1 with {n} present (median of {repeat})        {fmt(median(removes))}")
    print(f"  +1 including intent computation            {fmt(median(adds) + t_intent_plus)}")
    s = time.perf_counter()
    backend.apply(plus)
    wait_for("+1 at the router", lambda: received(router, peer) == n + 1, 60)
    print(f"  +1 until the router has it                 {fmt(time.perf_counter() - s)}")
    s = time.perf_counter()
    backend.apply(base)
    wait_for("-1 at the router", lambda: received(router, peer) == n, 60)
    print(f"  -1 until the router has withdrawn it       {fmt(time.perf_counter() - s)}")


def report_reference(inst: FrrInstance, n: int, sizes: list[int], tmp: Path) -> None:
    print("reference: MetalLB FRR-mode config (per-prefix prefix-lists) via frr-reload.py")
    fulls: list[float] = []
    for size in sizes:
        reset_bgp(inst)
        t_full = frr_reload(inst, metallb_config(size), tmp)
        fulls.append(t_full)
        t_add = frr_reload(inst, metallb_config(size + 1), tmp)
        t_del = frr_reload(inst, metallb_config(size), tmp)
        print(f"  {size:5d} prefixes: from empty {fmt(t_full)}   +1 {fmt(t_add)}   -1 {fmt(t_del)}")
    if n not in sizes and len(sizes) >= 2:
        k, estimate = fit(sizes, fulls, n)
        print(f"  {n:5d} prefixes: from empty ~{fmt(estimate).strip()} (estimate: t ~ n^{k:.2f})")


if __name__ == "__main__":
    sys.exit(main())
