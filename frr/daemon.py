"""Starting FRR's daemons: the one launcher for the tests, the lab and the speaker pod's sidecar.

The speaker configures a bare FRR through vtysh, so a launcher only has to lay out FRR's
files, start the daemons with an empty configuration, in dependency order (zebra first:
the others connect to it), and wait until vtysh reaches each one. Where the files are
(``FrrPaths``) is the one thing that differs:

- **pathspace** ``-N NAME`` (tests, benchmarks, the lab): config in ``/etc/frr/NAME/``,
  sockets and pid files in ``/var/run/frr/NAME/``, so several FRRs run side by side on one
  machine and ``vtysh -N NAME`` reaches exactly one of them;
- **socket directory** (the sidecar, ``mlb frr run``): vty and zserv sockets and pid files
  in a directory the speaker container shares (an ``emptyDir``), no TCP vty port (``-P 0``:
  on a host-network pod it would open on the node).

Who starts the processes differs too, and stays with the caller: ``FrrInstance`` (tests)
under ``Namespaces.popen``, so that the namespace cleanup kills them; the lab as detached
lab processes with pidfiles (``orchestrator.lab.frrd``); the sidecar under the process
supervisor of ``mlb frr run`` (``orchestrator.adapters.supervise``), which restarts a dead
daemon with backoff. Every daemon starts as root, keeps the capabilities it needs and
drops to the ``frr`` user itself (``-u frr -g frr``).

Files: ``frr.conf`` (the integrated config: the router's in the lab, empty otherwise),
``boot.conf`` (what each daemon reads at start: empty, unless a test boots a file with
``-f``) and ``vtysh.conf`` (integrated config, as the speaker expects). They belong to
``frr`` and are not world-readable, since a config may hold BGP passwords; where the
launcher may not change owners (the sidecar has no CAP_CHOWN), it writes only empty files.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from frr.client import Vtysh
from frr.errors import VtyshError
from orchestrator.adapters.netns import Namespaces
from orchestrator.adapters.procs import stop_groups

FRR_BIN = Path("/usr/lib/frr")
CONF_ROOT = Path("/etc/frr")
RUN_ROOT = Path("/var/run/frr")
DEFAULT_DAEMONS = ("zebra", "bgpd", "bfdd", "staticd")
KNOWN = frozenset({"zebra", "bgpd", "bfdd", "staticd", "ospfd", "ospf6d", "ripd"})
START_TIMEOUT = 15.0
#: FRR's defaults profiles (``frr defaults ...``, ``-F``): they change what a bare daemon
#: runs with, and so what ``show running-config`` prints for the same configuration.
PROFILES = ("traditional", "datacenter")


class FrrStartError(RuntimeError):
    """A daemon did not come up (the message names it and says how)."""


@dataclass(frozen=True)
class FrrPaths:
    """Where one FRR instance keeps its config, sockets and pid files."""

    pathspace: str | None = None
    socket_dir: Path | None = None
    config_dir: Path | None = None

    @property
    def conf_dir(self) -> Path:
        if self.config_dir is not None:
            return self.config_dir
        return CONF_ROOT / self.pathspace if self.pathspace else CONF_ROOT

    @property
    def run_dir(self) -> Path:
        if self.socket_dir is not None:
            return self.socket_dir
        return RUN_ROOT / self.pathspace if self.pathspace else RUN_ROOT

    def vtysh(self, *, timeout: float = 60.0) -> Vtysh:
        socket = str(self.socket_dir) if self.socket_dir is not None else None
        return Vtysh(pathspace=self.pathspace, vty_socket=socket, timeout=timeout)

    def vtysh_base(self) -> list[str]:
        """``vtysh`` with the options that reach this instance (for ``-b``, ``-f``)."""
        base = ["vtysh"]
        if self.pathspace:
            base += ["-N", self.pathspace]
        if self.socket_dir is not None:
            base += ["--vty_socket", str(self.socket_dir)]
        return base


def daemon_list(text: str) -> tuple[str, ...]:
    """``zebra,bgpd`` -> ordered, validated names (zebra always first)."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in KNOWN]
    if unknown:
        raise ValueError(f"unknown FRR daemon(s): {', '.join(unknown)}")
    if "zebra" not in names:
        names.insert(0, "zebra")
    names.sort(key=lambda n: n != "zebra")
    return tuple(dict.fromkeys(names))


