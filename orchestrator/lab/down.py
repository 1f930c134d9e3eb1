"""``mlb lab down``: stop everything the lab started and remove what it created.

Works from whatever is left, in three independent sweeps, so it is idempotent and also
cleans up after a crash (of ``up``, of the demo, of a test run):

1. processes recorded in ``DIR/run/*.pid`` (pid + start time, so a recycled pid is never
   hit), the node supervisors first (they stop their children): SIGTERM, a bounded wait,
   SIGKILL;
2. every namespace named ``<prefix>*``: SIGKILL what still runs in it, then delete it
   (which deletes its veths and bridge);
3. FRR's per-pathspace directories ``/etc/frr/<prefix>*`` and ``/var/run/frr/<prefix>*``,
   and the lab directory itself — only if it carries the ``.mlb-lab`` marker, so a wrong
   ``--dir`` can never delete anything else.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.lab import frrd, procs, topology
from orchestrator.lab.config import DEFAULT_PREFIX, MARKER, LabConfig


@dataclass
class Removed:
    processes: list[str] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)
    directories: list[Path] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"stopped {len(self.processes)} processes, deleted {len(self.namespaces)} "
            f"namespaces and {len(self.directories)} directories"
        )


def down(directory: Path, *, prefix: str | None = None, keep_dir: bool = False) -> Removed:
    config = LabConfig.load(directory)
    prefix = prefix or (config.prefix if config else DEFAULT_PREFIX)
    removed = Removed()
    records = procs.read_all(directory / "run")
    live = [r for r in records if procs.alive(r.pid, r.start)]
    # the node supervisors first: they would start again what the second sweep stops
    supervisors = [r for r in live if r.name.endswith("-supervisor")]
    procs.stop(supervisors, timeout=5.0)
    procs.stop([r for r in live if r not in supervisors], timeout=3.0)
    removed.processes = [r.name for r in live]
    removed.namespaces = topology.destroy(prefix)
    removed.directories = frrd.remove_dirs(prefix)
    if not keep_dir and (directory / MARKER).exists():
        shutil.rmtree(directory, ignore_errors=True)
        removed.directories.append(directory)
    return removed
