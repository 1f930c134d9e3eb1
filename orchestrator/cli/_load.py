"""Shared by the commands that read a manifest directory: load, parse, refuse on errors.

Errors are printed as ``mlb validate`` prints them (one line each on stdout, sorted) and the
command exits 1; warnings go to stderr and do not stop anything; a missing directory is 2.
"""

from __future__ import annotations

import sys
from pathlib import Path

from orchestrator.adapters.files.manifests import load_directory
from orchestrator.cli.validate import report
from orchestrator.core.model.cluster import ClusterSnapshot
from orchestrator.core.model.errors import Severity
from orchestrator.core.parse import parse_snapshot


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
