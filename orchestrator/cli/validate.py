"""``mlb validate DIR``: parse every manifest and report every error with its path.

Exactly what the controller refuses under its isolation rule (``core.parse.isolation``), as
if it started now with no last good version: each invalid object, each object left out
because it depends on one, each junior of a conflict, each file that cannot be read.

Exit status: 0 when there is no error (warnings are printed to stderr and do not fail),
1 when there are errors (one line per error on stdout, ``str(FieldError)``, sorted so that
the output does not depend on file order), 2 when DIR is not a directory.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from orchestrator.adapters.files.manifests import load_directory
from orchestrator.core.model.errors import FieldError, Severity
from orchestrator.core.parse.isolation import isolate


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "validate", help="check a directory of manifests; exit 1 with one line per error"
    )
    p.add_argument("directory", help="directory of *.yaml manifests (multi-document)")
    p.set_defaults(func=run)


def validate(directory: Path) -> list[FieldError]:
    """Every problem (errors and warnings) in the manifests of ``directory``."""
    loaded = load_directory(directory)
    snapshot = isolate(loaded.documents).snapshot
    return [*loaded.problems, *snapshot.problems]


def report(problems: list[FieldError], *, out: TextIO, err: TextIO) -> int:
    errors = sorted(str(p) for p in problems if p.severity is Severity.ERROR)
    warnings = sorted(str(p) for p in problems if p.severity is Severity.WARNING)
    for line in warnings:
        print(line, file=err)
    for line in errors:
        print(line, file=out)
    if errors:
        print(f"{len(errors)} error(s), {len(warnings)} warning(s)", file=err)
        return 1
    return 0


def run(args: argparse.Namespace) -> int:
    directory = Path(args.directory)
    if not directory.is_dir():
        print(f"mlb validate: {directory}: not a directory", file=sys.stderr)
        return 2
    return report(validate(directory), out=sys.stdout, err=sys.stderr)
