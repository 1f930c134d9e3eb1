"""GobgpDriver decisions against an in-memory gobgpd (``FakeGobgpd``).

The fake keeps gobgpd's rules that ordering bugs would break: the instance must be started
before anything else, a policy needs its defined sets, an assigned policy cannot be deleted,
a used set cannot be deleted, duplicates are refused; ``list_peers`` reports defaults the
way gobgpd does (hold 90 s, ...).

Covers: first apply reads back and builds everything; steady state sends nothing; one more
path is one push; a restarted daemon (fake reset) is detected and fully re-applied; a
half-failed apply makes the next one read back; a changed instance is stopped and started;
invalid input is refused before any call (and is the intent's fault, not the daemon's);
passwords never appear in errors; ``status`` raises while the daemon is unreachable (the
worker marks the sessions unknown); ``check_drift`` repairs a restarted daemon; ``probe``
changes with the daemon process; and the property: after any sequence of desired states, daemon
restarts and backend restarts, the daemon holds exactly the last desired state.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from ipaddress import IPv4Address, ip_address, ip_network

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gobgp import client as rpc
from gobgp.diff import (
    IMPORT_POLICY,
    ExportPolicy,
    PeerSnapshot,
    RibPath,
    effective_timers,
    export_assignment,
    rib_path,
)
from gobgp.driver import DaemonClient, GobgpDriver
from gobgp.errors import ConfigRejected, TransientBackendError, scrub
from gobgp.model import (
    Community,
    Family,
    GobgpDesired,
    GobgpGlobal,
    GobgpPath,
    GobgpPeer,
    IPAddress,
    IPNetwork,
)
from orchestrator.core.model.cluster import Secret
from orchestrator.routing.errors import Fault, fault_of
from orchestrator.routing.report import SessionState

INSTANCE = GobgpGlobal(64512, IPv4Address("198.51.100.11"))
PASSWORD = "correct-horse-battery"


class FakeGobgpd:
    """Just enough of gobgpd's behaviour, in our model's terms."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.down = False
        self.fail_on: str | None = None
        self.process = 1  # a restarted daemon is another process
        self.reset()

    def reset(self) -> None:
        """What a restarted gobgpd holds: nothing."""
        self.instance: GobgpGlobal | None = None
        self.peers: dict[IPAddress, GobgpPeer] = {}
        self.paths: dict[IPNetwork, RibPath] = {}
        self.policies: dict[str, tuple[str, str]] = {}  # name -> sets it uses
        self.neighbor_sets: set[str] = set()
        self.tag_sets: set[str] = set()
        self.assignments: dict[int, tuple[tuple[str, ...], bool]] = {
            rpc.IMPORT: ((), False),
            rpc.EXPORT: ((), False),
        }

    def _call(self, name: str, *, needs_instance: bool = True) -> None:
        self.calls.append(name)
        if self.down:
            raise TransientBackendError(f"gobgpd {name}: UNAVAILABLE")
        if name == self.fail_on:
            raise ConfigRejected(f"gobgpd {name}: UNKNOWN: injected failure")
        if needs_instance and self.instance is None:
            raise TransientBackendError(f"gobgpd {name}: bgp server hasn't started yet")

    # the DaemonClient calls
    def close(self) -> None:
        pass

    def identity(self) -> int:
        self.get_global()
        return self.process

    def get_global(self) -> GobgpGlobal | None:
        self._call("GetBgp", needs_instance=False)
        return self.instance

    def start(self, instance: GobgpGlobal) -> None:
        self._call("StartBgp", needs_instance=False)
        if self.instance is not None:
            raise ConfigRejected("gobgpd StartBgp: already started")
        self.instance = instance

    def stop(self) -> None:
        self._call("StopBgp")
        self.reset()

    def list_peers(self, *, advertised: bool = False) -> list[PeerSnapshot]:
        self._call("ListPeer")
        assert self.instance is not None
        out = []
        for p in self.peers.values():
            tag = ExportPolicy(p.address).tag
            hold, keepalive, connect_retry = effective_timers(p)
            out.append(
                PeerSnapshot(
                    address=p.address,
                    asn=p.asn,
                    local_asn=p.local_asn or self.instance.asn,
                    port=p.port,
                    hold_time=hold,
                    keepalive=keepalive,
                    connect_retry=connect_retry,
                    password=p.password,
                    ebgp_multihop=p.ebgp_multihop,
                    source_address=p.source_address,
                    families=p.families,
                    passive=p.passive,
                    session=SessionState.ESTABLISHED,
                    advertised=sum(1 for r in self.paths.values() if tag in r.tags),
                )
            )
        return out

    def add_peer(self, peer: GobgpPeer) -> None:
        self._call("AddPeer")
        if peer.address in self.peers:
            raise ConfigRejected("gobgpd AddPeer: can't overwrite the existing peer")
        self.peers[peer.address] = peer

    def update_peer(self, peer: GobgpPeer) -> None:
        self._call("UpdatePeer")
        if peer.address not in self.peers:
            raise ConfigRejected("gobgpd UpdatePeer: not found")
        self.peers[peer.address] = peer

    def delete_peer(self, address: IPAddress) -> None:
        self._call("DeletePeer")
        if self.peers.pop(address, None) is None:
            raise ConfigRejected("gobgpd DeletePeer: not found")

    def table_size(self, family: Family) -> int:
        self._call("GetTable")
        return sum(1 for p in self.paths.values() if p.family is family)

    def list_paths(self, family: Family) -> list[RibPath]:
        self._call("ListPath")
        return [p for p in self.paths.values() if p.family is family]

    def push_paths(self, announce: Sequence[RibPath], withdraw: Sequence[IPNetwork]) -> None:
        if not announce and not withdraw:
            return
        self._call("AddPathStream")
        for prefix in withdraw:
            self.paths.pop(prefix, None)
        for path in announce:
            self.paths[path.prefix] = path

    def list_policy_names(self) -> set[str]:
        self._call("ListPolicy")
        return set(self.policies)

    def list_defined_sets(self, kind: int) -> set[str]:
        self._call("ListDefinedSet")
        return set(self.neighbor_sets if kind == rpc.NEIGHBOR else self.tag_sets)

    def get_assignment(self, direction: int) -> tuple[tuple[str, ...], bool]:
        self._call("ListPolicyAssignment")
        return self.assignments[direction]

    def set_assignment(self, direction: int, policies: Iterable[str]) -> None:
        self._call("SetPolicyAssignment")
        names = tuple(policies)
        missing = [n for n in names if n not in self.policies]
        if missing:
            raise ConfigRejected(f"gobgpd SetPolicyAssignment: not found policy {missing}")
        self.assignments[direction] = (names, True)

    def add_export(self, export: ExportPolicy) -> None:
        self._call("AddDefinedSet")
        if export.neighbor_set in self.neighbor_sets or export.tag_set in self.tag_sets:
            raise ConfigRejected("gobgpd AddDefinedSet: already exists")
        if export.policy in self.policies:
            raise ConfigRejected("gobgpd AddPolicy: statement already defined")
        self.neighbor_sets.add(export.neighbor_set)
        self.tag_sets.add(export.tag_set)
        self.policies[export.policy] = (export.neighbor_set, export.tag_set)

    def add_import_policy(self) -> None:
        self._call("AddPolicy")
        if IMPORT_POLICY in self.policies:
            raise ConfigRejected("gobgpd AddPolicy: statement already defined")
        self.policies[IMPORT_POLICY] = ("", "")

    def delete_policy(self, name: str) -> None:
        self._call("DeletePolicy")
        if any(name in names for names, _ in self.assignments.values()):
            raise ConfigRejected(f"gobgpd DeletePolicy: can't delete. policy {name} is in use")
        del self.policies[name]

    def delete_defined_set(self, kind: int, name: str) -> None:
        self._call("DeleteDefinedSet")
        if any(name in used for used in self.policies.values()):
            raise ConfigRejected(f"gobgpd DeleteDefinedSet: can't delete. {name} is in use")
        (self.neighbor_sets if kind == rpc.NEIGHBOR else self.tag_sets).remove(name)


