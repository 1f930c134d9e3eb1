"""FRR's daemons in the foreground, supervised: the speaker pod's FRR sidecar (``mlb frr run``),
and FRR's supervisor outside a cluster.

The speaker configures a bare FRR through vtysh, so the sidecar only has to start the
daemons with an empty config, vty sockets in a directory the two containers share, and
stay in the foreground. What it does, in order:

1. create the socket and config directories (an ``emptyDir`` each in the pod) and write
   an empty ``frr.conf`` and a ``vtysh.conf`` (integrated config, as the speaker expects);
2. start the daemons in dependency order with FRR's one launcher (``frr.daemon``: zebra
   first, each ``-u frr -g frr``, ``-P 0``, sockets and pid files in the socket directory),
   logging to stdout, each waited for until vtysh reaches it;
3. supervise them (``orchestrator.adapters.supervise``): a daemon that exits is logged and
   started again with backoff (1 s doubling to 30 s), the others keep running (bgpd
   reconnects to a restarted zebra), and the speaker's routing worker sees the new daemon
   within a second and configures it again. With ``restart=never`` the first exit stops
   everything and returns 1 instead, leaving the restart to the kubelet (the container).
   On SIGTERM, stop every daemon and return 0. The daemons run as ``frr``, so stopping
   them needs CAP_KILL, which the chart does not grant: as the container's PID 1, our exit
   makes the kernel kill them (their TCP sessions close at once, so the routers notice
   without waiting for the hold time).

Capabilities: FRR 8.4 checks its own privilege set at start and refuses to run without
it. zebra and bfdd want NET_ADMIN, NET_RAW and SYS_ADMIN, bgpd also NET_BIND_SERVICE, and
dropping to the ``frr`` user needs SETUID and SETGID.
``tests/integration/test_pod_capabilities.py`` runs this command with exactly that set and
shows that one less is refused. The vty sockets are mode 0770, group ``frrvty``: the
speaker container reaches them as a member of that group (the pod's
``supplementalGroups``), not with DAC_OVERRIDE. Restarting a daemon needs nothing more:
the sidecar is its parent and starts it as it did the first time.
"""

from __future__ import annotations

import contextlib
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path

from frr.daemon import DEFAULT_DAEMONS, FRR_BIN, FrrPaths, daemon_command, prepare, wait_answering
from frr.daemon import daemon_list as daemon_list
from orchestrator.adapters.procs import stop_groups
from orchestrator.adapters.supervise import (
    Child,
    Process,
    RestartPolicy,
    StartFailed,
    Supervisor,
)
from orchestrator.log import Logger

DAEMONS = DEFAULT_DAEMONS


class FrrSidecar:
    def __init__(
        self,
        *,
        socket_dir: Path,
        config_dir: Path,
        daemons: Sequence[str] = DAEMONS,
        binary_dir: Path = FRR_BIN,
        restart: RestartPolicy = RestartPolicy.ALWAYS,
        log: Logger | None = None,
    ) -> None:
        self.paths = FrrPaths(socket_dir=socket_dir, config_dir=config_dir)
        self.daemons = tuple(daemons)
        self.binary_dir = binary_dir
        self.restart = restart
        self.log = log or Logger("frr")
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def _child(self, daemon: str) -> Child:
        cmd = daemon_command(
            daemon, self.paths, log="stdout", log_level="informational", binary_dir=self.binary_dir
        )

        def prepare_start() -> None:
            with contextlib.suppress(FileNotFoundError):
                (self.paths.run_dir / f"{daemon}.pid").unlink()

        def start() -> Process:
            self.procs[daemon] = subprocess.Popen(cmd, start_new_session=True)
            return self.procs[daemon]

        def ready(process: Process) -> None:
            wait_answering(self.paths, daemon, alive=lambda: process.poll() is None)

        return Child(daemon, start=start, ready=ready, prepare=prepare_start)

    def close(self, *, timeout: float = 5.0) -> None:
        """SIGTERM every daemon (bgpd then sends its peers a Cease) and wait. The daemons
        run as ``frr``: without CAP_KILL we may not signal them, and then they end with the
        container (its PID 1 exiting kills every process of its PID namespace)."""
        try:
            stop_groups(list(self.procs.values()), timeout=timeout)
        except PermissionError:
            self.log("stopping", msg="no CAP_KILL: the daemons stop with the container")
        self.procs.clear()

    def run(self, stop: threading.Event) -> int:
        """Start, supervise, stop; the exit status for the container."""
        supervisor = Supervisor(
            [self._child(d) for d in self.daemons], log=self.log, policy=self.restart
        )
        try:
            prepare(self.paths)
            supervisor.start()
        except (StartFailed, OSError) as e:
            self.log("startFailed", level="error", msg=str(e))
            self.close()
            return 1
        try:
            dead = supervisor.run(stop)
        finally:
            self.close()
        if dead is not None:
            self.log("stopped", level="error", msg=f"{dead} exited: the container restarts FRR")
            return 1
        return 0
