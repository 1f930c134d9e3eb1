"""Invariants of L2 placement over generated clusters (hypothesis, default profile).

Clusters: 1-7 nodes (some unlabelled, excluded or NetworkUnavailable), one class and one plain
pool with one or two L2Advertisements, 1-6 Services of 1-4 IPs each (Cluster or Local, with
endpoints on any subset of nodes), arbitrary recorded homes (including deleted nodes), and
independent live sets for the controller and the speakers.

Invariants:

- every node computes its own intent, and together exactly one node announces each IP that
  has an eligible node (none otherwise), the same node ``announcers`` names, drawn from the
  eligible set that ``eligibility.eligibility`` computes independently;
- killing one node (dropping it from the live set) moves only the IPs it announced;
- a Service's IPs get distinct homes whenever it has at least as many eligible nodes as IPs;
- ``place_homes`` is a fixed point of itself: its output as ``previous`` changes nothing
  (and lists each Service's IPs in status order);
- adding a node moves no home, except one that doubled up with another IP of its Service,
  which then lands on the new node.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from ipaddress import ip_address

from hypothesis import given
from hypothesis import strategies as st

from orchestrator.core.eligibility import eligibility
from orchestrator.core.l2.intent import l2_announcements
from orchestrator.core.l2.placement import Homes, announcers, place_homes
from orchestrator.core.model.cluster import (
    EXCLUDE_LABEL,
    Assignment,
    ClusterSnapshot,
    IPAddress,
    L2Advertisement,
    Node,
)
from orchestrator.core.model.selectors import LabelSelector, any_matches
from tests.unit.core.l2.test_placement import endpoints, l2_class, plain_pool, service, world

LB = {"role": "lb"}


@dataclass(frozen=True)
class Cluster:
    snapshot: ClusterSnapshot
    assignments: tuple[Assignment, ...]
    controller_live: frozenset[str]
    speaker_live: frozenset[str]


@st.composite
def clusters(draw: st.DrawFn) -> Cluster:
    count = draw(st.integers(1, 7))
    names = [f"n{i}" for i in range(count)]
    nodes: list[Node] = []
    for name in names:
        labels = dict(LB) if draw(st.booleans()) or name == "n0" else {}
        if draw(st.integers(0, 9)) == 0:
            labels[EXCLUDE_LABEL] = ""
        nodes.append(Node(name, labels, network_unavailable=draw(st.integers(0, 9)) == 0))
    by_label = draw(st.booleans())
    ads = [L2Advertisement("lb", node_selectors=(LabelSelector(LB),), interfaces=("eth0",))]
    if draw(st.booleans()):
        ads.append(L2Advertisement("all", interfaces=draw(st.sampled_from([(), ("eth1",)]))))
    services = []
    slices = []
    assignments = []
    next_ip = 1
    for i in range(draw(st.integers(1, 6))):
        name = f"s{i}"
        addresses = tuple(
            ip_address(f"192.0.2.{next_ip + k}") for k in range(draw(st.integers(1, 4)))
        )
        next_ip += len(addresses)
        # Few candidate homes, so that recorded homes often double up.
        home_names = draw(st.lists(st.sampled_from([*names, "gone"]), min_size=1, max_size=3))
        homes = draw(st.dictionaries(st.sampled_from(addresses), st.sampled_from(home_names)))
        in_status = addresses if draw(st.booleans()) else ()
        services.append(service(name, local=draw(st.booleans()), homes=homes, ingress=in_status))
        on = names if draw(st.booleans()) else draw(st.lists(st.sampled_from(names), unique=True))
        slices.append(endpoints(name, *on, ready=bool(on) or draw(st.booleans())))
        plain = draw(st.booleans())
        assignments.append(
            Assignment(f"ns/{name}", "p" if plain else "c", addresses, None if plain else "c")
        )
    snap = world(
        nodes,
        services,
        slices=slices,
        classes=[l2_class(role="lb") if by_label else l2_class()],
        pools=[plain_pool()],
        ads=tuple(ads),
    )
    # Often everything is live: that is when distinctness and balance are at stake.
    live = st.one_of(st.just(frozenset(names)), st.sets(st.sampled_from(names)).map(frozenset))
    return Cluster(snap, tuple(assignments), draw(live), draw(live))


def eligible_nodes(snap: ClusterSnapshot, a: Assignment, live: frozenset[str]) -> set[str]:
    """Oracle: the eligible nodes computed straight from ``eligibility`` and the rules."""
    svc = next(s for s in snap.services if s.key == a.service)
    cls = snap.config.classes["c"]
    out = set()
    for name, n in snap.nodes.items():
        if a.class_name:
            selected = all(n.labels.get(k) == v for k, v in cls.node_selector.items())
        else:
            ads = snap.config.l2_advertisements
            selected = any(any_matches(ad.node_selectors, n.labels) for ad in ads)
        reason = eligibility(
            svc,
            n,
            node_name=name,
            selected=selected,
            live_nodes=live,
            endpoints=snap.endpoints_of(svc),
        )
        if reason is None:
            out.add(name)
    return out


def homes_for(
    c: Cluster, snap: ClusterSnapshot | None = None, *, previous: Homes | None = None
) -> Homes:
    return place_homes(
        snap or c.snapshot, c.assignments, live_nodes=c.controller_live, previous=previous
    )


@given(clusters())
def test_exactly_one_announcer_per_ip_from_every_nodes_view(c: Cluster) -> None:
    homes = homes_for(c)
    decided = announcers(c.snapshot, c.assignments, homes, live_nodes=c.speaker_live)
    seen: Counter[tuple[str, IPAddress]] = Counter()
    for name in [*c.snapshot.nodes, "not-a-node"]:
        got = l2_announcements(
            c.snapshot, c.assignments, homes, node=name, live_nodes=c.speaker_live
        )
        seen.update((a.service, a.ip) for a in got.announcements)
        covered = {(a.service, a.ip) for a in got.announcements}
        covered |= {(n.service, n.ip) for n in got.not_announced}
        assert covered == {(a.service, ip) for a in c.assignments for ip in a.ips}
        assert not {(a.service, a.ip) for a in got.announcements} & {
            (n.service, n.ip) for n in got.not_announced
        }
    by_key = {a.service: a for a in c.assignments}
    for d in decided:
        eligible = eligible_nodes(c.snapshot, by_key[d.service], c.speaker_live)
        if eligible:
            assert d.node in eligible and seen[(d.service, d.ip)] == 1
            if d.home in eligible:
                assert d.node == d.home
        else:
            assert d.node is None and seen[(d.service, d.ip)] == 0


@given(clusters())
def test_killing_a_node_moves_only_its_own_ips(c: Cluster) -> None:
    homes = homes_for(c)
    before = announcers(c.snapshot, c.assignments, homes, live_nodes=c.speaker_live)
    for victim in c.speaker_live:
        after = announcers(c.snapshot, c.assignments, homes, live_nodes=c.speaker_live - {victim})
        for b, a in zip(before, after, strict=True):
            assert (a.service, a.ip) == (b.service, b.ip)
            if b.node != victim:
                assert a.node == b.node
            else:
                assert a.node != victim


@given(clusters(), st.booleans())
def test_ips_on_distinct_nodes_when_enough_eligible_nodes(c: Cluster, fresh: bool) -> None:
    snap = c.snapshot
    if fresh:  # also from scratch, not only from arbitrary recorded homes
        snap = replace(
            snap,
            services=tuple(replace(s, state=replace(s.state, homes={})) for s in snap.services),
        )
    homes = homes_for(c, snap)
    for a in c.assignments:
        if len(eligible_nodes(snap, a, c.controller_live)) >= len(a.ips):
            placed = homes[a.service]
            assert len(set(placed.values())) == len(placed) == len(a.ips)


@given(clusters())
def test_placement_is_stable(c: Cluster) -> None:
    homes = homes_for(c)
    assert homes_for(c, previous=homes) == homes
    for a in c.assignments:  # Services with an L2 scope appear, their IPs in status order
        if a.service in homes:
            assert list(homes[a.service]) == [ip for ip in a.ips if ip in homes[a.service]]


@given(clusters())
def test_adding_a_node_moves_only_doubled_up_ips(c: Cluster) -> None:
    homes = homes_for(c)
    grown = replace(c.snapshot, nodes={**c.snapshot.nodes, "new": Node("new", dict(LB))})
    bigger = replace(c, snapshot=grown, controller_live=c.controller_live | {"new"})
    after = homes_for(bigger, previous=homes)
    for key, placed in homes.items():
        doubled = Counter(placed.values())
        for addr, home in placed.items():
            if after[key][addr] != home:
                assert doubled[home] >= 2 and after[key][addr] == "new"
