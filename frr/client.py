"""Run vtysh: command batches in, show output and JSON out.

A batch goes to FRR in one process per daemon: ``vtysh -d <daemon> -f /dev/stdin`` with the
batch on stdin. Measured on FRR 8.4: 5,000 ``network`` lines take ~0.5 s this way, while
feeding an interactive vtysh on stdin takes ~1.2 s (it echoes every prompt) and one
process per command costs ~40 ms each. ``-d`` matters for correctness too: a plain
``vtysh -f`` silently drops ``router bgp`` commands when bgpd is down and exits 0, while
``-d bgpd`` fails to connect and says so. Our route-maps and lists live in bgpd only (and
the route-map delay), BFD profiles in bfdd, the next-hop-tracking globals in zebra;
route-map removals also go to zebra, for the copies an FRR booted from a file has there
(``removes_a_route_map``).

Passwords travel on stdin, never on a command line (``/proc/*/cmdline`` is world-readable)
and never through a file. vtysh echoes a failing line in its error message, so every
message is passed through ``redact`` before it is logged or raised.

Errors: ``VtyshUnavailable`` (a daemon is not running or not reachable: transient, retry)
and ``VtyshCommandError`` (FRR rejected lines; FRR may be partly changed, so the caller
re-reads the running config before the next attempt).

Identity (``Vtysh.identity``): vtysh opens a new connection per call, so a restarted
daemon breaks no connection of ours; what tells it apart is its vty socket and pid file,
which every daemon creates afresh at start in the socket directory. The probe connects
to zebra's and bgpd's sockets (a dead daemon leaves its socket file behind, refusing
connections) and reads each socket's inode and creation time and the pid file: about
0.1 ms, no subprocess, so the worker asks every second. The pid alone is not enough (the
speaker container does not share the sidecar's PID namespace, and pids are reused), nor
is the inode (tmpfs hands the same number to the new socket).
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from frr.diff import Command, batch_text
from frr.errors import VtyshCommandError, VtyshError, VtyshUnavailable, redact
from frr.model import ZEBRA_GLOBALS
from orchestrator.core.model.cluster import Secret

_LINE_ERROR = re.compile(r"^line \d+: ", re.MULTILINE)


def daemon_of(cmd: Command) -> str:
    if cmd.context[:1] == ("bfd",):
        return "bfdd"
    line = cmd.line[3:] if cmd.line.startswith("no ") else cmd.line
    if not cmd.context and line in ZEBRA_GLOBALS:
        return "zebra"
    return "bgpd"


def removes_a_route_map(cmd: Command) -> bool:
    """``no route-map NAME [ACTION SEQ]``: sent to bgpd and, afterwards, to zebra too.

    Our route-maps live in bgpd. But an FRR booted from a file (``vtysh -b``: FRR's init
    script with a saved ``write memory``, or ``mlb render frr`` output) gives every daemon
    that knows route-maps its own copy, and zebra's keeps the lines it understands (the
    description). Removed from bgpd only, that copy would stay in the merged ``show
    running-config`` as an entry we own: drift no repair could remove, and, saved and
    booted again, a ``permit`` entry without a match in bgpd. FRR accepts the removal of an
    entry a daemon does not have, so the extra copy costs nothing when there is none."""
    return not cmd.context and cmd.line.startswith("no route-map ")


def split_by_daemon(commands: Sequence[Command]) -> list[tuple[str, list[Command]]]:
    """Consecutive runs of commands for the same daemon, order kept; route-map removals are
    repeated for zebra at the end (``removes_a_route_map``)."""
    runs: list[tuple[str, list[Command]]] = []
    for cmd in commands:
        d = daemon_of(cmd)
        if runs and runs[-1][0] == d:
            runs[-1][1].append(cmd)
        else:
            runs.append((d, [cmd]))
    zebra = [cmd for cmd in commands if removes_a_route_map(cmd)]
    if zebra:
        if runs[-1][0] == "zebra":
            runs[-1][1].extend(zebra)
        else:
            runs.append(("zebra", zebra))
    return runs


class VtyshLike(Protocol):
    """What the backend needs from vtysh; tests substitute a recorder."""

    def apply(self, commands: Sequence[Command], *, secrets: Sequence[Secret] = ()) -> None: ...

    def show(self, command: str, *, daemon: str | None = None) -> str: ...

    def show_json(self, command: str, *, daemon: str | None = None) -> Any: ...

    def identity(self) -> Identity: ...


#: Per daemon: (inode, creation time in ns, pid) of its vty socket, None when not running.
Identity = tuple[tuple[str, tuple[int, int, str] | None], ...]
RUN_ROOT = Path("/var/run/frr")
#: Daemons whose restart loses configuration of ours; bfdd counts when it runs.
IDENTITY_DAEMONS = ("zebra", "bgpd")
OPTIONAL_IDENTITY = ("bfdd",)


@dataclass(frozen=True)
class Vtysh:
    """vtysh for one FRR instance: the default one, ``-N pathspace`` (FRR's per-namespace
    paths /etc/frr/NAME and /var/run/frr/NAME) or ``--vty_socket DIR`` (a speaker pod
    sharing FRR's socket directory)."""

    pathspace: str | None = None
    vty_socket: str | None = None
    binary: str = "vtysh"
    timeout: float = 60.0

    @property
    def socket_dir(self) -> Path:
        """Where the daemons' vty sockets and pid files are."""
        if self.vty_socket:
            return Path(self.vty_socket)
        return RUN_ROOT / self.pathspace if self.pathspace else RUN_ROOT

    def identity(self) -> Identity:
        """Who runs now: per daemon, its socket's inode and creation time and its pid.
        Raises ``VtyshUnavailable`` while zebra or bgpd refuses connections."""
        out: list[tuple[str, tuple[int, int, str] | None]] = []
        for daemon in (*IDENTITY_DAEMONS, *OPTIONAL_IDENTITY):
            found = _daemon_identity(self.socket_dir, daemon)
            if found is None and daemon in IDENTITY_DAEMONS:
                raise VtyshUnavailable(f"{daemon} is not running (its vty socket is not answering)")
            out.append((daemon, found))
        return tuple(out)

    def _base(self) -> list[str]:
        cmd = [self.binary]
        if self.pathspace:
            cmd += ["-N", self.pathspace]
        if self.vty_socket:
            cmd += ["--vty_socket", self.vty_socket]
        return cmd

    def _run(
        self, args: list[str], *, stdin: str | None, secrets: Sequence[Secret]
    ) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                self._base() + args,
                input=stdin,
                capture_output=True,
                text=True,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as e:
            raise VtyshUnavailable(f"vtysh timed out after {self.timeout:.0f}s") from e
        except OSError as e:
            raise VtyshUnavailable(redact(f"cannot run vtysh: {e}", secrets)) from e

    def apply(self, commands: Sequence[Command], *, secrets: Sequence[Secret] = ()) -> None:
        for daemon, run in split_by_daemon(commands):
            text = batch_text(run)
            if not text:
                continue
            proc = self._run(["-d", daemon, "-f", "/dev/stdin"], stdin=text, secrets=secrets)
            output = proc.stdout + proc.stderr
            if "failed to connect" in output:
                raise VtyshUnavailable(f"{daemon} is not running (vtysh could not connect)")
            errors = [
                redact(ln.strip(), secrets) for ln in output.splitlines() if _LINE_ERROR.match(ln)
            ]
            if errors or proc.returncode != 0:
                raise VtyshCommandError(
                    daemon, errors or [redact(output.strip(), secrets) or "exit 1"]
                )

    def show(self, command: str, *, daemon: str | None = None) -> str:
        args = ["-d", daemon] if daemon else []
        proc = self._run([*args, "-c", command], stdin=None, secrets=())
        if proc.returncode != 0:
            msg = (proc.stdout + proc.stderr).strip()
            raise VtyshUnavailable(f"{command!r}: exit {proc.returncode}: {redact(msg, ())}")
        return proc.stdout

    def show_json(self, command: str, *, daemon: str | None = None) -> Any:
        out = self.show(command, daemon=daemon)
        try:
            return json.loads(out) if out.strip() else {}
        except json.JSONDecodeError as e:
            raise VtyshError(f"{command!r}: not JSON: {redact(out[:200], ())}") from e


def _daemon_identity(directory: Path, daemon: str) -> tuple[int, int, str] | None:
    path = directory / f"{daemon}.vty"
    try:
        st = path.stat()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(1.0)
            probe.connect(str(path))
    except OSError:
        return None
    pid = ""
    with contextlib.suppress(OSError):
        pid = (directory / f"{daemon}.pid").read_text().strip()
    return st.st_ino, st.st_ctime_ns, pid
