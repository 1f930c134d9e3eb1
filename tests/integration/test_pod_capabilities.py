"""The speaker pod's containers work with exactly the capabilities the Helm chart grants,
and FRR refuses to start with one less (root, real FRR, real kernels in namespaces).

Each process runs as root under ``setpriv --bounding-set -all,+<caps> --inh-caps -all``, as
a container with ``capabilities: {drop: [ALL], add: [...]}`` does, with no DAC_OVERRIDE:
files and sockets are reachable only through their owner and group bits. Matrix:

- the FRR sidecar (``mlb frr run``) with the chart's FRR capabilities starts zebra, bgpd,
  bfdd and staticd; the speaker side, with the speaker container's capabilities plus the
  ``frrvty`` group (the pod's supplementalGroups), configures bgpd through the shared
  socket directory and reads it back; no daemon listens on a TCP vty port (host network);
  a BGP session to a router in the next namespace comes up;
- without SYS_ADMIN, FRR's own privilege check refuses zebra: the sidecar exits 1;
- bgpd dying: the sidecar starts it again (logged) and keeps running; with
  ``--restart never`` it stops the rest and exits 1 (the kubelet restarts it);
  SIGTERM stops every daemon and exits 0;
- ``mlb l2 announce`` with the speaker container's capabilities answers the client
  kernel's ARP and NDP;
- the speaker's announcer child (``AnnouncerProcess``, as ``mlb speaker`` starts it) runs
  under SCHED_RR with the speaker container's capabilities, and at normal priority (still
  answering) with them minus SYS_NICE.

Addresses 192.0.2.0/24, 2001:db8::/64, ASNs 64512/64513; every wait is bounded.
"""

from __future__ import annotations

import grp
import json
import os
import re
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.adapters.netns import Namespaces
from orchestrator.l2.priority import RT_PRIORITY, Priority, current
from tests.chart.conftest import objects, one
from tests.harness.polling import poll
from tests.harness.prereq import require_frr, require_root

pytestmark = pytest.mark.root


def container_capabilities() -> dict[str, list[str]]:
    """Container name -> ``capabilities.add``, from the chart rendered with the FRR backend
    (so this test breaks when the chart's grants stop being enough)."""
    daemonset = one(objects("backend-frr"), "DaemonSet")
    out: dict[str, list[str]] = {}
    for c in daemonset["spec"]["template"]["spec"]["containers"]:
        caps = c["securityContext"]["capabilities"]
        assert caps["drop"] == ["ALL"]
        out[c["name"]] = list(caps.get("add") or [])
    assert set(out) == {"speaker", "frr"}
    return out


def setpriv(caps: list[str], *, groups: list[int] | None = None) -> list[str]:
    bounding = ",".join(["-all", *(f"+{c.lower()}" for c in caps)])
    cmd = ["setpriv", "--bounding-set", bounding, "--inh-caps", "-all"]
    cmd += ["--groups", ",".join(map(str, groups))] if groups else ["--clear-groups"]
    return [*cmd, "--"]


