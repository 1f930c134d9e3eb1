"""The part of FRR's configuration we own, in a form two configurations can be compared in.

``Owned`` holds every object we own, keyed by identity (neighbour address, route-map name
and sequence, list name, prefix, BFD profile name), each with the set of its statements in
FRR's canonical spelling. Two sources produce it:

- ``owned_from_view(view)``: what we intend (from the view model);
- ``parse_running(text)``: what FRR runs, read from ``show running-config``. Only objects
  recognisable as ours by name are read (``frr.names``); everything else in the text is
  skipped, so an engineer's additions never enter the comparison and are never repaired
  away. Inside an object we own, every statement counts: a hand-made change to one of our
  neighbours or route-maps is drift.

FRR prints only what differs from the defaults of the profile it runs under (``frr defaults
traditional`` or ``datacenter``), so a target is compared in FRR's terms:
``in_profile(target, defaults_profile(text))`` drops what that profile implies.

The diff (``frr.diff``) works on two ``Owned`` values, never on FRR text. Passwords are kept
as ``Secret`` (redacted in every repr).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from frr import names
from frr.model import GLOBAL_STATEMENTS, PROFILE_IMPLIED, ROUTER_STATEMENTS, FrrView
from orchestrator.core.model.cluster import Secret


@dataclass(frozen=True)
class NeighborState:
    interface: bool
    remote_as: str  # "remote-as 64500" or "interface remote-as 64500"
    statements: frozenset[str]  # every other router-level statement except the password
    password: Secret | None
    af: Mapping[str, frozenset[str]]  # afi -> "activate", "route-map X in", ...


@dataclass(frozen=True)
class RouteMapState:
    action: str
    statements: frozenset[str]


@dataclass(frozen=True)
class ListState:
    expanded: bool
    values: frozenset[str]


@dataclass(frozen=True)
class Owned:
    asn: int | None = None
    router: frozenset[str] = frozenset()
    globals: frozenset[str] = frozenset()
    neighbors: Mapping[str, NeighborState] = field(default_factory=dict)
    networks: Mapping[tuple[str, str], str] = field(default_factory=dict)  # (afi, prefix) -> rm
    route_maps: Mapping[tuple[str, int], RouteMapState] = field(default_factory=dict)
    lists: Mapping[str, ListState] = field(default_factory=dict)
    bfd: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return self == EMPTY


EMPTY = Owned()


def owned_from_view(view: FrrView) -> Owned:
    if view.router is None:
        return Owned(bfd={b.name: frozenset(b.statements) for b in view.bfd_profiles})
    neighbors = {
        n.key: NeighborState(
            interface=n.interface,
            remote_as=n.remote_as_statement,
            statements=frozenset(n.options),
            password=n.password,
            af={afi: frozenset(n.af_statements()) for afi in n.families},
        )
        for n in view.neighbors
    }
    return Owned(
        asn=view.router.asn,
        router=frozenset(view.router.statements),
        globals=frozenset(view.globals),
        neighbors=neighbors,
        networks={(n.afi, n.prefix): n.route_map for n in view.networks},
        route_maps={
            (r.name, r.seq): RouteMapState(r.action, frozenset(r.statements))
            for r in view.route_maps
        },
        lists={x.name: ListState(x.expanded, frozenset(x.values)) for x in view.community_lists},
        bfd={b.name: frozenset(b.statements) for b in view.bfd_profiles},
    )


def in_profile(target: Owned, profile: str | None) -> Owned:
    """``target`` as FRR prints it under ``profile``: without the statements that are
    that profile's defaults (an unknown or absent profile changes nothing)."""
    implied = PROFILE_IMPLIED.get(profile or "", frozenset())
    if target.asn is None or not implied & target.router:
        return target
    return replace(target, router=target.router - implied)


# --------------------------------------------------------------------------- parsing

_PROFILE = re.compile(r"frr defaults (\S+)")


def defaults_profile(text: str) -> str | None:
    """The defaults profile ``show running-config`` says FRR runs under."""
    for line in text.splitlines()[:20]:  # FRR prints it in the header, before any object
        if m := _PROFILE.fullmatch(line.strip()):
            return m.group(1)
    return None


_ROUTER = re.compile(r"router bgp (\d+)(?: (vrf|view) \S+)?")
_ROUTE_MAP = re.compile(r"route-map (\S+) (permit|deny) (\d+)")
_LCL = re.compile(r"bgp large-community-list (standard|expanded) (\S+)(?: seq \d+)? permit (.+)")
_AF = re.compile(r"address-family (ipv4|ipv6) unicast")
_NETWORK = re.compile(r"network (\S+)(?: route-map (\S+))?")
_NEIGHBOR = re.compile(r"neighbor (\S+) (.+)")
# our router statements in both forms: a profile may print the opposite of ours (a hand-made
# "bgp ebgp-requires-policy" shows only under datacenter, where "no" is the default)
_OWNED_ROUTER = frozenset(ROUTER_STATEMENTS) | frozenset(
    s[3:] if s.startswith("no ") else f"no {s}" for s in ROUTER_STATEMENTS
)


