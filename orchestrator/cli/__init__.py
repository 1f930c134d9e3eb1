"""The ``mlb`` command. Each subcommand lives in its own module with a ``register`` function."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from orchestrator import __version__
from orchestrator.cli import controller, frr, l2, lab, migrate, plan, render, speaker, validate

_MODULES = (validate, plan, migrate, controller, speaker, frr, l2, render, lab)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlb",
        description="Bare-metal LoadBalancer for Kubernetes (MetalLB / Deckhouse compatible).",
    )
    parser.add_argument("--version", action="version", version=f"mlb {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in _MODULES:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
