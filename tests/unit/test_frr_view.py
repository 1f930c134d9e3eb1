"""FRR view model and names (frr.view, frr.names).

Matrix: names we own (prefix, shortening, stable tag numbers), community spelling as FRR
prints it, per-peer statements (timers rule, ebgp-multihop only on eBGP, password
placement and redaction, BFD defaults), class route-maps carrying tags, and the second line
of defence against config injection: names, interfaces, communities and passwords holding
newlines, ``!``, ``end`` or ``exit`` give a ``ConversionError`` that is one printable line
and never shows a password.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from frr import names
from frr.diff import Command, UnsafeCommandError, batch_text, full
from frr.names import ConversionError
from frr.owned import owned_from_view
from frr.view import FrrView, build_view
from orchestrator.core.bgp import bgp_intent
from orchestrator.core.model import (
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
    assert all(1 <= n <= 999_999 for n in many.values())


@pytest.mark.parametrize(
    ("community", "text"),
    [
        (Community(CommunityKind.STANDARD, "65000:100"), "65000:100"),
        (Community(CommunityKind.STANDARD, "no-export"), "no-export"),
        (Community(CommunityKind.STANDARD, "65535:65281"), "no-export"),
        (Community(CommunityKind.STANDARD, "local-as"), "local-AS"),
        (Community(CommunityKind.LARGE, "4200000000:1:2"), "4200000000:1:2"),
        (Community(CommunityKind.STANDARD, "65536:1"), None),
        (Community(CommunityKind.LARGE, "1:2"), None),
        (Community(CommunityKind.STANDARD, "65000:1 additive"), None),
    ],
)
def test_community_text(community: Community, text: str | None) -> None:
    assert names.community_text(community) == text


def test_communities_in_frr_order_and_tags_in_the_class_route_map() -> None:
    adv = BGPAdvertisement(
        name="a",
        local_pref=120,
        communities=(std("no-export"), std("65000:300"), std("65000:100"), large("1:2:3")),
    )
    view = view_for([peer("r1", "198.51.100.1")], [adv])
    (rm,) = [r for r in view.route_maps if r.name == "MLB-ADV-a"]
    tag = names.tag_community(64512, names.tag_numbers(["a"])["a"])
    assert rm.statements == (
        "description BGPAdvertisement a",
        "set community 65000:100 65000:300 no-export additive",
        f"set large-community 1:2:3 {tag} additive",
        "set local-preference 120",
    )
    (allowed,) = [x for x in view.community_lists if x.name == "MLB-r1-allowed"]
    assert allowed.values == (tag,)
    assert [n.route_map for n in view.networks] == ["MLB-ADV-a"]


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


@pytest.mark.parametrize(
    "community",
    [std("65000:1\nend"), std("65000:1 !"), large("1:2:3\nexit"), large("64512:4242424242:7")],
)
def test_injection_in_communities_is_rejected(community: Community) -> None:
    adv = BGPAdvertisement(name="a", communities=(community,))
    with pytest.raises(ConversionError) as err:
        view_for([peer("r1", "198.51.100.1")], [adv])
    assert "\n" not in str(err.value)


def test_injection_in_advertisement_name_is_rejected() -> None:
    with pytest.raises(ConversionError):
        view_for([peer("r1", "198.51.100.1")], [BGPAdvertisement(name="a\nend")])


def test_every_problem_reported_at_once() -> None:
    with pytest.raises(ConversionError) as err:
        view_for(
            [replace(peer("r1", "198.51.100.1"), password=Secret("a b"))],
            [BGPAdvertisement(name="Bad", communities=(std("x"),))],
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