@dataclass
class _Neighbor:
    statements: list[str] = field(default_factory=list)
    af: dict[str, list[str]] = field(default_factory=dict)


class _Parse:
    def __init__(self) -> None:
        self.asn: int | None = None
        self.router: set[str] = set()
        self.globals: set[str] = set()
        self.neighbors: dict[str, _Neighbor] = {}
        self.networks: dict[tuple[str, str], str] = {}
        self.route_maps: dict[tuple[str, int], RouteMapState] = {}
        self.lists: dict[str, ListState] = {}
        self.bfd: dict[str, frozenset[str]] = {}


def parse_running(text: str) -> Owned:
    """Read the objects we own out of ``show running-config`` (or a rendered file)."""
    p = _Parse()
    lines = [ln.rstrip() for ln in text.splitlines()]
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line or line.lstrip().startswith("!") or line[0] == " ":
            continue
        if m := _ROUTER.fullmatch(line):
            body, i = _block(lines, i)
            if m.group(2) is None:  # default VRF only: the one router we drive
                p.asn = int(m.group(1))
                _router(body, p)
        elif m := _ROUTE_MAP.fullmatch(line):
            body, i = _block(lines, i)
            if names.is_owned_name(m.group(1)):
                key = (m.group(1), int(m.group(3)))
                p.route_maps[key] = RouteMapState(m.group(2), frozenset(s.strip() for s in body))
        elif line == "bfd":
            body, i = _block(lines, i)
            _bfd(body, p)
        elif m := _LCL.fullmatch(line):
            name = m.group(2)
            if names.is_owned_name(name):
                old = p.lists.get(name, ListState(m.group(1) == "expanded", frozenset()))
                p.lists[name] = ListState(old.expanded, old.values | {m.group(3)})
        elif line in GLOBAL_STATEMENTS:
            p.globals.add(line)
        elif _opens_block(lines, i):
            _, i = _block(lines, i)
    return Owned(
        asn=p.asn,
        router=frozenset(p.router),
        globals=frozenset(p.globals),
        neighbors=_owned_neighbors(p.neighbors),
        networks=p.networks,
        route_maps=p.route_maps,
        lists=p.lists,
        bfd=p.bfd,
    )


def _opens_block(lines: list[str], i: int) -> bool:
    return i < len(lines) and lines[i].startswith(" ")


def _block(lines: list[str], i: int) -> tuple[list[str], int]:
    """The indented lines of a top-level block, up to its closing ``exit``."""
    body: list[str] = []
    while i < len(lines):
        line = lines[i]
        if line == "exit" or (line and not line.startswith((" ", "!"))):
            return body, i + 1 if line == "exit" else i
        if line and not line.lstrip().startswith("!"):
            body.append(line)
        i += 1
    return body, i


def _router(body: list[str], p: _Parse) -> None:
    afi: str | None = None
    for raw in body:
        s = raw.strip()
        if m := _AF.fullmatch(s):
            afi = m.group(1)
            continue
        if s == "exit-address-family":
            afi = None
            continue
        if afi is None and raw.startswith("  "):
            continue  # a sub-block we do not model (e.g. a non-unicast family)
        if m := _NEIGHBOR.fullmatch(s):
            n = p.neighbors.setdefault(m.group(1), _Neighbor())
            if afi is None:
                n.statements.append(m.group(2))
            else:
                n.af.setdefault(afi, []).append(m.group(2))
        elif afi is not None:
            if (m := _NETWORK.fullmatch(s)) and m.group(2) and names.is_owned_name(m.group(2)):
                p.networks[(afi, m.group(1))] = m.group(2)
        elif s in _OWNED_ROUTER or s.startswith("bgp router-id "):
            p.router.add(s)


def _owned_neighbors(raw: dict[str, _Neighbor]) -> dict[str, NeighborState]:
    out: dict[str, NeighborState] = {}
    for key, n in raw.items():
        if not any(s.startswith("description " + names.DESCRIPTION_PREFIX) for s in n.statements):
            continue
        remote_as = ""
        password: Secret | None = None
        rest: set[str] = set()
        for s in n.statements:
            if s.startswith(("remote-as ", "interface remote-as ")):
                remote_as = s
            elif s.startswith("password "):
                password = Secret(s[len("password ") :])
            elif s != "interface":
                rest.add(s)
        out[key] = NeighborState(
            interface=remote_as.startswith("interface ") or "interface" in n.statements,
            remote_as=remote_as,
            statements=frozenset(rest),
            password=password,
            af={afi: frozenset(v) for afi, v in n.af.items()},
        )
    return out


def _bfd(body: list[str], p: _Parse) -> None:
    current: str | None = None
    statements: list[str] = []
    for raw in body:
        s = raw.strip()
        if raw.startswith("  ") and not raw.startswith("   "):
            if current is not None:
                statements.append(s)
            continue
        if current is not None and names.is_owned_name(current):
            p.bfd[current] = frozenset(statements)
        current, statements = None, []
        if s.startswith("profile "):
            current = s[len("profile ") :]
    if current is not None and names.is_owned_name(current):
        p.bfd[current] = frozenset(statements)
