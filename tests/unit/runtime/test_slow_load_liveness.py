"""Virtual time: a slow load never makes a live node dead (docs/design.md §15).

The source below takes 10 s of (virtual) time to load, while every node, the observer
included, renews its lease every second as its lease thread would. The matrix:

- speaker and controller: a slow pass followed by a quick one (the snapshot unchanged, no
  renewal in between) still sees every node live, and the speaker keeps its own home IP;
- with the membership thread polling during the load (as ``run`` does), a node that stops
  renewing in the middle of the load is found dead by the pass that follows, while every
  renewing node stays live;
- and the speaker takes such a node's IPs over during the load, on its last snapshot: a
  failover never waits for a slow load.

The source is a wrapper around the real ``ManifestSource`` over real files: only its
duration is simulated, because a real parse cannot be made to take exactly 10 s.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from orchestrator.adapters.files.source import ManifestSource
from orchestrator.adapters.files.store import StateDir
from orchestrator.core.model.cluster import IPAddress
from orchestrator.ports import Loaded
from orchestrator.runtime.controller import Controller
from orchestrator.runtime.speaker import Speaker

SEED = Path(__file__).resolve().parents[3] / "examples" / "seed"
NODES = ("frontend-1", "frontend-2", "frontend-3")
LEASE = 2.0


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class SlowSource:
    """The real source; its next load takes ``seconds`` of virtual time, during which
    ``tick`` runs once per virtual second (the lease threads, the membership thread)."""

    def __init__(self, inner: ManifestSource, clock: Clock) -> None:
        self.inner, self.clock = inner, clock
        self.seconds = 0
        self.tick: Callable[[], None] = lambda: None

    def load(self) -> Loaded:
        loaded = self.inner.load()
        for _ in range(self.seconds):
            self.clock.t += 1.0
            self.tick()
        self.seconds = 0
        return loaded


class Recorder:
    def __init__(self) -> None:
        self.announced: dict[IPAddress, object] = {}

    def set_announced(self, announced: Mapping[IPAddress, Iterable[str] | None]) -> None:
        self.announced = dict(announced)


class Renewals:
    def __init__(self, state: StateDir, nodes: Iterable[str]) -> None:
        self.state, self.nodes, self.counter = state, list(nodes), 1

    def __call__(self) -> None:
        self.counter += 1
        for n in self.nodes:
            self.state.renew_lease(n, duration=LEASE, counter=self.counter)


def setup(tmp_path: Path) -> tuple[Path, StateDir, Clock]:
    src = tmp_path / "src"
    shutil.copytree(SEED, src)
    state = StateDir(tmp_path / "state")
    for n in NODES:
        state.renew_lease(n, duration=LEASE, counter=1)
    clock = Clock()
    Controller(ManifestSource(src, state, settle=0), state, clock=clock).reconcile()
    return src, state, clock


def test_a_slow_speaker_pass_kills_no_live_node_nor_itself(tmp_path: Path) -> None:
    src, state, clock = setup(tmp_path)
    source = SlowSource(ManifestSource(src, state, settle=0), clock)
    port = Recorder()
    speaker = Speaker("frontend-1", source, state, l2=port, clock=clock)
    assert speaker.reconcile().live == set(NODES)
    home = set(port.announced)
    assert home
    source.seconds, source.tick = 10, Renewals(state, NODES)
    assert speaker.reconcile().live == set(NODES)
    clock.t += 0.5  # the next pass is quick, and no renewal came in between
    assert speaker.reconcile().live == set(NODES)
    assert set(port.announced) == home  # it never withdrew its own IP


def test_a_slow_controller_pass_kills_no_live_node(tmp_path: Path) -> None:
    src, state, clock = setup(tmp_path)
    source = SlowSource(ManifestSource(src, state, settle=0), clock)
    ctl = Controller(source, state, clock=clock)
    ctl.reconcile()
    source.seconds, source.tick = 10, Renewals(state, NODES)
    ctl.reconcile()
    clock.t += 0.5
    ctl.reconcile()
    assert ctl.membership.live() == set(NODES)


def test_renewals_seen_during_a_slow_load_and_a_silent_node_found_dead(tmp_path: Path) -> None:
    src, state, clock = setup(tmp_path)
    source = SlowSource(ManifestSource(src, state, settle=0), clock)
    speaker = Speaker("frontend-1", source, state, l2=Recorder(), clock=clock)
    speaker.reconcile()
    renew_all, renew_two = Renewals(state, NODES), Renewals(state, NODES[:2])
    seen: list[frozenset[str]] = []
    ticks = iter(range(10))

    def tick() -> None:  # frontend-3 stops renewing after 4 s of the load
        (renew_all if next(ticks) < 4 else renew_two)()
        seen.append(speaker.membership.observe())

    source.seconds, source.tick = 10, tick
    assert speaker.reconcile().live == {"frontend-1", "frontend-2"}
    # its last renewal was seen at second 4: live until 4 + LEASE, dead from then on
    assert [("frontend-3" in s) for s in seen] == [True] * 5 + [False] * 5
    assert all({"frontend-1", "frontend-2"} <= s for s in seen)


def test_a_failover_does_not_wait_for_a_slow_load(tmp_path: Path) -> None:
    src, state, clock = setup(tmp_path)
    source = SlowSource(ManifestSource(src, state, settle=0), clock)
    port = Recorder()
    speaker = Speaker("frontend-1", source, state, l2=port, clock=clock)
    speaker.reconcile()
    mine = set(port.announced)
    renew_all, renew_one = Renewals(state, NODES), Renewals(state, NODES[:1])
    during: list[set[IPAddress]] = []
    ticks = iter(range(10))

    def tick() -> None:  # the others stop renewing after 2 s of the load
        (renew_all if next(ticks) < 2 else renew_one)()
        speaker.membership.poll_once()  # the membership thread
        during.append(set(port.announced))

    source.seconds, source.tick = 10, tick
    speaker.reconcile()
    # frontend-2 and -3 last renewed at second 2: dead from second 4 on, and their IPs
    # taken over then, while the load still runs
    assert [len(d) for d in during] == [len(mine)] * 3 + [3] * 7
