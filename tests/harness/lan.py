"""The L2 lan the integration tests announce on: two nodes and a client on one bridge.

Topology (namespaces from one ``Namespaces``)::

            sw: bridge br0                       sw: bridge br1
         /        |          \\                   /          \\
    n1 eth0    n2 eth0     client eth0      n1 veth1      client eth1
    .11 ::11   .12 ::12    .100 ::100       (excluded by   (second segment,
                                             default name)  no addresses)

``setup_lan`` builds it (DAD off, so fresh addresses are usable at once); ``prober`` is a
raw-socket ARP/NDP client in the client namespace and ``answered_by`` the MAC that answered
for an IP (None: nobody within the timeout). Addresses are 192.0.2.0/24 and 2001:db8::/64
only; ``VIP4`` and ``VIP6`` are the addresses the tests announce.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import ip_address
from pathlib import Path

from orchestrator.adapters.netns import Namespaces
from orchestrator.l2.probe import Prober

VIP4, VIP6 = "192.0.2.50", "2001:db8::50"


@dataclass
class Lan:
    ns: Namespaces
    sw: str
    n1: str
    n2: str
    client: str
    tmp: Path

    def mac(self, node: str, iface: str = "eth0") -> str:
        return self.ns.mac(node, iface)


def setup_lan(ns: Namespaces, tmp: Path) -> Lan:
    names = {short: ns.add(short) for short in ("sw", "n1", "n2", "c")}
    for name in names.values():
        # DAD would hold fresh addresses tentative for a second; tests that want DAD
        # turn it back on for one interface
        for key in ("default", "all"):
            ns.run(name, "sysctl", "-qw", f"net.ipv6.conf.{key}.accept_dad=0")
    sw = names["sw"]
    ns.bridge(sw, "br0")
    ns.bridge(sw, "br1")
    for node, iface, port, bridge in (
        ("n1", "eth0", "n1e0", "br0"),
        ("n2", "eth0", "n2e0", "br0"),
        ("c", "eth0", "ce0", "br0"),
        ("n1", "veth1", "n1e1", "br1"),
        ("c", "eth1", "ce1", "br1"),
    ):
        ns.veth(names[node], iface, sw, port)
        ns.enslave(sw, port, bridge)
    for node, host in (("n1", 11), ("n2", 12), ("c", 100)):
        ns.addr(names[node], "eth0", f"192.0.2.{host}/24")
        ns.addr(names[node], "eth0", f"2001:db8::{host}/64")
    return Lan(ns, sw, names["n1"], names["n2"], names["c"], tmp)


def prober(lan: Lan, iface: str = "eth0") -> Prober:
    return Prober(
        iface, netns=lan.client, ip4=ip_address("192.0.2.100"), ip6=ip_address("2001:db8::100")
    )


def answered_by(p: Prober, ip: str, *, timeout: float = 0.5) -> str | None:
    got = p.resolve(ip_address(ip), timeout=timeout)
    return got[0].hex(":") if got else None
