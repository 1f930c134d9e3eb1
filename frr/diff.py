"""The minimal vtysh command batch that turns one ``Owned`` configuration into another.

docs/design.md §8: changes are applied as the diff of two models (what we applied before,
or what FRR was read to run, versus what we intend now), never by re-sending a full config.
Adding one Service IP costs one ``network`` command; a new advertisement or peer costs a
handful of route-map and list commands; nothing scales with the number of prefixes except
the ``network`` lines themselves.

Order matters to FRR: objects are created before anything references them and removed after
the last reference is gone:

1. top-level globals, BFD profiles, list entries, route-map entries (create / change);
2. ``router bgp``: global statements, neighbours, then per address family the neighbour
   activation and route-maps and the ``network`` lines;
3. removed route-map entries, list entries, BFD profiles.

Inside one object, statements that went away are negated before new ones are added, so a
changed value (``timers 10 30`` -> ``timers 3 9``) is never removed after being set. A
``network`` whose route-map changes is re-issued in place (no withdraw in between).

``Command`` carries its context (``router bgp N`` > ``address-family ipv4 unicast``);
``batch_text`` turns a command list into a ``vtysh -f`` file, entering and leaving
contexts as needed. Every emitted line must be one line of printable ASCII: a last check
against config injection that does not rely on the view model having validated.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from frr.errors import UnsafeCommandError
from frr.model import GLOBAL_STATEMENTS, bfd_default
from frr.names import SAFE_LINE
from frr.owned import EMPTY, ListState, NeighborState, Owned, RouteMapState


@dataclass(frozen=True)
class Command:
    context: tuple[str, ...]  # e.g. ("router bgp 64512", "address-family ipv4 unicast")
    line: str  # "" = only make sure the context exists (an empty route-map entry, profile)
    secret: bool = False  # the line holds a password: never logged

    def __repr__(self) -> str:
        shown = "<redacted>" if self.secret else self.line
        return f"Command({' > '.join(self.context) or 'config'}: {shown!r})"

    __str__ = __repr__


def _negate(statement: str) -> str:
    return statement[3:] if statement.startswith("no ") else f"no {statement}"


def _neighbor_negation(key: str, statement: str) -> str:
    if statement.startswith("description "):
        return f"no neighbor {key} description"
    return f"no neighbor {key} {statement}"


def _af_order(statement: str) -> tuple[int, str]:
    return (0 if statement == "activate" else 1, statement)


def _in_order(statements: Iterable[str]) -> list[str]:
    """Globals in the model's order: zebra's first, then bgpd's, so that a batch needs one
    vtysh run per daemon and the route-map delay is off before any route-map changes."""
    rank = {s: i for i, s in enumerate(GLOBAL_STATEMENTS)}
    return sorted(statements, key=lambda s: (rank.get(s, len(rank)), s))


def diff(old: Owned, new: Owned) -> list[Command]:
    """Commands that turn ``old`` into ``new``."""
    out: list[Command] = []
    if old.asn is not None and old.asn != new.asn:
        # one default-VRF router per FRR: a new ASN (or no peers any more) replaces it
        out.append(Command((), f"no router bgp {old.asn}"))
        old = Owned(globals=old.globals, route_maps=old.route_maps, lists=old.lists, bfd=old.bfd)

    for g in _in_order(new.globals - old.globals):
        out.append(Command((), g))
    out += _bfd_changes(old.bfd, new.bfd)
    out += _list_additions(old.lists, new.lists)
    out += _route_map_changes(old.route_maps, new.route_maps)
    if new.asn is not None:
        out += _router_changes(old, new)
    out += _route_map_removals(old.route_maps, new.route_maps)
    out += _list_removals(old.lists, new.lists)
    for name in sorted(set(old.bfd) - set(new.bfd)):
        out.append(Command(("bfd",), f"no profile {name}"))
    for g in _in_order(old.globals - new.globals):
        out.append(Command((), _negate(g)))
    return out


def full(new: Owned) -> list[Command]:
    """Everything, for a bare FRR."""
    return diff(EMPTY, new)


# --------------------------------------------------------------------------- objects


def _bfd_changes(
    old: Mapping[str, frozenset[str]], new: Mapping[str, frozenset[str]]
) -> list[Command]:
    out: list[Command] = []
    for name in sorted(new):
        before = old.get(name)
        if before == new[name]:
            continue
        ctx = ("bfd", f"profile {name}")
        if before is None:
            out.append(Command(ctx, ""))
            before = frozenset()
        for s in sorted(before - new[name]):
            out.append(Command(ctx, bfd_default(s) or _negate(s)))
        for s in sorted(new[name] - before):
            out.append(Command(ctx, s))
    return out


def _list_line(name: str, state: ListState, value: str) -> str:
    style = "expanded" if state.expanded else "standard"
    return f"bgp large-community-list {style} {name} permit {value}"


def _list_additions(old: Mapping[str, ListState], new: Mapping[str, ListState]) -> list[Command]:
    out: list[Command] = []
    for name in sorted(new):
        state = new[name]
        before = old.get(name)
        if before is not None and before.expanded != state.expanded:
            style = "expanded" if before.expanded else "standard"
            out.append(Command((), f"no bgp large-community-list {style} {name}"))
            before = None
        have = before.values if before is not None else frozenset()
        for v in sorted(state.values - have):
            out.append(Command((), _list_line(name, state, v)))
    return out


def _list_removals(old: Mapping[str, ListState], new: Mapping[str, ListState]) -> list[Command]:
    out: list[Command] = []
    for name in sorted(old):
        state = old[name]
        after = new.get(name)
        style = "expanded" if state.expanded else "standard"
        if after is None:
            out.append(Command((), f"no bgp large-community-list {style} {name}"))
        elif after.expanded == state.expanded:
            for v in sorted(state.values - after.values):
                out.append(Command((), "no " + _list_line(name, state, v)))
    return out


def _route_map_changes(
    old: Mapping[tuple[str, int], RouteMapState], new: Mapping[tuple[str, int], RouteMapState]
) -> list[Command]:
    out: list[Command] = []
    for key in sorted(new):
        name, seq = key
        state = new[key]
        before = old.get(key)
        if before == state:
            continue
        if before is not None and before.action != state.action:
            out.append(Command((), f"no route-map {name} {before.action} {seq}"))
            before = None
        ctx = (f"route-map {name} {state.action} {seq}",)
        have = before.statements if before is not None else frozenset()
        if before is None:
            out.append(Command(ctx, ""))
        for s in sorted(have - state.statements):
            out.append(
                Command(ctx, "no description" if s.startswith("description ") else _negate(s))
            )
        for s in _rm_order(state.statements - have):
            out.append(Command(ctx, s))
    return out


def _rm_order(statements: Iterable[str]) -> list[str]:
    rank = {"description": 0, "match": 1, "set": 2}
    return sorted(statements, key=lambda s: (rank.get(s.split(" ", 1)[0], 3), s))


def _route_map_removals(
    old: Mapping[tuple[str, int], RouteMapState], new: Mapping[tuple[str, int], RouteMapState]
) -> list[Command]:
    out: list[Command] = []
    remaining = {name for name, _ in new}
    whole: set[str] = set()
    for key in sorted(old):
        name, seq = key
        if key in new:
            continue  # kept, changed in place, or re-created with another action
        if name not in remaining:
            if name not in whole:
                whole.add(name)
                out.append(Command((), f"no route-map {name}"))
            continue
        out.append(Command((), f"no route-map {name} {old[key].action} {seq}"))
    return out


# --------------------------------------------------------------------------- router


def _router_changes(old: Owned, new: Owned) -> list[Command]:
    assert new.asn is not None
    top = (f"router bgp {new.asn}",)
    out: list[Command] = []
    if old.asn is None:
        out.append(Command(top, ""))
    for s in sorted(old.router - new.router):
        if not s.startswith("no "):  # our "no ..." statements stay while the router does
            out.append(Command(top, _negate(s)))
    for s in sorted(new.router - old.router, key=lambda s: (not s.startswith("bgp router-id"), s)):
        out.append(Command(top, s))

    for key in sorted(set(old.neighbors) - set(new.neighbors)):
        out.append(Command(top, f"no neighbor {key}"))
    old_neighbors = dict(old.neighbors)
    for key in sorted(new.neighbors):
        n = new.neighbors[key]
        before = old_neighbors.get(key)
        if before is not None and before.interface != n.interface:
            out.append(Command(top, f"no neighbor {key}"))
            old_neighbors.pop(key)
            before = None
        out += _neighbor_changes(top, key, before, n)

    for afi in ("ipv4", "ipv6"):
        ctx = (*top, f"address-family {afi} unicast")
        for key in sorted(new.neighbors):
            n = new.neighbors[key]
            before_n = old_neighbors.get(key)
            have = before_n.af.get(afi, frozenset()) if before_n is not None else frozenset()
            want = n.af.get(afi, frozenset())
            gone = sorted(have - want, key=_af_order, reverse=True)
            out += [Command(ctx, f"no neighbor {key} {s}") for s in gone]
            out += [Command(ctx, f"neighbor {key} {s}") for s in sorted(want - have, key=_af_order)]
        out += _network_changes(ctx, afi, old.networks, new.networks)
    return out


def _neighbor_changes(
    top: tuple[str, ...], key: str, before: NeighborState | None, n: NeighborState
) -> list[Command]:
    out: list[Command] = []
    if before is None or before.remote_as != n.remote_as:
        out.append(Command(top, f"neighbor {key} {n.remote_as}"))
    have = before.statements if before is not None else frozenset()
    # reverse order: "no ... bfd profile P" before "no ... bfd" (which drops the profile too)
    for s in sorted(have - n.statements, reverse=True):
        out.append(Command(top, _neighbor_negation(key, s)))
    old_pw = before.password if before is not None else None
    if old_pw is not None and n.password is None:
        out.append(Command(top, f"no neighbor {key} password"))
    # bfd before "bfd profile": FRR wants the profile to be attached to a BFD session
    for s in sorted(n.statements - have):
        out.append(Command(top, f"neighbor {key} {s}"))
    if n.password is not None and n.password != old_pw:
        out.append(Command(top, f"neighbor {key} password {n.password.reveal()}", secret=True))
    return out


def _network_changes(
    ctx: tuple[str, ...],
    afi: str,
    old: Mapping[tuple[str, str], str],
    new: Mapping[tuple[str, str], str],
) -> list[Command]:
    out: list[Command] = []
    # dict iteration, not sorting: with thousands of prefixes the batch is built in O(n)
    for (fam, prefix), rm in new.items():
        if fam == afi and old.get((fam, prefix)) != rm:
            out.append(Command(ctx, f"network {prefix} route-map {rm}"))
    for fam, prefix in old:
        if fam == afi and (fam, prefix) not in new:
            out.append(Command(ctx, f"no network {prefix}"))
    return out


# --------------------------------------------------------------------------- batch text


def _exit_word(header: str) -> str:
    return "exit-address-family" if header.startswith("address-family") else "exit"


def batch_text(commands: Iterable[Command]) -> str:
    """A ``vtysh -f`` file for the commands (which are already in config mode)."""
    out: list[str] = []
    stack: tuple[str, ...] = ()
    for cmd in commands:
        for text in (*cmd.context, cmd.line):
            if "\n" in text or "\r" in text or not SAFE_LINE.fullmatch(text):
                raise UnsafeCommandError(f"refusing an unsafe command in {cmd!r}")
            if text.lstrip().startswith(("!", "#")):
                raise UnsafeCommandError(f"refusing a comment-like command in {cmd!r}")
        ctx = cmd.context
        common = 0
        while common < min(len(stack), len(ctx)) and stack[common] == ctx[common]:
            common += 1
        for level in range(len(stack) - 1, common - 1, -1):
            out.append(" " * level + _exit_word(stack[level]))
        for level in range(common, len(ctx)):
            out.append(" " * level + ctx[level])
        stack = ctx
        if cmd.line:
            out.append(" " * len(ctx) + cmd.line)
    for level in range(len(stack) - 1, -1, -1):
        out.append(" " * level + _exit_word(stack[level]))
    return "\n".join(out) + "\n" if out else ""


def summary(commands: list[Command]) -> str:
    """A log-safe one-line description of a batch (counts, no values)."""
    nets = sum(1 for c in commands if c.line.startswith("network "))
    no_nets = sum(1 for c in commands if c.line.startswith("no network "))
    return f"{len(commands)} commands (+{nets} / -{no_nets} networks)"
