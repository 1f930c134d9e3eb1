"""What one lab is: its directory, namespace prefix, node count, backend, and address plan.

Every name and address the other lab modules use comes from here, so the topology, the
manifests and the probes can never disagree. Addresses are documentation ranges only::

    LAN      192.0.2.0/24      router .1, node i .(10+i), client .100
    L2 pool  192.0.2.200-192.0.2.220   (the MetalLoadBalancerClass ``lab``)
    uplink   198.51.100.0/24   router .1, client .100 (the client's way to the BGP pool)
    BGP pool 203.0.113.0/24    (IPAddressPool ``lab-bgp``), router AS 64500, nodes AS 64512

Node ``n<i>``'s LAN MAC is ``02:00:00:00:00:<10+i>`` (locally administered), so an ARP answer
names its node without a lookup table.

The config is written to ``DIR/lab.json`` by ``up`` so that ``status`` and ``down`` work from
the directory alone; ``down`` also works without it, from the prefix (after a crash).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass
from enum import StrEnum
from ipaddress import IPv4Address, IPv4Network, summarize_address_range
from pathlib import Path

DEFAULT_PREFIX = "mlblab-"
MAX_NODES = 8  # the router's maximum-paths, and plenty for a laptop
_PREFIX = re.compile(r"^[a-z][a-z0-9]{0,7}-$")  # short: "<prefix>router" must fit tools' limits

LAN = IPv4Network("192.0.2.0/24")
ROUTER_LAN = IPv4Address("192.0.2.1")
CLIENT_LAN = IPv4Address("192.0.2.100")
UPLINK = IPv4Network("198.51.100.0/24")
ROUTER_UPLINK = IPv4Address("198.51.100.1")
CLIENT_UPLINK = IPv4Address("198.51.100.100")
L2_FIRST = IPv4Address("192.0.2.200")
L2_LAST = IPv4Address("192.0.2.220")
BGP_POOL = IPv4Network("203.0.113.0/24")
ROUTER_ASN = 64500
NODE_ASN = 64512

LAN_IF = "eth0"  # every namespace's LAN link
UPLINK_IF = "eth1"  # router <-> client
BRIDGE = "br0"  # in the switch namespace

MARKER = ".mlb-lab"  # a directory holding this file is a lab directory ``down`` may delete


class Backend(StrEnum):
    FRR = "frr"
    GOBGP = "gobgp"


class LabConfigError(ValueError):
    """A lab option is out of range (the user's to fix)."""


def default_directory() -> Path:
    """``/run/mlb-lab`` for root (tmpfs, gone at reboot like the namespaces), else /tmp."""
    return Path("/run/mlb-lab") if os.geteuid() == 0 else Path("/tmp/mlb-lab")


def l2_pool_cidrs() -> list[IPv4Network]:
    return list(summarize_address_range(L2_FIRST, L2_LAST))


@dataclass(frozen=True)
class LabConfig:
    directory: Path
    nodes: int = 3
    backend: Backend = Backend.FRR
    prefix: str = DEFAULT_PREFIX
    lease_duration: float = 2.0
    renew_interval: float = 1.0
    #: the cluster in a real kube-apiserver (``orchestrator.lab.kube``), not in files
    kube: bool = False
    kube_bins: str = ""  # their directory; "" = ``make kube-bins``'s

    def __post_init__(self) -> None:
        if not 1 <= self.nodes <= MAX_NODES:
            raise LabConfigError(f"--nodes must be 1..{MAX_NODES}, not {self.nodes}")
        if not _PREFIX.match(self.prefix):
            raise LabConfigError(f"prefix {self.prefix!r} must match {_PREFIX.pattern}")
        if not 0 < self.renew_interval < self.lease_duration:
            raise LabConfigError("need 0 < renew interval < lease duration")

    # -- directories
    @property
    def run_dir(self) -> Path:
        return self.directory / "run"

    @property
    def log_dir(self) -> Path:
        return self.directory / "logs"

    @property
    def manifests(self) -> Path:
        return self.directory / "manifests"

    @property
    def state(self) -> Path:
        return self.directory / "state"

    # -- names
    def ns(self, short: str) -> str:
        return self.prefix + short

    @property
    def switch(self) -> str:
        return self.ns("sw")

    @property
    def router(self) -> str:
        return self.ns("router")

    @property
    def client(self) -> str:
        return self.ns("client")

    @property
    def node_names(self) -> list[str]:
        return [f"n{i}" for i in range(1, self.nodes + 1)]

    def node_ns(self, node: str) -> str:
        return self.ns(node)

    @property
    def namespaces(self) -> list[str]:
        return [self.switch, self.router, *map(self.node_ns, self.node_names), self.client]

    # -- persistence
    def save(self) -> None:
        data = asdict(self)
        data["directory"] = str(self.directory)
        data["backend"] = self.backend.value
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / MARKER).write_text("")
        (self.directory / "lab.json").write_text(json.dumps(data, indent=2) + "\n")

    @classmethod
    def load(cls, directory: Path) -> LabConfig | None:
        try:
            data = json.loads((directory / "lab.json").read_text())
            return cls(
                directory=directory,
                nodes=int(data["nodes"]),
                backend=Backend(data["backend"]),
                prefix=str(data["prefix"]),
                lease_duration=float(data["lease_duration"]),
                renew_interval=float(data["renew_interval"]),
                kube=bool(data.get("kube", False)),
                kube_bins=str(data.get("kube_bins", "")),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None


def node_index(node: str) -> int:
    return int(node.removeprefix("n"))


def node_ip(node: str) -> IPv4Address:
    return IPv4Address(int(LAN.network_address) + 10 + node_index(node))


def node_mac(node: str) -> str:
    return f"02:00:00:00:00:{10 + node_index(node):02x}"


def node_of_mac(mac: str) -> str | None:
    mac = mac.lower()
    if not mac.startswith("02:00:00:00:00:"):
        return None
    return f"n{int(mac[-2:], 16) - 10}"
