"""The routing worker (orchestrator.routing.worker) over a driver double, in virtual time.

The double stands in for a daemon made to fail on demand (reject, vanish, restart); the
real daemons are in tests/integration/test_routing_repair.py. Matrix:

- a rejected config is retried with backoff, not re-sent in a loop; the daemon's message
  is in the log (error), the apply stage and ``metallb_bgp_apply_errors_total``;
- invalid input is not retried and is a conversion failure;
- a failed status read marks every configured session unknown (session_up 0), and a
  session going down is logged at warning;
- a probe that sees another daemon makes the driver forget, repairs at once, logs it at
  warning, counts it, and sets the apply stage back to ok (the stage follows the repair);
- ``ready`` follows the probe; the thread applies the latest of a burst and survives a bug;
- messages go through the driver's ``redact``.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Hashable, Iterator

import pytest
from prometheus_client import CollectorRegistry

from orchestrator import log
from orchestrator.backoff import Backoff
from orchestrator.core.bgp.intent import EMPTY_INTENT, NodeBGPIntent
from orchestrator.routing.errors import DaemonRejected, DaemonUnavailable, IntentInvalid
from orchestrator.routing.metrics import RoutingMetrics
from orchestrator.routing.report import (
    ApplyReport,
    DriftReport,
    PeerStatus,
    Session,
    SessionState,
    Stage,
    peer_status,
)
from orchestrator.routing.scheduler import Scheduler
from orchestrator.routing.worker import RoutingWorker

SESSION = Session(peer="r1", neighbor="198.51.100.1", password=True)


def intent(n: int) -> NodeBGPIntent:
    return EMPTY_INTENT.__class__(**{**EMPTY_INTENT.__dict__, "node": f"v{n}"})


class Driver:
    """A daemon on demand: ``fail`` raises from apply, ``identity`` is what the probe
    sees (None: unreachable), ``state`` the session state (None: status unreadable)."""

    backend = "fake"

    def __init__(self) -> None:
        self.applied: list[NodeBGPIntent] = []
        self.fail: list[Exception] = []
        self.drift: DriftReport = DriftReport((), False, 0)
        self.drift_checks = 0
        self.identity: Hashable | None = "pid-1"
        self.state: SessionState | None = SessionState.ESTABLISHED
        self.forgotten = 0
        self.gate = threading.Event()
        self.gate.set()

    def apply(self, intent: NodeBGPIntent) -> ApplyReport:
        self.gate.wait(5)
        if self.fail:
            raise self.fail.pop(0)
        self.applied.append(intent)
        return ApplyReport(changes=1, full_sync=False, detail={"commands": 1})

    def check_drift(self) -> DriftReport:
        self.drift_checks += 1
        if self.fail:
            raise self.fail.pop(0)
        return self.drift

    def status(self) -> tuple[PeerStatus, ...]:
        if self.state is None:
            raise DaemonUnavailable("bgpd is not running")
        return (peer_status(SESSION, self.state, announced=3),)

    def sessions(self) -> tuple[Session, ...]:
        return (SESSION,)

    def probe(self) -> Hashable:
        if self.identity is None:
            raise DaemonUnavailable("bgpd is not running")
        return self.identity

    def forget(self) -> None:
        self.forgotten += 1

    def redact(self, text: str) -> str:
        return text.replace("s3cret", "<redacted>")

    def close(self) -> None:
        pass


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def out() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    log.configure("debug", stream=stream)
    yield stream
    log.configure("info")


def worker(driver: Driver, clock: Clock, **kw: object) -> tuple[RoutingWorker, CollectorRegistry]:
    registry = CollectorRegistry()
    params: dict[str, object] = {
        "debounce": 0.0,
        "probe_interval": None,
        "status_interval": None,
        "drift_interval": 100.0,
    }
    params.update(kw)
    scheduler = Scheduler(**params)  # type: ignore[arg-type]
    return (
        RoutingWorker(driver, scheduler=scheduler, metrics=RoutingMetrics(registry), clock=clock),
        registry,
    )


def run_until(w: RoutingWorker, clock: Clock, until: float, tick: float = 0.01) -> None:
    while clock.now <= until:
        while w.step():
            pass
        clock.now = round(clock.now + tick, 6)


def lines(out: io.StringIO, event: str) -> list[str]:
    return [ln for ln in out.getvalue().splitlines() if f" event={event} " in ln + " "]


def test_a_rejected_config_is_retried_with_backoff_not_in_a_loop(out: io.StringIO) -> None:
    driver, clock = Driver(), Clock()
    w, registry = worker(driver, clock, backoff=Backoff(initial=0.5, maximum=4.0))
    driver.fail = [DaemonRejected("bgpd rejected 1 line(s): % Unknown command: s3cret")] * 50
    w.apply(intent(1))
    run_until(w, clock, 10.0)
    failures = lines(out, "bgpApplyFailed")
    # attempts at 0, 0.5, 1.5, 3.5, 7.5 s: five in ten seconds, not one per pass
    assert len(failures) == 5, failures
    assert all("level=error" in ln and "reason=rejected" in ln for ln in failures)
    assert "Unknown command" in failures[0] and "s3cret" not in out.getvalue()
    assert "retryIn=0.5s" in failures[0] and "retryIn=4.0s" in failures[-1]
    assert not w.stages[Stage.APPLY].ok and "Unknown command" in w.stages[Stage.APPLY].message
    assert registry.get_sample_value("metallb_bgp_apply_errors_total", {"reason": "rejected"}) == 5


def test_invalid_input_is_a_conversion_failure_and_not_retried(out: io.StringIO) -> None:
    driver, clock = Driver(), Clock()
    w, registry = worker(driver, clock)
    driver.fail = [IntentInvalid("BGPPeer/r1: password must be 1-80 printable characters")]
    w.apply(intent(1))
    run_until(w, clock, 5.0)
    assert len(lines(out, "bgpApplyFailed")) == 1 and "reason=invalid" in out.getvalue()
    assert not w.stages[Stage.CONVERSION].ok and w.scheduler.idle
    assert registry.get_sample_value("metallb_bgp_stage_ok", {"stage": "conversion"}) == 0


def test_a_failed_status_read_marks_sessions_unknown(out: io.StringIO) -> None:
    driver, clock = Driver(), Clock()
    w, registry = worker(driver, clock, status_interval=1.0)
    w.apply(intent(1))
    run_until(w, clock, 0.5)
    assert registry.get_sample_value("metallb_bgp_session_up", {"peer": "198.51.100.1"}) == 1
    assert lines(out, "sessionUp")
    driver.state = None  # bgpd died: the status read fails
    run_until(w, clock, 1.5)
    assert registry.get_sample_value("metallb_bgp_session_up", {"peer": "198.51.100.1"}) == 0
    (status,) = w.statuses
    assert status.state is SessionState.UNKNOWN and "bgpd is not running" in (status.hint or "")
    (down,) = lines(out, "sessionDown")
    assert "level=warning" in down and "state=unknown" in down


def test_a_replaced_daemon_is_repaired_at_once_and_the_stages_follow(out: io.StringIO) -> None:
    driver, clock = Driver(), Clock()
    w, registry = worker(driver, clock, probe_interval=1.0, backoff=Backoff(initial=0.5))
    assert not w.ready()
    driver.fail = [DaemonUnavailable("bgpd is not running")]
    w.apply(intent(1))
    run_until(w, clock, 0.2)
    assert w.ready() and not w.stages[Stage.APPLY].ok
    run_until(w, clock, 0.8)  # the retry at 0.5 s succeeds
    assert w.stages[Stage.APPLY].ok
    driver.fail = [DaemonUnavailable("bgpd is not running")]
    driver.drift = DriftReport(("router bgp None -> 64512",), True, 12)
    driver.identity = "pid-2"  # killed and started again between two probes
    run_until(w, clock, 1.05)
    # the probe at 1.0 s saw it: forget, repair now (the first attempt fails, then backoff)
    assert driver.forgotten == 1 and driver.drift_checks == 1
    assert "level=warning" in lines(out, "daemonRestarted")[0]
    run_until(w, clock, 1.6)
    assert driver.drift_checks == 2 and w.repairs == 1
    (repaired,) = lines(out, "bgpRepaired")
    assert "level=warning" in repaired and "reason=daemonRestarted" in repaired
    assert w.stages[Stage.APPLY].ok and w.stages[Stage.RUNNING].ok
    assert registry.get_sample_value("metallb_bgp_stage_ok", {"stage": "apply"}) == 1
    assert (
        registry.get_sample_value("metallb_bgp_repairs_total", {"reason": "daemonRestarted"}) == 1
    )
    driver.identity = None
    run_until(w, clock, 2.1)
    assert not w.ready() and lines(out, "daemonUnavailable")
    assert registry.get_sample_value("metallb_bgp_daemon_up") == 0


def test_the_thread_applies_the_latest_and_survives_a_bug() -> None:
    driver = Driver()
    driver.gate.clear()
    scheduler = Scheduler(
        debounce=0.0, drift_interval=0.05, probe_interval=0.05, backoff=Backoff(initial=0.01)
    )
    w = RoutingWorker(driver, scheduler=scheduler)
    w.start()
    try:
        w.apply(intent(1))  # picked up at once, blocks on the gate
        for i in range(2, 20):
            w.apply(intent(i))
        driver.fail = [DaemonUnavailable("down"), RuntimeError("bug")]
        driver.gate.set()
        assert w.wait_idle(5)
        assert driver.applied[-1] == intent(19)
        assert len(driver.applied) <= 2  # the burst coalesced behind the first apply
        driver.fail = [IntentInvalid("bad")]
        w.apply(intent(30))
        assert w.wait_idle(5)
        assert driver.applied[-1] == intent(19)  # invalid input kept the last good one
    finally:
        w.stop()
