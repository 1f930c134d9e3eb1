"""Shared by the commands that read a manifest directory: load, parse, refuse on errors.

``load_valid``: errors are printed as ``mlb validate`` prints them (one line each on stdout,
sorted) and the command exits 1; warnings go to stderr and do not stop anything; a missing
directory is 2. ``load_isolated`` (``mlb plan``): the snapshot of everything valid under the
isolation rule the controller applies (``core.parse.isolation``), the problems on stderr,
and the exit code the command ends with (1 when there were errors).
"""

from __future__ import annotations

import sys
from pathlib import Path

from orchestrator.adapters.files.manifests import load_directory
from orchestrator.cli.validate import report
from orchestrator.core.model.cluster import ClusterSnapshot
from orchestrator.core.model.errors import Severity
from orchestrator.core.parse import parse_snapshot
from orchestrator.core.parse.isolation import isolate


def load_valid(directory: str, *, command: str) -> ClusterSnapshot | int:
    """The parsed snapshot, or the exit code to return."""
    path = Path(directory)
    if not path.is_dir():
        print(f"mlb {command}: {path}: not a directory", file=sys.stderr)
        return 2
    loaded = load_directory(path)
    snapshot = parse_snapshot(loaded.documents)
    problems = [*loaded.problems, *snapshot.problems]
    code = report(problems, out=sys.stdout, err=sys.stderr)
    return code if any(p.severity is Severity.ERROR for p in problems) else snapshot


def load_isolated(directory: str, *, command: str) -> tuple[ClusterSnapshot, list[str], int] | int:
    """The snapshot of everything valid, the error lines, and the exit code to end with
    (0, or 1 when there were errors); or the exit code at once (2: not a directory). Every
    problem is printed on stderr, errors as ``mlb validate`` prints them."""
    path = Path(directory)
    if not path.is_dir():
        print(f"mlb {command}: {path}: not a directory", file=sys.stderr)
        return 2
    loaded = load_directory(path)
    snapshot = isolate(loaded.documents).snapshot
    problems = [*loaded.problems, *snapshot.problems]
    code = report(problems, out=sys.stderr, err=sys.stderr)
    errors = sorted(str(p) for p in problems if p.severity is Severity.ERROR)
    return snapshot, errors, code
