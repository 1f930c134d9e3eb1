"""FRR's daemons in the foreground, for the speaker pod's FRR sidecar (``mlb frr run``).

The speaker configures a bare FRR through vtysh, so the sidecar only has to start the
daemons with an empty config, vty sockets in a directory the two containers share, and
stay in the foreground. What it does, in order:

1. create the socket and config directories (an ``emptyDir`` each in the pod) and write
   an empty ``frr.conf`` and a ``vtysh.conf`` (integrated config, as the speaker expects);
2. start the daemons in dependency order (zebra first: the others connect to it), each
   with ``-u frr -g frr`` (FRR starts as root, keeps the capabilities it needs and drops to
   its own user), ``-P 0`` (no TCP vty port: on a host-network pod it would open on the
   node), the vty and zserv sockets and pid files in the socket directory, logs to stdout;
3. wait until vtysh reaches each one;
4. wait. When any daemon exits, stop the others and return non-zero: the kubelet restarts
   the container and the speaker's drift check configures the fresh FRR again (the same
   repair that covers an FRR restarted by hand). On SIGTERM, stop every daemon and return 0.
   The daemons run as ``frr``, so stopping them needs CAP_KILL, which the chart does not
   grant: as the container's PID 1, our exit makes the kernel kill them (their TCP
   sessions close at once, so the routers notice without waiting for the hold time).

Capabilities: FRR 8.4 checks its own privilege set at start and refuses to run without
it. zebra and bfdd want NET_ADMIN, NET_RAW and SYS_ADMIN, bgpd also NET_BIND_SERVICE, and
dropping to the ``frr`` user needs SETUID and SETGID. ``tests/integration/test_frr_sidecar.py``
runs this command with exactly that set and shows that one less is refused. The vty sockets
are mode 0770, group ``frrvty``: the speaker container reaches them as a member of that
group (the pod's ``supplementalGroups``), not with DAC_OVERRIDE.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from frr.client import Vtysh
from frr.errors import VtyshError
from orchestrator.adapters.procs import stop_groups

FRR_BIN = Path("/usr/lib/frr")
DAEMONS = ("zebra", "bgpd", "bfdd", "staticd")
KNOWN = frozenset({"zebra", "bgpd", "bfdd", "staticd", "ospfd", "ospf6d", "ripd"})


class SidecarError(RuntimeError):
    pass


def daemon_command(
    daemon: str, *, socket_dir: Path, config_dir: Path, binary_dir: Path = FRR_BIN
) -> list[str]:
    """The command line of one daemon (no config: the speaker sends it through vtysh)."""
    return [
        str(binary_dir / daemon),
        "-u",
        "frr",
        "-g",
        "frr",
        "-P",
        "0",
        "--vty_socket",
        str(socket_dir),
        "-z",
        str(socket_dir / "zserv.api"),
        "-i",
        str(socket_dir / f"{daemon}.pid"),
        "-f",
        str(config_dir / "frr.conf"),
        "--log",
        "stdout",
        "--log-level",
        "informational",
    ]


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


class FrrSidecar:
    def __init__(
        self,
        *,
        socket_dir: Path,
        config_dir: Path,
        daemons: Sequence[str] = DAEMONS,
        binary_dir: Path = FRR_BIN,
        log: Callable[[str], None] = print,
    ) -> None:
        self.socket_dir = socket_dir
        self.config_dir = config_dir
        self.daemons = tuple(daemons)
        self.binary_dir = binary_dir
        self.log = log
        self.vtysh = Vtysh(vty_socket=str(socket_dir), timeout=5.0)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def prepare(self) -> None:
        for d in (self.socket_dir, self.config_dir):
            d.mkdir(parents=True, exist_ok=True)
        # The daemons run as frr: they write pid files and sockets here. An emptyDir is
        # already world-writable; a directory we created is opened up the same way.
        with contextlib.suppress(PermissionError):
            os.chmod(self.socket_dir, 0o777)
        (self.config_dir / "frr.conf").write_text("")
        (self.config_dir / "vtysh.conf").write_text("service integrated-vtysh-config\n")
        for name in ("frr.conf", "vtysh.conf"):
            with contextlib.suppress(PermissionError):
                os.chmod(self.config_dir / name, 0o644)
        for daemon in self.daemons:
            with contextlib.suppress(FileNotFoundError):
                (self.socket_dir / f"{daemon}.pid").unlink()

    def start(self, *, timeout: float = 15.0) -> None:
        self.prepare()
        for daemon in self.daemons:
            cmd = daemon_command(
                daemon,
                socket_dir=self.socket_dir,
                config_dir=self.config_dir,
                binary_dir=self.binary_dir,
            )
            self.procs[daemon] = subprocess.Popen(cmd, start_new_session=True)
            self._wait_reachable(daemon, timeout)
            self.log(f"frr: {daemon} started (pid {self.procs[daemon].pid})")

    def _wait_reachable(self, daemon: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        proc = self.procs[daemon]
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SidecarError(f"{daemon} exited at start with status {proc.returncode}")
            try:
                self.vtysh.show("show version", daemon=daemon)
                return
            except VtyshError:
                pass
            time.sleep(0.05)
        raise SidecarError(f"{daemon} did not answer vtysh within {timeout:.0f}s")

    def wait(self, stop: threading.Event, *, poll: float = 0.2) -> str | None:
        """Block until ``stop`` is set (None) or a daemon exits (its name)."""
        while not stop.wait(poll):
            for daemon, proc in self.procs.items():
                if proc.poll() is not None:
                    return daemon
        return None

    def close(self, *, timeout: float = 5.0) -> None:
        """SIGTERM every daemon (bgpd then sends its peers a Cease) and wait. The daemons
        run as ``frr``: without CAP_KILL we may not signal them, and then they end with the
        container (its PID 1 exiting kills every process of its PID namespace)."""
        try:
            stop_groups(list(self.procs.values()), timeout=timeout)
        except PermissionError:
            self.log("frr: no CAP_KILL: the daemons stop with the container")
        self.procs.clear()

    def run(self, stop: threading.Event) -> int:
        """Start, wait, stop; the exit status for the container."""
        try:
            self.start()
        except (SidecarError, OSError) as e:
            self.log(f"frr: {e}")
            self.close()
            return 1
        try:
            dead = self.wait(stop)
        finally:
            self.close()
        if dead is not None:
            self.log(f"frr: {dead} exited; stopping the others so the container restarts")
            return 1
        return 0