def daemon_command(
    daemon: str,
    paths: FrrPaths,
    *,
    log: str = "stdout",
    log_level: str | None = None,
    binary_dir: Path = FRR_BIN,
    profile: str | None = None,
) -> list[str]:
    """The command line of one daemon. ``log``: FRR's ``--log`` target (``stdout``,
    ``file:PATH``, ``syslog``); ``profile``: FRR's defaults profile (``-F``: ``traditional``,
    ``datacenter``), FRR's own default when None."""
    if profile is not None and profile not in PROFILES:
        raise ValueError(f"unknown FRR defaults profile {profile!r} (known: {', '.join(PROFILES)})")
    cmd = [str(binary_dir / daemon)]
    if paths.pathspace:
        cmd += ["-N", paths.pathspace]
    if profile is not None:
        cmd += ["-F", profile]
    cmd += ["-u", "frr", "-g", "frr"]
    if paths.socket_dir is not None:
        sockets = paths.socket_dir
        cmd += ["-P", "0", "--vty_socket", str(sockets), "-z", str(sockets / "zserv.api")]
        cmd += ["-i", str(sockets / f"{daemon}.pid")]
    cmd += ["-f", str(paths.conf_dir / "boot.conf"), "--log", log]
    if log_level is not None:
        cmd += ["--log-level", log_level]
    return cmd


def _give_to_frr(path: Path) -> bool:
    """chown to frr:frr; False where we may not (no CAP_CHOWN, or no such user)."""
    try:
        os.chown(path, pwd.getpwnam("frr").pw_uid, grp.getgrnam("frr").gr_gid)
    except (PermissionError, KeyError):
        return False
    return True


def prepare(paths: FrrPaths, *, config: str = "", boot: str = "") -> None:
    """Directories, the three files, and no pid file left by a previous run."""
    for d in (paths.conf_dir, paths.run_dir):
        d.mkdir(parents=True, exist_ok=True)
        if not _give_to_frr(d):
            # the daemons run as frr and write pid files and sockets here; an emptyDir is
            # world-writable already, a directory we created is opened up the same way
            with contextlib.suppress(PermissionError):
                os.chmod(d, 0o777)
    files = {
        "frr.conf": config,
        "boot.conf": boot,
        "vtysh.conf": "service integrated-vtysh-config\n",
    }
    for name, text in files.items():
        path = paths.conf_dir / name
        path.write_text(text)
        if _give_to_frr(path):
            os.chmod(path, 0o640)
        elif text.strip() and name != "vtysh.conf":
            path.unlink()
            raise FrrStartError(f"cannot make {path} readable for frr only (no CAP_CHOWN)")
        else:
            with contextlib.suppress(PermissionError):
                os.chmod(path, 0o644)  # empty: nothing to hide
    for daemon in KNOWN:
        with contextlib.suppress(FileNotFoundError):
            (paths.run_dir / f"{daemon}.pid").unlink()


def wait_answering(
    paths: FrrPaths, daemon: str, *, alive: Callable[[], bool], timeout: float = START_TIMEOUT
) -> None:
    """Return once vtysh reaches ``daemon``; ``FrrStartError`` if it exits or stays mute."""
    vtysh = paths.vtysh(timeout=5.0)
    deadline = time.monotonic() + timeout
    while True:
        try:
            vtysh.show("show version", daemon=daemon)
            return
        except VtyshError:
            pass
        if not alive():
            raise FrrStartError(f"{daemon} exited at start (see its log)")
        if time.monotonic() > deadline:
            raise FrrStartError(f"{daemon} did not answer vtysh within {timeout:.0f}s")
        time.sleep(0.05)