def backend_on(fake: FakeGobgpd) -> GobgpDriver:
    def make(_secrets: object) -> DaemonClient:
        return fake

    return GobgpDriver(client=make)


def effective(peer: GobgpPeer) -> GobgpPeer:
    """The settings gobgpd runs with: unset timers mean its defaults; names stay with us."""
    hold, keepalive, connect_retry = effective_timers(peer)
    return replace(
        peer,
        name="",
        local_asn=peer.local_asn or INSTANCE.asn,
        hold_time=hold,
        keepalive=keepalive,
        connect_retry=connect_retry,
    )


def assert_holds(fake: FakeGobgpd, desired: GobgpDesired) -> None:
    """The fake daemon holds exactly ``desired``, policy objects included."""
    assert fake.instance == desired.instance
    assert {a: effective(p) for a, p in fake.peers.items()} == {
        p.address: effective(p) for p in desired.peers
    }
    assert fake.paths == {p.prefix: rib_path(p, desired.peers_by_name) for p in desired.paths}
    exports = [ExportPolicy(p.address) for p in desired.peers]
    assert set(fake.policies) == {IMPORT_POLICY, *(e.policy for e in exports)}
    assert fake.neighbor_sets == {e.neighbor_set for e in exports}
    assert fake.tag_sets == {e.tag_set for e in exports}
    assert fake.assignments[rpc.EXPORT] == (
        export_assignment(p.address for p in desired.peers),
        True,
    )
    assert fake.assignments[rpc.IMPORT] == ((IMPORT_POLICY,), True)


