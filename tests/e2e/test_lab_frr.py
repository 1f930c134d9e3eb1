"""The whole system in the lab with FRR on the nodes, driven through ``mlb lab`` (root).

One lab for the module (``mlbe2e-`` namespaces: router, 3 nodes, client, switch), brought
up by ``mlb lab up`` and removed by ``mlb lab down`` (checked: nothing left). Each test
starts from a converged lab and leaves it converged. Every wait is a bounded poll.

Matrix (test -> what must hold):

- ``l2_spread``: Service web's 3 IPs have 3 distinct home nodes; each IP is answered over ARP
  by exactly its home's MAC and serves HTTP from that node;
- ``bgp_ecmp``: the BGP Service's /32 is installed at the router with all 3 nodes as next
  hops, in zebra and in the router's kernel, and HTTP through the router works;
- ``partial_failover``: killing one home node moves only its IP (to another node, within the
  lease time plus margin); the other two IPs answer from the same nodes throughout (polled
  continuously); homes stay; a restarted node gets its IP back;
- ``edit_count``: external-ips-count 3 -> 2 withdraws the third IP within 1 s, the other two
  stay where they are; back to 3 restores three distinct homes;
- ``edit_new_service``: a new Service file gets an IP answered over ARP and HTTP within 1 s;
  deleting the file withdraws it within 1 s;
- ``invalid_manifest``: a broken pool and a YAML syntax error hiding Service web are reported
  (controller log, ``mlb validate``) and change nothing for 3 s: no record rewritten, no IP
  withdrawn or moved (watched continuously), router unchanged;
- ``controller_restart``: SIGKILL and SIGTERM restarts of the controller rewrite no record
  and move no IP;
- ``bgp_withdraw``: deleting the BGP Service's manifest removes its route at the router;
  restoring it brings an ECMP route back;
- ``supervisor``: a SIGKILLed bgpd, zebra and speaker are started again by the node's
  supervisor (logged), and the router has the node's route back, without a manifest change.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import TypeVar

import pytest

from orchestrator.lab import client, failover, manifests, nodes, observe, procs, router
from orchestrator.lab.config import LabConfig
from tests.e2e.conftest import cli, converged, lab_for
from tests.harness.polling import poll
from tests.harness.prereq import require_frr

pytestmark = [pytest.mark.root, pytest.mark.e2e]

T = TypeVar("T")
WEB, API = "lab/web", "lab/api"


@pytest.fixture(scope="module")
def lab(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LabConfig]:
    require_frr()
    yield lab_for(request, tmp_path_factory, prefix="mlbe2e-", backend="frr")


@pytest.fixture
def arp(lab: LabConfig) -> Iterator[client.Arp]:
    converged(lab)
    with client.Arp(lab) as a:
        yield a


def within(seconds: float, what: str, probe: Callable[[], T | None], *, since: float) -> T:
    """Poll ``probe`` until truthy; fail unless that happens ``seconds`` after ``since``."""
    return poll(what, probe, seconds, since=since, interval=0.02)


def service(lab: LabConfig, key: str) -> observe.Service:
    svc = observe.service(lab, key)
    assert svc is not None, key
    return svc


def owners(arp: client.Arp, ips: tuple[str, ...] | list[str]) -> dict[str, list[str]]:
    return {ip: arp.nodes(ip, wait=0.1) for ip in ips}


def records(lab: LabConfig) -> dict[str, tuple[str, int]]:
    """Every status record's text and mtime (a rewrite changes the mtime)."""
    return {
        str(p.relative_to(lab.state)): (p.read_text(), p.stat().st_mtime_ns)
        for p in sorted((lab.state / "services").glob("*/*.json"))
    }


def test_l2_spread(lab: LabConfig, arp: client.Arp) -> None:
    web = service(lab, WEB)
    assert len(web.ips) == 3
    homes = [web.homes[ip] for ip in web.ips]
    assert sorted(homes) == ["n1", "n2", "n3"]
    for ip in web.ips:
        assert arp.nodes(ip) == [web.homes[ip]], ip
        assert client.get(lab.client, ip).node == web.homes[ip], ip


