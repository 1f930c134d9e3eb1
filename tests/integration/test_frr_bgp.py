"""FRR backend against real FRR daemons in network namespaces (root).

Topology (one per module; every test converges the nodes on its own intent first)::

    router  (FRR, AS 64500, maximum-paths 8)     ibgp (FRR, AS 64512)
       198.51.100.1/24 2001:db8:ffff::1/64         198.51.100.2/24
                 \\________ bridge br0 (in router) ______/
                  |              |              |
                 n1             n2             n3      our FrrDriver each, AS 64512
             .11/::11       .12/::12       .13/::13    bgpd started with an empty config

Assertions are made on the routers through ``vtysh -c '... json'`` and polled until they
hold (every wait is bounded). Matrix:

- Cluster Service -> one ECMP route with 3 next hops (IPv4 and IPv6);
- Local Service -> only nodes with a ready local endpoint;
- attributes (communities, large communities, local-pref over iBGP) as configured, the
  internal tag never leaves the node; a prefix goes only to the selected peers;
- withdraw on Service delete and on loss of endpoints;
- BFD session up with a profile;
- MD5 mismatch keeps the session down and is reported, matching passwords bring it up;
- bgpd killed and restarted empty: the routing worker's probe sees it and repairs it
  (before the periodic drift check);
- hand edits to our objects are repaired, an engineer's own objects survive;
- config injection is refused before anything reaches FRR; a rendered golden loads as is,
  and after a change an FRR booted from it holds exactly our model (no stale zebra copies).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from ipaddress import ip_address
from typing import Any, TypeVar

import pytest
from prometheus_client import CollectorRegistry

from frr import names
from frr.daemon import FrrInstance
from frr.driver import FrrDriver
from frr.errors import ConversionError
from frr.owned import owned_from_view, parse_running
from frr.render import render_config
from frr.translate import build_view
from orchestrator.adapters.netns import Namespaces
from orchestrator.core.bgp.compute import bgp_intent
from orchestrator.core.bgp.intent import NodeBGPIntent
from orchestrator.core.model.cluster import (
    Assignment,
    BFDProfile,
    BGPAdvertisement,
    BGPPeer,
    Secret,
    TrafficPolicy,
)
from orchestrator.core.model.selectors import LabelSelector
from orchestrator.routing.metrics import RoutingMetrics
from orchestrator.routing.report import Stage
from orchestrator.routing.scheduler import Scheduler
from orchestrator.routing.worker import RoutingWorker
from tests.golden.frr_scenarios import (
    POOL4,
    POOL6,
    SCENARIOS,
    large,
    node,
    service,
    snapshot,
    std,
)
from tests.harness.bgp_lab import ecmp_router_config
from tests.harness.prereq import require_frr

pytestmark = pytest.mark.root

NODES = ("n1", "n2", "n3")
NODE_IP = {"n1": "198.51.100.11", "n2": "198.51.100.12", "n3": "198.51.100.13"}
NODE_IP6 = {"n1": "2001:db8:ffff::11", "n2": "2001:db8:ffff::12", "n3": "2001:db8:ffff::13"}
ROUTER_IP, ROUTER_IP6, IBGP_IP = "198.51.100.1", "2001:db8:ffff::1", "198.51.100.2"
T = TypeVar("T")


def poll(what: str, probe: Callable[[], T | None], timeout: float = 30.0) -> T:
    """Call ``probe`` until it returns something truthy; fail with ``what`` after timeout."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