def sidecar(
    ns: Namespaces, node: str, tmp: Path, caps: list[str], *extra: str
) -> subprocess.Popen[bytes]:
    log = (tmp / "frr-sidecar.log").open("wb")
    # its own PID namespace, as a container: when our PID 1 exits, the kernel kills the rest
    return ns.popen(
        node,
        *("unshare", "--pid", "--fork", "--kill-child"),
        *setpriv(caps, groups=[grp.getgrnam("frrvty").gr_gid]),  # the pod's supplementalGroups
        sys.executable,
        "-m",
        "orchestrator.cli",
        "frr",
        "run",
        "--socket-dir",
        str(tmp / "sock"),
        "--config-dir",
        str(tmp / "conf"),
        *extra,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def pids_in(netns_name: str) -> list[str]:
    """Processes still running in the namespace (all FRR daemons must be gone)."""
    out = subprocess.run(["ip", "netns", "pids", netns_name], capture_output=True, text=True)
    return out.stdout.split()


def terminate(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the container's PID 1 (``unshare`` ignores SIGTERM while it waits)."""
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    assert len(children) == 1, children
    subprocess.run(["kill", "-TERM", children[0]], check=True)


def vtysh_as_speaker(tmp: Path, caps: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    frrvty = grp.getgrnam("frrvty").gr_gid  # this machine's; the image pins its own
    cmd = [*setpriv(caps, groups=[frrvty]), "vtysh", "--vty_socket", str(tmp / "sock"), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)


@pytest.fixture
def tmp(tmp_path: Path) -> Path:
    # The daemons run as frr and create sockets in the socket dir, whose parent they must
    # be able to traverse (pytest's tmp_path is 0700).
    tmp_path.chmod(0o755)
    for parent in tmp_path.parents:
        if parent == Path("/tmp") or parent == Path("/"):
            break
        parent.chmod(parent.stat().st_mode | 0o005)
    return tmp_path


def test_frr_sidecar_and_speaker_with_the_charts_capabilities(netns: Namespaces, tmp: Path) -> None:
    require_frr()
    caps = container_capabilities()
    node, router = netns.add("node"), netns.add("rtr")
    netns.veth(node, "eth0", router, "eth0")
    netns.addr(node, "eth0", "192.0.2.11/24")
    netns.addr(router, "eth0", "192.0.2.1/24")
    proc = sidecar(netns, node, tmp, caps["frr"])
    poll("the daemons' vty sockets", lambda: len(list((tmp / "sock").glob("*.vty"))) == 4, 10)
    assert proc.poll() is None, (tmp / "frr-sidecar.log").read_text()

    config = vtysh_as_speaker(
        tmp,
        caps["speaker"],
        "-c",
        "configure terminal",
        "-c",
        "router bgp 64513",
        "-c",
        "bgp router-id 192.0.2.11",
        "-c",
        "no bgp ebgp-requires-policy",
        "-c",
        "neighbor 192.0.2.1 remote-as 64512",
        "-c",
        "end",
        "-c",
        "show running-config",
    )
    assert config.returncode == 0, config.stderr
    assert "neighbor 192.0.2.1 remote-as 64512" in config.stdout
    # the speaker container without the frrvty group cannot reach the sockets at all
    denied = subprocess.run(
        [
            *setpriv(caps["speaker"]),
            "vtysh",
            "--vty_socket",
            str(tmp / "sock"),
            "-c",
            "show version",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert denied.returncode != 0

    listening = netns.run(node, "ss", "-Hltn").stdout
    ports = sorted({int(m) for m in re.findall(r":(\d+)\s", listening)})
    assert ports == [179], f"only BGP may listen on the host network: {listening}"

    # a real session: bgpd in the router namespace (the ordinary way, full privileges)
    from frr.daemon import FrrInstance

    with FrrInstance(netns, router, daemons=("zebra", "bgpd")) as rtr:
        subprocess.run(
            [
                "vtysh",
                "-N",
                rtr.name,
                *("-c", "configure terminal", "-c", "router bgp 64512"),
                *("-c", "bgp router-id 192.0.2.1", "-c", "no bgp ebgp-requires-policy"),
                *("-c", "neighbor 192.0.2.11 remote-as 64513"),
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )

        def established() -> bool:
            out = vtysh_as_speaker(tmp, caps["speaker"], "-c", "show bgp summary json")
            if out.returncode != 0:
                return False
            peers = json.loads(out.stdout).get("ipv4Unicast", {}).get("peers", {})
            return bool(peers.get("192.0.2.1", {}).get("state") == "Established")

        poll("the BGP session from the sidecar's bgpd", established, timeout=30)

    terminate(proc)
    assert proc.wait(timeout=15) == 0, (tmp / "frr-sidecar.log").read_text()
    assert not pids_in(node)


def test_frr_refuses_to_start_without_sys_admin(netns: Namespaces, tmp: Path) -> None:
    require_frr()
    caps = [c for c in container_capabilities()["frr"] if c != "SYS_ADMIN"]
    node = netns.add("node")
    proc = sidecar(netns, node, tmp, caps)
    assert proc.wait(timeout=30) == 1
    log = (tmp / "frr-sidecar.log").read_text()
    assert "zebra exited at start" in log, log


def sidecar_log(tmp: Path) -> str:
    return (tmp / "frr-sidecar.log").read_text()


def _kill_bgpd(node: str) -> str:
    # the pid file holds the pid inside the container's PID namespace: find it from here
    (bgpd,) = [p for p in pids_in(node) if Path(f"/proc/{p}/comm").read_text().strip() == "bgpd"]
    subprocess.run(["kill", "-KILL", bgpd], check=True)
    return bgpd


def test_sidecar_restarts_a_daemon_that_dies(netns: Namespaces, tmp: Path) -> None:
    require_frr()
    node = netns.add("node")
    proc = sidecar(netns, node, tmp, container_capabilities()["frr"])
    poll("the daemons' vty sockets", lambda: len(list((tmp / "sock").glob("*.vty"))) == 4, 10)
    killed = _kill_bgpd(node)

    def new_bgpd() -> bool:
        comms = {p: Path(f"/proc/{p}/comm").read_text().strip() for p in pids_in(node)}
        return any(c == "bgpd" and p != killed for p, c in comms.items())

    poll("a new bgpd", new_bgpd, 15)
    answers = vtysh_as_speaker(
        tmp, container_capabilities()["speaker"], "-d", "bgpd", "-c", "show version"
    )
    assert answers.returncode == 0, answers.stderr
    # the supervisor logs "restarted" once the new bgpd answers its own vtysh probe, which
    # may come a moment after ours
    poll("the supervisor's restart line", lambda: "event=restarted" in sidecar_log(tmp), 15)
    log = sidecar_log(tmp)
    assert "event=exited" in log and "name=bgpd" in log, log
    assert proc.poll() is None  # the container keeps running
    terminate(proc)
    assert proc.wait(timeout=15) == 0, log
    assert not pids_in(node)


def test_sidecar_with_restart_never_exits_when_a_daemon_dies(netns: Namespaces, tmp: Path) -> None:
    require_frr()
    node = netns.add("node")
    proc = sidecar(netns, node, tmp, container_capabilities()["frr"], "--restart", "never")
    poll("the daemons' vty sockets", lambda: len(list((tmp / "sock").glob("*.vty"))) == 4, 10)
    _kill_bgpd(node)
    assert proc.wait(timeout=15) == 1
    log = (tmp / "frr-sidecar.log").read_text()
    assert "event=exited" in log and "name=bgpd" in log and "not restarted" in log, log
    assert not pids_in(node)


def client_entry(netns: Namespaces, client: str, vip: str) -> str | None:
    """The MAC in the client kernel's neighbour entry for ``vip``, once there (5 s)."""

    def neighbour() -> str | None:
        out = netns.run(client, "ip", "neigh", "show", vip).stdout
        match = re.search(r"lladdr (\S+)", out)
        return match.group(1) if match else None

    return poll(f"the client's entry for {vip}", neighbour, timeout=5)


def test_l2_answers_with_the_speaker_containers_capabilities(netns: Namespaces, tmp: Path) -> None:
    require_frr()
    caps = container_capabilities()["speaker"]
    node, client = netns.add("node"), netns.add("cl")
    for name in (node, client):
        for key in ("default", "all"):
            netns.run(name, "sysctl", "-qw", f"net.ipv6.conf.{key}.accept_dad=0")
    netns.veth(node, "eth0", client, "eth0")
    netns.addr(node, "eth0", "192.0.2.11/24")
    netns.addr(client, "eth0", "192.0.2.100/24")
    netns.addr(node, "eth0", "2001:db8::11/64")
    netns.addr(client, "eth0", "2001:db8::100/64")
    proc = netns.popen(
        node,
        *setpriv(caps),
        sys.executable,
        "-m",
        "orchestrator.cli",
        "l2",
        "announce",
        "-i",
        "eth0",
        "192.0.2.50",
        "2001:db8::50",
        stdout=subprocess.PIPE,
        stderr=(tmp / "l2.err").open("wb"),
    )
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 15.0)
    line = proc.stdout.readline().decode() if ready else ""
    assert line.startswith("announcing"), (tmp / "l2.err").read_text()
    mac = netns.mac(node, "eth0")
    for vip in ("192.0.2.50", "2001:db8::50"):
        netns.run(client, "ping", "-c1", "-W1", vip, check=False)

        assert client_entry(netns, client, vip) == mac
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0


ANNOUNCER_CHILD = """
import sys, time
from ipaddress import ip_address
from orchestrator.l2.priority import Priority
from orchestrator.l2.process import AnnouncerProcess
proc = AnnouncerProcess(interfaces=["eth0"], priority=Priority.RT)
proc.start()
proc.set_announced({ip_address("192.0.2.50"): None})
print(proc.pid, flush=True)
sys.stdin.read()  # until the test closes it
proc.stop()
"""


@pytest.mark.parametrize("drop_sys_nice", [False, True], ids=["chart-caps", "without-sys-nice"])
def test_the_announcer_child_gets_real_time_priority_from_the_speakers_capabilities(
    netns: Namespaces, tmp: Path, drop_sys_nice: bool
) -> None:
    require_root()
    caps = container_capabilities()["speaker"]
    assert "SYS_NICE" in caps  # the chart's default, speaker.announcerPriority: rt
    if drop_sys_nice:
        caps = [c for c in caps if c != "SYS_NICE"]
    node, client = netns.add("node"), netns.add("cl")
    netns.veth(node, "eth0", client, "eth0")
    netns.addr(node, "eth0", "192.0.2.11/24")
    netns.addr(client, "eth0", "192.0.2.100/24")
    proc = netns.popen(
        node,
        *setpriv(caps),
        sys.executable,
        "-c",
        ANNOUNCER_CHILD,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=(tmp / "child.err").open("wb"),
    )
    assert proc.stdout is not None and proc.stdin is not None
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 30.0)
        line = proc.stdout.readline().decode().strip() if ready else ""
        assert line.isdigit(), (tmp / "child.err").read_text()
        child = int(line)
        want = Priority.NONE if drop_sys_nice else Priority.RT

        def policy() -> Priority | None:
            got = current(child)
            return got if got is want else None

        assert poll(f"the announcer child in {want}", policy, timeout=10) is want
        if want is Priority.RT:
            assert os.sched_getparam(child).sched_priority == RT_PRIORITY
        # at either priority it answers
        netns.run(client, "ping", "-c1", "-W1", "192.0.2.50", check=False)
        mac = netns.mac(node, "eth0")

        assert client_entry(netns, client, "192.0.2.50") == mac
        if drop_sys_nice:
            assert "refused=rt" in (tmp / "child.err").read_text()
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
