"""Owned model, running-config parser and model diff (frr.owned, frr.diff).

Matrix: ``parse_running(render(view)) == owned_from_view(view)`` for every golden scenario;
the parser skips an engineer's objects and sees hand edits to ours; the diff is empty for
equal models, O(1) per added or removed prefix whatever the number present, O(peers) for a
new class of prefixes and for changed communities (which live in the outbound route-maps,
not in the ``network`` route-map), re-issues a
``network`` in place when its route-map changes, orders creations before references and
removals after them, handles ASN changes and router removal; batch text enters and leaves
contexts correctly; passwords only in secret commands.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from frr import names
from frr.client import split_by_daemon
from frr.diff import Command, batch_text, diff, full
from frr.owned import EMPTY, Owned, owned_from_view, parse_running
from frr.render import render_config
from frr.translate import build_view
from orchestrator.core.bgp.compute import bgp_intent
from orchestrator.core.bgp.intent import NodeBGPIntent
from orchestrator.core.model.cluster import BGPAdvertisement, Secret
from tests.golden.frr_scenarios import (
    SCENARIOS,
    assign,
    many_services,
    peer,
    service,
    snapshot,
    std,
)


def owned_for(intent: NodeBGPIntent) -> Owned:
    return owned_from_view(build_view(intent))


def scenario_owned(name: str) -> Owned:
    snap, assignments, node = SCENARIOS[name]()
    return owned_for(bgp_intent(snap, assignments, node=node))


def bench_intent(count: int, **kw: object) -> NodeBGPIntent:
    assignments = many_services(count)
    snap = snapshot(
        peers=[peer("r1", "2001:db8:ffff::1"), peer("r2", "2001:db8:ffff::2")],
        advertisements=[BGPAdvertisement(name="default", communities=(std("65000:100"),))],
        services=[service(f"s{i}") for i in range(count)],
        **kw,  # type: ignore[arg-type]
    )
    return bgp_intent(snap, assignments, node="n1")


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_parse_of_rendered_config_equals_the_model(name: str) -> None:
    snap, assignments, node = SCENARIOS[name]()
    view = build_view(bgp_intent(snap, assignments, node=node))
    assert parse_running(render_config(view)) == owned_from_view(view)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_no_change_no_commands(name: str) -> None:
    assert diff(scenario_owned(name), scenario_owned(name)) == []


def test_parser_skips_engineers_objects_and_sees_edits_to_ours() -> None:
    owned = scenario_owned("basic")
    snap, assignments, node = SCENARIOS["basic"]()
    text = render_config(build_view(bgp_intent(snap, assignments, node=node)))
    extra = text.replace(
        "exit\n!\nbgp large-community-list",
        "\n".join(
            [
                " neighbor 192.0.2.1 remote-as 65001",
                " neighbor 192.0.2.1 description engineer",
                " address-family ipv4 unicast",
                "  network 192.0.2.0/24",
                "  neighbor 192.0.2.1 activate",
                " exit-address-family",
                "exit",
                "!",
                "router bgp 65002 vrf red",
                " neighbor 192.0.2.9 remote-as 1",
                "exit",
                "!",
                "route-map ENG permit 10",
                " set metric 1",
                "exit",
                "interface eth0",
                " description uplink",
                "exit",
                "bgp large-community-list standard ENG seq 5 permit 1:2:3",
                "bgp large-community-list",
            ]
        ),
        1,
    )
    assert extra != text
    assert parse_running(extra) == owned
    edited = text.replace(
        " neighbor 198.51.100.1 description MLB BGPPeer/router1",
        " neighbor 198.51.100.1 description MLB BGPPeer/router1\n neighbor 198.51.100.1 shutdown",
    )
    changed = parse_running(edited)
    assert changed != owned
    commands = diff(changed, owned)
    assert [c.line for c in commands] == ["no neighbor 198.51.100.1 shutdown"]


def test_plus_one_and_minus_one_cost_one_command_whatever_is_present() -> None:
    for count in (10, 2000):
        before = owned_for(bench_intent(count))
        after = owned_for(bench_intent(count + 1))
        added = diff(before, after)
        assert [c.line.split()[0] for c in added] == ["network"]
        assert added[0].context == ("router bgp 64512", "address-family ipv6 unicast")
        removed = diff(after, before)
        assert [c.line.split()[0:2] for c in removed] == [["no", "network"]]
        assert len(batch_text(added).splitlines()) == 5  # enter x2, network, exit x2


def test_changed_communities_touch_only_the_outbound_entries() -> None:
    """Communities are set per peer on the way out: changing them re-issues no ``network``
    and leaves the origination route-map alone, whatever the number of prefixes."""
    before = owned_for(bench_intent(500))
    after_intent = bench_intent(500)
    (adv,) = after_intent.advertisements
    changed = replace(
        after_intent,
        prefixes=tuple(replace(p, communities=(std("no-export"),)) for p in after_intent.prefixes),
        advertisements=(replace(adv, communities=(std("no-export"),)),),
    )
    commands = diff(before, owned_for(changed))
    assert {c.context[0] for c in commands} == {
        f"route-map MLB-{p}-out permit {names.tag_numbers(['default'])['default']}"
        for p in ("r1", "r2")
    }
    assert sorted(c.line for c in commands) == [
        "no set community 65000:100 additive",
        "no set community 65000:100 additive",
        "set community no-export additive",
        "set community no-export additive",
    ]


def test_a_new_class_costs_a_list_a_route_map_and_one_entry_per_peer() -> None:
    peers = [peer("r1", "198.51.100.1", dual_stack=True), peer("r2", "198.51.100.2")]
    plain = BGPAdvertisement(name="default", pools=("public",))
    v6 = BGPAdvertisement(name="v6", pools=("public6",), communities=(std("no-export"),))
    assignments = [assign("default/web", "203.0.113.10")]
    before = owned_for(
        bgp_intent(
            snapshot(peers=peers, advertisements=[plain], services=[service("web")]),
            assignments,
            node="n1",
        )
    )
    more = [*assignments, assign("default/v6", "2001:db8:100::10", pool="public6")]
    snap = snapshot(
        peers=peers, advertisements=[plain, v6], services=[service("web"), service("v6")]
    )
    after = owned_for(bgp_intent(snap, more, node="n1"))
    commands = diff(before, after)
    number = names.tag_numbers(["v6"])["v6"]
    # r2 is an IPv4 session: it receives nothing of the new class and gets no entry
    assert set(after.route_maps) - set(before.route_maps) == {
        ("MLB-ADV-v6", 10),
        ("MLB-r1-out", number),
    }
    assert set(after.lists) - set(before.lists) == {"MLB-ADV-v6"}
    lines = [c.line for c in commands]
    network = lines.index("network 2001:db8:100::10/128 route-map MLB-ADV-v6")
    assert network == len(lines) - 1  # everything it needs exists before it
    assert not any(line.startswith("no ") for line in lines)


def test_full_config_from_empty_scales_with_prefixes_only() -> None:
    small = full(owned_for(bench_intent(10)))
    large = full(owned_for(bench_intent(1010)))
    assert len(large) - len(small) == 1000


def test_changed_route_map_reissues_network_in_place() -> None:
    snap, assignments, node = SCENARIOS["basic"]()
    before = owned_for(bgp_intent(snap, assignments, node=node))
    snap2 = replace(
        snap,
        config=replace(
            snap.config,
            bgp_advertisements=(BGPAdvertisement(name="other", communities=(std("65000:9"),)),),
        ),
    )
    after = owned_for(bgp_intent(snap2, assignments, node=node))
    lines = [c.line for c in diff(before, after)]
    assert "network 203.0.113.10/32 route-map MLB-ADV-other" in lines
    assert not any(line.startswith("no network") for line in lines)
    # the new route-map and tag list exist before the network points at them
    created = lines.index("set community 65000:9 additive")
    assert created < lines.index("network 203.0.113.10/32 route-map MLB-ADV-other")
    # the old route-map goes after nothing references it any more
    assert lines.index("no route-map MLB-ADV-default") > lines.index(
        "network 203.0.113.10/32 route-map MLB-ADV-other"
    )


def test_password_change_is_one_secret_command() -> None:
    snap, assignments, node = SCENARIOS["basic"]()
    p = snap.config.bgp_peers[0]
    with_pw = replace(
        snap, config=replace(snap.config, bgp_peers=(replace(p, password=Secret("a1")),))
    )
    new_pw = replace(
        snap, config=replace(snap.config, bgp_peers=(replace(p, password=Secret("b2")),))
    )
    commands = diff(
        owned_for(bgp_intent(with_pw, assignments, node=node)),
        owned_for(bgp_intent(new_pw, assignments, node=node)),
    )
    assert len(commands) == 1 and commands[0].secret
    assert "b2" not in repr(commands) and "b2" in batch_text(commands)
    removed = diff(
        owned_for(bgp_intent(with_pw, assignments, node=node)),
        owned_for(bgp_intent(snap, assignments, node=node)),
    )
    assert [c.line for c in removed] == ["no neighbor 198.51.100.1 password"]


def test_asn_change_replaces_the_router_and_no_peers_removes_it() -> None:
    snap, assignments, node = SCENARIOS["basic"]()
    p = snap.config.bgp_peers[0]
    other = replace(snap, config=replace(snap.config, bgp_peers=(replace(p, my_asn=64600),)))
    before = owned_for(bgp_intent(snap, assignments, node=node))
    lines = [c.line for c in diff(before, owned_for(bgp_intent(other, assignments, node=node)))]
    assert lines[0] == "no router bgp 64512"
    gone = diff(before, scenario_owned("no-peers"))
    assert gone[0].line == "no router bgp 64512"
    assert {c.line for c in gone} >= {
        "no route-map MLB-ADV-default",
        "no ip nht resolve-via-default",
    }


def test_batch_text_contexts() -> None:
    commands = [
        Command((), "ip nht resolve-via-default"),
        Command(("bfd", "profile MLB-x"), ""),
        Command(("bfd", "profile MLB-x"), "detect-multiplier 5"),
        Command(("router bgp 1",), "neighbor 1.1.1.1 remote-as 2"),
        Command(("router bgp 1", "address-family ipv4 unicast"), "network 1.0.0.0/8 route-map R"),
        Command(("router bgp 1", "address-family ipv6 unicast"), "network ::/0 route-map R"),
        Command((), "no route-map R"),
    ]
    assert batch_text(commands).splitlines() == [
        "ip nht resolve-via-default",
        "bfd",
        " profile MLB-x",
        "  detect-multiplier 5",
        " exit",
        "exit",
        "router bgp 1",
        " neighbor 1.1.1.1 remote-as 2",
        " address-family ipv4 unicast",
        "  network 1.0.0.0/8 route-map R",
        " exit-address-family",
        " address-family ipv6 unicast",
        "  network ::/0 route-map R",
        " exit-address-family",
        "exit",
        "no route-map R",
    ]
    assert batch_text([]) == ""


def test_scenario_transitions_reach_the_target_model() -> None:
    """Applying diff(a, b) to a (as FRR would, statement by statement) is what the
    integration tests prove against real FRR; here: every transition is non-empty and
    removing everything leaves nothing of ours behind."""
    names = sorted(SCENARIOS)
    for a in names:
        for b in names:
            commands = diff(scenario_owned(a), scenario_owned(b))
            assert (commands == []) == (scenario_owned(a) == scenario_owned(b))
    assert diff(EMPTY, EMPTY) == []


def test_the_route_map_delay_is_off_before_any_route_map_and_needs_no_extra_run() -> None:
    """bgpd holds the neighbours a batch creates until a pending route-map update has run
    (5 s by default); with the delay off first, a new session comes up ~1 s after."""
    commands = full(scenario_owned("basic"))
    lines = [c.line for c in commands]
    delay = lines.index("bgp route-map delay-timer 0")
    first_route_map = next(
        i for i, c in enumerate(commands) if c.context and c.context[0].startswith("route-map ")
    )
    assert lines[:delay] == ["ip nht resolve-via-default", "ipv6 nht resolve-via-default"]
    assert delay < first_route_map
    # zebra's globals, then one bgpd run with the delay, the policy and the router
    assert [d for d, _ in split_by_daemon(commands)] == ["zebra", "bgpd"]
    gone = diff(scenario_owned("basic"), EMPTY)
    assert "no bgp route-map delay-timer 0" in [c.line for c in gone]
