"""The FRR model: the objects a node's FRR should hold, with every name and number computed.

``frr.translate.build_view`` produces an ``FrrView`` from the intent; the templates
(``frr.render``), the comparable model (``frr.owned``) and the command generator
(``frr.diff``) only read it. Statements are kept in FRR's own canonical spelling (the exact
text ``show running-config`` prints back), so that what we render, what we apply and what
we read back compare equal. Passwords stay ``Secret`` and are revealed only where they are
handed to vtysh or to the operator's terminal (``NeighborView.statements``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from orchestrator.core.model.cluster import Secret

#: Router-level statements we own, in the order FRR prints them (router-id comes first).
ROUTER_STATEMENTS = (
    "no bgp ebgp-requires-policy",
    "no bgp default ipv4-unicast",
    "bgp graceful-restart preserve-fw-state",
    "no bgp network import-check",
)
#: Top-level statements we own, zebra's: next hops of multi-hop peers may resolve via a
#: default route.
ZEBRA_GLOBALS = ("ip nht resolve-via-default", "ipv6 nht resolve-via-default")
#: bgpd's: route-map changes take effect at once. With FRR's default (5 s), every batch
#: that touches a route-map also holds the neighbours it creates until that timer runs out
#: (bgpd keeps peers configured through vtysh idle until the end of the configuration,
#: and the end waits for the pending route-map update): a bgpd restarted bare, or the
#: first apply, took ~4 s longer to bring its sessions up; changed attributes of announced
#: prefixes waited those 5 s too. Measured on FRR 8.4: sessions up 4.2 s -> 1.2 s after
#: the repair.
BGPD_GLOBALS = ("bgp route-map delay-timer 0",)
GLOBAL_STATEMENTS = ZEBRA_GLOBALS + BGPD_GLOBALS
#: Router statements of ours that FRR does not print under a defaults profile, because
#: there they are the default (``frr defaults datacenter`` turns ebgp-requires-policy off).
#: ``show running-config`` names the profile it runs under; comparing our target with FRR's
#: text without this made every drift check under ``datacenter`` "repair" the router
#: settings, forever. Checked against real FRR for every profile in ``PROFILES``
#: (tests/integration/test_frr_profiles.py).
PROFILE_IMPLIED: dict[str, frozenset[str]] = {
    "traditional": frozenset(),
    "datacenter": frozenset({"no bgp ebgp-requires-policy"}),
}
AFI = {4: "ipv4", 6: "ipv6"}

# FRR's BFD defaults: a profile prints only what differs from them.
BFD_DEFAULTS = {"detect-multiplier": 3, "receive-interval": 300, "transmit-interval": 300}
BFD_ECHO_DEFAULT = 50
BFD_MIN_TTL_DEFAULT = 254


@dataclass(frozen=True)
class NeighborView:
    key: str  # peer address or interface name
    peer: str  # BGPPeer name
    interface: bool
    remote_as: str  # "64500", "internal", "external"
    options: tuple[str, ...]  # statements after remote-as, FRR order, without the password
    password: Secret | None
    families: tuple[str, ...]  # "ipv4", "ipv6"
    route_map_in: str
    route_map_out: str

    @property
    def remote_as_statement(self) -> str:
        prefix = "interface " if self.interface else ""
        return f"{prefix}remote-as {self.remote_as}"

    def statements(self, *, reveal: bool) -> tuple[str, ...]:
        """Router-level statements in FRR's order; the password is revealed only on request
        (the one place that hands it to vtysh or to the operator's terminal)."""
        out = [self.remote_as_statement]
        # FRR prints: local-as, description, bfd, bfd profile, password, port, ...
        head = [s for s in self.options if s.startswith(("local-as", "description", "bfd"))]
        tail = [s for s in self.options if s not in head]
        out.extend(head)
        if self.password is not None:
            out.append(f"password {self.password.reveal() if reveal else '<redacted>'}")
        out.extend(tail)
        return tuple(out)

    def af_statements(self) -> tuple[str, ...]:
        return (
            "activate",
            f"route-map {self.route_map_in} in",
            f"route-map {self.route_map_out} out",
        )


@dataclass(frozen=True)
class RouteMapEntryView:
    name: str
    action: str  # permit | deny
    seq: int
    statements: tuple[str, ...]  # description, match, set, on-match lines in FRR order


@dataclass(frozen=True)
class CommunityListView:
    name: str
    expanded: bool
    values: tuple[str, ...]

    @property
    def style(self) -> str:
        return "expanded" if self.expanded else "standard"


@dataclass(frozen=True)
class NetworkView:
    afi: str
    prefix: str
    route_map: str


@dataclass(frozen=True)
class BfdProfileView:
    name: str
    source: str  # BFDProfile name
    statements: tuple[str, ...]


@dataclass(frozen=True)
class RouterView:
    asn: int
    statements: tuple[str, ...]


@dataclass(frozen=True)
class FrrView:
    node: str
    router: RouterView | None = None
    globals: tuple[str, ...] = ()
    neighbors: tuple[NeighborView, ...] = ()
    networks: tuple[NetworkView, ...] = ()
    route_maps: tuple[RouteMapEntryView, ...] = ()
    community_lists: tuple[CommunityListView, ...] = ()
    bfd_profiles: tuple[BfdProfileView, ...] = ()
    #: Human notes for the rendered file (withheld IPs, problems); never applied.
    notes: tuple[str, ...] = field(default=(), compare=False)

    @property
    def secrets(self) -> tuple[Secret, ...]:
        return tuple(n.password for n in self.neighbors if n.password is not None)

    def networks_in(self, afi: str) -> tuple[NetworkView, ...]:
        return tuple(n for n in self.networks if n.afi == afi)

    def neighbors_in(self, afi: str) -> tuple[NeighborView, ...]:
        return tuple(n for n in self.neighbors if afi in n.families)

    @property
    def address_families(self) -> tuple[str, ...]:
        used = {n.afi for n in self.networks} | {f for n in self.neighbors for f in n.families}
        return tuple(a for a in ("ipv4", "ipv6") if a in used)


def bfd_default(statement: str) -> str | None:
    """The statement that restores FRR's default for a BFD profile setting (FRR has no
    ``no`` form for the intervals)."""
    key = statement.rsplit(" ", 1)[0]
    if key in BFD_DEFAULTS:
        return f"{key} {BFD_DEFAULTS[key]}"
    if key in ("echo transmit-interval", "echo receive-interval"):
        return f"{key} {BFD_ECHO_DEFAULT}"
    return None
