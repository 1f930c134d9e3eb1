"""Pure planning: per-peer tags, ``diff`` (model-level deltas) and ``reconcile`` (from what
the daemon reports).

Covers: tags are stable and distinct per address; unchanged state plans nothing; one added
path plans one announcement and nothing else; attribute changes re-announce; a peer whose
address changes re-tags exactly its paths and swaps its export objects; reconcile against a
bare daemon creates everything, against a matching daemon nothing, and removes leftovers
(orphaned sets before re-creating, stale policies after the assignment moved on);
``peer_matches`` accepts gobgpd's defaults for unset fields only.
"""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address, ip_address, ip_network

from gobgp.diff import (
    IMPORT_POLICY,
    ActualState,
    Deletions,
    ExportPolicy,
    PeerSnapshot,
    Plan,
    diff,
    export_assignment,
    peer_matches,
    peer_tag,
    reconcile,
    rib_path,
)
from gobgp.model import (
    BOTH_FAMILIES,
    INTERNAL_GLOBAL_ADMIN,
    Community,
    GobgpDesired,
    GobgpGlobal,
    GobgpPath,
    GobgpPeer,
)
from orchestrator.core.model.cluster import Secret

INSTANCE = GobgpGlobal(64512, IPv4Address("198.51.100.11"))
R1 = GobgpPeer("r1", ip_address("198.51.100.1"), 64500)
R2 = GobgpPeer("r2", ip_address("198.51.100.2"), 64512)
BOTH = frozenset({"r1", "r2"})


def path(
    last: int,
    peers: frozenset[str] = BOTH,
    *,
    local_pref: int | None = None,
    communities: tuple[Community, ...] = (),
) -> GobgpPath:
    prefix = ip_network(f"203.0.113.{last}/32")
    return GobgpPath(prefix, peers, local_pref=local_pref, communities=communities)


def state(*paths: GobgpPath, peers: tuple[GobgpPeer, ...] = (R1, R2)) -> GobgpDesired:
    return GobgpDesired(INSTANCE, peers, paths)


def test_peer_tags_are_stable_distinct_and_internal() -> None:
    a, b = peer_tag(R1.address), peer_tag(R2.address)
    assert a == peer_tag(ip_address("198.51.100.1")) and a != b
    assert a.global_admin == INTERNAL_GLOBAL_ADMIN
    assert peer_tag(ip_address("2001:db8::1")) != peer_tag(ip_address("2001:db8::2"))
    names = ExportPolicy(R1.address)
    assert names.policy.startswith("mlb-export-") and names.ident in names.neighbor_set


def test_unchanged_state_plans_nothing() -> None:
    old = state(path(1), path(2))
    assert diff(old, state(path(1), path(2))).empty


def test_one_added_path_is_one_announcement() -> None:
    old = state(*(path(i) for i in range(10)))
    new = state(*(path(i) for i in range(11)))
    plan = diff(old, new)
    assert plan == Plan(announce=(rib_path(path(10), new.peers_by_name),))
    assert plan.announce[0].tags == {peer_tag(R1.address), peer_tag(R2.address)}


def test_removed_and_changed_paths() -> None:
    old = state(path(1), path(2), path(3))
    new = state(path(1), path(2, communities=(Community(65000, 1),)), path(4, frozenset({"r1"})))
    plan = diff(old, new)
    assert plan.withdraw == (ip_network("203.0.113.3/32"),)
    assert [p.prefix for p in plan.announce] == [
        ip_network("203.0.113.2/32"),
        ip_network("203.0.113.4/32"),
    ]
    assert plan.announce[1].tags == {peer_tag(R1.address)}
    assert not plan.peers_add and plan.export_assignment is None


def test_peer_changes() -> None:
    old = state(path(1, frozenset({"r1"})), path(2, frozenset({"r2"})))
    moved = replace(R1, address=ip_address("198.51.100.3"))
    slower = replace(R2, hold_time=30)
    new = state(path(1, frozenset({"r1"})), path(2, frozenset({"r2"})), peers=(moved, slower))
    plan = diff(old, new)
    assert plan.peers_delete == (R1.address,)
    assert plan.peers_add == (moved,)
    assert plan.peers_update == (slower,)
    # only r1's path changes tags; r2's path is untouched
    assert [p.prefix for p in plan.announce] == [ip_network("203.0.113.1/32")]
    assert plan.announce[0].tags == {peer_tag(moved.address)}
    assert plan.exports_add == (ExportPolicy(moved.address),)
    assert plan.export_assignment == export_assignment([moved.address, R2.address])
    assert plan.delete_last.policies == (ExportPolicy(R1.address).policy,)
    # renaming alone is invisible to gobgpd
    renamed = state(peers=(replace(R1, name="other"), R2))
    assert diff(state(peers=(R1, R2)), renamed).peers_update == ()


