"""The ``mlb`` command. Each subcommand lives in its own module with a ``register`` function.

Every command logs through one channel (``orchestrator.log``), configured here before the
command runs: ``mlb --log-level LEVEL COMMAND ...`` (default info, or ``$MLB_LOG_LEVEL``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from orchestrator import __version__, log
from orchestrator.cli import controller, frr, l2, lab, migrate, plan, render, speaker, validate

_MODULES = (validate, plan, migrate, controller, speaker, frr, l2, render, lab)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlb",
        description="Bare-metal LoadBalancer for Kubernetes (MetalLB / Deckhouse compatible).",
    )
    parser.add_argument("--version", action="version", version=f"mlb {__version__}")
    parser.add_argument(
        "--log-level",
        choices=log.LEVELS,
        default=None,
        help=f"log lines at this level and above (default {log.DEFAULT_LEVEL}, or "
        f"${log.ENV}); every command logs key=value lines to stderr",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in _MODULES:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command != "l2":  # ``mlb l2 announce`` picks its own default (--verbose)
        log.configure(args.log_level)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
