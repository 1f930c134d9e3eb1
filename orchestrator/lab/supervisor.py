"""One lab node's supervisor: it starts what runs on the node and starts it again when it dies.

``python -m orchestrator.lab.supervisor DIR NODE`` runs inside the node's namespace, as a
detached lab process (pidfile ``<node>-supervisor``), and is the node's "init": it starts
the HTTP pod, the routing daemon(s) (zebra and bgpd with an empty config, or a bare gobgpd
serving its API on a unix socket under ``DIR/run``) and the speaker, in that order (the
speaker needs its daemon), each as a lab process with its own pidfile and log
(``procs.spawn``), and supervises them (``orchestrator.adapters.supervise``): a daemon or a
speaker that dies is logged to ``DIR/logs/<node>-supervisor.log`` and started again with
backoff; the speaker's routing worker then configures a restarted daemon again.

A killed *node* is not a dead process: ``nodes.kill_node`` SIGKILLs everything in the
namespace, this supervisor included, exactly like a power cut, and nothing comes back until
``nodes.start_node``. On SIGTERM (``mlb lab down``) it stops its children and exits.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from frr import daemon as frr_daemon
from orchestrator import log as log_channel
from orchestrator.adapters.supervise import Child, Process, StartFailed, Supervisor
from orchestrator.lab import frrd, nodes, procs
from orchestrator.lab.config import Backend, LabConfig
from orchestrator.log import Logger


class _LabProcess:
    """A lab process as the supervisor sees it (its exit status when it was ours)."""

    def __init__(self, record: procs.Pidfile) -> None:
        self.record = record
        self._status: int | None = None

    @property
    def pid(self) -> int:
        return self.record.pid

    def poll(self) -> int | None:
        if self._status is None:
            status = procs.exit_status(self.record.pid)
            if status is None and procs.alive(self.record.pid, self.record.start):
                return None
            self._status = -1 if status is None else status  # -1: ended, status unknown
        return self._status


Spawn = Callable[[str, list[str]], Process]


def children(config: LabConfig, node: str) -> list[Child]:
    """What runs on ``node``, in start order."""
    ns = config.node_ns(node)

    def spawn(name: str, argv: list[str]) -> Process:
        return _LabProcess(procs.spawn(name, argv, run_dir=config.run_dir, log_dir=config.log_dir))

    out = [Child(f"{node}-pod", start=lambda: spawn(f"{node}-pod", nodes.pod_argv(node)))]
    if config.backend is Backend.FRR:
        paths = frrd.paths(ns)
        for d in frrd.DAEMONS:
            out.append(_frr_child(spawn, paths, node, d))
    else:
        from gobgp.daemon import gobgpd_command, prepare_socket, wait_ready

        socket = Path(nodes.gobgp_socket(config, node))
        api = f"unix://{socket}"
        out.append(
            Child(
                f"{node}-gobgpd",
                prepare=lambda: prepare_socket(socket),
                start=lambda: spawn(f"{node}-gobgpd", gobgpd_command(api)),
                ready=lambda _p: wait_ready(api, timeout=15.0),
            )
        )
    argv = nodes.speaker_argv(config, node)
    out.append(Child(f"{node}-speaker", start=lambda: spawn(f"{node}-speaker", argv)))
    return out


def _frr_child(spawn: Spawn, paths: frr_daemon.FrrPaths, node: str, name: str) -> Child:
    def prepare() -> None:
        (paths.run_dir / f"{name}.pid").unlink(missing_ok=True)

    def start() -> Process:
        return spawn(f"{node}-{name}", frr_daemon.daemon_command(name, paths))

    def ready(process: Process) -> None:
        frr_daemon.wait_answering(paths, name, alive=lambda: process.poll() is None)

    return Child(f"{node}-{name}", start=start, ready=ready, prepare=prepare)


def main(argv: list[str]) -> int:
    log_channel.configure()
    directory, node = Path(argv[0]), argv[1]
    config = LabConfig.load(directory)
    log = Logger(f"lab/{node}")
    if config is None or node not in config.node_names:
        log("startFailed", level="error", msg=f"no lab node {node!r} in {directory}")
        return 2
    stop = threading.Event()

    def on_signal(_sig: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if config.backend is Backend.FRR:
        frrd.prepare(config.node_ns(node))  # once: a restart must not touch the others' files
    supervisor = Supervisor(children(config, node), log=log)
    try:
        supervisor.start()
        supervisor.run(stop)
    except StartFailed as e:
        log("startFailed", level="error", msg=str(e))
        return 1
    finally:
        running = [
            record
            for name in supervisor.processes
            if (record := procs.read(config.run_dir, name)) is not None
        ]
        procs.stop(list(reversed(running)), timeout=3.0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
