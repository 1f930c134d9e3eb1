"""Intent -> FRR model: the node's BGP intent translated into FRR objects, names and numbers.

``build_view(intent)`` computes everything the templates and the command generator need:
route-map and list names, tag numbers, statement text in FRR's own canonical spelling
(the exact text ``show running-config`` prints back, e.g. ``ebgp-multihop 255`` and
communities in numeric order), so that what we render, what we apply and what we read back
compare equal. Templates only loop over these objects.

What a node's config looks like (names from ``frr.names``; a *class* is one distinct set
of advertisements behind a prefix, usually one advertisement, with a number N)::

    bgp large-community-list expanded MLB-TAGS permit ^<asn>:4242424242:
    bgp large-community-list standard MLB-ADV-<class> permit <asn>:4242424242:<N>
    route-map MLB-ADV-<class> permit 10         at origination: the internal tag and
     set large-community <asn>:4242424242:<N> additive        local-pref only
     set local-preference L
    route-map MLB-<peer>-in deny 10             nothing is accepted from peers
    route-map MLB-<peer>-out permit <N>         one per class the peer receives:
     match large-community MLB-ADV-<class>      the class's communities, set after FRR's
     set community ... additive                 well-known community filter (which only
     set large-comm-list MLB-TAGS delete        sees the originated path), internal
     set large-community ... additive           tags stripped
    route-map MLB-<peer>-out deny 65535         nothing else
    router bgp <asn>
     neighbor X remote-as ... / description MLB BGPPeer/<peer> / options
     address-family ipv4|ipv6 unicast
      network P route-map MLB-ADV-<class>       the only per-prefix objects
      neighbor X activate / route-map in / out

Policy objects are O(classes x peers); only the ``network`` lines scale with the prefixes.

Every user-supplied string is validated here (``names.Checker``); a failure is a
``ConversionError`` listing every problem, and nothing reaches FRR.
"""

from __future__ import annotations

from functools import lru_cache

from frr import names
from frr.model import (
    AFI,
    BFD_DEFAULTS,
    BFD_ECHO_DEFAULT,
    BFD_MIN_TTL_DEFAULT,
    GLOBAL_STATEMENTS,
    ROUTER_STATEMENTS,
    BfdProfileView,
    CommunityListView,
    FrrView,
    NeighborView,
    NetworkView,
    RouteMapEntryView,
    RouterView,
)
from frr.names import Checker
from orchestrator.core.bgp.intent import NodeBGPIntent, PeerIntent, PrefixIntent
from orchestrator.core.model.cluster import BFDProfile, CommunityKind, DynamicASN, IPNetwork

# --------------------------------------------------------------------------- build