def test_reconcile_bare_daemon_creates_everything() -> None:
    new = state(path(1), path(2, frozenset({"r2"})))
    plan = reconcile(ActualState(instance_asn=INSTANCE.asn), new)
    assert plan.import_policy and plan.import_assignment
    assert {e.address for e in plan.exports_add} == {R1.address, R2.address}
    assert plan.export_assignment == export_assignment([R1.address, R2.address])
    assert plan.peers_add == (R1, R2)
    assert {p.prefix for p in plan.announce} == {p.prefix for p in new.paths}
    assert plan.delete_first == plan.delete_last == Deletions()


def snapshot(peer: GobgpPeer) -> PeerSnapshot:
    """How gobgpd reports a peer it was given: defaults filled in."""
    return PeerSnapshot(
        address=peer.address,
        asn=peer.asn,
        local_asn=peer.local_asn or INSTANCE.asn,
        port=peer.port,
        hold_time=peer.hold_time or 90,
        keepalive=peer.keepalive or (peer.hold_time or 90) // 3,
        connect_retry=peer.connect_retry or 120,
        password=peer.password,
        ebgp_multihop=peer.ebgp_multihop,
        source_address=peer.source_address,
        families=peer.families,
        passive=peer.passive,
    )


def matching_actual(desired: GobgpDesired) -> ActualState:
    exports = [ExportPolicy(p.address) for p in desired.peers]
    return ActualState(
        instance_asn=INSTANCE.asn,
        peers={p.address: snapshot(p) for p in desired.peers},
        paths={p.prefix: rib_path(p, desired.peers_by_name) for p in desired.paths},
        policies=frozenset({IMPORT_POLICY, *(e.policy for e in exports)}),
        neighbor_sets=frozenset(e.neighbor_set for e in exports),
        tag_sets=frozenset(e.tag_set for e in exports),
        export_assignment=export_assignment(p.address for p in desired.peers),
        import_assigned=True,
    )


def test_reconcile_matching_daemon_changes_nothing() -> None:
    new = state(path(1), path(2, frozenset({"r2"})), path(3, local_pref=150))
    assert reconcile(matching_actual(new), new).empty


def test_reconcile_cleans_leftovers_in_order() -> None:
    new = state(path(1, frozenset({"r1"})), peers=(R1,))
    stale = ExportPolicy(ip_address("198.51.100.9"))
    r1 = ExportPolicy(R1.address)
    actual = ActualState(
        instance_asn=INSTANCE.asn,
        peers={
            R1.address: snapshot(R1),
            stale.address: snapshot(replace(R1, address=stale.address)),
        },
        paths={ip_network("203.0.113.99/32"): rib_path(path(99, frozenset({"r1"})), {"r1": R1})},
        # r1's export lost its policy but kept its sets; the stale peer's export is complete
        policies=frozenset({IMPORT_POLICY, stale.policy}),
        neighbor_sets=frozenset({r1.neighbor_set, stale.neighbor_set}),
        tag_sets=frozenset({r1.tag_set, stale.tag_set}),
        export_assignment=(stale.policy,),
        import_assigned=True,
    )
    plan = reconcile(actual, new)
    assert plan.delete_first.neighbor_sets == (r1.neighbor_set,)
    assert plan.delete_first.tag_sets == (r1.tag_set,)
    assert plan.exports_add == (r1,)
    assert plan.export_assignment == (r1.policy,)
    assert plan.peers_delete == (stale.address,)
    assert plan.withdraw == (ip_network("203.0.113.99/32"),)
    assert plan.delete_last.policies == (stale.policy,)
    assert plan.delete_last.neighbor_sets == (stale.neighbor_set,)
    assert plan.delete_last.tag_sets == (stale.tag_set,)
    assert not plan.import_policy and not plan.import_assignment


def test_peer_matches_tolerates_defaults_only_for_unset_fields() -> None:
    want = GobgpPeer("r1", R1.address, 64500, password=Secret("pw"))
    snap = snapshot(want)
    assert peer_matches(snap, want, instance_asn=INSTANCE.asn)
    # gobgpd reports the address a session uses even when none was configured
    assert peer_matches(
        replace(snap, source_address=ip_address("198.51.100.11")), want, instance_asn=INSTANCE.asn
    )
    assert peer_matches(replace(snap, local_asn=0, port=0), want, instance_asn=INSTANCE.asn)
    for changed in (
        replace(snap, asn=64501),
        replace(snap, password=None),
        replace(snap, password=Secret("other")),
        replace(snap, ebgp_multihop=2),
        replace(snap, families=frozenset()),
        replace(snap, passive=True),
        replace(snap, local_asn=64999),
    ):
        assert not peer_matches(changed, want, instance_asn=INSTANCE.asn), changed
    # an unset timer means gobgpd's default, not "anything"
    assert not peer_matches(
        replace(snap, hold_time=9, keepalive=3), want, instance_asn=INSTANCE.asn
    )
    timed = replace(want, hold_time=9)
    assert peer_matches(replace(snap, hold_time=9, keepalive=3), timed, instance_asn=INSTANCE.asn)
    sourced = replace(want, source_address=ip_address("198.51.100.11"))
    assert not peer_matches(snap, sourced, instance_asn=INSTANCE.asn)
    assert want.families == BOTH_FAMILIES
