"""``mlb validate DIR``: parse every manifest and report every error with its path."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "validate", help="check a directory of manifests; exit 1 with one line per error"
    )
    p.add_argument("directory", help="directory of *.yaml manifests (multi-document)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise SystemExit("mlb validate: not implemented yet")
