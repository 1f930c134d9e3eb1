"""FRR in the lab: the router's configuration, and FRR's daemons as lab processes.

The launcher is FRR's own (``frr.daemon``: pathspace ``-N <namespace>``, config in
``/etc/frr/<ns>/``, vty sockets in ``/var/run/frr/<ns>/``, daemons started empty, zebra
first, each waited for through vtysh); here the daemons are lab processes
(``procs.spawn``): detached with pidfiles, logging to stdout, which is the lab's log file,
so they outlive ``mlb lab up`` and ``down`` finds them by pidfile, by namespace, and their
directories by prefix. On a node they run under the node's supervisor
(``orchestrator.lab.supervisor``), which starts them again when they die.

Node instances start with an empty configuration: the speaker configures them. The router
boots its integrated ``frr.conf`` with ``vtysh -b``, as FRR's init script does, so an engineer
finds a normal config with ``vtysh -N <prefix>router -c 'show running-config'``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from frr import daemon
from orchestrator.lab import procs
from orchestrator.lab.config import (
    MAX_NODES,
    NODE_ASN,
    ROUTER_ASN,
    ROUTER_LAN,
    LabConfig,
    node_ip,
)

CONF_ROOT = daemon.CONF_ROOT
RUN_ROOT = daemon.RUN_ROOT
DAEMONS = ("zebra", "bgpd")
FrrStartError = daemon.FrrStartError


def router_config(config: LabConfig) -> str:
    """eBGP to every node (AS 64512) from AS 64500, ECMP over all of them.

    Short timers (hold 3 s, connect 1 s) so that a dead node's next hop goes within 3 s and
    a restarted one comes back within a second or two."""
    lines = [
        "frr defaults traditional",
        "hostname router",
        "!",
        f"router bgp {ROUTER_ASN}",
        f" bgp router-id {ROUTER_LAN}",
        " no bgp ebgp-requires-policy",
        " no bgp default ipv4-unicast",
        " neighbor nodes peer-group",
        f" neighbor nodes remote-as {NODE_ASN}",
        " neighbor nodes timers 1 3",
        " neighbor nodes timers connect 1",
        *(f" neighbor {node_ip(n)} peer-group nodes" for n in config.node_names),
        " !",
        " address-family ipv4 unicast",
        "  neighbor nodes activate",
        f"  maximum-paths {MAX_NODES}",
        " exit-address-family",
        "exit",
        "!",
    ]
    return "\n".join(lines) + "\n"


def paths(ns: str) -> daemon.FrrPaths:
    return daemon.FrrPaths(pathspace=ns)


def prepare(ns: str, config_text: str = "") -> None:
    daemon.prepare(paths(ns), config=config_text)


def spawn_daemon(config: LabConfig, ns: str, short: str, name: str) -> procs.Pidfile:
    """Start one daemon in ``ns`` (pidfile ``<short>-<name>``) and wait until it answers."""
    (paths(ns).run_dir / f"{name}.pid").unlink(missing_ok=True)
    record = procs.spawn(
        f"{short}-{name}",
        daemon.daemon_command(name, paths(ns), log="stdout"),
        run_dir=config.run_dir,
        log_dir=config.log_dir,
        netns=ns,
    )
    daemon.wait_answering(paths(ns), name, alive=lambda: procs.alive(record.pid, record.start))
    return record


def start(config: LabConfig, ns: str, short: str, *, daemons: Sequence[str] = DAEMONS) -> None:
    """Start ``daemons`` in ``ns`` (pidfiles ``<short>-<daemon>``), each answering vtysh."""
    for name in daemons:
        spawn_daemon(config, ns, short, name)


def boot(ns: str) -> None:
    """Load ``/etc/frr/<ns>/frr.conf`` into the running daemons."""
    daemon.boot(paths(ns))


def remove_dirs(prefix: str) -> list[Path]:
    """Delete the config and run directories of every ``<prefix>*`` pathspace."""
    return daemon.remove_dirs(prefix)