class Lab:
    def __init__(self, ns: Namespaces) -> None:
        self.ns = ns
        self.router_ns = ns.add("r")
        self.ibgp_ns = ns.add("i")
        ns.bridge(self.router_ns, "br0")
        ns.addr(self.router_ns, "br0", f"{ROUTER_IP}/24")
        ns.addr(self.router_ns, "br0", f"{ROUTER_IP6}/64")
        self.node_ns: dict[str, str] = {}
        ns.veth(self.ibgp_ns, "eth0", self.router_ns, "p-i")
        ns.enslave(self.router_ns, "p-i", "br0")
        ns.addr(self.ibgp_ns, "eth0", f"{IBGP_IP}/24")
        for n in NODES:
            name = ns.add(n)
            self.node_ns[n] = name
            ns.veth(name, "eth0", self.router_ns, f"p-{n}")
            ns.enslave(self.router_ns, f"p-{n}", "br0")
            ns.addr(name, "eth0", f"{NODE_IP[n]}/24")
            ns.addr(name, "eth0", f"{NODE_IP6[n]}/64")
        self.router = FrrInstance(ns, self.router_ns, daemons=("zebra", "bgpd", "bfdd"))
        self.ibgp = FrrInstance(ns, self.ibgp_ns, daemons=("zebra", "bgpd"))
        self.frr = {
            n: FrrInstance(ns, self.node_ns[n], daemons=("zebra", "bgpd", "bfdd")) for n in NODES
        }
        self.instances = [self.router, self.ibgp, *self.frr.values()]
        for inst in self.instances:
            inst.start()
        self.registry = CollectorRegistry()
        self.metrics = RoutingMetrics(self.registry)
        self.backends = {n: FrrDriver(self.frr[n].vtysh) for n in NODES}
        self._configure_routers()

    def _configure_routers(self) -> None:
        lines = ecmp_router_config(
            asn=64500,
            router_id=str(ROUTER_IP),
            remote_asn=64512,
            v4=(str(NODE_IP[n]) for n in NODES),
            v6=(str(NODE_IP6[n]) for n in NODES),
        )
        self.configure(self.router, lines)
        self.configure(
            self.ibgp,
            [
                "router bgp 64512",
                f" bgp router-id {IBGP_IP}",
                f" neighbor {NODE_IP['n1']} remote-as 64512",
                f" neighbor {NODE_IP['n1']} timers 3 9",
                f" neighbor {NODE_IP['n1']} timers connect 1",
                " address-family ipv4 unicast",
                f"  neighbor {NODE_IP['n1']} activate",
                " exit-address-family",
                "exit",
            ],
        )

    @staticmethod
    def configure(inst: FrrInstance, lines: list[str]) -> None:
        proc_input = "\n".join(lines) + "\n"
        r = subprocess.run(
            ["vtysh", "-N", inst.name, "-f", "/dev/stdin"],
            input=proc_input,
            capture_output=True,
            text=True,
            check=False,
        )
        assert r.returncode == 0, r.stdout + r.stderr

    def close(self) -> None:
        for inst in self.instances:
            inst.close()

    # -- queries on a router
    @staticmethod
    def route(inst: FrrInstance, prefix: str) -> dict[str, Any]:
        afi = "ipv6" if ":" in prefix else "ipv4"
        data = inst.vtysh.show_json(f"show bgp {afi} unicast {prefix} json", daemon="bgpd")
        return data if isinstance(data, dict) else {}

    def next_hops(self, prefix: str, inst: FrrInstance | None = None) -> set[str]:
        """Peers the router has a valid path from (multipath when more than one)."""
        data = self.route(inst or self.router, prefix)
        hops: set[str] = set()
        for path in data.get("paths", []):
            if path.get("valid"):
                hops.add(str(path.get("peer", {}).get("peerId", "")))
        return hops

    def installed_next_hops(self, prefix: str) -> set[str]:
        afi = "ipv6" if ":" in prefix else "ip"
        data = self.router.vtysh.show_json(f"show {afi} route {prefix} json", daemon="zebra")
        out: set[str] = set()
        for route in data.get(prefix, []) if isinstance(data, dict) else []:
            if route.get("installed"):
                for nh in route.get("nexthops", []):
                    if nh.get("active"):
                        out.add(str(nh.get("ip", nh.get("interfaceName", ""))))
        return out


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    require_frr()
    with Namespaces(tag="f") as ns:
        lab = Lab(ns)
        try:
            yield lab
        finally:
            lab.close()


# --------------------------------------------------------------------------- config


def fast_peer(name: str, address: str, peer_asn: int, **kw: Any) -> BGPPeer:
    """Short timers so that sessions come up and fail over within a test's patience."""
    return BGPPeer(
        name=name,
        my_asn=64512,
        peer_asn=peer_asn,
        peer_address=ip_address(address),
        hold_time=9.0,
        keepalive_time=3.0,
        connect_time=1,
        **kw,
    )


