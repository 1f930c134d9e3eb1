"""FRR in the lab: the router's configuration, and zebra/bgpd started detached in a namespace.

Same approach as ``frr.daemon.FrrInstance`` (pathspace ``-N <namespace>``: config in
``/etc/frr/<ns>/``, vty sockets in ``/var/run/frr/<ns>/``, so ``vtysh -N <ns>`` reaches
exactly one instance; daemons started empty, zebra first, each waited for through vtysh),
but the daemons are lab processes (``procs.spawn``): detached with pidfiles, logging to
stdout which is the lab's log file, so they outlive ``mlb lab up`` and ``down`` finds them
by pidfile, by namespace, and their directories by prefix.

Node instances start with an empty configuration: the speaker configures them. The router
boots its integrated ``frr.conf`` with ``vtysh -b``, as FRR's init script does, so an engineer
finds a normal config with ``vtysh -N <prefix>router -c 'show running-config'``.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from orchestrator.lab import procs
from orchestrator.lab.config import (
    MAX_NODES,
    NODE_ASN,
    ROUTER_ASN,
    ROUTER_LAN,
    LabConfig,
    node_ip,
)

FRR_BIN = Path("/usr/lib/frr")
CONF_ROOT = Path("/etc/frr")
RUN_ROOT = Path("/var/run/frr")
DAEMONS = ("zebra", "bgpd")


class FrrStartError(RuntimeError):
    pass


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


def conf_dir(ns: str) -> Path:
    return CONF_ROOT / ns


def run_dir(ns: str) -> Path:
    return RUN_ROOT / ns


def prepare(ns: str, config_text: str = "") -> None:
    uid = pwd.getpwnam("frr").pw_uid
    gid = grp.getgrnam("frr").gr_gid
    for d in (conf_dir(ns), run_dir(ns)):
        d.mkdir(parents=True, exist_ok=True)
        os.chown(d, uid, gid)
    files = {
        "frr.conf": config_text,
        "boot.conf": "",
        "vtysh.conf": "service integrated-vtysh-config\n",
    }
    for name, text in files.items():
        path = conf_dir(ns) / name
        path.write_text(text)
        os.chown(path, uid, gid)
        os.chmod(path, 0o640)


def _answers(ns: str, daemon: str) -> bool:
    proc = subprocess.run(
        ["vtysh", "-N", ns, "-d", daemon, "-c", "show version"],
        capture_output=True,
        text=True,
        check=False,
        timeout=10,
    )
    return proc.returncode == 0


def start(
    config: LabConfig,
    ns: str,
    short: str,
    *,
    daemons: Sequence[str] = DAEMONS,
    timeout: float = 15.0,
) -> None:
    """Start ``daemons`` in ``ns`` (pidfiles ``<short>-<daemon>``), each answering vtysh."""
    for daemon in daemons:
        (run_dir(ns) / f"{daemon}.pid").unlink(missing_ok=True)
        record = procs.spawn(
            f"{short}-{daemon}",
            [
                str(FRR_BIN / daemon),
                "-N",
                ns,
                "-u",
                "frr",
                "-g",
                "frr",
                "-f",
                str(conf_dir(ns) / "boot.conf"),
                "--log",
                "stdout",
            ],
            run_dir=config.run_dir,
            log_dir=config.log_dir,
            netns=ns,
        )
        deadline = time.monotonic() + timeout
        while not _answers(ns, daemon):
            if not procs.alive(record.pid, record.start):
                raise FrrStartError(f"{daemon} in {ns} exited at start (see its log)")
            if time.monotonic() > deadline:
                raise FrrStartError(f"{daemon} in {ns} did not answer vtysh within {timeout}s")
            time.sleep(0.05)


def boot(ns: str) -> None:
    """Load ``/etc/frr/<ns>/frr.conf`` into the running daemons."""
    proc = subprocess.run(
        ["vtysh", "-N", ns, "-b"], capture_output=True, text=True, check=False, timeout=30
    )
    if proc.returncode != 0:
        raise FrrStartError(f"vtysh -N {ns} -b: {(proc.stdout + proc.stderr).strip()[:400]}")


def remove_dirs(prefix: str) -> list[Path]:
    """Delete the config and run directories of every ``<prefix>*`` pathspace."""
    gone = []
    for root in (CONF_ROOT, RUN_ROOT):
        for d in root.glob(f"{prefix}*"):
            if d.is_dir():
                shutil.rmtree(d, ignore_errors=True)
                gone.append(d)
    return gone
