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

from orchestrator.runtime.controller import Controller
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
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    state = StateDir(args.state)
    controller = Controller(ManifestSource(Path(args.source), state), state)
    if args.once:
        controller.reconcile()
        return 0
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    controller.run(stop, tick=args.tick)
    return 0