def test_bgp_ecmp(lab: LabConfig, arp: client.Arp) -> None:
    (vip,) = service(lab, API).ips
    assert router.next_hop_nodes(lab, f"{vip}/32") == ["n1", "n2", "n3"]
    kernel = subprocess.run(
        ["ip", "-n", lab.router, "route", "show", f"{vip}/32"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert kernel.count("nexthop via") == 3, kernel
    served = {client.get(lab.client, vip).node for _ in range(20)}
    assert None not in served
    assert len(served) >= 2, served  # layer-4 hashing spreads connections


def test_partial_failover(lab: LabConfig, arp: client.Arp) -> None:
    web = service(lab, WEB)
    victim = web.homes[web.ips[1]]
    result = failover.kill_and_measure(lab, ips=list(web.ips), victim=victim)
    assert result.problems() == []
    assert result.moved == [web.ips[1]]
    assert result.new_node not in (None, victim)
    assert all(w.good >= 5 for w in result.watches), [len(w.answers) for w in result.watches]
    assert result.failover_ms is not None
    assert result.failover_ms < (lab.lease_duration + 2.0) * 1000
    assert service(lab, WEB).homes == web.homes  # the home is sticky while the node is dead
    nodes.start_node(lab, victim)
    converged(lab)
    assert arp.nodes(web.ips[1]) == [victim]


def test_edit_count(lab: LabConfig, arp: client.Arp) -> None:
    web = service(lab, WEB)
    keep, dropped = web.ips[:2], web.ips[2]
    before = owners(arp, keep)
    path = lab.manifests / "10-web.yaml"
    t0 = time.monotonic()
    manifests.write(path, manifests.web(lab.node_names, count=2))
    within(1.0, "the third IP withdrawn", lambda: not arp.who_has(dropped, wait=0.03), since=t0)
    within(1.0, "2 IPs recorded", lambda: service(lab, WEB).ips == keep, since=t0)
    assert owners(arp, keep) == before
    manifests.write(path, manifests.web(lab.node_names, count=3))
    converged(lab)
    web = service(lab, WEB)
    assert web.ips[:2] == keep
    assert sorted(web.homes.values()) == ["n1", "n2", "n3"]


def _first_ip(lab: LabConfig, key: str) -> str | None:
    svc = observe.service(lab, key)
    return svc.ips[0] if svc is not None and svc.ips else None


def test_edit_new_service(lab: LabConfig, arp: client.Arp) -> None:
    path = lab.manifests / "12-extra.yaml"
    t0 = time.monotonic()
    manifests.write(
        path, [manifests.service("extra"), manifests.endpoints("extra", lab.node_names)]
    )
    ip = within(1.0, "an IP recorded for lab/extra", lambda: _first_ip(lab, "lab/extra"), since=t0)
    within(1.0, f"{ip} answered over ARP", lambda: arp.who_has(ip, wait=0.03), since=t0)
    node = within(
        1.0, f"HTTP on {ip}", lambda: client.get(lab.client, ip, timeout=0.2).node, since=t0
    )
    assert node == service(lab, "lab/extra").homes[ip]
    t1 = time.monotonic()
    path.unlink()
    within(1.0, f"{ip} withdrawn", lambda: not arp.who_has(ip, wait=0.03), since=t1)
    within(1.0, "record removed", lambda: observe.service(lab, "lab/extra") is None, since=t1)


def _watch_everything(lab: LabConfig) -> list[failover.Watch]:
    web = service(lab, WEB)
    watches = [failover.Watch(lab, ip, web.homes[ip]) for ip in web.ips]
    return [w.start() for w in watches]


def _unchanged_for(
    lab: LabConfig, arp: client.Arp, seconds: float, *, state: dict[str, tuple[str, int]]
) -> None:
    web, api = service(lab, WEB), service(lab, API)
    hops = router.next_hop_nodes(lab, f"{api.ips[0]}/32")
    watches = _watch_everything(lab)
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert records(lab) == state
            for ip in web.ips:
                assert arp.nodes(ip, wait=0.05) == [web.homes[ip]], ip
            assert router.next_hop_nodes(lab, f"{api.ips[0]}/32") == hops
            time.sleep(0.1)
    finally:
        for w in watches:
            w.stop()
    for w in watches:
        assert not w.bad and w.good > 0, (w.ip, w.bad[:3])


def _logged_since(log: Path, offset: int, text: str) -> bool:
    return text in log.read_text(errors="replace")[offset:]


def test_invalid_manifest(lab: LabConfig, arp: client.Arp) -> None:
    state = records(lab)
    log = lab.log_dir / "controller.log"
    cases: list[tuple[str, Callable[[str], str], str]] = [
        (
            "00-class.yaml",
            lambda t: t.replace("192.0.2.200-192.0.2.220", "192.0.2.300"),
            "MetalLoadBalancerClass/lab: spec.addressPool[0]",
        ),
        (
            "10-web.yaml",
            lambda t: t.replace("kind: Service", "kind: Service\n  bad: ["),
            "10-web.yaml",
        ),
    ]
    for name, broken, reported in cases:
        path = lab.manifests / name
        good = path.read_text()
        offset = len(log.read_text(errors="replace"))
        t0 = time.monotonic()
        path.write_text(broken(good))  # in place, as an editor may: truncate, then write
        try:
            within(
                2.0,
                f"the controller to report {name}",
                partial(_logged_since, log, offset, "configStale"),
                since=t0,
            )
            assert _logged_since(log, offset, reported)
            validate = cli("validate", str(lab.manifests))
            assert validate.returncode == 1, validate.stdout + validate.stderr
            assert reported in validate.stdout
            _unchanged_for(lab, arp, 3.0, state=state)
        finally:
            path.write_text(good)  # a failure here must not break the tests after it
        _unchanged_for(lab, arp, 1.0, state=state)


def test_controller_restart(lab: LabConfig, arp: client.Arp) -> None:
    state = records(lab)
    for kill in (True, False):
        nodes.stop_controller(lab, kill=kill)
        nodes.start_controller(lab)
        time.sleep(1.0)  # it has started (python, imports) and reconciled a few times
        _unchanged_for(lab, arp, 2.0, state=state)
    assert (
        "statusWritten"
        not in (lab.log_dir / "controller.log").read_text().split("event=started")[-1]
    )


def test_bgp_withdraw(lab: LabConfig, arp: client.Arp, tmp_path: Path) -> None:
    (vip,) = service(lab, API).ips
    prefix = f"{vip}/32"
    path = lab.manifests / "11-api.yaml"
    saved = tmp_path / "11-api.yaml"
    shutil.copy(path, saved)
    t0 = time.monotonic()
    path.unlink()
    try:
        within(5.0, "the route withdrawn", lambda: not router.next_hops(lab, prefix), since=t0)
        assert observe.service(lab, API) is None
        # zebra's RIB (what next_hops reads) drops the route a moment before the kernel's
        # FIB does: the data plane follows within a bounded time, not at the same instant
        t1 = time.monotonic()
        within(
            1.0,
            "the VIP unreachable",
            lambda: not client.get(lab.client, vip, timeout=0.3).ok,
            since=t1,
        )
    finally:
        shutil.copy(saved, path)
    converged(lab)
    (again,) = service(lab, API).ips
    assert router.next_hop_nodes(lab, f"{again}/32") == ["n1", "n2", "n3"]


def test_status_shows_services_and_routes(lab: LabConfig, arp: client.Arp) -> None:
    result = cli("lab", "status", "--dir", str(lab.directory))
    assert result.returncode == 0, result.stderr
    web, api = service(lab, WEB), service(lab, API)
    assert ",".join(web.ips) in result.stdout
    assert ",".join(web.homes[ip] for ip in web.ips) in result.stdout
    assert f"router: {api.ips[0]}/32 via 192.0.2.11, 192.0.2.12, 192.0.2.13" in result.stdout
    assert json.dumps(lab.prefix)[1:-1] in result.stdout


def restart_by_supervisor(lab: LabConfig, name: str, vip: str) -> None:
    """SIGKILL one process of n2; its supervisor starts it again and the router has the
    route from n2 back (the speaker configures a restarted daemon without being told)."""
    before = procs.read(lab.run_dir, name)
    assert before is not None and procs.alive(before.pid, before.start), name
    t0 = time.monotonic()
    procs.kill(before)

    def restarted() -> bool:
        now = procs.read(lab.run_dir, name)
        return now is not None and now.pid != before.pid and procs.alive(now.pid, now.start)

    within(10, f"{name} started again", restarted, since=t0)
    hops = partial(router.next_hop_nodes, lab, f"{vip}/32")
    within(
        15, f"n2 back at the router after {name}", lambda: hops() == ["n1", "n2", "n3"], since=t0
    )


def test_supervisor(lab: LabConfig, arp: client.Arp) -> None:
    (vip,) = service(lab, API).ips
    for name in ("n2-bgpd", "n2-zebra", "n2-speaker"):
        restart_by_supervisor(lab, name, vip)
    log = (lab.log_dir / "n2-supervisor.log").read_text()
    for name in ("n2-bgpd", "n2-zebra", "n2-speaker"):
        assert f"event=exited name={name}" in log and f"event=restarted name={name}" in log, log
    converged(lab)
