"""FRR's daemons in the foreground, for the speaker pod's FRR sidecar (``mlb frr run``).

The speaker configures a bare FRR through vtysh, so the sidecar only has to start the
daemons with an empty config, vty sockets in a directory the two containers share, and
stay in the foreground. What it does, in order:

1. create the socket and config directories (an ``emptyDir`` each in the pod) and write
   an empty ``frr.conf`` and a ``vtysh.conf`` (integrated config, as the speaker expects);
2. start the daemons in dependency order with FRR's one launcher (``frr.daemon``: zebra
   first, each ``-u frr -g frr``, ``-P 0``, sockets and pid files in the socket directory),
   logging to stdout;
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

import subprocess
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from frr.daemon import (
    DEFAULT_DAEMONS,
    FRR_BIN,
    FrrPaths,
    FrrStartError,
    daemon_command,
    prepare,
    wait_answering,
)
from frr.daemon import daemon_list as daemon_list
from orchestrator.adapters.procs import stop_groups

DAEMONS = DEFAULT_DAEMONS


def _running(proc: subprocess.Popen[bytes]) -> Callable[[], bool]:
    return lambda: proc.poll() is None


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
        self.paths = FrrPaths(socket_dir=socket_dir, config_dir=config_dir)
        self.daemons = tuple(daemons)
        self.binary_dir = binary_dir
        self.log = log
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self) -> None:
        prepare(self.paths)
        for daemon in self.daemons:
            cmd = daemon_command(
                daemon,
                self.paths,
                log="stdout",
                log_level="informational",
                binary_dir=self.binary_dir,
            )
            proc = subprocess.Popen(cmd, start_new_session=True)
            self.procs[daemon] = proc
            wait_answering(self.paths, daemon, alive=_running(proc))
            self.log(f"frr: {daemon} started (pid {proc.pid})")

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
        except (FrrStartError, OSError) as e:
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
