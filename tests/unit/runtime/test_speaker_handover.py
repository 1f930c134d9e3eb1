"""Make-before-break between real speakers over real files, in virtual time (§15): when a
node comes back and its home IP returns to it, the node that held the IP meanwhile goes on
answering for one renewal interval, so at every step somebody answers and two nodes answer
only within that interval; a node that is not live itself withdraws at once."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path

from orchestrator.adapters.files.source import ManifestSource
from orchestrator.adapters.files.store import StateDir
from orchestrator.core.model.cluster import IPAddress
from orchestrator.runtime.controller import Controller
from orchestrator.runtime.speaker import Speaker

SEED = Path(__file__).resolve().parents[3] / "examples" / "seed"
NODES = ("frontend-1", "frontend-2", "frontend-3")


class Clock:
    t = 100.0  # steps of 1/8 s: exact in binary

    def __call__(self) -> float:
        return self.t


class Recorder:
    def __init__(self) -> None:
        self.announced: dict[IPAddress, object] = {}

    def set_announced(self, announced: Mapping[IPAddress, Iterable[str] | None]) -> None:
        self.announced = dict(announced)


def test_an_ip_returning_home_is_answered_by_both_only_within_the_overlap(
    tmp_path: Path,
) -> None:
    src = tmp_path / "src"
    shutil.copytree(SEED, src)
    state = StateDir(tmp_path / "state")
    counter = {n: 1 for n in NODES}

    def renew(*nodes: str) -> None:
        for n in nodes:
            counter[n] += 1
            state.renew_lease(n, duration=2.0, counter=counter[n])

    renew(*NODES)
    clock = Clock()
    Controller(ManifestSource(src, state, settle=0), state, clock=clock).reconcile()
    record = json.loads((state.services / "demo" / "web.json").read_text())
    homes = json.loads(record["annotations"]["metallb-orchestrator.io/l2-homes"])
    ports = {n: Recorder() for n in NODES}
    speakers = {
        n: Speaker(n, ManifestSource(src, state, settle=0), state, l2=ports[n], clock=clock)
        for n in NODES
    }

    def step(dt: float, *nodes: str) -> dict[str, list[str]]:
        clock.t += dt
        for n in nodes:
            speakers[n].reconcile()
        out: dict[str, list[str]] = {}
        for node, port in ports.items():
            for ip in port.announced:
                out.setdefault(str(ip), []).append(node)
        return out

    (ip,) = [ip for ip, node in homes.items() if node == "frontend-2"]
    assert step(0.125, *NODES)[ip] == ["frontend-2"]
    state.release_lease("frontend-2")  # restarted: gone, then back
    ports["frontend-2"].announced = {}
    holder = step(0.125, "frontend-1", "frontend-3")[ip]
    assert len(holder) == 1 and holder != ["frontend-2"]
    (old,) = holder
    speakers["frontend-2"] = Speaker(
        "frontend-2",
        ManifestSource(src, state, settle=0),
        state,
        l2=ports["frontend-2"],
        clock=clock,
    )
    renew(*NODES)
    # the old holder sees the home back first: it keeps answering
    assert step(0.125, old)[ip] == [old]
    assert sorted(step(0.125, "frontend-2")[ip]) == sorted([old, "frontend-2"])
    renew(*NODES)
    assert sorted(step(0.75, *NODES)[ip]) == sorted([old, "frontend-2"])  # 0.875 s in
    assert step(0.125, *NODES)[ip] == ["frontend-2"]  # the overlap (1 s) is over