def peers() -> list[BGPPeer]:
    """Every node peers with the router over IPv4 and IPv6; n1 also with the iBGP router."""
    return [
        fast_peer("router", ROUTER_IP, 64500),
        fast_peer("router6", ROUTER_IP6, 64500),
        fast_peer(
            "ibgp",
            IBGP_IP,
            64512,
            node_selectors=(LabelSelector({"kubernetes.io/hostname": "n1"}),),
        ),
    ]


def converge(lab: Lab, intents: dict[str, NodeBGPIntent]) -> None:
    for n, intent in intents.items():
        lab.backends[n].apply(intent)


def intents_for(snap: Any, assignments: list[Assignment]) -> dict[str, NodeBGPIntent]:
    return {n: bgp_intent(snap, assignments, node=n) for n in NODES}


def base(services: list[Any], **kw: Any) -> Any:
    return snapshot(
        peers=kw.pop("peers", peers()),
        advertisements=kw.pop("advertisements", [BGPAdvertisement(name="default")]),
        services=services,
        nodes=[node(n) for n in NODES],
        pools=(POOL4, POOL6),
        **kw,
    )


def a(key: str, ip: str, pool: str = "public") -> Assignment:
    return Assignment(service=key, pool=pool, ips=(ip_address(ip),))


ALL_HOPS = {NODE_IP[n] for n in NODES}
ALL_HOPS6 = {NODE_IP6[n] for n in NODES}


# --------------------------------------------------------------------------- tests


def test_cluster_service_is_one_ecmp_route_over_three_nodes(lab: Lab) -> None:
    snap = base([service("web", endpoints_on=("n2",)), service("v6", endpoints_on=("n2",))])
    assignments = [a("default/web", "203.0.113.10"), a("default/v6", "2001:db8:100::10", "public6")]
    converge(lab, intents_for(snap, assignments))
    poll("3 BGP paths for 203.0.113.10/32", lambda: lab.next_hops("203.0.113.10/32") == ALL_HOPS)
    poll(
        "3 installed ECMP next hops",
        lambda: lab.installed_next_hops("203.0.113.10/32") == ALL_HOPS,
    )
    poll(
        "3 BGP paths for the IPv6 service",
        lambda: lab.next_hops("2001:db8:100::10/128") == ALL_HOPS6,
    )


def test_local_service_only_via_nodes_with_local_endpoints(lab: Lab) -> None:
    local = service("api", policy=TrafficPolicy.LOCAL, endpoints_on=("n1", "n3"))
    snap = base([local])
    converge(lab, intents_for(snap, [a("default/api", "203.0.113.20")]))
    want = {NODE_IP["n1"], NODE_IP["n3"]}
    poll("Local service via n1 and n3 only", lambda: lab.next_hops("203.0.113.20/32") == want)
    # the previous test's service is gone from the model: withdrawn everywhere
    poll("203.0.113.10 withdrawn", lambda: not lab.next_hops("203.0.113.10/32"))
    assert lab.backends["n2"].check_drift().drifted == ()


def test_withdraw_on_endpoint_loss_and_service_delete(lab: Lab) -> None:
    snap = base([service("web")])
    assignments = [a("default/web", "203.0.113.30")]
    converge(lab, intents_for(snap, assignments))
    poll("announced", lambda: lab.next_hops("203.0.113.30/32") == ALL_HOPS)

    no_eps = base([service("web", endpoints_on=())])
    intents = intents_for(no_eps, assignments)
    assert intents["n1"].withheld[0].reason.value == "noEndpoints"
    converge(lab, intents)
    poll("withdrawn after endpoints went away", lambda: not lab.next_hops("203.0.113.30/32"))

    converge(lab, intents_for(snap, assignments))
    poll("announced again", lambda: lab.next_hops("203.0.113.30/32") == ALL_HOPS)
    converge(lab, intents_for(base([]), []))
    poll("withdrawn after Service delete", lambda: not lab.next_hops("203.0.113.30/32"))


