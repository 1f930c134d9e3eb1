"""GoBGP backend against real daemons: three node gobgpds, two FRR routers, inside namespaces.

Topology (all in namespaces made by the ``netns`` fixture; documentation ranges only)::

    r1  FRR, AS 64500 (eBGP to the nodes), owns bridge br0: 198.51.100.1, 2001:db8:100::1
    r2  FRR, AS 64512 (iBGP to the nodes), on br0:           198.51.100.2, 2001:db8:100::2
    n1..n3  bare gobgpd, AS 64512, on br0: 198.51.100.11-13, 2001:db8:100::11-13

Each gobgpd serves its API on a unix socket in the test's temporary directory, so this
process drives a daemon inside a namespace through the filesystem. The n1-r1 session uses
a TCP MD5 password. Service prefixes come from 203.0.113.0/24 and 2001:db8:5::/64.

Matrix (test -> what the routers must show):

- ``ecmp_and_attributes``: a v4 and a v6 prefix over the 3 node next hops (r1 ECMP, also in
  r1's kernel); exactly the configured communities and large communities on eBGP (no
  internal tags); LOCAL_PREF on the iBGP router r2 only.
- ``per_peer_export``: prefixes for r1 only, r2 only, both; moving one withdraws it where it
  is no longer wanted.
- ``withdraw``: one node stops announcing -> 2 next hops; all stop -> gone.
- ``gobgpd_restart``: a killed and restarted gobgpd is detected and gets everything back.
- ``speaker_restart``: a new driver against a configured daemon changes nothing; ``status``
  shows established sessions and announced counts.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address, ip_network
from pathlib import Path
from typing import Any, TypeVar

import pytest

from gobgp import (
    Community,
    GobgpDesired,
    GobgpDriver,
    GobgpGlobal,
    GobgpPath,
    GobgpPeer,
    LargeCommunity,
)
from gobgp.daemon import gobgpd_command, prepare_socket, unix_target, wait_ready
from orchestrator.adapters.netns import Namespaces
from orchestrator.core.model.cluster import Secret
from orchestrator.routing.report import SessionState
from tests.harness.prereq import require_frr, require_gobgpd

pytestmark = pytest.mark.root

T = TypeVar("T")

NODE_ASN = 64512
R1_ASN = 64500  # eBGP router
R2_ASN = NODE_ASN  # iBGP router
R1_V4, R2_V4 = IPv4Address("198.51.100.1"), IPv4Address("198.51.100.2")
MD5_PASSWORD = "not-a-real-secret-7"
FRR_DIR = Path("/usr/lib/frr")
FRR_RUN = Path("/var/run/frr")
CONVERGE = 40.0  # seconds; sessions come up in ~1-3 s with the short timers below

V4_SERVICE = ip_network("203.0.113.10/32")
V6_SERVICE = ip_network("2001:db8:5::10/128")


def node_v4(i: int) -> IPv4Address:
    return IPv4Address(f"198.51.100.{11 + i}")


def node_v6(i: int) -> IPv6Address:
    return IPv6Address(f"2001:db8:100::{11 + i}")


def wait_for(probe: Callable[[], T], done: Callable[[T], bool], *, timeout: float = CONVERGE) -> T:
    """Poll ``probe`` until ``done`` holds (bounded); fail with the last observation."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if done(value):
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"not converged after {timeout:.0f} s; last seen: {value!r}")
        time.sleep(0.2)


# --------------------------------------------------------------------------- FRR router


