"""``mlb lab up|down|status|demo``: the whole system on one machine, in network namespaces.

- ``up [--nodes 3] [--backend frr|gobgp] [--dir DIR]``: build the topology (router, N nodes,
  client, a switch), start the controller, speakers, routing daemons and HTTP pods detached,
  return once converged and print how to use it;
- ``down [--dir DIR]``: stop and remove everything (idempotent, also after a crash);
- ``status [--dir DIR]``: namespaces, processes, Services with homes and live announcers,
  the router's routes;
- ``demo [--backend ...] [--kills K]``: up, show the Services answering, kill a node, measure
  the failover, down; the last line is ``demo: ok ...`` or ``demo: failed <reason>``.

Needs root (namespaces, raw sockets) and FRR (the router; and the nodes with ``frr``).
See ``docs/lab.md`` and ``orchestrator.lab``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from orchestrator.lab.config import (
    DEFAULT_PREFIX,
    Backend,
    LabConfig,
    LabConfigError,
    default_directory,
)


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "lab", help="a network-namespace lab: router, nodes, client (root)"
    )
    lab_sub = p.add_subparsers(dest="lab_command", required=True, metavar="SUBCOMMAND")

    def common(q: argparse.ArgumentParser) -> None:
        q.add_argument(
            "--dir",
            type=Path,
            default=default_directory(),
            help=f"lab directory: manifests, state, logs, pidfiles (default {default_directory()})",
        )

    def build(q: argparse.ArgumentParser) -> None:
        common(q)
        q.add_argument("--nodes", type=int, default=3, help="number of nodes (default 3)")
        q.add_argument("--backend", choices=[b.value for b in Backend], default=Backend.FRR.value)
        q.add_argument(
            "--prefix",
            default=DEFAULT_PREFIX,
            help=f"namespace name prefix (default {DEFAULT_PREFIX})",
        )
        q.add_argument(
            "--lease-duration",
            type=float,
            default=2.0,
            metavar="S",
            help="speakers' lease duration (default 2)",
        )
        q.add_argument(
            "--renew-interval",
            type=float,
            default=1.0,
            metavar="S",
            help="speakers' lease renewal period (default 1)",
        )
        q.add_argument(
            "--kube",
            action="store_true",
            help="keep the cluster in a real etcd + kube-apiserver (built by `make kube-bins`) "
            "instead of files; writes DIR/kubeconfig for kubectl",
        )
        q.add_argument(
            "--kube-bins",
            metavar="DIR",
            default="",
            help="directory with etcd, kube-apiserver, kubectl, helm (default: what "
            "`make kube-bins` built last, or $MLB_KUBE_BINS)",
        )
        q.add_argument(
            "--timeout",
            type=float,
            default=90.0,
            metavar="S",
            help="give up waiting for convergence after this long (default 90)",
        )

    q = lab_sub.add_parser("up", help="build the lab and wait until it has converged")
    build(q)
    q.set_defaults(func=run, lab_func=_up)

    q = lab_sub.add_parser("down", help="stop and remove everything the lab created")
    common(q)
    q.add_argument("--prefix", default=None, help="namespace prefix (default: from DIR)")
    q.set_defaults(func=run, lab_func=_down)

    q = lab_sub.add_parser("status", help="namespaces, processes, Services, router routes")
    common(q)
    q.set_defaults(func=run, lab_func=_status)

    q = lab_sub.add_parser("demo", help="up, show, kill a node, measure failover, down")
    build(q)
    q.add_argument(
        "--kills",
        type=int,
        default=1,
        metavar="K",
        help="kill/recover cycles (default 1); K>1 prints median and worst failover",
    )
    q.set_defaults(func=run, lab_func=_demo)


def _config(args: argparse.Namespace) -> LabConfig:
    return LabConfig(
        directory=args.dir.absolute(),
        nodes=args.nodes,
        backend=Backend(args.backend),
        prefix=args.prefix,
        lease_duration=args.lease_duration,
        renew_interval=args.renew_interval,
        kube=args.kube,
        kube_bins=str(Path(args.kube_bins).absolute()) if args.kube_bins else "",
    )


def _preflight(backend: str | None, *, kube: bool = False, bins: str = "") -> str | None:
    if os.geteuid() != 0:
        return "needs root (network namespaces, raw sockets)"
    if shutil.which("ip") is None:
        return "needs iproute2 (ip)"
    if not Path("/usr/lib/frr/bgpd").exists() or shutil.which("vtysh") is None:
        return "needs FRR (apt install frr): the router runs it"
    if backend == Backend.GOBGP.value and shutil.which("gobgpd") is None:
        return "needs gobgpd (apt install gobgpd)"
    if kube:
        from orchestrator.lab.controlplane import ControlPlaneError, find_bins

        try:
            find_bins(bins or None)
        except ControlPlaneError as e:
            return str(e)
    return None


def run(args: argparse.Namespace) -> int:
    code: int = args.lab_func(args)
    return code


def _up(args: argparse.Namespace) -> int:
    from orchestrator.lab import converge, status
    from orchestrator.lab.up import LabError, up

    if problem := _preflight(args.backend, kube=args.kube, bins=args.kube_bins):
        print(f"mlb lab up: {problem}", file=sys.stderr)
        return 2
    try:
        config = _config(args)
    except LabConfigError as e:
        print(f"mlb lab up: {e}", file=sys.stderr)
        return 2
    try:
        took = up(config, timeout=args.timeout, progress=lambda m: print(f"lab: {m}"))
    except LabError as e:  # refused before anything was built
        print(f"mlb lab up: {e}", file=sys.stderr)
        return 1
    except converge.NotConverged as e:
        print(f"mlb lab up: {e}", file=sys.stderr)
        print(f"logs: {config.log_dir}; clean up with: mlb lab down --dir {config.directory}")
        return 1
    except Exception as e:  # a tool or daemon failed: say which, and how to clean up
        print(f"mlb lab up: {type(e).__name__}: {e}", file=sys.stderr)
        print(f"logs: {config.log_dir}; clean up with: mlb lab down --dir {config.directory}")
        return 1
    print(f"lab: converged in {took:.1f} s\n")
    print(status.report(config))
    print()
    print(usage(config))
    return 0


def usage(config: LabConfig) -> str:
    from orchestrator.lab import observe

    d, c, r = config.directory, config.client, config.router
    l2 = next((s.ips[0] for s in observe.services(config) if s.l2 and s.ips), "192.0.2.200")
    bgp = next((s.ips[0] for s in observe.services(config) if not s.l2 and s.ips), "203.0.113.1")
    return "\n".join(
        [
            "Try:",
            f"  ip netns exec {c} curl -s http://{l2}/    # an L2 IP: its node answers",
            f"  ip netns exec {c} curl -s http://{bgp}/    # the BGP IP, through the router",
            f"  vtysh -N {r} -c 'show ip route {bgp}/32'",
            f"  vtysh -N {r} -c 'show bgp summary'",
            (
                f"  kubectl --kubeconfig {d}/kubeconfig edit svc -n lab web"
                if config.kube
                else f"  $EDITOR {d}/manifests/10-web.yaml    # the lab follows within a second"
            ),
            f"  mlb lab status --dir {d}",
            f"  mlb lab down --dir {d}",
        ]
    )


def _down(args: argparse.Namespace) -> int:
    from orchestrator.lab.down import down

    if os.geteuid() != 0:
        print("mlb lab down: needs root", file=sys.stderr)
        return 2
    removed = down(args.dir.absolute(), prefix=args.prefix)
    print(f"lab: down: {removed.summary()}")
    return 0


def _status(args: argparse.Namespace) -> int:
    from orchestrator.lab import status

    config = LabConfig.load(args.dir.absolute())
    if config is None:
        from orchestrator.lab.topology import existing

        print(f"no lab in {args.dir} (`mlb lab up`)")
        if found := existing(DEFAULT_PREFIX):
            print(f"but lab namespaces exist: {', '.join(found)} (`mlb lab down` removes them)")
        return 1
    print(status.report(config))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from orchestrator.lab import demo

    if problem := _preflight(args.backend, kube=args.kube, bins=args.kube_bins):
        print(f"demo: failed {problem}")
        return 2
    try:
        config = _config(args)
    except LabConfigError as e:
        print(f"demo: failed {e}")
        return 2
    if args.kills < 1:
        print("demo: failed --kills must be at least 1")
        return 2
    if args.nodes < 3:
        print("demo: failed the demo needs --nodes 3 or more (the Service asks for 3 IPs)")
        return 2
    return demo.run(config, kills=args.kills, timeout=args.timeout)
