"""``mlb lab up``: build the topology, start everything detached, wait until converged.

Order matters only where one thing needs another: namespaces and links first; the router's
FRR (booted with its ``frr.conf``) so that sessions can come up as soon as a node dials; the
manifests and the controller, so IPs are recorded by the time speakers read them; then each
node (link, pod, routing daemon(s), speaker). The wait at the end is bounded
(``converge.wait``) and says what is still missing when it gives up.

A lab directory is the lab's alone: ``up`` refuses to run while namespaces with the prefix
exist (``mlb lab down`` first), and it clears a directory left by an earlier lab (marked
with ``.mlb-lab``) but refuses a non-empty directory that is not one.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable

from orchestrator.lab import converge, frrd, manifests, nodes, topology
from orchestrator.lab.config import MARKER, LabConfig


class LabError(RuntimeError):
    """The lab cannot be built here as asked (the user's to resolve)."""


def _prepare_directory(config: LabConfig) -> None:
    d = config.directory
    if d.exists():
        if (d / MARKER).exists():
            old = LabConfig.load(d)
            if old is not None and topology.existing(old.prefix):
                raise LabError(
                    f"{d} belongs to a running lab ({old.prefix}*); `mlb lab down` first"
                )
            shutil.rmtree(d)
        elif any(d.iterdir()):
            raise LabError(f"{d} is not empty and not a lab directory; choose another --dir")
    config.save()
    for sub in (config.run_dir, config.log_dir, config.state, config.manifests):
        sub.mkdir(parents=True, exist_ok=True)


def up(
    config: LabConfig,
    *,
    timeout: float = 60.0,
    progress: Callable[[str], None] | None = None,
) -> float:
    """Build and start the lab; seconds until converged. On any error the partial lab is
    left for ``status``/``down`` (the caller decides)."""
    say = progress or (lambda _msg: None)
    start = time.monotonic()
    if found := topology.existing(config.prefix):
        raise LabError(f"a lab is already there ({', '.join(found)}); run `mlb lab down` first")
    _prepare_directory(config)
    say(f"namespaces {config.prefix}{{sw,router,n1..n{config.nodes},client}}")
    topology.create(config)
    say("router: FRR (zebra, bgpd), AS 64500")
    frrd.prepare(config.router, frrd.router_config(config))
    frrd.start(config, config.router, "router")
    frrd.boot(config.router)
    manifests.write_all(config)
    if config.kube:
        from orchestrator.lab import kube

        say(f"control plane: etcd, kube-apiserver at {kube.CP_ADDRESS}:{kube.API_PORT}")
        kube.start(config)
        kube.apply_manifests(config)
    nodes.start_controller(config)
    for node in config.node_names:
        say(f"{node}: pod, {config.backend.value}, speaker")
        nodes.start_node(config, node)
    say("waiting for convergence")
    converge.wait(config, timeout=timeout)
    return time.monotonic() - start
