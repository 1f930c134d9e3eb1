"""From a save in the manifest directory to the router having every next hop, stage by stage.

Runs the standalone system as a user does, in the lab's own topology (``orchestrator.lab``:
network namespaces, the controller, three speakers each driving its node's FRR through
vtysh or a bare gobgpd, an FRR router peering with all three), and then, for each size in
``--services`` (ascending):

- a bulk add: one new manifest file with the Services (and a ready EndpointSlice each, on
  every node) that bring the count to that size;
- +1: one more Service with an IP of its own, in a file of its own;
- -1: that file removed again.

For each step it prints the time from the save (the rename that published the file) to
every stage, with the target beside the figures that have one:

- controller: noticed (its source returned the new snapshot), allocated (``plan`` done),
  record(s) written;
- each speaker: noticed (its source returned the snapshot holding the change), intent
  computed, backend applied;
- router: its BGP table has every expected prefix with a path from each node (the routes
  are polled with ``vtysh``, so this figure includes up to one poll interval).

The controller and speaker stages come from their ``passTimes`` debug lines (wall clock;
every process runs on this machine). Bench Services use the lab's BGP pool
(203.0.113.0/24, 250 addresses), so they share IPs (``metallb.universe.tf/allow-shared-ip``,
distinct ports): each bulk adds ``--ips`` shared addresses, the +1 Service has its own.

``--idle S``: after the steps, the CPU used by the controller and the three speakers over
S seconds while nothing changes (percent of one core, from ``/proc/PID/stat``) and their
resident memory. ``--idle-files N`` measures only that, for the file layer alone: the
controller and three speakers without routing daemons or L2 (no root needed), N Services.

Prints figures and exits 0; asserts no timing. Needs root (namespaces), FRR (and gobgpd
for ``--backend gobgp``). Run: ``.venv/bin/python tests/bench/bench_e2e.py [--services
1000,5000] [--backend frr,gobgp] [--idle 20]`` (``make bench-e2e``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from orchestrator.adapters.files.atomic import atomic_write  # noqa: E402
from orchestrator.lab import manifests, nodes, procs  # noqa: E402
from orchestrator.lab.config import BGP_POOL, Backend, LabConfig, node_ip  # noqa: E402
from orchestrator.lab.down import down  # noqa: E402
from orchestrator.lab.up import up  # noqa: E402

PREFIX = "mlbe2e-"
POLL = 0.05  # seconds between router polls
#: the issue's targets (seconds from the save)
TARGET_BULK_1000 = 3.0
TARGET_ONE = 0.5
TARGET_WORK = 0.020  # controller / speaker work for one changed Service


# --------------------------------------------------------------------------- manifests


def bench_service(i: int, key: str | None, *, name: str = "") -> list[Mapping[str, Any]]:
    name = name or f"b{i}"
    ann = {"metallb.universe.tf/address-pool": manifests.BGP_POOL_NAME}
    if key is not None:
        ann["metallb.universe.tf/allow-shared-ip"] = key
    svc = manifests.service(name, annotations=ann, port=10000 + i % 50000)
    return [svc, manifests.endpoints(name, ["n1", "n2", "n3"])]


def write_docs(path: Path, docs: Sequence[Mapping[str, Any]]) -> float:
    """Publish one manifest file (JSON documents are YAML); returns the wall-clock save."""
    atomic_write(path, "".join(f"---\n{json.dumps(d)}\n" for d in docs))
    return time.time()


# --------------------------------------------------------------------------- observation


@dataclass(frozen=True)
class Pass:
    component: str
    fields: Mapping[str, str]

    def t(self, name: str) -> float:
        return float(self.fields[name])


def _parse(line: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in line.split():
        k, _, v = part.partition("=")
        out[k] = v
    return out


class Logs:
    """``passTimes`` lines of the controller and the speakers, read as they grow."""

    def __init__(self, config: LabConfig) -> None:
        self.files = {"controller": config.log_dir / "controller.log"}
        for n in config.node_names:
            self.files[n] = config.log_dir / f"{n}-speaker.log"
        self.offsets = {k: 0 for k in self.files}
        self.passes: dict[str, list[Pass]] = {k: [] for k in self.files}

    def poll(self) -> None:
        for who, path in self.files.items():
            try:
                with open(path, "rb") as f:
                    f.seek(self.offsets[who])
                    data = f.read()
            except OSError:
                continue
            end = data.rfind(b"\n") + 1
            self.offsets[who] += end
            for raw in data[:end].decode(errors="replace").splitlines():
                if "event=passTimes" in raw:
                    self.passes[who].append(Pass(who, _parse(raw)))

    def first(self, who: str, since: float, **want: int) -> Pass | None:
        for p in self.passes[who]:
            if p.t("loaded") < since:
                continue
            if all(int(p.fields.get(k, -1)) == v for k, v in want.items()):
                return p
        return None


def router_table(config: LabConfig) -> dict[str, set[str]]:
    """prefix -> next hops of the valid paths the router has from the nodes."""
    proc = subprocess.run(
        ["vtysh", "-N", config.router, "-c", "show bgp ipv4 unicast json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    try:
        routes = json.loads(proc.stdout).get("routes", {})
    except ValueError:
        return {}
    out: dict[str, set[str]] = {}
    for prefix, paths in routes.items():
        hops = {
            str(h.get("ip"))
            for p in paths
            if p.get("valid")
            for h in p.get("nexthops", [])
            if h.get("ip")
        }
        out[prefix] = hops
    return out


def complete(table: Mapping[str, set[str]], count: int, nodes: set[str]) -> bool:
    ours = {p: h for p, h in table.items() if p.startswith(str(BGP_POOL.network_address)[:-1])}
    return len(ours) == count and all(h >= nodes for h in ours.values())


# --------------------------------------------------------------------------- one step


@dataclass(frozen=True)
class Step:
    title: str
    services: int  # Services in the snapshot once applied
    prefixes: int  # BGP prefixes every node announces once applied
    target: float | None


def measure(config: LabConfig, logs: Logs, step: Step, saved: float, timeout: float) -> None:
    nodes = {str(node_ip(n)) for n in config.node_names}
    deadline = time.monotonic() + timeout
    router_at: float | None = None
    while time.monotonic() < deadline:
        if router_at is None and complete(router_table(config), step.prefixes, nodes):
            router_at = time.time()
        logs.poll()
        found = [logs.first("controller", saved, services=step.services)]
        found += [logs.first(n, saved, prefixes=step.prefixes) for n in config.node_names]
        if router_at is not None and all(found):
            break
        time.sleep(POLL)
    report(config, logs, step, saved, router_at)


def _fmt(seconds: float | None) -> str:
    return "     -" if seconds is None else f"{seconds:6.3f}"


def _row(label: str, at: float | None, own: float | None, target: str = "") -> None:
    own_text = "" if own is None else f"  (+{own * 1000:7.1f} ms)"
    print(f"  {label:<30}{_fmt(at)} s{own_text:<16}  {target}")


def report(
    config: LabConfig, logs: Logs, step: Step, saved: float, router_at: float | None
) -> None:
    one = step.target == TARGET_ONE
    work = f"target stage <= {TARGET_WORK * 1000:.0f} ms" if one else ""
    print(f"\n{config.backend.value}: {step.title}")
    c = logs.first("controller", saved, services=step.services)
    if c is None:
        print("  controller: no pass seen")
    else:
        _row("controller noticed", c.t("loaded") - saved, None)
        _row("controller allocated", c.t("planned") - saved, c.t("planned") - c.t("loaded"), work)
        _row("controller written", c.t("written") - saved, c.t("written") - c.t("planned"))
    for n in config.node_names:
        s = logs.first(n, saved, prefixes=step.prefixes)
        if s is None:
            print(f"  {n}: no pass with {step.prefixes} prefixes seen")
            continue
        _row(f"{n} noticed", s.t("loaded") - saved, None)
        _row(f"{n} intent computed", s.t("computed") - saved, s.t("computed") - s.t("loaded"), work)
        _row(f"{n} backend applied", s.t("applied") - saved, s.t("applied") - s.t("computed"))
    target = "" if step.target is None else f"target <= {step.target:.1f} s"
    if router_at is None:
        print(f"  router all next hops: not within the timeout  {target}")
    else:
        _row("router all next hops", router_at - saved, None, target)


# --------------------------------------------------------------------------- idle


def _cpu_ticks(pid: int) -> int:
    raw = Path(f"/proc/{pid}/stat").read_text()
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def idle(config: LabConfig, seconds: float, services: int, *, label: str = "") -> None:
    names = ["controller", *(f"{n}-speaker" for n in config.node_names)]
    pids = {n: r.pid for n in names if (r := procs.read(config.run_dir, n)) is not None}
    hz = os.sysconf("SC_CLK_TCK")
    before = {n: _cpu_ticks(p) for n, p in pids.items()}
    time.sleep(seconds)
    used = {n: (_cpu_ticks(p) - before[n]) / hz / seconds * 100 for n, p in pids.items()}
    print(f"\n{label or config.backend.value}: idle {seconds:.0f} s with {services} Services")
    if not pids:
        print("  no processes found")
    for n, p in pids.items():
        print(f"  {n:<14} cpu {used[n]:5.1f} % of one core   rss {_rss_mb(p):6.1f} MB")
    print(f"  {'total':<14} cpu {sum(used.values()):5.1f} %   target <= 10 % (with 2,000 Services)")
    print("  target rss <= 150 MB per process (with 10,000 Services)")


def idle_files(services: int, seconds: float) -> None:
    """The file layer alone: the controller and three speakers as processes (``--backend
    none --no-l2``: no namespaces, no daemons) on ``services`` Services, idle CPU and RSS
    once every record is written."""
    directory = Path(tempfile.mkdtemp(prefix="mlb-idle-"))
    config = LabConfig(directory=directory)
    manifests.write_all(config)
    docs: list[Mapping[str, Any]] = []
    for i in range(services):
        docs += bench_service(i, f"k{i // max(1, services // 100)}")
    write_docs(config.manifests / "50-bulk.yaml", docs)
    where = ["--source", str(config.manifests), "--state", str(config.state)]
    argvs = {"controller": nodes.python_cli("controller", *where)}
    for i, n in enumerate(config.node_names):
        port = f"127.0.0.1:{19471 + i}"
        argvs[f"{n}-speaker"] = nodes.python_cli(
            "speaker", "--node", n, *where, "--no-l2", "--metrics-address", port
        )
    started = [
        procs.spawn(name, argv, run_dir=config.run_dir, log_dir=config.log_dir)
        for name, argv in argvs.items()
    ]
    try:
        t0 = time.monotonic()
        records = config.state / "services"
        while time.monotonic() - t0 < 600 and len(list(records.glob("*/*.json"))) < services + 2:
            time.sleep(1.0)
        print(f"\nfiles only: {services} Services recorded after {time.monotonic() - t0:.0f} s")
        time.sleep(5.0)
        idle(config, seconds, services, label="files only")
    finally:
        procs.stop(started)


# --------------------------------------------------------------------------- main


def run(
    backend: Backend, sizes: Sequence[int], *, ips: int, idle_for: float, timeout: float
) -> None:
    directory = Path(tempfile.mkdtemp(prefix="mlb-e2e-"))
    os.environ["MLB_LOG_LEVEL"] = "debug"  # the lab's processes inherit it: passTimes lines
    config = LabConfig(directory=directory, backend=backend, prefix=PREFIX)
    try:
        print(f"\n{backend.value}: lab up ({directory})", flush=True)
        try:
            up(config, timeout=120)
        except Exception:
            for log in sorted(config.log_dir.glob("*.log")):  # what failed, before down
                tail = log.read_text(errors="replace").splitlines()[-5:]
                print(f"--- {log.name}", *tail, sep="\n  ")
            raise
        logs = Logs(config)
        present, prefixes, first_key = 0, 1, 0  # the lab's api Service has one prefix
        base = 2  # the lab's web and api
        for size in sizes:
            add = size - present
            per_ip = math.ceil(add / ips)
            docs: list[Mapping[str, Any]] = []
            for j in range(add):
                docs += bench_service(present + j, f"k{first_key + j // per_ip}")
            keys = math.ceil(add / per_ip)
            first_key += keys
            time.sleep(2.0)  # let the lab be idle before the save
            saved = write_docs(config.manifests / f"50-bulk-{size}.yaml", docs)
            present, prefixes = size, prefixes + keys
            title = f"bulk add of {add} Services ({keys} shared IPs), {size} present"
            bulk_target = TARGET_BULK_1000 if add == 1000 else None
            measure(config, logs, Step(title, base + size, prefixes, bulk_target), saved, timeout)
            for sign in (+1, -1):
                time.sleep(2.0)
                one = config.manifests / "60-one.yaml"
                if sign > 0:
                    saved = write_docs(one, bench_service(0, None, name=f"one{size}"))
                else:
                    one.unlink()
                    saved = time.time()
                title = f"{'+1' if sign > 0 else '-1'} Service with {size} present"
                step = Step(title, base + size + max(sign, 0), prefixes + max(sign, 0), TARGET_ONE)
                measure(config, logs, step, saved, timeout)
        if idle_for > 0:
            time.sleep(3.0)
            idle(config, idle_for, present)
    finally:
        down(directory)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--services", default="1000,5000", help="sizes, ascending (default 1000,5000)")
    p.add_argument("--backend", default="frr,gobgp", help="frr, gobgp or both (default)")
    p.add_argument("--ips", type=int, default=0, help="shared IPs per bulk (default 200/sizes)")
    p.add_argument("--idle", type=float, default=0.0, help="seconds of idle CPU to measure")
    p.add_argument("--timeout", type=float, default=180.0, help="seconds per step at most")
    p.add_argument(
        "--idle-files",
        type=int,
        default=0,
        metavar="N",
        help="only: idle CPU of the file layer with N Services (no namespaces, no daemons)",
    )
    args = p.parse_args()
    if args.idle_files:
        idle_files(args.idle_files, args.idle or 20.0)
        return 0
    sizes = sorted(int(s) for s in args.services.split(","))
    ips = args.ips or 200 // len(sizes)
    for name in args.backend.split(","):
        run(Backend(name), sizes, ips=ips, idle_for=args.idle, timeout=args.timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
