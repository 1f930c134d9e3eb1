"""FRR translation and names (frr.translate, frr.model, frr.names).

Matrix: names we own (prefix, shortening, stable class numbers), community spelling as FRR
prints it, per-peer statements (timers rule, ebgp-multihop only on eBGP, password
placement and redaction, BFD defaults), class route-maps carrying only the internal tag and
local-pref, communities set per peer on the way out (one entry per class the peer receives,
the merged set for overlapping advertisements, a final deny), and the second line
of defence against config injection: names, interfaces, communities and passwords holding
newlines, ``!``, ``end`` or ``exit`` give a ``ConversionError`` that is one printable line
and never shows a password.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from frr import names
from frr.diff import Command, batch_text, full
from frr.errors import ConversionError, UnsafeCommandError
from frr.model import FrrView
from frr.owned import owned_from_view
from frr.translate import build_view
from orchestrator.core.bgp.compute import bgp_intent
from orchestrator.core.model.cluster import (
    BFDProfile,
    BGPAdvertisement,
    BGPPeer,
    Community,
    CommunityKind,
    Secret,
)
from tests.golden.frr_scenarios import SCENARIOS, assign, large, peer, service, snapshot, std

WEB = [assign("default/web", "203.0.113.10")]


def view_for(
    peers: list[BGPPeer], advs: list[BGPAdvertisement] | None = None, **kw: object
) -> FrrView:
    snap = snapshot(
        peers=peers,
        advertisements=advs or [BGPAdvertisement(name="default")],
        services=[service("web")],
        **kw,  # type: ignore[arg-type]
    )
    return build_view(bgp_intent(snap, WEB, node="n1"))


def test_owned_names() -> None:
    assert names.peer_out("r1") == "MLB-r1-out"
    assert names.adv_route_map(("a",)) == "MLB-ADV-a"
    assert names.adv_route_map(("a", "b")) == "MLB-ADV-a+b"
    assert names.adv_list(("a", "b")) == "MLB-ADV-a+b"  # lists have their own namespace
    long = "x" * 60
    assert names.part(long) == names.part(long) and len(names.part(long)) == 40
    assert names.part(long) != names.part(long + "y")
    assert names.adv_route_map((long, long + "z")).startswith("MLB-ADV-multi-")
    assert all(names.is_owned_name(n) for n in (names.peer_in("p"), names.TAGS_LIST))


def test_tag_numbers_are_stable_and_unique() -> None:
    few = names.tag_numbers(["a", "b"])
    more = names.tag_numbers(["a", "b", "c", "zzz"])
    assert few["a"] == more["a"] and few["b"] == more["b"]
    many = names.tag_numbers(f"adv-{i}" for i in range(3000))
    assert len(set(many.values())) == 3000
    # they are also sequence numbers of the outbound route-maps, below the final entry
    assert all(1 <= n <= names.TAG_MAX < names.PEER_OUT_FINAL_SEQ <= 65535 for n in many.values())


@pytest.mark.parametrize(
    ("community", "text"),
    [
        (Community(CommunityKind.STANDARD, "65000:100"), "65000:100"),
        (Community(CommunityKind.STANDARD, "no-export"), "no-export"),
        (Community(CommunityKind.STANDARD, "65535:65281"), "no-export"),
        (Community(CommunityKind.STANDARD, "local-as"), "local-AS"),
        (Community(CommunityKind.LARGE, "4200000000:1:2"), "4200000000:1:2"),
    ],
)
def test_community_text_comes_from_the_models_numbers(community: Community, text: str) -> None:
    assert names.community_text(community) == text


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        (CommunityKind.STANDARD, "65536:1"),
        (CommunityKind.LARGE, "1:2"),
        (CommunityKind.STANDARD, "65000:1 additive"),  # an injection attempt never exists
    ],
)
def test_an_ill_formed_community_cannot_exist(kind: CommunityKind, value: str) -> None:
    with pytest.raises(ValueError, match="community"):
        Community(kind, value)


def _with_communities() -> BGPAdvertisement:
    return BGPAdvertisement(
        name="a",
        local_pref=120,
        communities=(std("no-export"), std("65000:300"), std("65000:100"), large("1:2:3")),
    )


def test_origination_sets_only_the_tag_and_local_pref() -> None:
    view = view_for([peer("r1", "198.51.100.1")], [_with_communities()])
    number = names.tag_numbers(["a"])["a"]
    tag = names.tag_community(64512, number)
    (rm,) = [r for r in view.route_maps if r.name == "MLB-ADV-a"]
    # no community at origination: FRR's well-known community rules would apply to it
    assert rm.statements == (
        "description BGPAdvertisement a",
        f"set large-community {tag} additive",
        "set local-preference 120",
    )
    (tags,) = [x for x in view.community_lists if x.name == "MLB-ADV-a"]
    assert tags.values == (tag,) and not tags.expanded
    assert [n.route_map for n in view.networks] == ["MLB-ADV-a"]


def test_communities_are_set_per_peer_on_the_way_out_in_frr_order() -> None:
    view = view_for([peer("r1", "198.51.100.1")], [_with_communities()])
    number = names.tag_numbers(["a"])["a"]
    out = {r.seq: r for r in view.route_maps if r.name == "MLB-r1-out"}
    assert set(out) == {number, names.PEER_OUT_FINAL_SEQ}
    assert out[number].action == "permit"
    assert out[number].statements == (
        "description BGPAdvertisement a",
        "match large-community MLB-ADV-a",
        "set community 65000:100 65000:300 no-export additive",
        "set large-comm-list MLB-TAGS delete",
        "set large-community 1:2:3 additive",
    )
    final = out[names.PEER_OUT_FINAL_SEQ]
    assert final.action == "deny" and all(s.startswith("description") for s in final.statements)


def test_plain_advertisement_only_strips_the_tag() -> None:
    view = view_for([peer("r1", "198.51.100.1")])
    number = names.tag_numbers(["default"])["default"]
    (entry,) = [r for r in view.route_maps if r.name == "MLB-r1-out" and r.seq == number]
    assert entry.statements == (
        "description BGPAdvertisement default",
        "match large-community MLB-ADV-default",
        "set large-comm-list MLB-TAGS delete",
    )


def test_each_peer_gets_entries_for_the_classes_it_receives_only() -> None:
    advs = [
        BGPAdvertisement(name="to-r1", communities=(std("65000:1"),), peers=("r1",)),
        BGPAdvertisement(name="gold", communities=(std("no-advertise"),), pools=("public6",)),
    ]
    snap = snapshot(
        peers=[peer("r1", "198.51.100.1"), peer("r2", "198.51.100.2", dual_stack=True)],
        advertisements=advs,
        services=[service("web"), service("v6")],
    )
    assignments = [*WEB, assign("default/v6", "2001:db8:100::10", pool="public6")]
    view = build_view(bgp_intent(snap, assignments, node="n1"))
    numbers = names.tag_numbers(["to-r1", "gold"])
    entries = {(r.name, r.seq): r for r in view.route_maps if r.name.endswith("-out")}
    final = names.PEER_OUT_FINAL_SEQ
    # r1 is an IPv4 session: nothing of "gold" (IPv6 only here) reaches it
    assert set(entries) == {
        ("MLB-r1-out", numbers["to-r1"]),
        ("MLB-r1-out", final),
        ("MLB-r2-out", numbers["gold"]),
        ("MLB-r2-out", final),
    }
    gold = entries[("MLB-r2-out", numbers["gold"])]
    assert "set community no-advertise additive" in gold.statements
    assert {x.name for x in view.community_lists} == {"MLB-ADV-to-r1", "MLB-ADV-gold", "MLB-TAGS"}


def test_overlapping_advertisements_are_one_class_with_the_merged_communities() -> None:
    snap, assignments, node = SCENARIOS["overlap"]()
    view = build_view(bgp_intent(snap, assignments, node=node))
    name = "MLB-ADV-both+to-r1+to-r2"
    number = names.tag_numbers(["both+to-r1+to-r2"])["both+to-r1+to-r2"]
    (tags,) = [x for x in view.community_lists if x.name == name]
    assert tags.values == (names.tag_community(64512, number),)
    for p in ("r1", "r2"):  # what the intent says: every receiving peer gets the union
        (entry,) = [r for r in view.route_maps if r.name == f"MLB-{p}-out" and r.seq == number]
        assert f"match large-community {name}" in entry.statements
        assert "set community 65000:1 65000:2 additive" in entry.statements


def test_class_numbers_do_not_move_when_other_classes_come_and_go() -> None:
    one = view_for([peer("r1", "198.51.100.1")], [BGPAdvertisement(name="a")])
    advs = [
        BGPAdvertisement(name="a", pools=("public",)),
        BGPAdvertisement(name="b", pools=("public6",)),
    ]
    snap = snapshot(
        peers=[peer("r1", "198.51.100.1", dual_stack=True)],
        advertisements=advs,
        services=[service("web"), service("v6")],
    )
    assignments = [*WEB, assign("default/v6", "2001:db8:100::10", pool="public6")]
    two = build_view(bgp_intent(snap, assignments, node="n1"))
    kept = {(r.name, r.seq) for r in one.route_maps}
    assert kept <= {(r.name, r.seq) for r in two.route_maps}


def test_neighbor_statements() -> None:
    p = peer(
        "r1",
        "198.51.100.1",
        hold_time=90.0,
        ebgp_multihop=True,
        password=Secret("pw"),
        peer_port=1179,
    )
    ibgp = peer("r2", "198.51.100.2", peer_asn=64512, ebgp_multihop=True, keepalive_time=5.0)
    view = view_for([p, ibgp])
    n1, n2 = view.neighbors
    assert n1.statements(reveal=False) == (
        "remote-as 64500",
        "description MLB BGPPeer/r1",
        "password <redacted>",
        "port 1179",
        "ebgp-multihop 255",
        "timers 30 90",
    )
    assert "password pw" in n1.statements(reveal=True)
    assert "pw" not in repr(view)
    assert n2.statements(reveal=True) == (
        "remote-as 64512",
        "description MLB BGPPeer/r2",
        "timers 5 15",
    )


def test_bfd_profile_prints_only_non_defaults() -> None:
    profiles = [BFDProfile(name="plain"), BFDProfile(name="fast", receive_interval=50)]
    view = view_for(
        [
            peer("r1", "198.51.100.1", bfd_profile="fast"),
            peer("r2", "198.51.100.2", bfd_profile="plain"),
        ],
        bfd=profiles,
    )
    assert {b.name: b.statements for b in view.bfd_profiles} == {
        "MLB-fast": ("receive-interval 50",),
        "MLB-plain": (),
    }
    assert "bfd profile MLB-fast" in view.neighbors[0].options


def test_golden_scenarios_convert() -> None:
    for make in SCENARIOS.values():
        snap, assignments, node = make()
        build_view(bgp_intent(snap, assignments, node=node))


def test_names_like_end_and_exit_are_fine_inside_identifiers() -> None:
    view = view_for([peer("exit", "198.51.100.1")], [BGPAdvertisement(name="end")])
    assert names.peer_out("exit") in {r.name for r in view.route_maps}
    text = batch_text(full(owned_from_view(view)))
    assert all(line.strip() not in ("end",) for line in text.splitlines())


INJECTIONS = [
    ("peer name", lambda p: replace(p, name="r1\nexit\nno router bgp 64512")),
    ("peer name bang", lambda p: replace(p, name="r1 ! x")),
    ("interface", lambda p: replace(p, peer_address=None, interface="eth0\nend")),
    ("password newline", lambda p: replace(p, password=Secret("pw\nend"))),
    ("password bang", lambda p: replace(p, password=Secret("pw!"))),
    ("password exit", lambda p: replace(p, password=Secret("exit end"))),
    ("bfd profile", lambda p: replace(p, bfd_profile="fast\nexit")),
]


@pytest.mark.parametrize(("what", "mutate"), INJECTIONS, ids=[w for w, _ in INJECTIONS])
def test_injection_in_peers_is_rejected(what: str, mutate: object) -> None:
    bad = mutate(peer("r1", "198.51.100.1"))  # type: ignore[operator]
    bfd = [BFDProfile(name=bad.bfd_profile)] if bad.bfd_profile else []
    with pytest.raises(ConversionError) as err:
        view_for([bad], bfd=bfd)
    message = str(err.value)
    assert "\n" not in message and all(" " <= ch <= "~" for ch in message)
    if bad.password is not None:
        assert bad.password.reveal() not in message


@pytest.mark.parametrize("text", ["65000:1\nend", "65000:1 !", "large:1:2:3\nexit"])
def test_injection_in_communities_cannot_even_be_built(text: str) -> None:
    with pytest.raises(ValueError, match="not a normalized"):
        (large if text.startswith("large:") else std)(text.removeprefix("large:"))


def test_a_community_like_an_internal_tag_is_rejected() -> None:
    adv = BGPAdvertisement(name="a", communities=(large("64512:4242424242:7"),))
    with pytest.raises(ConversionError) as err:
        view_for([peer("r1", "198.51.100.1")], [adv])
    assert "reserved for internal tags" in str(err.value) and "\n" not in str(err.value)


def test_injection_in_advertisement_name_is_rejected() -> None:
    with pytest.raises(ConversionError):
        view_for([peer("r1", "198.51.100.1")], [BGPAdvertisement(name="a\nend")])


def test_every_problem_reported_at_once() -> None:
    with pytest.raises(ConversionError) as err:
        view_for(
            [replace(peer("r1", "198.51.100.1"), password=Secret("a b"))],
            [BGPAdvertisement(name="Bad", communities=(large("64512:4242424242:1"),))],
        )
    assert len(err.value.problems) == 3


def test_batch_text_refuses_unsafe_lines_even_without_the_view() -> None:
    for line in ("network 1.2.3.4/32\nend", "description \x1b[2J", "! comment"):
        with pytest.raises(UnsafeCommandError):
            batch_text([Command(("router bgp 1",), line)])
    with pytest.raises(UnsafeCommandError):
        batch_text([Command(("route-map X permit 10\nexit",), "set tag 1")])
    secret = Command(("router bgp 1",), "neighbor 1.1.1.1 password s3cr3t", secret=True)
    assert "s3cr3t" not in repr(secret) and "s3cr3t" not in str([secret])