def test_attributes_and_peer_selection(lab: Lab) -> None:
    advs = [
        BGPAdvertisement(
            name="to-ibgp",
            local_pref=250,
            communities=(std("65000:100"), large("65000:7:8")),
            peers=("ibgp",),
        ),
        BGPAdvertisement(name="to-router", communities=(std("65000:300"),), peers=("router",)),
    ]
    snap = base([service("web", endpoints_on=("n1",))], advertisements=advs)
    # two advertisements cover one prefix: both tags on one route-map, each peer filters
    converge(lab, intents_for(snap, [a("default/web", "203.0.113.40")]))

    def ibgp_path() -> dict[str, Any] | None:
        paths = Lab.route(lab.ibgp, "203.0.113.40/32").get("paths", [])
        return paths[0] if paths else None

    path = poll("route at the iBGP router", ibgp_path)
    assert path.get("locPrf") == 250
    assert set(path["community"]["list"]) == {"65000:100", "65000:300"}
    # the internal tag (64512:4242424242:N) is stripped: only the configured large community
    assert path["largeCommunity"]["list"] == ["65000:7:8"]
    poll("route at the router", lambda: lab.next_hops("203.0.113.40/32") == ALL_HOPS)
    by_peer = {p["peer"]["peerId"]: p for p in Lab.route(lab.router, "203.0.113.40/32")["paths"]}
    # n1 merges both advertisements on this prefix (reported as conflictingAdvertisements):
    # the router gets the union; n2 and n3 have no iBGP peer, so only "to-router" applies
    assert by_peer[NODE_IP["n1"]]["largeCommunity"]["list"] == ["65000:7:8"]
    assert by_peer[NODE_IP["n2"]]["community"]["list"] == ["65000:300"]
    assert "largeCommunity" not in by_peer[NODE_IP["n2"]]

    # only the router: the iBGP router withdraws, the router keeps it
    only_router = [replace(advs[1], name="to-router")]
    snap2 = base([service("web", endpoints_on=("n1",))], advertisements=only_router)
    converge(lab, intents_for(snap2, [a("default/web", "203.0.113.40")]))
    poll("iBGP router withdrew", lambda: not Lab.route(lab.ibgp, "203.0.113.40/32").get("paths"))

    def router_communities() -> list[str] | None:
        for p in Lab.route(lab.router, "203.0.113.40/32").get("paths", []):
            if p["peer"]["peerId"] == NODE_IP["n1"] and "largeCommunity" not in p:
                return list(p.get("community", {}).get("list", []))
        return None

    assert poll("router sees the new attributes", router_communities) == ["65000:300"]


def test_bfd_session_comes_up_with_profile(lab: Lab) -> None:
    Lab.configure(
        lab.router,
        ["router bgp 64500", f" neighbor {NODE_IP['n1']} bfd", "exit"],
    )
    ps = peers()
    ps[0] = replace(ps[0], bfd_profile="fast")
    fast = BFDProfile(name="fast", receive_interval=100, transmit_interval=100)
    snap = base([service("web")], peers=ps, bfd=[fast])
    converge(lab, intents_for(snap, [a("default/web", "203.0.113.50")]))

    def bfd_up() -> bool:
        peers_json = lab.router.vtysh.show_json("show bfd peers json", daemon="bfdd")
        return any(p.get("peer") == NODE_IP["n1"] and p.get("status") == "up" for p in peers_json)

    poll("BFD session up at the router", bfd_up)
    statuses = {s.peer: s for s in lab.backends["n1"].status()}
    assert statuses["router"].bfd == "up"
    running = lab.frr["n1"].vtysh.show("show running-config")
    assert "profile MLB-fast" in running and "receive-interval 100" in running
    Lab.configure(lab.router, ["router bgp 64500", f" no neighbor {NODE_IP['n1']} bfd", "exit"])


