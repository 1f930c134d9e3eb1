"""A BGP lab for comparing the FRR and GoBGP speakers: the same routers, either backend.

Topology (namespaces from one ``Namespaces``; documentation ranges and private ASNs only)::

    r1  FRR, AS 64500 (eBGP), owns bridge br0: 198.51.100.1, 2001:db8:ffff::1
    r2  FRR, AS 64512 (iBGP), on br0:          198.51.100.2
    n1..n3  speakers, AS 64512, on br0:        198.51.100.11-13, 2001:db8:ffff::11-13

Every node opens three sessions (``lab_peers``): ``r1`` over IPv4, ``r1v6`` over IPv6 (so
that an IPv6 prefix needs no next hop the intent does not carry) and ``r2`` over IPv4. r2
is an iBGP neighbour so that LOCAL_PREF, which eBGP never carries, can be observed.

A speaker is ``FrrDriver`` on an FRR in the node's namespace, or ``GobgpDriver`` on a
bare gobgpd in it (its API on a unix socket in a private temporary directory). Both
are fed the same ``bgp_intent`` output; the routers are the judges. ``RouterView`` is what
a router holds, normalized so that two backends that announce the same thing compare
equal: prefix -> global next hop -> the attributes of that path.

``open_lab`` is a context manager: whatever it started (daemons, namespaces, FRR's
``/etc/frr/<ns>`` and ``/var/run/frr/<ns>``, the gobgpd socket directory) is removed on
exit, also when building the topology fails half-way.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from ipaddress import ip_address
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pytest

from frr.daemon import FrrInstance
from frr.driver import FrrDriver
from gobgp.daemon import gobgpd_command, prepare_socket, unix_target, wait_ready
from gobgp.driver import GobgpDriver
from orchestrator.adapters.netns import Namespaces
from orchestrator.core.bgp.compute import bgp_intent
from orchestrator.core.bgp.intent import NodeBGPIntent
from orchestrator.core.model.cluster import Assignment, BGPPeer, ClusterSnapshot
from orchestrator.routing.report import ApplyReport

T = TypeVar("T")

BACKENDS = ("frr", "gobgp")
NODE_ASN = 64512
ROUTER_ASN = 64500  # r1; r2 is iBGP and uses NODE_ASN
NODES = ("n1", "n2", "n3")
R1_V4, R1_V6, R2_V4 = "198.51.100.1", "2001:db8:ffff::1", "198.51.100.2"
NODE_V4 = {n: f"198.51.100.{11 + i}" for i, n in enumerate(NODES)}
NODE_V6 = {n: f"2001:db8:ffff::{11 + i}" for i, n in enumerate(NODES)}
CONVERGE = 30.0  # seconds; sessions come up in 1-3 s with the timers below


def poll(what: str, probe: Callable[[], T], done: Callable[[T], bool], timeout: float) -> T:
    """Call ``probe`` until ``done`` holds; fail with ``what`` and the last value after
    ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if done(value):
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}; last: {value!r}")
        time.sleep(0.2)


def lab_peers() -> tuple[BGPPeer, ...]:
    """The BGPPeers every node uses: short timers so sessions come up within seconds."""

    def peer(name: str, address: str, asn: int) -> BGPPeer:
        return BGPPeer(
            name=name,
            my_asn=NODE_ASN,
            peer_asn=asn,
            peer_address=ip_address(address),
            hold_time=9.0,
            keepalive_time=3.0,
            connect_time=1,
        )

    return (
        peer("r1", R1_V4, ROUTER_ASN),
        peer("r1v6", R1_V6, ROUTER_ASN),
        peer("r2", R2_V4, NODE_ASN),
    )


# --------------------------------------------------------------------------- router view


@dataclass(frozen=True)
class PathView:
    """One path at a router, reduced to what a speaker controls.

    ``used``: the router selected it (best path or one of the multipaths), so ECMP shows as
    several used paths. ``local_pref`` is ``None`` when the UPDATE carried none (eBGP)."""

    communities: tuple[str, ...] = ()
    large_communities: tuple[str, ...] = ()
    local_pref: int | None = None
    as_path: str = ""
    origin: str = "IGP"
    used: bool = True


#: prefix -> next hop (global address) -> the path from it
RouterView = dict[str, dict[str, PathView]]


def _path_view(path: Mapping[str, Any]) -> tuple[str, PathView] | None:
    if not path.get("valid"):
        return None
    hops = [
        str(h["ip"])
        for h in path.get("nexthops", [])
        if h.get("scope", "global") == "global" and "ip" in h
    ]
    if len(hops) != 1:
        raise AssertionError(f"expected one global next hop per path, got {path!r}")
    used = bool(path.get("multipath")) or bool(path.get("bestpath", {}).get("overall"))
    return hops[0], PathView(
        communities=tuple(sorted(path.get("community", {}).get("list", []))),
        large_communities=tuple(sorted(path.get("largeCommunity", {}).get("list", []))),
        local_pref=path.get("locPrf"),
        # FRR spells the empty AS path of an iBGP-learned local route "Local"
        as_path=str(path.get("aspath", {}).get("string", "")).replace("Local", ""),
        origin=str(path.get("origin", "")),
        used=used,
    )