def build_view(intent: NodeBGPIntent) -> FrrView:
    """Translate intent into FRR objects; raises ``ConversionError`` on unsafe input."""
    check = Checker()
    check.name("Node", "name", intent.node)
    notes = _notes(intent)
    if intent.asn is None or not intent.peers:
        check.raise_if_any()
        return FrrView(node=intent.node, notes=notes)
    asn = intent.asn

    for adv in intent.advertisements:
        obj = f"BGPAdvertisement/{adv.name}"
        check.name(obj, "name", adv.name)
        for c in adv.communities:
            check.community(obj, c, asn=asn)

    neighbors = tuple(_neighbor(p, intent, check) for p in intent.peers)
    bfd = tuple(_bfd_profile(b, check) for b in intent.bfd_profiles)
    check.raise_if_any()

    # Classes: the distinct sets of advertisements behind a prefix, each with a number
    # (internal tag and outbound sequence number). Two passes, the per-prefix ones cheap.
    # A class's attributes are the same in both families; its peers are those of its
    # prefixes (the intent restricts them per family).
    first: dict[tuple[str, ...], PrefixIntent] = {}
    peers_of: dict[tuple[str, ...], set[str]] = {}
    seen: set[tuple[tuple[str, ...], int]] = set()
    for prefix in intent.prefixes:
        key = (prefix.advertisements, prefix.prefix.version)
        if key not in seen:
            seen.add(key)
            first.setdefault(prefix.advertisements, prefix)
            peers_of.setdefault(prefix.advertisements, set()).update(prefix.peers)
    numbers = names.tag_numbers(names.class_key(c) for c in first)

    route_maps: list[RouteMapEntryView] = []
    lists = [CommunityListView(names.TAGS_LIST, True, (names.tags_regex(asn),))]
    receives: dict[str, list[RouteMapEntryView]] = {p.name: [] for p in intent.peers}
    class_route_map: dict[tuple[str, ...], str] = {}
    for advs, prefix in first.items():
        number = numbers[names.class_key(advs)]
        tag = names.tag_community(asn, number)
        class_route_map[advs] = names.adv_route_map(advs)
        route_maps.append(_class_route_map(class_route_map[advs], prefix, tag))
        lists.append(CommunityListView(names.adv_list(advs), False, (tag,)))
        out = _class_out_statements(prefix)
        for name in sorted(peers_of[advs]):
            receives[name].append(RouteMapEntryView(names.peer_out(name), "permit", number, out))
    networks = [
        NetworkView(AFI[p.prefix.version], _text(p.prefix), class_route_map[p.advertisements])
        for p in intent.prefixes
    ]
    for peer in intent.peers:
        route_maps.extend(_peer_route_maps(peer.name))
        route_maps.extend(receives[peer.name])

    router_statements = (
        (f"bgp router-id {intent.router_id}",) if intent.router_id is not None else ()
    ) + ROUTER_STATEMENTS
    return FrrView(
        node=intent.node,
        router=RouterView(asn, router_statements),
        globals=GLOBAL_STATEMENTS,
        neighbors=tuple(sorted(neighbors, key=lambda n: n.key)),
        networks=tuple(networks),
        route_maps=tuple(sorted(route_maps, key=lambda r: (r.name, r.seq))),
        community_lists=tuple(sorted(lists, key=lambda x: x.name)),
        bfd_profiles=tuple(sorted(bfd, key=lambda b: b.name)),
        notes=notes,
    )


@lru_cache(maxsize=1 << 17)
def _text(prefix: IPNetwork) -> str:
    """``str()`` of an IPv6 network costs ~5 us; with thousands of prefixes converted on
    every apply, remembering the text keeps a +1 change well inside its time budget."""
    return str(prefix)


def _class_route_map(name: str, prefix: PrefixIntent, tag: str) -> RouteMapEntryView:
    """The ``network`` route-map of a class: its internal tag and local-pref only (local-pref
    is not a community: FRR's well-known community rules do not apply to it)."""
    statements = [
        f"description BGPAdvertisement {', '.join(prefix.advertisements)}",
        f"set large-community {tag} additive",
    ]
    if prefix.local_pref is not None:
        statements.append(f"set local-preference {prefix.local_pref}")
    return RouteMapEntryView(name, "permit", 10, tuple(statements))


def _class_out_statements(prefix: PrefixIntent) -> tuple[str, ...]:
    """One entry of a peer's outbound route-map for a class (statements in FRR's order):
    match the class's tag, set its communities, delete every internal tag."""
    standard = names.communities_text(prefix.communities, CommunityKind.STANDARD)
    large = names.communities_text(prefix.communities, CommunityKind.LARGE)
    statements = [
        f"description BGPAdvertisement {', '.join(prefix.advertisements)}",
        f"match large-community {names.adv_list(prefix.advertisements)}",
    ]
    if standard:
        statements.append(f"set community {standard} additive")
    statements.append(f"set large-comm-list {names.TAGS_LIST} delete")
    if large:
        statements.append(f"set large-community {large} additive")
    return tuple(statements)


def _peer_route_maps(peer: str) -> tuple[RouteMapEntryView, ...]:
    """The entries every peer has: accept nothing; send nothing but its classes (their
    ``permit N`` entries come first)."""
    return (
        RouteMapEntryView(
            names.peer_in(peer),
            "deny",
            10,
            (f"description BGPPeer {peer}: accept nothing",),
        ),
        RouteMapEntryView(
            names.peer_out(peer),
            "deny",
            names.PEER_OUT_FINAL_SEQ,
            (f"description BGPPeer {peer}: nothing but its advertisements",),
        ),
    )


