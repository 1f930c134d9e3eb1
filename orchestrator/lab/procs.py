"""Detached lab processes: started once, found again later by pidfile or by namespace.

``mlb lab up`` returns while the controller, speakers, routing daemons and HTTP "pods" keep
running, so nothing may depend on the starting Python process: each process gets its own
session (no terminal signal reaches it), stdin from /dev/null and its output appended to
``DIR/logs/<name>.log``. ``ip netns exec NS cmd`` execs ``cmd``, so the pid we record is
the daemon's own.

A pidfile holds the pid *and* the process start time (``/proc/PID/stat`` field 22): after
a crash and a reboot, or simply much later, a recycled pid must not make ``down`` kill an
unrelated process. A zombie (a killed child not yet reaped) counts as dead.

Namespaces are the second way to find processes: ``down`` kills whatever is left in the
lab's namespaces (``ip netns pids``), which covers a lost pidfile.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_children: dict[int, subprocess.Popen[bytes]] = {}  # started here: reaped by ``alive``


@dataclass(frozen=True)
class Pidfile:
    name: str
    pid: int
    start: int  # clock ticks since boot; 0 = unknown


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, start time) of a process, or None if there is no such process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()  # comm may hold spaces and parentheses
    return fields[0], int(fields[19])


def _reap() -> None:
    for pid, proc in list(_children.items()):
        if proc.poll() is not None:
            del _children[pid]


def exit_status(pid: int) -> int | None:
    """The exit status of a process started here, once it has ended (None: running, or not
    ours)."""
    proc = _children.get(pid)
    return None if proc is None else proc.poll()


def alive(pid: int, start: int = 0) -> bool:
    _reap()
    st = _stat(pid)
    if st is None or st[0] in ("Z", "X"):
        return False
    return start == 0 or st[1] == start


def spawn(
    name: str,
    argv: Sequence[str],
    *,
    run_dir: Path,
    log_dir: Path,
    netns: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Pidfile:
    """Start ``argv`` (inside ``netns``) detached; record ``run_dir/<name>.pid``."""
    run_dir.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    cmd = ["ip", "netns", "exec", netns, *argv] if netns else list(argv)
    with open(log_dir / f"{name}.log", "ab") as log:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )
    _children[proc.pid] = proc
    st = _stat(proc.pid)
    record = Pidfile(name, proc.pid, st[1] if st else 0)
    (run_dir / f"{name}.pid").write_text(f"{record.pid} {record.start}\n")
    return record


def read(run_dir: Path, name: str) -> Pidfile | None:
    try:
        pid, start = (run_dir / f"{name}.pid").read_text().split()
        return Pidfile(name, int(pid), int(start))
    except (OSError, ValueError):
        return None


def read_all(run_dir: Path) -> list[Pidfile]:
    out = []
    for path in sorted(run_dir.glob("*.pid")):
        record = read(run_dir, path.stem)
        if record is not None:
            out.append(record)
    return out


def running(run_dir: Path, name: str) -> bool:
    record = read(run_dir, name)
    return record is not None and alive(record.pid, record.start)


def kill(record: Pidfile, sig: int = signal.SIGKILL) -> None:
    if alive(record.pid, record.start):
        with contextlib.suppress(ProcessLookupError):
            os.kill(record.pid, sig)


def stop(records: Sequence[Pidfile], *, timeout: float = 5.0) -> None:
    """SIGTERM, wait (bounded) for them to exit, SIGKILL what is left."""
    for r in records:
        kill(r, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(r.pid, r.start) for r in records):
        time.sleep(0.05)
    for r in records:
        kill(r, signal.SIGKILL)
    wait_gone([r.pid for r in records])


def wait_gone(pids: Sequence[int], *, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(alive(p) for p in pids):
            return True
        time.sleep(0.02)
    return False


def netns_pids(ns: str) -> list[int]:
    out = subprocess.run(
        ["ip", "netns", "pids", ns], capture_output=True, text=True, check=False
    ).stdout
    return [int(p) for p in out.split() if p.isdigit()]


def kill_netns(ns: str) -> list[int]:
    """SIGKILL every process in ``ns`` (a dead node, or leftovers at ``down``)."""
    pids = netns_pids(ns)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    wait_gone(pids)
    return pids


def forget(run_dir: Path, name: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        (run_dir / f"{name}.pid").unlink()
