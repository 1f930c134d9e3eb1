"""``mlb controller``: allocate IPs, place L2 homes, record them on the Services.

Standalone with ``--source DIR --state STATE`` (files), or in a cluster with
``--kubeconfig PATH`` / ``--in-cluster`` (see ``orchestrator.cli._where``).

Reads manifests from DIR (watched), records Service status, pool and home nodes in STATE
(see ``orchestrator.runtime.state``), and logs events. Stops cleanly on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import os
import socket
import time
from typing import Any

from prometheus_client import CollectorRegistry

from orchestrator.cli._where import add_arguments, open_where, stop_on_signals
from orchestrator.runtime.controller import Controller
from orchestrator.runtime.metrics import serve


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "controller", help="allocate IPs and place L2 home nodes (standalone: files)"
    )
    add_arguments(p)
    p.add_argument(
        "--tick",
        type=float,
        default=0.5,
        metavar="SECONDS",
        help="reconcile at least this often, also without file events (default 0.5)",
    )
    p.add_argument("--once", action="store_true", help="reconcile once and exit")
    p.add_argument(
        "--no-leader-elect",
        action="store_true",
        help="in a cluster, do not elect a leader (only safe with one replica)",
    )
    p.add_argument(
        "--leader-id",
        default=os.environ.get("POD_NAME") or f"{socket.gethostname()}-{os.getpid()}",
        help="this replica's identity in the leader Lease (default: $POD_NAME or host-pid)",
    )
    p.add_argument(
        "--metrics-address",
        default="127.0.0.1:7472",
        metavar="HOST:PORT",
        help="serve Prometheus metrics here (default 127.0.0.1:7472; '' disables)",
    )
    p.set_defaults(func=run, parser=p)


def run(args: argparse.Namespace) -> int:
    source, store, waker = open_where(args.parser, args)
    registry = CollectorRegistry()
    controller = Controller(source, store, registry=registry)
    if args.once:
        waker.start()
        try:
            deadline = time.monotonic() + 30
            while source.load().snapshot is None and time.monotonic() < deadline:
                time.sleep(0.05)  # an API source has nothing until every kind was listed
            controller.reconcile()
        finally:
            waker.stop()
        return 0
    stop = stop_on_signals()
    if args.metrics_address:
        serve(args.metrics_address, registry)
    leader = None
    if (args.kubeconfig or args.in_cluster) and not args.no_leader_elect:
        from orchestrator.adapters.kube.leader import KubeLeader
        from orchestrator.adapters.kube.store import KubeStore

        if isinstance(store, KubeStore):
            leader = KubeLeader(
                store.leases.client, namespace=args.namespace, identity=args.leader_id
            ).leading
    controller.run(stop, waker, tick=args.tick, leader=leader)
    return 0