@dataclass
class Router:
    ns: Namespaces
    netns: str
    asn: int
    address: IPv4Address

    @property
    def rundir(self) -> Path:
        return FRR_RUN / self.netns  # where ``-N <name>`` puts the vty sockets

    def start(self, nodes: int) -> None:
        self.rundir.mkdir(parents=True, exist_ok=True)
        shutil.chown(self.rundir, "frr", "frr")
        empty = self.rundir / "empty.conf"
        empty.write_text("")
        shutil.chown(empty, "frr", "frr")
        for daemon in ("zebra", "bgpd"):
            self.ns.popen(
                self.netns,
                str(FRR_DIR / daemon),
                "-N",
                self.netns,
                "-f",
                str(empty),
                "-i",
                str(self.rundir / f"{daemon}.pid"),
                "-P",
                "0",
                "--log",
                "stdout",
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            vty = self.rundir / f"{daemon}.vty"
            wait_for(vty.exists, bool, timeout=10)
        ibgp = self.asn == NODE_ASN
        lines = [
            "configure terminal",
            f"router bgp {self.asn}",
            f"bgp router-id {self.address}",
            "no bgp ebgp-requires-policy",
            "neighbor NODES peer-group",
            f"neighbor NODES remote-as {NODE_ASN}",
            "neighbor NODES timers 3 9",
            "neighbor NODES timers connect 1",
        ]
        for i in range(nodes):
            lines.append(f"neighbor {node_v4(i)} peer-group NODES")
        if not ibgp:
            lines.append(f"neighbor {node_v4(0)} password {MD5_PASSWORD}")
        maximum = "maximum-paths ibgp 8" if ibgp else "maximum-paths 8"
        lines += [
            "address-family ipv4 unicast",
            maximum,
            "exit-address-family",
            "address-family ipv6 unicast",
            "neighbor NODES activate",
            maximum,
            "exit-address-family",
        ]
        self.vtysh(*lines)

    def vtysh(self, *commands: str) -> str:
        args = [a for c in commands for a in ("-c", c)]
        proc = self.ns.run(self.netns, "vtysh", "-N", self.netns, *args, check=False)
        if proc.returncode != 0:
            pytest.fail(f"vtysh on {self.netns} failed: {proc.stdout} {proc.stderr}")
        return proc.stdout

    def route(self, prefix: object) -> list[dict[str, Any]]:
        """FRR's paths for ``prefix`` (empty when it has none)."""
        afi = "ipv6" if ":" in str(prefix) else "ipv4"
        data = json.loads(self.vtysh(f"show bgp {afi} unicast {prefix} json") or "{}")
        paths: list[dict[str, Any]] = data.get("paths", [])
        return paths

    def next_hops(self, prefix: object) -> set[str]:
        """Next hops of the paths FRR uses (best + multipath)."""
        hops: set[str] = set()
        for path in self.route(prefix):
            if path.get("multipath") or path.get("bestpath", {}).get("overall"):
                hops.update(
                    h["ip"] for h in path.get("nexthops", []) if h.get("scope") != "link-local"
                )
        return hops

    def established(self) -> int:
        data = json.loads(self.vtysh("show bgp summary json"))
        peers = data.get("ipv4Unicast", {}).get("peers", {})
        return sum(1 for p in peers.values() if p.get("state") == "Established")

    def close(self) -> None:
        shutil.rmtree(self.rundir, ignore_errors=True)


# --------------------------------------------------------------------------- node gobgpd


@dataclass
class Node:
    ns: Namespaces
    netns: str
    index: int
    socket: Path
    proc: subprocess.Popen[bytes] | None = None
    backend: GobgpDriver | None = None

    @property
    def api(self) -> str:
        return unix_target(self.socket)

    def start_daemon(self) -> None:
        prepare_socket(self.socket)
        self.proc = self.ns.popen(
            self.netns,
            *gobgpd_command(self.api, log_level="warn"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_ready(self.api)

    def kill_daemon(self) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=5)

    def desired(self, paths: tuple[GobgpPath, ...], *, r2_hold: int = 9) -> GobgpDesired:
        password = Secret(MD5_PASSWORD) if self.index == 0 else None
        return GobgpDesired(
            instance=GobgpGlobal(asn=NODE_ASN, router_id=node_v4(self.index)),
            peers=(
                # short timers so that sessions come up and fail over within the test budget
                GobgpPeer(
                    "r1",
                    R1_V4,
                    R1_ASN,
                    hold_time=9,
                    keepalive=3,
                    connect_retry=1,
                    password=password,
                ),
                GobgpPeer("r2", R2_V4, R2_ASN, hold_time=r2_hold, keepalive=3, connect_retry=1),
            ),
            paths=paths,
        )


@dataclass
class Lab:
    routers: dict[str, Router]
    nodes: list[Node]
    backends: list[GobgpDriver] = field(default_factory=list)

    def apply(self, paths_for: Callable[[Node], tuple[GobgpPath, ...]]) -> None:
        for node in self.nodes:
            assert node.backend is not None
            node.backend.apply_desired(node.desired(paths_for(node)))


@pytest.fixture
def lab(netns: Namespaces, tmp_path: Path) -> Iterator[Lab]:
    require_gobgpd()
    require_frr()
    r1, r2 = netns.add("r1"), netns.add("r2")
    netns.bridge(r1, "br0")
    netns.addr(r1, "br0", f"{R1_V4}/24")
    netns.addr(r1, "br0", "2001:db8:100::1/64")
    netns.veth(r2, "eth0", r1, "p-r2")
    netns.enslave(r1, "p-r2", "br0")
    netns.addr(r2, "eth0", f"{R2_V4}/24")
    netns.addr(r2, "eth0", "2001:db8:100::2/64")
    nodes: list[Node] = []
    for i in range(3):
        name = netns.add(f"n{i + 1}")
        netns.veth(name, "eth0", r1, f"p-n{i + 1}")
        netns.enslave(r1, f"p-n{i + 1}", "br0")
        netns.addr(name, "eth0", f"{node_v4(i)}/24")
        netns.addr(name, "eth0", f"{node_v6(i)}/64")
        nodes.append(Node(netns, name, i, tmp_path / f"n{i + 1}.sock"))
    routers = {"r1": Router(netns, r1, R1_ASN, R1_V4), "r2": Router(netns, r2, R2_ASN, R2_V4)}
    backends: list[GobgpDriver] = []
    try:
        for router in routers.values():
            router.start(nodes=3)
        for node in nodes:
            node.start_daemon()
            node.backend = GobgpDriver(node.api)
            backends.append(node.backend)
        yield Lab(routers, nodes, backends)
    finally:
        for backend in backends:
            backend.close()
        netns.close()  # daemons first, then namespaces; then the FRR run directories
        for router in routers.values():
            router.close()


def service_paths(
    peers: frozenset[str] = frozenset({"r1", "r2"}),
) -> Callable[[Node], tuple[GobgpPath, ...]]:
    def paths(node: Node) -> tuple[GobgpPath, ...]:
        return (
            GobgpPath(
                V4_SERVICE,
                peers,
                local_pref=150,
                communities=(Community(65000, 100), Community(65000, 200)),
                large_communities=(LargeCommunity(64512, 1, 2),),
            ),
            # IPv6 over the IPv4 sessions: the next hop must be given (see GobgpPath)
            GobgpPath(V6_SERVICE, peers, next_hop=node_v6(node.index)),
        )

    return paths


ALL_V4 = {str(node_v4(i)) for i in range(3)}
ALL_V6 = {str(node_v6(i)) for i in range(3)}


# --------------------------------------------------------------------------- tests


def test_ecmp_and_attributes(lab: Lab) -> None:
    lab.apply(service_paths())
    r1, r2 = lab.routers["r1"], lab.routers["r2"]
    wait_for(lambda: r1.next_hops(V4_SERVICE), lambda hops: hops == ALL_V4)
    wait_for(lambda: r1.next_hops(V6_SERVICE), lambda hops: hops == ALL_V6)
    wait_for(lambda: r2.next_hops(V4_SERVICE), lambda hops: hops == ALL_V4)
    # ECMP reached r1's kernel, not only its BGP table
    route = wait_for(
        lambda: lab.nodes[0].ns.run(r1.netns, "ip", "route", "show", str(V4_SERVICE)).stdout,
        lambda text: all(hop in text for hop in ALL_V4),
        timeout=10,
    )
    assert route.count("nexthop via") == 3, route
    for path in r1.route(V4_SERVICE):
        # exactly the configured communities: the internal per-peer tags were stripped
        assert path["community"]["string"] == "65000:100 65000:200", path
        assert path["largeCommunity"]["string"] == "64512:1:2", path
        assert path.get("locPrf", 100) == 100, "LOCAL_PREF must not cross eBGP"
        assert path["aspath"]["string"] == str(NODE_ASN)
    for path in r2.route(V4_SERVICE):
        assert path["locPrf"] == 150, path
        assert path["largeCommunity"]["string"] == "64512:1:2", path


def test_per_peer_export(lab: Lab) -> None:
    only_r1, only_r2, both = (
        ip_network("203.0.113.21/32"),
        ip_network("203.0.113.22/32"),
        ip_network("203.0.113.23/32"),
    )

    def paths(moved: bool) -> Callable[[Node], tuple[GobgpPath, ...]]:
        return lambda node: (
            GobgpPath(only_r1, frozenset({"r2"} if moved else {"r1"})),
            GobgpPath(only_r2, frozenset({"r2"})),
            GobgpPath(both, frozenset({"r1", "r2"})),
        )

    r1, r2 = lab.routers["r1"], lab.routers["r2"]
    lab.apply(paths(moved=False))
    wait_for(lambda: (r1.next_hops(both), r2.next_hops(both)), lambda h: h == (ALL_V4, ALL_V4))
    wait_for(lambda: r1.next_hops(only_r1), lambda hops: hops == ALL_V4)
    wait_for(lambda: r2.next_hops(only_r2), lambda hops: hops == ALL_V4)
    # both routers have converged on everything they may have; the rest never arrived
    assert r1.route(only_r2) == []
    assert r2.route(only_r1) == []

    lab.apply(paths(moved=True))
    wait_for(lambda: r1.route(only_r1), lambda found: found == [])
    wait_for(lambda: r2.next_hops(only_r1), lambda hops: hops == ALL_V4)
    assert r1.next_hops(both) == ALL_V4


def test_withdraw(lab: Lab) -> None:
    r1 = lab.routers["r1"]
    lab.apply(service_paths())
    wait_for(lambda: r1.next_hops(V4_SERVICE), lambda hops: hops == ALL_V4)
    lab.apply(lambda node: () if node.index == 1 else service_paths()(node))
    wait_for(lambda: r1.next_hops(V4_SERVICE), lambda hops: hops == ALL_V4 - {str(node_v4(1))})
    wait_for(lambda: r1.next_hops(V6_SERVICE), lambda hops: hops == ALL_V6 - {str(node_v6(1))})
    lab.apply(lambda node: ())
    wait_for(lambda: (r1.route(V4_SERVICE), r1.route(V6_SERVICE)), lambda r: r == ([], []))


def test_gobgpd_restart_is_repaired(lab: Lab) -> None:
    r1 = lab.routers["r1"]
    lab.apply(service_paths())
    wait_for(lambda: r1.next_hops(V4_SERVICE), lambda hops: hops == ALL_V4)
    node = lab.nodes[0]
    node.kill_daemon()
    wait_for(lambda: r1.next_hops(V4_SERVICE), lambda hops: hops == ALL_V4 - {str(node_v4(0))})
    node.start_daemon()  # bare again: no instance, no peers, empty RIB
    assert node.backend is not None
    report = node.backend.apply_desired(node.desired(service_paths()(node)))
    assert report.full_sync and report.restarted
    assert report.detail["peers_added"] == 2 and report.detail["paths_announced"] == 2
    wait_for(lambda: r1.next_hops(V4_SERVICE), lambda hops: hops == ALL_V4)
    wait_for(lambda: r1.next_hops(V6_SERVICE), lambda hops: hops == ALL_V6)


def test_speaker_restart_changes_nothing_and_reports_status(lab: Lab) -> None:
    lab.apply(service_paths())
    r1 = lab.routers["r1"]
    wait_for(lambda: r1.next_hops(V4_SERVICE), lambda hops: hops == ALL_V4)
    node = lab.nodes[0]
    fresh = GobgpDriver(node.api)  # a restarted speaker: knows nothing, reads back
    try:
        report = fresh.apply_desired(node.desired(service_paths()(node)))
        assert report.full_sync and not report.changed, report
        status = wait_for(
            fresh.status,
            lambda s: (
                all(p.state is SessionState.ESTABLISHED for p in s)
                and all(p.announced == 2 for p in s)
            ),
        )
        assert {p.peer: p.up for p in status} == {"r1": True, "r2": True}
        # steady state: nothing to send
        again = fresh.apply_desired(node.desired(service_paths()(node)))
        assert not again.full_sync and not again.changed
        # a changed neighbour setting is an UpdatePeer that gobgpd really applies: yet
        # another backend reading the daemon back finds nothing left to change
        slower = node.desired(service_paths()(node), r2_hold=12)
        assert fresh.apply_desired(slower).detail["peers_updated"] == 1
    finally:
        fresh.close()
    third = GobgpDriver(node.api)
    try:
        report = third.apply_desired(slower)
        assert report.full_sync and not report.changed, report
    finally:
        third.close()