def boot(paths: FrrPaths) -> None:
    """Load the instance's ``frr.conf`` into its running daemons, as FRR's init script
    does for an integrated config (``vtysh -b``)."""
    proc = subprocess.run(
        [*paths.vtysh_base(), "-b"], capture_output=True, text=True, check=False, timeout=30
    )
    if proc.returncode != 0:
        raise FrrStartError(f"vtysh -b: {(proc.stdout + proc.stderr).strip()[:400]}")


def remove_dirs(prefix: str) -> list[Path]:
    """Delete the config and run directories of every ``<prefix>*`` pathspace."""
    gone = []
    for root in (CONF_ROOT, RUN_ROOT):
        for d in root.glob(f"{prefix}*"):
            if d.is_dir():
                shutil.rmtree(d, ignore_errors=True)
                gone.append(d)
    return gone


class FrrInstance:
    """FRR in a network namespace for tests and benchmarks: pathspace = namespace name,
    daemons in the foreground under ``Namespaces.popen``; ``close()`` stops them and
    removes the directories."""

    def __init__(
        self,
        netns: Namespaces,
        ns: str,
        *,
        daemons: tuple[str, ...] = DEFAULT_DAEMONS,
        log_dir: Path | None = None,
        profile: str | None = None,
    ) -> None:
        self.netns = netns
        self.ns = ns
        self.name = ns  # the pathspace
        self.paths = FrrPaths(pathspace=ns)
        self.daemons = daemons
        self.conf_dir = self.paths.conf_dir
        self.run_dir = self.paths.run_dir
        self.log_dir = log_dir
        self.profile = profile
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self.vtysh = self.paths.vtysh()

    def __enter__(self) -> FrrInstance:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(
        self, config: str = "", *, via: str = "vtysh", timeout: float = START_TIMEOUT
    ) -> None:
        """Start every daemon, by default with an empty config.

        With ``config``, ``via="vtysh"`` boots it the way FRR's init script does for an
        integrated frr.conf (daemons start empty, ``vtysh -b`` sends each its part);
        ``via="file"`` hands the file to every daemon with ``-f`` (each takes its part and
        logs the rest as unknown)."""
        prepare(self.paths, config=config, boot=config if via == "file" else "")
        for d in self.daemons:
            self.start_daemon(d, timeout=timeout)
        if config and via == "vtysh":
            boot(self.paths)

    def start_daemon(self, daemon: str, *, timeout: float = START_TIMEOUT) -> None:
        """Start one daemon (again) with an empty config and wait until vtysh reaches it."""
        old = self._procs.get(daemon)
        if old is not None and old.poll() is None:
            raise FrrStartError(f"{daemon} in {self.ns} is already running")
        with contextlib.suppress(FileNotFoundError):
            (self.run_dir / f"{daemon}.pid").unlink()
        if self.log_dir is None:
            log, level = "syslog", "emergencies"  # quiet
        else:
            log, level = f"file:{self.log_dir / f'{self.ns}-{daemon}.log'}", None
        cmd = daemon_command(daemon, self.paths, log=log, log_level=level, profile=self.profile)
        proc = self.netns.popen(self.ns, *cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._procs[daemon] = proc
        wait_answering(self.paths, daemon, alive=lambda: proc.poll() is None, timeout=timeout)

    def kill_daemon(self, daemon: str) -> None:
        """SIGKILL one daemon (a crash), and wait for it to be gone."""
        proc = self._procs.pop(daemon, None)
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)

    def close(self) -> None:
        stop_groups(list(self._procs.values()), timeout=5)
        self._procs.clear()
        for directory in (self.conf_dir, self.run_dir):
            shutil.rmtree(directory, ignore_errors=True)