def test_md5_mismatch_keeps_session_down_and_is_reported(lab: Lab) -> None:
    router_side = ["router bgp 64500", f" neighbor {NODE_IP['n3']} password router-side", "exit"]
    Lab.configure(lab.router, router_side)
    try:
        ps = peers()
        ps[0] = replace(ps[0], password=Secret("node-side"))
        snap = base([service("web")], peers=ps)
        converge(lab, intents_for(snap, [a("default/web", "203.0.113.60")]))
        backend = lab.backends["n3"]
        # several connect attempts (connect timer 1 s) with the wrong key: never up
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            assert not {s.peer: s for s in backend.status()}["router"].up
            time.sleep(0.3)
        statuses = backend.status()
        status = {s.peer: s for s in statuses}["router"]
        assert not status.up and status.hint and "password" in status.hint
        lab.metrics.publish(statuses)
        assert lab.registry.get_sample_value("metallb_bgp_session_up", {"peer": ROUTER_IP}) == 0.0
        assert "node-side" not in str(status) and "node-side" not in backend.redact("node-side")
        assert NODE_IP["n3"] not in lab.next_hops("203.0.113.60/32")

        ps[0] = replace(ps[0], password=Secret("router-side"))
        converge(
            lab, intents_for(base([service("web")], peers=ps), [a("default/web", "203.0.113.60")])
        )
        poll(
            "n3 path with matching passwords",
            lambda: NODE_IP["n3"] in lab.next_hops("203.0.113.60/32"),
        )

        def metric_up() -> bool:
            lab.metrics.publish(backend.status())
            value = lab.registry.get_sample_value("metallb_bgp_session_up", {"peer": ROUTER_IP})
            return value == 1.0

        poll("metallb_bgp_session_up = 1", metric_up)
    finally:
        Lab.configure(
            lab.router, ["router bgp 64500", f" no neighbor {NODE_IP['n3']} password", "exit"]
        )


def test_bgpd_killed_and_restarted_is_repaired(lab: Lab) -> None:
    snap = base([service("web")])
    assignments = [a("default/web", "203.0.113.70")]
    intents = intents_for(snap, assignments)
    converge(lab, intents)
    poll("announced by all", lambda: lab.next_hops("203.0.113.70/32") == ALL_HOPS)

    # the periodic drift check is far away: the probe must be what notices the restart
    scheduler = Scheduler(debounce=0.0, drift_interval=600, status_interval=None)
    worker = RoutingWorker(lab.backends["n2"], scheduler=scheduler)
    worker.start()
    try:
        worker.apply(intents["n2"])
        assert worker.wait_idle(10)
        lab.frr["n2"].kill_daemon("bgpd")
        poll("n2 gone at the router", lambda: NODE_IP["n2"] not in lab.next_hops("203.0.113.70/32"))
        poll("the worker sees bgpd gone", lambda: not worker.ready(), timeout=5)
        lab.frr["n2"].start_daemon("bgpd")
        poll("n2 repaired and back", lambda: lab.next_hops("203.0.113.70/32") == ALL_HOPS)
        assert worker.repairs >= 1 and lab.backends["n2"].repairs >= 1
        assert "repaired" in worker.stages[Stage.RUNNING].message and worker.ready()
    finally:
        worker.stop()


def test_hand_edits_repaired_and_engineers_objects_survive(lab: Lab) -> None:
    snap = base([service("web")])
    converge(lab, intents_for(snap, [a("default/web", "203.0.113.80")]))
    n1 = lab.frr["n1"]
    seq = names.tag_numbers(["default"])["default"]  # the entry of class "default"
    Lab.configure(
        n1,
        [
            "route-map ENG-mine permit 10",
            " set metric 5",
            "exit",
            f"route-map MLB-router-out permit {seq}",
            " no match large-community MLB-ADV-default",
            "exit",
            "router bgp 64512",
            " neighbor 198.51.100.99 remote-as 65001",
            " neighbor 198.51.100.99 description engineer's own",
            " address-family ipv4 unicast",
            "  no network 203.0.113.80/32",
            "  network 203.0.113.99/32",
            " exit-address-family",
            "exit",
        ],
    )
    report = lab.backends["n1"].check_drift()
    assert report.repaired
    assert f"route-map MLB-router-out {seq}" in report.drifted
    assert any("network" in d for d in report.drifted)
    running = n1.vtysh.show("show running-config")
    assert "route-map ENG-mine permit 10" in running
    assert "neighbor 198.51.100.99 remote-as 65001" in running
    assert "network 203.0.113.99/32" in running
    assert "network 203.0.113.80/32 route-map MLB-ADV-default" in running
    assert lab.backends["n1"].check_drift().drifted == ()


