"""The lab's network: namespaces, links, addresses, routes and sysctls.

::

                       <p>sw: bridge br0 (the LAN, 192.0.2.0/24)
        +---------------+-------------+-----------+-------------+
        |               |             |           |             |
   <p>router        <p>n1 .11     <p>n2 .12 ... <p>nN       <p>client
   eth0 .1          speaker, FRR or gobgpd,                  eth0 .100 (LAN)
   eth1 198.51.100.1   HTTP pod on :80                       eth1 198.51.100.100
        +--------------------------------------------------------+
                     uplink 198.51.100.0/24 (client -> router -> BGP VIPs)

Every namespace's LAN link is ``eth0`` (its switch port is ``p-<short>`` in ``<p>sw``).

Nodes accept the service IPs the way kube-proxy in IPVS mode does: a ``local`` route for the
L2 pool and the BGP pool on ``lo`` (AnyIP), so a packet for any VIP is delivered to the HTTP
pod whichever node it reaches. The kernel would then also answer ARP for those addresses on
the LAN, so ``arp_ignore=1`` (answer only for addresses configured on the receiving link)
and ``arp_announce=2`` (never use a VIP as an ARP source) leave ARP for VIPs to our
announcer alone.

The router forwards (``ip_forward``) and hashes ECMP on layer 4
(``fib_multipath_hash_policy=1``), so the client's connections to a BGP VIP spread over the
nodes. The root namespace gets nothing: each veth is created with both ends already inside
namespaces, and every address, route and sysctl is set inside one.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from orchestrator.adapters.netns import Namespaces, NetnsError, leftover_namespaces
from orchestrator.lab import procs
from orchestrator.lab.config import (
    BGP_POOL,
    BRIDGE,
    CLIENT_LAN,
    CLIENT_UPLINK,
    LAN,
    LAN_IF,
    ROUTER_LAN,
    ROUTER_UPLINK,
    UPLINK,
    UPLINK_IF,
    LabConfig,
    l2_pool_cidrs,
    node_ip,
    node_mac,
)

_ip = Namespaces()  # used only for its command helpers; the lab names its own namespaces


def existing(prefix: str) -> list[str]:
    return leftover_namespaces(prefix)


def _batch(ns: str, commands: Sequence[str]) -> None:
    """Several ``ip`` commands in one process (``ip -n NS -batch -``)."""
    proc = subprocess.run(
        ["ip", "-n", ns, "-batch", "-"],
        input="\n".join(commands) + "\n",
        capture_output=True,
        text=True,
        check=False,
        timeout=20,
    )
    if proc.returncode != 0:
        raise NetnsError(f"ip -n {ns} -batch: {proc.stderr.strip()[:400]}")


def _sysctl(ns: str, *settings: str) -> None:
    _ip.run(ns, "sysctl", "-q", "-w", *settings)


def create(config: LabConfig) -> None:
    """Build the whole topology. Raises ``NetnsError``; the caller tears down on failure."""
    for ns in config.namespaces:
        subprocess.run(["ip", "netns", "add", ns], capture_output=True, check=True, timeout=20)
        _batch(ns, ["link set lo up"])
    sw = config.switch
    _batch(sw, [f"link add {BRIDGE} type bridge", f"link set {BRIDGE} up"])
    for ns in config.namespaces[1:]:
        port = "p-" + ns.removeprefix(config.prefix)
        _ip.veth(ns, LAN_IF, sw, port)
        _ip.enslave(sw, port, BRIDGE)
    _ip.veth(config.router, UPLINK_IF, config.client, UPLINK_IF)

    lan, up = LAN.prefixlen, UPLINK.prefixlen
    _batch(
        config.router,
        [
            f"addr add {ROUTER_LAN}/{lan} dev {LAN_IF}",
            f"addr add {ROUTER_UPLINK}/{up} dev {UPLINK_IF}",
        ],
    )
    _sysctl(config.router, "net.ipv4.ip_forward=1", "net.ipv4.fib_multipath_hash_policy=1")
    _batch(
        config.client,
        [
            f"addr add {CLIENT_LAN}/{lan} dev {LAN_IF}",
            f"addr add {CLIENT_UPLINK}/{up} dev {UPLINK_IF}",
            f"route add {BGP_POOL} via {ROUTER_UPLINK}",
        ],
    )
    for node in config.node_names:
        configure_node(config, node)


def configure_node(config: LabConfig, node: str) -> None:
    ns = config.node_ns(node)
    vips = [*l2_pool_cidrs(), BGP_POOL]
    _batch(
        ns,
        [
            f"link set {LAN_IF} down",
            f"link set {LAN_IF} address {node_mac(node)}",
            f"link set {LAN_IF} up",
            f"addr add {node_ip(node)}/{LAN.prefixlen} dev {LAN_IF}",
            f"route add default via {ROUTER_LAN}",
            *(f"route add local {cidr} dev lo" for cidr in vips),
        ],
    )
    _sysctl(
        ns,
        "net.ipv4.conf.all.arp_ignore=1",
        "net.ipv4.conf.all.arp_announce=2",
        f"net.ipv4.conf.{LAN_IF}.arp_ignore=1",
        f"net.ipv4.conf.{LAN_IF}.arp_announce=2",
    )


def set_link(config: LabConfig, node: str, *, up: bool) -> None:
    """A node's LAN link up or down (down: the node is cut off, as if its cable were pulled).

    Taking a link down deletes the routes through it, so bringing it up restores the
    default route (the node's way back to the client behind the router)."""
    if up:
        _batch(
            config.node_ns(node),
            [f"link set {LAN_IF} up", f"route replace default via {ROUTER_LAN}"],
        )
    else:
        _batch(config.node_ns(node), [f"link set {LAN_IF} down"])


def destroy(prefix: str) -> list[str]:
    """Kill what runs in every namespace named ``<prefix>*`` and delete them (idempotent)."""
    names = existing(prefix)
    for ns in names:
        procs.kill_netns(ns)
    for ns in names:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False, timeout=20)
    return names
