"""FrrDriver with a recording vtysh (frr.driver, frr.status, frr.client).

Matrix: the first apply reads FRR's running config (a bare FRR gets everything, a
configured one nothing); later applies diff against the last applied model without reading;
a failed apply, or ``forget`` (the daemon was replaced), makes the next one re-read; a
conversion error sends nothing and keeps the last good config; drift detection repairs and
reports; passwords never reach logs, stage messages or exceptions (through the routing
worker); status and metrics come from vtysh JSON, and peers that go away stop reporting.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from frr.client import Identity, split_by_daemon
from frr.diff import Command, batch_text
from frr.driver import FrrDriver
from frr.errors import ConversionError, VtyshCommandError, VtyshUnavailable, redact
from frr.render import render_config
from frr.translate import build_view
from orchestrator import log
from orchestrator.core.bgp.compute import bgp_intent
from orchestrator.core.bgp.intent import NodeBGPIntent
from orchestrator.core.model.cluster import BGPAdvertisement, Secret
from orchestrator.routing.metrics import RoutingMetrics
from orchestrator.routing.report import SessionState, Stage
from orchestrator.routing.scheduler import Scheduler
from orchestrator.routing.worker import RoutingWorker
from tests.golden.frr_scenarios import assign, peer, service, snapshot

PASSWORD = "s3cr3t-pw"


class FakeVtysh:
    """Records batches; serves a running config and JSON set by the test."""

    def __init__(self, running: str = "") -> None:
        self.running = running
        self.batches: list[list[Command]] = []
        self.shows: list[str] = []
        self.fail_next: Exception | None = None
        self.json: dict[str, Any] = {}

    def apply(self, commands: Sequence[Command], *, secrets: Sequence[Secret] = ()) -> None:
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error
        self.batches.append(list(commands))

    def show(self, command: str, *, daemon: str | None = None) -> str:
        self.shows.append(command)
        return self.running

    def show_json(self, command: str, *, daemon: str | None = None) -> Any:
        self.shows.append(command)
        return self.json.get(command, {})

    def identity(self) -> Identity:
        return (("bgpd", (1, 1, "101")),)


def intent(ips: int = 1, *, password: str | None = PASSWORD, **kw: Any) -> NodeBGPIntent:
    p = peer("r1", "198.51.100.1", password=Secret(password) if password else None, **kw)
    snap = snapshot(
        peers=[p],
        advertisements=[BGPAdvertisement(name="default")],
        services=[service(f"s{i}") for i in range(ips)],
    )
    return bgp_intent(
        snap, [assign(f"default/s{i}", f"203.0.113.{i + 1}") for i in range(ips)], node="n1"
    )


def test_bare_frr_gets_everything_then_only_diffs() -> None:
    fake = FakeVtysh()
    backend = FrrDriver(fake)
    first = backend.apply(intent(2))
    assert first.full_sync and fake.shows == ["show running-config"]
    assert any(c.line.startswith("network 203.0.113.2/32") for c in fake.batches[0])
    second = backend.apply(intent(3))
    assert not second.full_sync and fake.shows == ["show running-config"]
    assert [c.line for c in fake.batches[1]] == ["network 203.0.113.3/32 route-map MLB-ADV-default"]
    assert backend.apply(intent(3)).changes == 0 and len(fake.batches) == 2
    backend.forget()  # the worker saw another bgpd: read it back
    assert backend.apply(intent(3)).full_sync and fake.shows.count("show running-config") == 2


def test_configured_frr_after_speaker_restart_gets_nothing() -> None:
    view = build_view(intent(2))
    fake = FakeVtysh(running=render_config(view))
    result = FrrDriver(fake).apply(intent(2))
    assert result.full_sync and result.changes == 0 and fake.batches == []


def test_failed_apply_rereads_running_config_next_time() -> None:
    fake = FakeVtysh()
    backend = FrrDriver(fake)
    backend.apply(intent(1))
    fake.fail_next = VtyshUnavailable("bgpd is not running")
    with pytest.raises(VtyshUnavailable):
        backend.apply(intent(2))
    fake.running = ""  # bgpd came back empty
    result = backend.apply(intent(2))
    assert result.full_sync and fake.shows.count("show running-config") == 2


def test_conversion_error_sends_nothing_and_keeps_the_last_good_config() -> None:
    fake = FakeVtysh()
    backend = FrrDriver(fake)
    backend.apply(intent(1))
    good = backend.view
    with pytest.raises(ConversionError) as err:
        backend.apply(intent(1, password="bad password\nend"))
    assert len(fake.batches) == 1 and backend.view is good
    assert "bad password" not in str(err.value)


def test_drift_is_detected_and_repaired() -> None:
    fake = FakeVtysh()
    backend = FrrDriver(fake)
    backend.apply(intent(2))
    target = render_config(backend.view)  # type: ignore[arg-type]
    fake.running = target
    assert backend.check_drift().drifted == ()
    fake.running = target.replace("  network 203.0.113.2/32 route-map MLB-ADV-default\n", "")
    report = backend.check_drift()
    assert report.repaired and report.drifted == ("1 network statement(s)",)
    assert [c.line for c in fake.batches[-1]] == [
        "network 203.0.113.2/32 route-map MLB-ADV-default"
    ]
    fake.running = ""  # bgpd restarted with an empty config
    report = backend.check_drift()
    assert report.repaired and "router bgp None -> 64512" in report.drifted
    assert backend.repairs == 2
    fake.running = target.replace("route-map MLB-r1-out", "route-map MLB-r1-out-x")
    assert not backend.check_drift(repair=False).repaired


def datacenter(text: str) -> str:
    """``text`` as FRR under ``frr defaults datacenter`` prints it: the header names the
    profile, and ``no bgp ebgp-requires-policy`` (that profile's default) is not printed."""
    body = text.replace(" no bgp ebgp-requires-policy\n", "")
    assert body != text
    return "frr version 8.4.4\nfrr defaults datacenter\n" + body


def test_drift_is_compared_in_the_terms_of_frrs_defaults_profile() -> None:
    fake = FakeVtysh()
    backend = FrrDriver(fake)
    backend.apply(intent(2))
    target = render_config(backend.view)  # type: ignore[arg-type]
    fake.running = datacenter(target)
    for _ in range(3):
        assert backend.check_drift().drifted == ()
    assert backend.repairs == 0 and fake.batches[-1] != []
    # a hand-made change that the profile does print is still drift, repaired once
    fake.running = fake.running.replace(
        "router bgp 64512\n", "router bgp 64512\n bgp ebgp-requires-policy\n"
    )
    report = backend.check_drift()
    assert report.repaired and report.drifted == ("router bgp settings",)
    assert [c.line for c in fake.batches[-1]] == ["no bgp ebgp-requires-policy"]
    # the same daemon restarted under traditional: the statement is ours to send again
    fake.running = "frr version 8.4.4\nfrr defaults traditional\n"
    backend.forget()
    fake.batches.clear()
    backend.apply(intent(2))
    assert "no bgp ebgp-requires-policy" in [c.line for c in fake.batches[-1]]


def test_a_full_sync_under_datacenter_sends_only_what_is_missing() -> None:
    fake = FakeVtysh()
    first = FrrDriver(fake)
    first.apply(intent(2))
    fake.running = datacenter(render_config(first.view))  # type: ignore[arg-type]
    fake.batches.clear()
    FrrDriver(fake).apply(intent(2))  # a restarted speaker, FRR already configured
    assert fake.batches == []


def test_passwords_never_in_logs_stages_or_exceptions() -> None:
    out = io.StringIO()
    log.configure("debug", stream=out)
    try:
        fake = FakeVtysh()
        driver = FrrDriver(fake)
        scheduler = Scheduler(debounce=0, probe_interval=None, status_interval=None)
        worker = RoutingWorker(driver, scheduler=scheduler)
        worker.apply(intent(1))
        assert worker.step()
        assert any(c.secret for c in fake.batches[0])
        fake.fail_next = VtyshCommandError(
            "bgpd", [f"line 3: % Unknown command: neighbor 198.51.100.1 password {PASSWORD}x"]
        )
        with pytest.raises(VtyshCommandError) as err:
            driver.apply(intent(1, password=PASSWORD + "x"))
        assert PASSWORD not in str(err.value) and PASSWORD not in " ".join(err.value.errors)
        fake.fail_next = VtyshCommandError(
            "bgpd", [f"line 3: % Unknown command: neighbor 198.51.100.1 password {PASSWORD}y"]
        )
        worker.apply(intent(1, password=PASSWORD + "y"))
        assert worker.step()
        assert "bgpApplyFailed" in out.getvalue() and PASSWORD not in out.getvalue()
        assert PASSWORD not in worker.stages[Stage.APPLY].message
        assert "<redacted>" in redact("neighbor x password abc", [])
    finally:
        log.configure("info")


def test_daemon_split_keeps_order() -> None:
    commands = [
        Command((), "ip nht resolve-via-default"),
        Command(("bfd", "profile MLB-a"), ""),
        Command((), "route-map MLB-x permit 10"),
        Command(("router bgp 1",), "neighbor a remote-as 1"),
        Command(("bfd",), "no profile MLB-b"),
    ]
    assert [(d, len(c)) for d, c in split_by_daemon(commands)] == [
        ("zebra", 1),
        ("bfdd", 1),
        ("bgpd", 2),
        ("bfdd", 1),
    ]
    assert batch_text(split_by_daemon(commands)[1][1]) == "bfd\n profile MLB-a\n exit\nexit\n"


def test_route_map_removals_also_reach_zebra_copies() -> None:
    """An FRR booted from a file has description-only copies of our route-maps in zebra;
    removing an entry from bgpd alone would leave it in the merged running config."""
    commands = [
        Command(("route-map MLB-r1-out permit 7",), "set community no-export additive"),
        Command(("router bgp 1", "address-family ipv4 unicast"), "no network 192.0.2.1/32"),
        Command((), "no route-map MLB-r1-out permit 9"),
        Command((), "no route-map MLB-ADV-old"),
        Command((), "no bgp large-community-list standard MLB-ADV-old"),
    ]
    runs = split_by_daemon(commands)
    assert [(d, len(c)) for d, c in runs] == [("bgpd", 5), ("zebra", 2)]
    assert batch_text(runs[1][1]) == "no route-map MLB-r1-out permit 9\nno route-map MLB-ADV-old\n"
    with_global = [*commands, Command((), "no ip nht resolve-via-default")]
    assert [(d, len(c)) for d, c in split_by_daemon(with_global)] == [("bgpd", 5), ("zebra", 3)]


SUMMARY = {
    "ipv4Unicast": {
        "peers": {
            "198.51.100.1": {"state": "Established", "pfxSnt": 2},
            "192.0.2.1": {"state": "Established", "pfxSnt": 9},
        }
    },
    "ipv6Unicast": {"peers": {"198.51.100.1": {"state": "Established", "pfxSnt": 1}}},
}


def test_status_and_metrics() -> None:
    fake = FakeVtysh()
    registry = CollectorRegistry()
    metrics = RoutingMetrics(registry)
    backend = FrrDriver(fake)
    backend.apply(intent(2, password=None, bfd_profile=None))
    fake.json["show bgp summary json"] = SUMMARY
    (status,) = backend.status()
    assert status.up and status.announced == 3 and status.peer == "r1" and status.bfd is None
    metrics.publish(backend.status())
    sample = registry.get_sample_value
    assert sample("metallb_bgp_session_up", {"peer": "198.51.100.1"}) == 1.0
    assert sample("metallb_bgp_announced_prefixes_total", {"peer": "198.51.100.1"}) == 3.0
    assert sample("metallb_bgp_session_up", {"peer": "192.0.2.1"}) is None  # not ours

    fake.json["show bgp summary json"] = {
        "ipv4Unicast": {"peers": {"198.51.100.1": {"state": "Active", "pfxSnt": 0}}}
    }
    backend.apply(intent(2, password=PASSWORD))
    (down,) = backend.status()
    assert down.state is SessionState.ACTIVE
    assert not down.up and down.hint is not None and "password" in down.hint
    metrics.publish(backend.status())
    assert sample("metallb_bgp_session_up", {"peer": "198.51.100.1"}) == 0.0

    snap = snapshot(peers=[], advertisements=[], services=[])
    backend.apply(bgp_intent(snap, [], node="n1"))
    assert backend.status() == ()
    metrics.publish(backend.status())
    assert sample("metallb_bgp_session_up", {"peer": "198.51.100.1"}) is None


def test_bfd_status_from_bfd_peers_json() -> None:
    from orchestrator.core.model.cluster import BFDProfile

    fake = FakeVtysh()
    backend = FrrDriver(fake)
    p = peer("r1", "198.51.100.1", bfd_profile="fast")
    snap = snapshot(
        peers=[p],
        advertisements=[BGPAdvertisement(name="default")],
        services=[service("web")],
        bfd=[BFDProfile(name="fast")],
    )
    backend.apply(bgp_intent(snap, [assign("default/web", "203.0.113.1")], node="n1"))
    fake.json["show bgp summary json"] = SUMMARY
    fake.json["show bfd peers json"] = [{"peer": "198.51.100.1", "status": "up"}]
    assert backend.status()[0].bfd == "up"
    fake.json["show bfd peers json"] = []
    assert backend.status()[0].bfd == "missing"


def test_only_the_changed_neighbor_option_is_sent() -> None:
    fake = FakeVtysh()
    backend = FrrDriver(fake)
    backend.apply(intent(1, password=None))
    base = intent(1, password=None)
    p = base.peers[0]
    changed = replace(base, peers=(replace(p, peer=replace(p.peer, hold_time=30.0)),))
    backend.apply(changed)
    assert [c.line for c in fake.batches[-1]] == ["neighbor 198.51.100.1 timers 10 30"]