def _timers(hold: float | None, keepalive: float | None) -> tuple[int, int] | None:
    """MetalLB's rule: hold alone -> keepalive = hold/3; keepalive alone -> hold = 3x."""
    if hold is None and keepalive is None:
        return None
    if keepalive is None:
        assert hold is not None
        return int(hold) // 3, int(hold)
    if hold is None:
        return int(keepalive), 3 * int(keepalive)
    return int(keepalive), int(hold)


def _neighbor(p: PeerIntent, intent: NodeBGPIntent, check: Checker) -> NeighborView:
    peer = p.peer
    obj = f"BGPPeer/{peer.name}"
    check.name(obj, "name", peer.name)
    if peer.interface is not None:
        check.interface(obj, peer.interface)
        key = peer.interface
    else:
        key = str(peer.peer_address)
    if peer.password is not None:
        check.password(obj, peer.password.reveal())
    asn = intent.asn
    if peer.dynamic_asn is not None:
        remote_as = peer.dynamic_asn.value
        ebgp = peer.dynamic_asn is DynamicASN.EXTERNAL
    elif peer.peer_asn is not None:
        remote_as = str(peer.peer_asn)
        ebgp = peer.peer_asn != (peer.local_asn or asn)
    else:
        check.add(obj, "neither peerASN nor dynamicASN is set")
        remote_as, ebgp = "external", True

    options: list[str] = []
    if peer.local_asn is not None:
        options.append(f"local-as {peer.local_asn} no-prepend replace-as")
    options.append(f"description {names.description(peer.name)}")
    if p.bfd_profile is not None:
        check.name(obj, "bfdProfile", p.bfd_profile.name)
        options += ["bfd", f"bfd profile {names.bfd_profile(p.bfd_profile.name)}"]
    if peer.peer_port != 179:
        options.append(f"port {peer.peer_port}")
    if peer.ebgp_multihop and ebgp:
        # FRR prints a bare "ebgp-multihop" as 255 and ignores it on iBGP sessions
        options.append("ebgp-multihop 255")
    if peer.source_address is not None:
        options.append(f"update-source {peer.source_address}")
    timers = _timers(peer.hold_time, peer.keepalive_time)
    if timers is not None:
        options.append(f"timers {timers[0]} {timers[1]}")
    if peer.connect_time is not None:
        options.append(f"timers connect {peer.connect_time}")
    if peer.graceful_restart:
        options.append("graceful-restart")
    return NeighborView(
        key=key,
        peer=peer.name,
        interface=peer.interface is not None,
        remote_as=remote_as,
        options=tuple(options),
        password=peer.password,
        families=tuple(AFI[f] for f in sorted(p.families)),
        route_map_in=names.peer_in(peer.name),
        route_map_out=names.peer_out(peer.name),
    )


def _bfd_profile(profile: BFDProfile, check: Checker) -> BfdProfileView:
    check.name("BFDProfile", "name", profile.name)
    s: list[str] = []
    # FRR's print order; values equal to FRR's defaults are not printed by FRR either.
    if profile.detect_multiplier != BFD_DEFAULTS["detect-multiplier"]:
        s.append(f"detect-multiplier {profile.detect_multiplier}")
    if profile.transmit_interval != BFD_DEFAULTS["transmit-interval"]:
        s.append(f"transmit-interval {profile.transmit_interval}")
    if profile.receive_interval != BFD_DEFAULTS["receive-interval"]:
        s.append(f"receive-interval {profile.receive_interval}")
    if profile.passive_mode:
        s.append("passive-mode")
    if profile.echo_mode:
        s.append("echo-mode")
    if profile.echo_interval != BFD_ECHO_DEFAULT:
        s.append(f"echo transmit-interval {profile.echo_interval}")
        s.append(f"echo receive-interval {profile.echo_interval}")
    if profile.minimum_ttl is not None and profile.minimum_ttl != BFD_MIN_TTL_DEFAULT:
        s.append(f"minimum-ttl {profile.minimum_ttl}")
    return BfdProfileView(names.bfd_profile(profile.name), profile.name, tuple(s))


def _notes(intent: NodeBGPIntent) -> tuple[str, ...]:
    out = [f"not announced: {w}" for w in intent.withheld]
    out += [f"problem: {p}" for p in intent.problems]
    # Notes end up in comments of the rendered file: one printable line each, always.
    return tuple("".join(ch if " " <= ch <= "~" else "?" for ch in line) for line in out)
