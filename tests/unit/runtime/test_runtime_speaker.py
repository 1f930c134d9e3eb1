"""The standalone speaker over real files with a recording L2 port: each node announces its
home IP; when a node's lease goes stale its IP is taken over locally by exactly one other
node, and the other IPs stay where they are; a released lease hands over at once; a node
lacking an IP's interfaces posts announceFailed; lease renewals that change neither the
snapshot nor the live set do not compute the intent again."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

from orchestrator.adapters.files import source as files_source
from orchestrator.adapters.files.source import ManifestSource
from orchestrator.adapters.files.store import StateDir
from orchestrator.core.l2.intent import l2_announcements
from orchestrator.core.model.cluster import IPAddress
from orchestrator.runtime.controller import Controller
from orchestrator.runtime.speaker import Speaker

SEED = Path(__file__).resolve().parents[3] / "examples" / "seed"
NODES = ("frontend-1", "frontend-2", "frontend-3")


class Recorder:
    def __init__(self) -> None:
        self.announced: dict[IPAddress, object] = {}

    def set_announced(self, announced: Mapping[IPAddress, Iterable[str] | None]) -> None:
        self.announced = dict(announced)


def cluster(tmp_path: Path) -> tuple[StateDir, dict[str, Speaker], dict[str, Recorder]]:
    src = tmp_path / "src"
    shutil.copytree(SEED, src)
    state = StateDir(tmp_path / "state")
    for n in NODES:
        state.renew_lease(n, duration=2.0, counter=1)
    Controller(ManifestSource(src, state, settle=0), state).reconcile(now=0.0)
    ports = {n: Recorder() for n in NODES}
    speakers = {
        n: Speaker(n, ManifestSource(src, state, settle=0), state, l2=ports[n]) for n in NODES
    }
    return state, speakers, ports


def homes(state: StateDir) -> dict[str, str]:
    record = json.loads((state.services / "demo" / "web.json").read_text())
    return json.loads(record["annotations"]["metallb-orchestrator.io/l2-homes"])  # type: ignore[no-any-return]


def owners(ports: dict[str, Recorder]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for node, port in ports.items():
        for ip in port.announced:
            out.setdefault(str(ip), []).append(node)
    return out


def test_each_node_announces_its_home_ip(tmp_path: Path) -> None:
    state, speakers, ports = cluster(tmp_path)
    for s in speakers.values():
        s.reconcile(now=0.5)
    assert owners(ports) == {ip: [node] for ip, node in homes(state).items()}


def test_stale_lease_moves_only_that_nodes_ip(tmp_path: Path) -> None:
    state, speakers, ports = cluster(tmp_path)
    for s in speakers.values():
        s.reconcile(now=0.5)
    dead = "frontend-2"
    moved = next(ip for ip, node in homes(state).items() if node == dead)
    # the two survivors renew; the dead node's lease stops changing
    for n in NODES:
        if n != dead:
            state.renew_lease(n, duration=2.0, counter=2)
    for n in NODES:
        if n != dead:
            speakers[n].reconcile(now=1.5)
    assert owners(ports)[moved] == [dead]  # not yet expired: no split-brain, no gap
    for n in NODES:
        if n != dead:
            state.renew_lease(n, duration=2.0, counter=3)
            speakers[n].reconcile(now=2.6)
    ports[dead].announced = {}  # the dead node no longer answers anything
    after = owners(ports)
    assert len(after[moved]) == 1 and after[moved] != [dead]
    for ip, node in homes(state).items():
        if ip != moved:
            assert after[ip] == [node]


def test_released_lease_hands_over_at_once(tmp_path: Path) -> None:
    state, speakers, ports = cluster(tmp_path)
    for s in speakers.values():
        s.reconcile(now=0.5)
    state.release_lease("frontend-1")
    ports["frontend-1"].announced = {}
    for n in ("frontend-2", "frontend-3"):
        speakers[n].reconcile(now=0.6)
    assert all(len(nodes) == 1 for nodes in owners(ports).values())
    assert len(owners(ports)) == 3


def test_announced_metric_follows_the_node(tmp_path: Path) -> None:
    state, speakers, _ = cluster(tmp_path)
    node = "frontend-1"
    speakers[node].reconcile(now=0.5)
    (ip,) = [ip for ip, n in homes(state).items() if n == node]
    labels = {"service": "demo/web", "protocol": "layer2", "node": node, "ip": ip}
    get = speakers[node].registry.get_sample_value
    assert get("metallb_speaker_announced", labels) == 1
    state.release_lease(node)  # no longer live: it must stop announcing
    speakers[node].reconcile(now=0.6)
    assert get("metallb_speaker_announced", labels) is None


class Links(Recorder):
    """An L2 port that also tells which links it answers on, as the real Announcer does."""

    def __init__(self, *links: str) -> None:
        super().__init__()
        self.links = links


class Events:
    def __init__(self) -> None:
        self.posted: list[tuple[str, str, str, bool]] = []

    def event(self, service: str, reason: str, message: str, *, warning: bool = False) -> None:
        self.posted.append((service, reason, message, warning))


class Report:
    def __init__(self) -> None:
        self.l2: Mapping[str, tuple[str, ...]] = {}

    def report(self, l2: Mapping[str, tuple[str, ...]], bgp: Mapping[str, tuple[str, ...]]) -> None:
        self.l2 = l2


def test_a_node_without_the_class_interfaces_posts_announce_failed(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(SEED, src)
    cls = src / "class.yaml"
    cls.write_text(
        cls.read_text().replace("  type: L2\n", "  type: L2\n  l2:\n    interfaces: [eth1]\n")
    )
    state = StateDir(tmp_path / "state")
    state.renew_lease("frontend-1", duration=2.0, counter=1)
    Controller(ManifestSource(src, state, settle=0), state).reconcile(now=0.0)
    port, events, report = Links("eth0"), Events(), Report()
    speaker = Speaker(
        "frontend-1",
        ManifestSource(src, state, settle=0),
        state,
        l2=port,
        events=events,
        announced=report,
    )
    speaker.reconcile(now=0.5)
    speaker.reconcile(now=0.6)
    ips = sorted(homes(state))
    assert [(e[1], e[3]) for e in events.posted] == [("announceFailed", True)] * len(ips)
    assert "node 'frontend-1' has none of the interfaces eth1 up for" in events.posted[0][2]
    assert report.l2 == {}  # no ServiceL2Status claims an interface this node lacks
    port.links = ("eth0", "eth1")  # the interface comes up
    speaker.reconcile(now=0.7)
    assert report.l2 == {"demo/web": ("eth1",)}
    assert [e[1] for e in events.posted[len(ips) :]] == ["nodeAssigned"]
    port.links = ("eth0",)  # and goes away again: reported again
    speaker.reconcile(now=0.8)
    assert [e[1] for e in events.posted].count("announceFailed") == 2 * len(ips)


def test_intent_is_computed_again_only_for_a_new_snapshot_or_live_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(files_source, "_RACY_NS", 0)  # the copied files are not "racy"
    state, speakers, ports = cluster(tmp_path)
    calls: list[str] = []
    real = l2_announcements

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs["node"])
        return real(*args, **kwargs)

    monkeypatch.setattr("orchestrator.runtime.speaker.l2_announcements", counting)
    speaker = speakers["frontend-1"]
    speaker.reconcile(now=0.5)
    for counter in (2, 3, 4):  # renewals: leases change, the live set does not
        for n in NODES:
            state.renew_lease(n, duration=2.0, counter=counter)
        speaker.reconcile(now=0.5 + counter / 10)
    assert calls == ["frontend-1"]
    state.release_lease("frontend-2")  # a node gone: computed again, and it takes over
    speaker.reconcile(now=1.0)
    assert calls == ["frontend-1"] * 2
    assert len(ports["frontend-1"].announced) == 2
