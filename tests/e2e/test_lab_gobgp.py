"""The lab with GoBGP on the nodes (``mlb lab up --backend gobgp``), and ``down`` after a
crash (root).

Matrix:

- ``l2_and_ecmp``: the same Services as with FRR: 3 L2 IPs on 3 distinct nodes answering
  over ARP and HTTP, the BGP /32 at the router over the 3 nodes;
- ``dead_node``: a killed node's L2 IP moves (only it), the router drops its next hop
  when the BGP hold time (3 s) runs out, and a restarted node comes back on both;
- ``bgp_withdraw``: deleting the BGP Service's manifest withdraws its route;
- ``supervisor``: a SIGKILLed gobgpd is started again by the node's supervisor (logged) and
  the router has the node's route back without a manifest change;
- ``down_after_crash``: with every pidfile and ``lab.json`` lost, ``mlb lab down --prefix``
  still stops every process and removes every namespace and directory, and a second
  ``down`` is a no-op.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.adapters.netns import leftover_namespaces
from orchestrator.lab import client, failover, nodes, observe, procs, router
from orchestrator.lab.config import LabConfig
from tests.e2e.conftest import cli, converged, lab_for
from tests.harness.prereq import require_frr, require_gobgpd

pytestmark = [pytest.mark.root, pytest.mark.e2e]

PREFIX = "mlbe2g-"


@pytest.fixture(scope="module")
def lab(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LabConfig]:
    require_frr()
    require_gobgpd()
    yield lab_for(request, tmp_path_factory, prefix=PREFIX, backend="gobgp")


def service(lab: LabConfig, key: str) -> observe.Service:
    svc = observe.service(lab, key)
    assert svc is not None, key
    return svc


def wait_for(what: str, probe: object, timeout: float) -> None:
    assert callable(probe)
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout} s")
        time.sleep(0.1)


def test_l2_and_ecmp(lab: LabConfig) -> None:
    converged(lab)
    web, api = service(lab, "lab/web"), service(lab, "lab/api")
    assert sorted(web.homes[ip] for ip in web.ips) == ["n1", "n2", "n3"]
    with client.Arp(lab) as arp:
        for ip in web.ips:
            assert arp.nodes(ip) == [web.homes[ip]]
            assert client.get(lab.client, ip).node == web.homes[ip]
    assert router.next_hop_nodes(lab, f"{api.ips[0]}/32") == ["n1", "n2", "n3"]
    assert client.get(lab.client, api.ips[0]).ok


def test_dead_node(lab: LabConfig) -> None:
    converged(lab)
    web, api = service(lab, "lab/web"), service(lab, "lab/api")
    victim = web.homes[web.ips[0]]
    result = failover.kill_and_measure(lab, ips=list(web.ips), victim=victim)
    assert result.problems() == []
    prefix = f"{api.ips[0]}/32"
    wait_for(
        f"the router to drop {victim}",
        lambda: victim not in router.next_hop_nodes(lab, prefix),
        timeout=10,
    )
    assert len(router.next_hop_nodes(lab, prefix)) == 2
    nodes.start_node(lab, victim)
    converged(lab)
    assert router.next_hop_nodes(lab, prefix) == ["n1", "n2", "n3"]


def test_bgp_withdraw(lab: LabConfig, tmp_path: Path) -> None:
    converged(lab)
    (vip,) = service(lab, "lab/api").ips
    path = lab.manifests / "11-api.yaml"
    shutil.copy(path, tmp_path / "api.yaml")
    path.unlink()
    wait_for("the route withdrawn", lambda: not router.next_hops(lab, f"{vip}/32"), timeout=5)
    shutil.copy(tmp_path / "api.yaml", path)
    converged(lab)


def test_supervisor(lab: LabConfig) -> None:
    converged(lab)
    (vip,) = service(lab, "lab/api").ips
    before = procs.read(lab.run_dir, "n2-gobgpd")
    assert before is not None and procs.alive(before.pid, before.start)
    procs.kill(before)

    def restarted() -> bool:
        now = procs.read(lab.run_dir, "n2-gobgpd")
        return now is not None and now.pid != before.pid and procs.alive(now.pid, now.start)

    wait_for("gobgpd started again", restarted, timeout=10)
    wait_for(
        "n2 back at the router",
        lambda: router.next_hop_nodes(lab, f"{vip}/32") == ["n1", "n2", "n3"],
        timeout=15,
    )
    log = (lab.log_dir / "n2-supervisor.log").read_text()
    assert "event=exited name=n2-gobgpd" in log and "event=restarted name=n2-gobgpd" in log
    converged(lab)


def test_down_after_crash(lab: LabConfig) -> None:
    pids = procs.read_all(lab.run_dir)
    # controller, router zebra+bgpd, 3 x (supervisor, pod, gobgpd, speaker)
    assert len(pids) == 1 + 2 + 3 * 4
    for pidfile in lab.run_dir.glob("*.pid"):
        pidfile.unlink()
    (lab.directory / "lab.json").unlink()
    result = cli("lab", "down", "--dir", str(lab.directory), "--prefix", PREFIX)
    assert result.returncode == 0, result.stderr
    assert leftover_namespaces(PREFIX) == []
    assert not any(procs.alive(r.pid, r.start) for r in pids)
    again = cli("lab", "down", "--dir", str(lab.directory), "--prefix", PREFIX)
    assert again.returncode == 0
    assert "stopped 0 processes, deleted 0 namespaces" in again.stdout
