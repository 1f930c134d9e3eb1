"""Drift checks converge whatever FRR defaults profile the node's daemons run under.

FRR prints only what differs from its profile's defaults, so the same configuration reads
back differently under ``frr defaults traditional`` and ``frr defaults datacenter``
(operators start bgpd with either). Each case starts a bare node FRR with one profile
(``-F``), lets the driver configure it with a session to a real FRR router, and then:

- every scenario of the golden set, applied one after the other, reads back as its
  target: no drift;
- repeated drift checks repair nothing and never reset the session (the router's
  ``connectionsEstablished`` for the node stays 1);
- a hand-made change to a router setting we own is repaired once, then stays repaired.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from frr.daemon import PROFILES, FrrInstance
from frr.diff import Command
from frr.driver import FrrDriver
from frr.owned import defaults_profile
from orchestrator.adapters.netns import Namespaces
from orchestrator.core.bgp.compute import bgp_intent
from tests.golden.frr_scenarios import SCENARIOS, basic
from tests.harness.prereq import require_frr

pytestmark = pytest.mark.root

ROUTER_CONFIG = """\
router bgp 64500
 bgp router-id 198.51.100.1
 no bgp ebgp-requires-policy
 neighbor 198.51.100.11 remote-as 64512
 neighbor 198.51.100.11 timers 1 3
 neighbor 198.51.100.11 timers connect 1
"""


@pytest.fixture
def pair(netns: Namespaces, request: pytest.FixtureRequest) -> Iterator[tuple[Any, Any]]:
    """A router (traditional) and a node under the profile of the test's parameter,
    one veth apart (198.51.100.1 - 198.51.100.11)."""
    require_frr()
    router_ns, node_ns = netns.add("r"), netns.add("n")
    netns.veth(router_ns, "eth0", node_ns, "eth0")
    netns.addr(router_ns, "eth0", "198.51.100.1/24")
    netns.addr(node_ns, "eth0", "198.51.100.11/24")
    router = FrrInstance(netns, router_ns, daemons=("zebra", "bgpd"))
    node = FrrInstance(netns, node_ns, daemons=("zebra", "bgpd", "bfdd"), profile=request.param)
    try:
        router.start(ROUTER_CONFIG)
        node.start()
        yield router, node
    finally:
        node.close()
        router.close()


def established(router: FrrInstance) -> tuple[str, int]:
    data = router.vtysh.show_json("show bgp neighbors 198.51.100.11 json", daemon="bgpd")
    n = data.get("198.51.100.11", {}) if isinstance(data, dict) else {}
    return str(n.get("bgpState", "")), int(n.get("connectionsEstablished", 0))


def has_route(router: FrrInstance, prefix: str) -> bool:
    data = router.vtysh.show_json(f"show bgp ipv4 unicast {prefix} json", daemon="bgpd")
    return bool(isinstance(data, dict) and data.get("paths"))


def wait_for(what: str, probe: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


@pytest.mark.parametrize("pair", PROFILES, indirect=True)
def test_every_scenario_reads_back_as_its_target(pair: tuple[FrrInstance, FrrInstance]) -> None:
    _, node = pair
    profile = node.profile
    assert defaults_profile(node.vtysh.show("show running-config")) == profile
    driver = FrrDriver(node.vtysh)  # one driver: each scenario is a change from the last
    for name, scenario in sorted(SCENARIOS.items()):
        snap, assignments, node_name = scenario()
        driver.apply(bgp_intent(snap, assignments, node=node_name))
        report = driver.check_drift()
        assert report.drifted == (), f"{profile}/{name}: {report.drifted}"
        assert driver.repairs == 0


@pytest.mark.parametrize("pair", PROFILES, indirect=True)
def test_drift_checks_converge_without_resetting_the_session(
    pair: tuple[FrrInstance, FrrInstance],
) -> None:
    router, node = pair
    snap, assignments, node_name = basic()
    driver = FrrDriver(node.vtysh)
    driver.apply(bgp_intent(snap, assignments, node=node_name))
    wait_for(
        "the session and 203.0.113.10/32 at the router",
        lambda: established(router)[0] == "Established" and has_route(router, "203.0.113.10/32"),
    )
    for _ in range(5):
        report = driver.check_drift()
        assert report.drifted == () and not report.repaired
    assert driver.repairs == 0
    assert established(router) == ("Established", 1)

    # an engineer turns a setting of ours back on by hand: one repair, then quiet
    node.vtysh.apply([Command(("router bgp 64512",), "bgp ebgp-requires-policy")])
    report = driver.check_drift()
    assert report.repaired and report.drifted == ("router bgp settings",)
    for _ in range(3):
        assert driver.check_drift().drifted == ()
    assert driver.repairs == 1
    wait_for(
        "203.0.113.10/32 at the router after the repair",
        lambda: has_route(router, "203.0.113.10/32"),
    )
    assert established(router) == ("Established", 1)
