"""FRR daemons inside a network namespace, for integration tests, benchmarks and the lab.

Each instance uses FRR's pathspace (``-N NAME``): config in ``/etc/frr/NAME/`` and sockets
in ``/var/run/frr/NAME/``, so several FRRs run side by side on one machine and ``vtysh -N
NAME`` reaches exactly one of them. The daemons start with an empty config (the speaker
configures a bare FRR through vtysh), run in the foreground under ``Namespaces.popen`` so
that the namespace cleanup kills them, and are started in dependency order (zebra first:
bgpd connects to it). ``close()`` stops them and removes the directories it created.
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
from pathlib import Path
from types import TracebackType

from frr.client import Vtysh
from orchestrator.adapters.netns import Namespaces
from orchestrator.adapters.procs import stop_groups

FRR_BIN = Path("/usr/lib/frr")
CONF_ROOT = Path("/etc/frr")
RUN_ROOT = Path("/var/run/frr")
DEFAULT_DAEMONS = ("zebra", "bgpd", "bfdd", "staticd")


class FrrStartError(RuntimeError):
    pass


class FrrInstance:
    def __init__(
        self,
        netns: Namespaces,
        ns: str,
        *,
        daemons: tuple[str, ...] = DEFAULT_DAEMONS,
        log_dir: Path | None = None,
    ) -> None:
        self.netns = netns
        self.ns = ns
        self.name = ns  # the pathspace
        self.daemons = daemons
        self.conf_dir = CONF_ROOT / ns
        self.run_dir = RUN_ROOT / ns
        self.log_dir = log_dir
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self.vtysh = Vtysh(pathspace=ns)

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

    def _prepare(self, config: str, boot_file: str) -> None:
        uid = pwd.getpwnam("frr").pw_uid
        gid = grp.getgrnam("frr").gr_gid
        for d in (self.conf_dir, self.run_dir):
            d.mkdir(parents=True, exist_ok=True)
            os.chown(d, uid, gid)
        (self.conf_dir / "frr.conf").write_text(config)
        (self.conf_dir / "boot.conf").write_text(boot_file)
        (self.conf_dir / "vtysh.conf").write_text("service integrated-vtysh-config\n")
        for f in ("frr.conf", "boot.conf", "vtysh.conf"):
            os.chown(self.conf_dir / f, uid, gid)
            os.chmod(self.conf_dir / f, 0o640)

    def start(self, config: str = "", *, via: str = "vtysh", timeout: float = 15.0) -> None:
        """Start every daemon, by default with an empty config.

        With ``config``, ``via="vtysh"`` boots it the way FRR's init script does for an
        integrated frr.conf (daemons start empty, ``vtysh -b`` sends each its part);
        ``via="file"`` hands the file to every daemon with ``-f`` (each takes its part and
        logs the rest as unknown)."""
        self._prepare(config, config if via == "file" else "")
        for d in self.daemons:
            self.start_daemon(d, timeout=timeout)
        if config and via == "vtysh":
            proc = subprocess.run(
                ["vtysh", "-N", self.name, "-b"], capture_output=True, text=True, check=False
            )
            if proc.returncode != 0:
                raise FrrStartError(f"vtysh -b in {self.ns}: {proc.stdout + proc.stderr}")

    def _log_arg(self, daemon: str) -> list[str]:
        if self.log_dir is None:
            return ["--log", "syslog", "--log-level", "emergencies"]
        return ["--log", f"file:{self.log_dir / f'{self.ns}-{daemon}.log'}"]

    def start_daemon(self, daemon: str, *, timeout: float = 15.0) -> None:
        """Start one daemon (again) with an empty config and wait until vtysh reaches it."""
        old = self._procs.get(daemon)
        if old is not None and old.poll() is None:
            raise FrrStartError(f"{daemon} in {self.ns} is already running")
        with contextlib.suppress(FileNotFoundError):
            (self.run_dir / f"{daemon}.pid").unlink()
        cmd = [
            str(FRR_BIN / daemon),
            "-N",
            self.name,
            "-u",
            "frr",
            "-g",
            "frr",
            "-f",
            str(self.conf_dir / "boot.conf"),
            *self._log_arg(daemon),
        ]
        self._procs[daemon] = self.netns.popen(
            self.ns, *cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            proc = subprocess.run(
                ["vtysh", "-N", self.name, "-d", daemon, "-c", "show version"],
                capture_output=True,
                text=True,
                check=False,
            )
            if proc.returncode == 0:
                return
            if self._procs[daemon].poll() is not None:
                raise FrrStartError(f"{daemon} in {self.ns} exited at start")
            time.sleep(0.05)
        raise FrrStartError(f"{daemon} in {self.ns} did not answer vtysh within {timeout}s")

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
