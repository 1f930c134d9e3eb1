"""``mlb plan DIR``: what the controller would do, as a table or JSON."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "plan", help="show the IPs and home nodes the controller would assign"
    )
    p.add_argument("directory", help="directory of *.yaml manifests (multi-document)")
    p.add_argument("--output", "-o", choices=("table", "json"), default="table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise SystemExit("mlb plan: not implemented yet")
