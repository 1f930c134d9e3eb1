"""``mlb controller``: allocate IPs, place L2 homes, record them on the Services.

Standalone with ``--source DIR --state STATE`` (files), or in a cluster with
``--kubeconfig PATH`` / ``--in-cluster`` (see ``orchestrator.cli._where``).

With ``--webhook-address`` it also serves the validating admission webhook and the BGPPeer
conversion webhook over HTTPS (``orchestrator.cli._webhook``).

Reads manifests from DIR (watched), records Service status, pool and home nodes in STATE
(see ``orchestrator.adapters.files.store``), and logs events. Stops cleanly on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import os
import socket
import time
from typing import Any

from prometheus_client import CollectorRegistry

from orchestrator.cli import _webhook
from orchestrator.cli._config_state import StatusObjects
from orchestrator.cli._where import Where, add_arguments, open_where, stop_on_signals
from orchestrator.log import Logger
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
    _webhook.add_arguments(p)
    p.set_defaults(func=run, parser=p)


def run(args: argparse.Namespace) -> int:
    where = open_where(args.parser, args)
    registry = CollectorRegistry()
    log = Logger("controller")
    events = None
    if where.client is not None:
        from orchestrator.adapters.kube.events import KubeEvents

        events = KubeEvents(
            where.client,
            component="metallb-controller",
            uid_of=where.uid_of,
            on_error=lambda msg: log("eventsFailed", level="warning", msg=msg),
        )
        events.start()
    conditions = None
    if where.client is not None:
        from orchestrator.adapters.kube.conditions import KubeObjectConditions

        conditions = KubeObjectConditions(
            where.client,
            on_error=lambda msg: log("conditionsFailed", level="warning", msg=msg),
        )
        conditions.start()
    # ConfigurationState, pool counters, Events on broken objects: from the loop's own loads
    status = StatusObjects(where, args.namespace, log) if where.client is not None else None
    controller = Controller(
        status.recording if status is not None else where.source,
        where.store,
        registry=registry,
        log=log,
        events=events,
        conditions=conditions,
    )
    webhook = None if args.once else _webhook.start(args, where, log)
    try:
        return _run(args, controller, where, status)
    finally:
        if webhook is not None:
            webhook.stop()
        if events is not None:
            events.stop()
        if conditions is not None:
            conditions.stop()
            conditions.sync()  # what the last pass (or --once) reported


def _run(
    args: argparse.Namespace, controller: Controller, where: Where, status: StatusObjects | None
) -> int:
    source, waker = where.source, where.waker
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
        serve(args.metrics_address, controller.registry)
    elector = None
    if (args.kubeconfig or args.in_cluster) and not args.no_leader_elect:
        from orchestrator.adapters.kube.leader import KubeLeader

        if where.client is not None:
            elector = KubeLeader(where.client, namespace=args.namespace, identity=args.leader_id)
    if status is not None:
        if elector is not None:
            status.leading = lambda: elector.elector.is_leader(time.monotonic())
        status.start()
    try:
        controller.run(stop, waker, tick=args.tick, leader=elector.leading if elector else None)
    finally:
        if status is not None:
            status.stop()
        if elector is not None:
            elector.release()  # the loop has stopped writing: a standby may lead at once
    return 0
