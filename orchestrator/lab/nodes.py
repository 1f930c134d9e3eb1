"""Start, kill and restart what runs on a lab node, and the controller.

A node is: its supervisor (``orchestrator.lab.supervisor``, the node's "init", which starts
the rest and starts again whatever dies), its HTTP pod, its routing daemon(s) (zebra + bgpd
with an empty config, or a bare gobgpd serving its API on a unix socket under
``DIR/run``), and its speaker::

    ip netns exec <p>nX python -m orchestrator.cli speaker --node nX
        --source DIR/manifests --state DIR/state --interface eth0
        --backend frr --frr-pathspace <p>nX       (or --backend gobgp --gobgp-api unix://...)
        --lease-duration L --renew-interval R

Started in that order, so the speaker finds its daemon answering. ``kill_node`` makes a
*dead* node: SIGKILL to every process in its namespace, the supervisor included (nothing is
withdrawn, no lease is released, nothing is restarted: exactly like a power cut) and its
LAN link down. ``start_node`` brings the link back and starts the supervisor again.

The controller only touches files; it runs inside the switch namespace anyway, so that
``down`` finds it by namespace even when its pidfile is lost.
"""

from __future__ import annotations

import sys
import time

from orchestrator.lab import frrd, procs, topology
from orchestrator.lab.config import LAN_IF, Backend, LabConfig

CONTROLLER = "controller"


def python_cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "orchestrator.cli", *args]


def gobgp_socket(config: LabConfig, node: str) -> str:
    return str((config.run_dir / f"{node}-gobgpd.sock").resolve())


def _spawn(config: LabConfig, name: str, argv: list[str], ns: str) -> procs.Pidfile:
    return procs.spawn(name, argv, run_dir=config.run_dir, log_dir=config.log_dir, netns=ns)


def where(config: LabConfig, component: str) -> list[str]:
    """Where a component reads and writes: the files, or (``--kube``) the API server on
    its ServiceAccount's token."""
    if config.kube:
        from orchestrator.lab import kube

        kubeconfig = kube.component_kubeconfig(config, component)
        return ["--kubeconfig", str(kubeconfig), "--namespace", kube.NAMESPACE]
    return ["--source", str(config.manifests), "--state", str(config.state)]


def start_controller(config: LabConfig) -> procs.Pidfile:
    argv = python_cli("controller", *where(config, "controller"), "--leader-id", "lab-controller")
    return _spawn(config, CONTROLLER, argv, config.switch)


def stop_controller(config: LabConfig, *, kill: bool = False) -> None:
    record = procs.read(config.run_dir, CONTROLLER)
    if record is None:
        return
    if kill:
        procs.kill(record)
        procs.wait_gone([record.pid])
    else:
        procs.stop([record])


def speaker_argv(config: LabConfig, node: str) -> list[str]:
    backend: list[str]
    if config.backend is Backend.FRR:
        backend = ["--backend", "frr", "--frr-pathspace", config.node_ns(node)]
    else:
        backend = ["--backend", "gobgp", "--gobgp-api", f"unix://{gobgp_socket(config, node)}"]
    return python_cli(
        "speaker",
        "--node",
        node,
        *where(config, "speaker"),
        "--interface",
        LAN_IF,
        *backend,
        "--lease-duration",
        str(config.lease_duration),
        "--renew-interval",
        str(config.renew_interval),
    )


def pod_argv(node: str) -> list[str]:
    return [sys.executable, "-m", "orchestrator.lab.pod", node]


def start_node(config: LabConfig, node: str, *, timeout: float = 30.0) -> None:
    """Link up, then the node's supervisor, which starts the pod, the routing daemon(s)
    and the speaker; returns once the speaker runs."""
    ns = config.node_ns(node)
    topology.set_link(config, node, up=True)
    argv = [sys.executable, "-m", "orchestrator.lab.supervisor", str(config.directory), node]
    record = _spawn(config, f"{node}-supervisor", argv, ns)
    deadline = time.monotonic() + timeout
    while not procs.running(config.run_dir, f"{node}-speaker"):
        if not procs.alive(record.pid, record.start):
            raise RuntimeError(f"{node}: its supervisor exited (see logs/{node}-supervisor.log)")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{node}: the speaker did not start within {timeout:.0f}s")
        time.sleep(0.05)


def kill_node(config: LabConfig, node: str) -> float:
    """A dead node: SIGKILL everything in it, then its LAN link down. Returns the kill time
    (``time.monotonic()`` just before the first signal)."""
    t0 = time.monotonic()
    procs.kill_netns(config.node_ns(node))
    topology.set_link(config, node, up=False)
    return t0


def control_plane_processes(config: LabConfig) -> list[str]:
    if not config.kube:
        return []
    from orchestrator.lab import kube

    return list(kube.PROCESSES)


def node_processes(config: LabConfig, node: str) -> list[str]:
    names = [f"{node}-supervisor", f"{node}-pod", f"{node}-speaker"]
    if config.backend is Backend.FRR:
        names += [f"{node}-{d}" for d in frrd.DAEMONS]
    else:
        names.append(f"{node}-gobgpd")
    return names