R1 = GobgpPeer("r1", ip_address("198.51.100.1"), 64500, password=Secret(PASSWORD))
R2 = GobgpPeer("r2", ip_address("198.51.100.2"), 64512)


def desired(count: int, peers: tuple[GobgpPeer, ...] = (R1, R2)) -> GobgpDesired:
    names = frozenset(p.name for p in peers)
    paths = tuple(GobgpPath(ip_network(f"203.0.113.{i}/32"), names) for i in range(count))
    return GobgpDesired(INSTANCE, peers, paths)


def test_first_apply_builds_everything_then_steady_state_is_quiet() -> None:
    fake = FakeGobgpd()
    backend = backend_on(fake)
    report = backend.apply_desired(desired(3))
    assert report.full_sync and report.restarted
    detail = report.detail
    assert (detail["peers_added"], detail["paths_announced"], detail["exports_added"]) == (2, 3, 2)
    assert_holds(fake, desired(3))

    fake.calls.clear()
    again = backend.apply_desired(desired(3))
    assert not again.full_sync and not again.changed
    # only the consistency check: instance, neighbours, RIB size per family
    assert fake.calls == ["GetBgp", "ListPeer", "GetTable", "GetTable"]

    fake.calls.clear()
    assert backend.apply_desired(desired(4)).detail["paths_announced"] == 1
    assert fake.calls[-1] == "AddPathStream" and fake.calls.count("AddPathStream") == 1
    assert_holds(fake, desired(4))


def test_restarted_daemon_is_detected_and_reapplied() -> None:
    fake = FakeGobgpd()
    backend = backend_on(fake)
    backend.apply_desired(desired(3))
    fake.reset()  # gobgpd restarted: bare
    report = backend.apply_desired(desired(3))
    assert report.full_sync and report.restarted and report.detail["paths_announced"] == 3
    assert_holds(fake, desired(3))


def test_lost_paths_are_detected() -> None:
    fake = FakeGobgpd()
    backend = backend_on(fake)
    backend.apply_desired(desired(3))
    fake.paths.pop(ip_network("203.0.113.1/32"))  # someone deleted a path by hand
    report = backend.apply_desired(desired(3))
    assert report.full_sync and not report.restarted and report.detail["paths_announced"] == 1
    assert_holds(fake, desired(3))


def test_new_backend_on_configured_daemon_changes_nothing() -> None:
    fake = FakeGobgpd()
    backend_on(fake).apply_desired(desired(3))
    report = backend_on(fake).apply_desired(desired(3))
    assert report.full_sync and not report.changed
    assert "UpdatePeer" not in fake.calls[-12:]


def test_half_failed_apply_makes_the_next_one_read_back() -> None:
    fake = FakeGobgpd()
    backend = backend_on(fake)
    backend.apply_desired(desired(2))
    fake.fail_on = "AddPeer"
    three = desired(2, (R1, R2, GobgpPeer("r3", ip_address("198.51.100.3"), 64500)))
    with pytest.raises(ConfigRejected):
        backend.apply_desired(three)
    fake.fail_on = None
    report = backend.apply_desired(three)
    assert report.full_sync
    assert_holds(fake, three)


def test_changed_instance_restarts_it() -> None:
    fake = FakeGobgpd()
    backend = backend_on(fake)
    backend.apply_desired(desired(2))
    moved = replace(desired(2), instance=replace(INSTANCE, asn=64513))
    report = backend.apply_desired(moved)
    assert report.restarted and "StopBgp" in fake.calls
    assert_holds(fake, moved)


