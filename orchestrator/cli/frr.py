"""``mlb frr run``: FRR's daemons in the foreground, supervised: the speaker pod's FRR sidecar,
or FRR's supervisor outside a cluster.

See ``frr/sidecar.py``. The speaker container runs ``mlb speaker --backend frr
--frr-socket-dir DIR`` with the same DIR (a shared ``emptyDir``).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from frr.sidecar import DAEMONS, FrrSidecar, daemon_list
from orchestrator.adapters.supervise import RestartPolicy
from orchestrator.cli._where import stop_on_signals


def _daemons(text: str) -> tuple[str, ...]:
    try:
        return daemon_list(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from e


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("frr", help="run FRR for a speaker (sidecar)")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    run = actions.add_parser(
        "run", help="start FRR's daemons in the foreground with an empty config"
    )
    run.add_argument(
        "--socket-dir",
        type=Path,
        default=Path("/var/run/frr"),
        metavar="DIR",
        help="vty/zserv sockets and pid files; share it with the speaker (default /var/run/frr)",
    )
    run.add_argument(
        "--config-dir",
        type=Path,
        default=Path("/etc/frr"),
        metavar="DIR",
        help="where the empty frr.conf and vtysh.conf are written (default /etc/frr)",
    )
    run.add_argument(
        "--daemons",
        type=_daemons,
        default=DAEMONS,
        metavar="LIST",
        help="comma-separated daemons, zebra always first (default zebra,bgpd,bfdd,staticd)",
    )
    run.add_argument(
        "--restart",
        choices=[p.value for p in RestartPolicy],
        default=RestartPolicy.ALWAYS.value,
        help="a daemon that exits: start it again with backoff (always, default), or stop "
        "everything and exit 1 so that the container is restarted (never)",
    )
    run.set_defaults(func=run_frr)


def run_frr(args: argparse.Namespace) -> int:
    stop = stop_on_signals()
    sidecar = FrrSidecar(
        socket_dir=args.socket_dir,
        config_dir=args.config_dir,
        daemons=args.daemons,
        restart=RestartPolicy(args.restart),
    )
    return sidecar.run(stop)
