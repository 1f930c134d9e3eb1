"""``mlb controller --source DIR --state STATE``: the controller, standalone.

Reads manifests from DIR (watched), records Service status, pool and home nodes in STATE
(see ``orchestrator.runtime.state``), and logs events. Stops cleanly on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from prometheus_client import CollectorRegistry

from orchestrator.runtime.controller import Controller
from orchestrator.runtime.metrics import serve
from orchestrator.runtime.source import ManifestSource
from orchestrator.runtime.state import StateDir


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "controller", help="allocate IPs and place L2 home nodes (standalone: files)"
    )
    p.add_argument("--source", required=True, metavar="DIR", help="directory of manifests to watch")
    p.add_argument(
        "--state",
        required=True,
        metavar="STATE",
        help="state directory shared with the speakers (created if missing)",
    )
    p.add_argument(
        "--tick",
        type=float,
        default=0.5,
        metavar="SECONDS",
        help="reconcile at least this often, also without file events (default 0.5)",
    )
    p.add_argument("--once", action="store_true", help="reconcile once and exit")
    p.add_argument(
        "--metrics-address",
        default="127.0.0.1:7472",
        metavar="HOST:PORT",
        help="serve Prometheus metrics here (default 127.0.0.1:7472; '' disables)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    state = StateDir(args.state)
    registry = CollectorRegistry()
    controller = Controller(ManifestSource(Path(args.source), state), state, registry=registry)
    if args.once:
        controller.reconcile()
        return 0
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if args.metrics_address:
        serve(args.metrics_address, registry)
    controller.run(stop, tick=args.tick)
    return 0