class Router:
    """An FRR router in its own namespace (zebra + bgpd, pathspace = namespace name)."""

    def __init__(self, ns: Namespaces, netns: str, *, name: str, asn: int) -> None:
        self.name = name
        self.asn = asn
        self.frr = FrrInstance(ns, netns, daemons=("zebra", "bgpd"))

    def configure(self, lines: Sequence[str]) -> None:
        proc = subprocess.run(
            ["vtysh", "-N", self.frr.name, "-f", "/dev/stdin"],
            input="\n".join(lines) + "\n",
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
        if proc.returncode != 0:
            raise AssertionError(f"vtysh on {self.name}: {proc.stdout}{proc.stderr}")

    def _json(self, command: str) -> dict[str, Any]:
        data = self.frr.vtysh.show_json(command, daemon="bgpd")
        return data if isinstance(data, dict) else {}

    def view(self) -> RouterView:
        """Every prefix the router has, from every node, normalized."""
        out: RouterView = {}
        for afi in ("ipv4", "ipv6"):
            table = self._json(f"show bgp {afi} unicast json").get("routes", {})
            for prefix in sorted(table):
                # the table form lacks communities: ask for the prefix's detail
                detail = self._json(f"show bgp {afi} unicast {prefix} json")
                paths = dict(p for raw in detail.get("paths", []) if (p := _path_view(raw)))
                if paths:
                    out[prefix] = paths
        return out

    def installed_next_hops(self, prefix: str) -> set[str]:
        """Next hops zebra installed for ``prefix`` (the kernel's ECMP route)."""
        afi = "ipv6" if ":" in prefix else "ip"
        data = self.frr.vtysh.show_json(f"show {afi} route {prefix} json", daemon="zebra")
        hops: set[str] = set()
        for route in data.get(prefix, []) if isinstance(data, dict) else []:
            if route.get("installed"):
                hops.update(
                    str(h.get("ip", "")) for h in route.get("nexthops", []) if h.get("active")
                )
        return hops


def ecmp_router_config(
    *, asn: int, router_id: str, remote_asn: int, v4: Iterable[str], v6: Iterable[str]
) -> list[str]:
    """vtysh lines for a router that peers with every node address (fast timers) and
    installs up to 8 equal paths per family: the router side of the ECMP scenarios."""
    v4, v6 = list(v4), list(v6)
    lines = [
        f"router bgp {asn}",
        f" bgp router-id {router_id}",
        " no bgp ebgp-requires-policy",
        " no bgp default ipv4-unicast",
    ]
    for address in (a for pair in zip(v4, v6, strict=True) for a in pair):
        lines += [
            f" neighbor {address} remote-as {remote_asn}",
            f" neighbor {address} timers 3 9",
            f" neighbor {address} timers connect 1",
        ]
    lines += [" address-family ipv4 unicast", "  maximum-paths 8"]
    lines += [f"  neighbor {a} activate" for a in v4]
    lines += [" exit-address-family", " address-family ipv6 unicast", "  maximum-paths 8"]
    lines += [f"  neighbor {a} activate" for a in v6]
    return [*lines, " exit-address-family", "exit"]


def _r1_config() -> list[str]:
    return ecmp_router_config(
        asn=ROUTER_ASN,
        router_id=str(R1_V4),
        remote_asn=NODE_ASN,
        v4=(NODE_V4[n] for n in NODES),
        v6=(NODE_V6[n] for n in NODES),
    )


def _r2_config() -> list[str]:
    lines = [
        f"router bgp {NODE_ASN}",
        f" bgp router-id {R2_V4}",
        " no bgp default ipv4-unicast",
    ]
    for n in NODES:
        lines += [
            f" neighbor {NODE_V4[n]} remote-as {NODE_ASN}",
            f" neighbor {NODE_V4[n]} timers 3 9",
            f" neighbor {NODE_V4[n]} timers connect 1",
        ]
    lines += [" address-family ipv4 unicast", "  maximum-paths ibgp 8"]
    lines += [f"  neighbor {NODE_V4[n]} activate" for n in NODES]
    return [*lines, " exit-address-family", "exit"]


# --------------------------------------------------------------------------- speakers


class NotConverged(AssertionError):
    """The routers' views never matched the expected ones (a test can expect exactly this
    failure, e.g. ``xfail(raises=NotConverged)`` for a known backend gap)."""


class Speaker(Protocol):
    def apply(self, intent: NodeBGPIntent) -> ApplyReport: ...


@dataclass
class Lab:
    backend: str
    routers: dict[str, Router]
    speakers: dict[str, Speaker]

    def apply(
        self, snapshot: ClusterSnapshot, assignments: Sequence[Assignment]
    ) -> dict[str, NodeBGPIntent]:
        """Compute every node's intent and apply it with this lab's backend (synchronous:
        on return each daemon holds its intent; the routers may still be learning it)."""
        intents = {n: bgp_intent(snapshot, assignments, node=n) for n in NODES}
        for n, intent in intents.items():
            report = self.speakers[n].apply(intent)
            # what the backend could not express (the core's own problems aside)
            problems = set(report.problems) - {str(p) for p in intent.problems}
            assert not problems, f"{self.backend} on {n}: {problems}"
        return intents

    def views(self) -> dict[str, RouterView]:
        return {name: router.view() for name, router in self.routers.items()}

    def converge(self, want: Mapping[str, RouterView], *, timeout: float = CONVERGE) -> None:
        """Poll both routers until their normalized views equal ``want`` exactly; on
        timeout, fail with what differs."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.views()
            if got == want:
                return
            if time.monotonic() > deadline:
                raise NotConverged(
                    f"{self.backend}: routers did not converge within {timeout:.0f}s:\n"
                    + "\n".join(view_diff(got, want))
                )
            time.sleep(0.2)


def view_diff(got: Mapping[str, RouterView], want: Mapping[str, RouterView]) -> list[str]:
    """One line per (router, prefix, next hop) that differs."""
    lines: list[str] = []
    for router in sorted(set(got) | set(want)):
        g, w = got.get(router, {}), want.get(router, {})
        for prefix in sorted(set(g) | set(w)):
            gp, wp = g.get(prefix, {}), w.get(prefix, {})
            for hop in sorted(set(gp) | set(wp)):
                if gp.get(hop) != wp.get(hop):
                    lines.append(
                        f"  {router} {prefix} via {hop}: got {gp.get(hop)}, want {wp.get(hop)}"
                    )
    return lines


def _start_frr_speakers(
    ns: Namespaces, node_ns: Mapping[str, str], stack: contextlib.ExitStack
) -> dict[str, Speaker]:
    speakers: dict[str, Speaker] = {}
    for n, netns in node_ns.items():
        inst = FrrInstance(ns, netns, daemons=("zebra", "bgpd"))
        stack.callback(inst.close)
        inst.start()
        speakers[n] = FrrDriver(inst.vtysh)
    return speakers


def _start_gobgp_speakers(
    ns: Namespaces, node_ns: Mapping[str, str], stack: contextlib.ExitStack, sockets: Path
) -> dict[str, Speaker]:
    apis: dict[str, str] = {}
    for n, netns in node_ns.items():
        socket = sockets / f"{n}.sock"
        prepare_socket(socket)
        apis[n] = unix_target(socket)
        ns.popen(
            netns,
            *gobgpd_command(apis[n], log_level="warn"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    speakers: dict[str, Speaker] = {}
    for n, api in apis.items():
        wait_ready(api)
        driver = GobgpDriver(api)
        stack.callback(driver.close)
        speakers[n] = driver
    return speakers


@contextlib.contextmanager
def open_lab(backend: str, *, tag: str = "par") -> Iterator[Lab]:
    """Build the topology with ``backend`` speakers; tear everything down on exit."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}")
    with contextlib.ExitStack() as stack:
        sockets = Path(tempfile.mkdtemp(prefix="mlb-parity-"))  # gobgpd API sockets
        stack.callback(shutil.rmtree, sockets, ignore_errors=True)
        # unwound after the daemons' own cleanups: kills what still runs, deletes namespaces
        ns = stack.enter_context(Namespaces(tag=tag))
        r1, r2 = ns.add("r1"), ns.add("r2")
        ns.bridge(r1, "br0")
        ns.addr(r1, "br0", f"{R1_V4}/24")
        ns.addr(r1, "br0", f"{R1_V6}/64")
        ns.veth(r2, "eth0", r1, "p-r2")
        ns.enslave(r1, "p-r2", "br0")
        ns.addr(r2, "eth0", f"{R2_V4}/24")
        node_ns: dict[str, str] = {}
        for n in NODES:
            node_ns[n] = ns.add(n)
            ns.veth(node_ns[n], "eth0", r1, f"p-{n}")
            ns.enslave(r1, f"p-{n}", "br0")
            ns.addr(node_ns[n], "eth0", f"{NODE_V4[n]}/24")
            ns.addr(node_ns[n], "eth0", f"{NODE_V6[n]}/64")
        routers = {
            "r1": Router(ns, r1, name="r1", asn=ROUTER_ASN),
            "r2": Router(ns, r2, name="r2", asn=NODE_ASN),
        }
        for router, config in ((routers["r1"], _r1_config()), (routers["r2"], _r2_config())):
            stack.callback(router.frr.close)
            router.frr.start()
            router.configure(config)
        if backend == "frr":
            speakers = _start_frr_speakers(ns, node_ns, stack)
        else:
            speakers = _start_gobgp_speakers(ns, node_ns, stack, sockets)
        yield Lab(backend, routers, speakers)