@pytest.mark.parametrize(
    "bad",
    [
        "name",
        "community",
        "password-newline",
        "password-bang",
        "password-exit",
    ],
)
def test_config_injection_is_rejected_and_frr_unchanged(lab: Lab, bad: str) -> None:
    snap = base([service("web")])
    assignments = [a("default/web", "203.0.113.90")]
    converge(lab, intents_for(snap, assignments))
    before = lab.frr["n1"].vtysh.show("show running-config")
    ps = peers()
    advs = [BGPAdvertisement(name="default")]
    if bad == "name":
        ps[0] = replace(ps[0], name="router\nexit\nno router bgp 64512\n!")
    elif bad == "community":
        with pytest.raises(ValueError, match="not a normalized"):  # cannot even be built
            std("65000:1\nend")
        # what is left to refuse: a community that would pass for an internal tag
        advs = [BGPAdvertisement(name="default", communities=(large("64512:4242424242:1"),))]
    elif bad == "password-newline":
        ps[0] = replace(ps[0], password=Secret("pw\nend\nno router bgp 64512"))
    elif bad == "password-bang":
        ps[0] = replace(ps[0], password=Secret("pw !exit"))
    else:
        ps[0] = replace(ps[0], password=Secret("exit end"))
    evil = base([service("web")], peers=ps, advertisements=advs)
    with pytest.raises(ConversionError) as err:
        lab.backends["n1"].apply(bgp_intent(evil, assignments, node="n1"))
    message = str(err.value)
    assert "\n" not in message  # one printable line, whatever the input held
    for secret in ("pw\nend", "pw !exit", "exit end"):
        assert secret not in message
    assert lab.frr["n1"].vtysh.show("show running-config") == before


@pytest.mark.parametrize("name", ["full", "overlap", "interface"])
def test_rendered_config_boots_real_frr_as_is(lab: Lab, name: str) -> None:
    """``mlb render frr`` output boots FRR as an integrated frr.conf (``vtysh -b``, what
    FRR's init script does) and bgpd alone takes it with ``-f``; what FRR then runs is
    exactly our model, so a speaker starting against it would find nothing to change."""
    snap, assignments, node_name = SCENARIOS[name]()
    view = build_view(bgp_intent(snap, assignments, node=node_name))
    want = owned_from_view(view)
    text = render_config(view)
    booted = FrrInstance(lab.ns, lab.ns.add(f"b{name[:3]}"), daemons=("zebra", "bgpd", "bfdd"))
    from_file = FrrInstance(lab.ns, lab.ns.add(f"f{name[:3]}"), daemons=("zebra", "bgpd"))
    try:
        booted.start(config=text)
        assert parse_running(booted.vtysh.show("show running-config")) == want
        from_file.start(config=text, via="file")
        got = parse_running(from_file.vtysh.show("show running-config"))
        assert replace(got, bfd={}) == replace(want, bfd={})  # BFD profiles live in bfdd
    finally:
        booted.close()
        from_file.close()


def test_booted_from_file_then_changed_leaves_no_stale_entries(lab: Lab) -> None:
    """A file boot (``vtysh -b``) also gives zebra copies of our route-maps; when a class
    goes away, its outbound entries must go from every daemon, or the merged running config
    keeps a ghost entry that no repair removes."""
    snap, assignments, node_name = SCENARIOS["full"]()
    booted = FrrInstance(lab.ns, lab.ns.add("bchg"), daemons=("zebra", "bgpd", "bfdd"))
    try:
        booted.start(
            config=render_config(build_view(bgp_intent(snap, assignments, node=node_name)))
        )
        # "agg" goes away: its class route-map, list and the entries of four peers with it
        fewer = replace(
            snap,
            config=replace(
                snap.config,
                bgp_advertisements=tuple(
                    adv for adv in snap.config.bgp_advertisements if adv.name != "agg"
                ),
            ),
        )
        intent = bgp_intent(fewer, assignments, node=node_name)
        backend = FrrDriver(booted.vtysh)
        backend.apply(intent)
        want = owned_from_view(build_view(intent))
        assert not any("agg" in name for name, _ in want.route_maps)
        assert parse_running(booted.vtysh.show("show running-config")) == want
        assert backend.check_drift().drifted == ()
    finally:
        booted.close()