def test_invalid_state_is_refused_before_any_call() -> None:
    fake = FakeGobgpd()
    bad = GobgpDesired(
        INSTANCE, (R1,), (GobgpPath(ip_network("203.0.113.1/32"), frozenset({"x"})),)
    )
    with pytest.raises(ConfigRejected, match="unknown peer") as err:
        backend_on(fake).apply_desired(bad)
    assert fake.calls == [] and fault_of(err.value) is Fault.INVALID  # not retried


def test_unreachable_daemon_is_transient_and_status_raises() -> None:
    fake = FakeGobgpd()
    backend = backend_on(fake)
    backend.apply_desired(desired(1))
    assert [(s.peer, s.state, s.announced) for s in backend.status()] == [
        ("r1", SessionState.ESTABLISHED, 1),
        ("r2", SessionState.ESTABLISHED, 1),
    ]
    assert backend.status()[0].hint is None
    assert [s.neighbor for s in backend.sessions()] == ["198.51.100.1", "198.51.100.2"]
    fake.down = True
    with pytest.raises(TransientBackendError) as err:
        backend.apply_desired(desired(1))
    assert fault_of(err.value) is Fault.UNAVAILABLE
    with pytest.raises(TransientBackendError):
        backend.status()  # the worker marks every session unknown
    with pytest.raises(TransientBackendError):
        backend.probe()


def test_drift_check_repairs_a_restarted_daemon_and_probe_tells_it_apart() -> None:
    fake = FakeGobgpd()
    backend = backend_on(fake)
    backend.apply_desired(desired(3))
    first = backend.probe()
    assert backend.check_drift().drifted == ()
    fake.reset()  # gobgpd restarted: bare, another process
    fake.process += 1
    assert backend.probe() != first
    report = backend.check_drift()
    assert report.repaired and report.drifted == ("instance not started (gobgpd restarted bare?)",)
    assert_holds(fake, desired(3))
    fake.paths.pop(ip_network("203.0.113.1/32"))
    report = backend.check_drift()
    assert report.repaired and report.drifted == ("ipv4-unicast paths (2 of 3)",)
    assert_holds(fake, desired(3))


def test_scrub_removes_passwords_and_bounds_length() -> None:
    text = scrub(f"peer 198.51.100.1 password {PASSWORD} rejected " + "x" * 1000, [PASSWORD, ""])
    assert PASSWORD not in text and "<redacted>" in text and len(text) < 400


# --------------------------------------------------------------------------- property

PEER_ADDRESSES = [ip_address(a) for a in ("198.51.100.1", "198.51.100.2", "2001:db8:100::1")]
PREFIXES = [ip_network(f"203.0.113.{i}/32") for i in range(6)] + [
    ip_network(f"2001:db8:5::{i}/128") for i in range(1, 4)
]


@st.composite
def desired_states(draw: st.DrawFn) -> GobgpDesired:
    names = draw(st.lists(st.sampled_from(["a", "b", "c"]), unique=True, max_size=3))
    addresses = draw(st.permutations(PEER_ADDRESSES))  # names move between addresses
    peers = tuple(
        GobgpPeer(
            name,
            addresses[i],
            draw(st.sampled_from([64500, 64512])),
            hold_time=draw(st.sampled_from([None, 9, 90])),
            password=draw(st.sampled_from([None, Secret("pw")])),
        )
        for i, name in enumerate(names)
    )
    paths = []
    if names:
        for prefix in draw(st.lists(st.sampled_from(PREFIXES), unique=True, max_size=6)):
            to = draw(st.sets(st.sampled_from(names), min_size=1))
            communities = draw(st.sampled_from([(), (Community(65000, 1),)]))
            local_pref = draw(st.sampled_from([None, 150]))
            paths.append(
                GobgpPath(prefix, frozenset(to), local_pref=local_pref, communities=communities)
            )
    return GobgpDesired(INSTANCE, peers, tuple(paths))


@given(
    st.lists(
        st.tuples(desired_states(), st.sampled_from(["none", "daemon_restart", "speaker_restart"])),
        min_size=1,
        max_size=5,
    )
)
def test_daemon_always_ends_up_holding_the_last_desired_state(
    steps: list[tuple[GobgpDesired, str]],
) -> None:
    fake = FakeGobgpd()
    backend = backend_on(fake)
    for state, event in steps:
        if event == "daemon_restart":
            fake.reset()
        elif event == "speaker_restart":
            backend = backend_on(fake)
        backend.apply_desired(state)
        assert_holds(fake, state)
