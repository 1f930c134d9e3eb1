"""The standalone controller over real files: it records IPs and homes, a restarted
controller moves nothing, an invalid edit freezes the last good config (no IP withdrawn or
moved), a deleted Service frees its record, the loop looks again as soon as a settling
edit is due, and a pass that wrote nothing is not planned again for the same snapshot and
live nodes (a failed write is still retried)."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from orchestrator.adapters.files import source as files_source
from orchestrator.adapters.files.source import ManifestSource
from orchestrator.adapters.files.store import StateDir
from orchestrator.core.plan import plan
from orchestrator.core.status.records import StatusRecord
from orchestrator.runtime.controller import Controller

SEED = Path(__file__).resolve().parents[3] / "examples" / "seed"
NODES = ("frontend-1", "frontend-2", "frontend-3")


def setup(tmp_path: Path) -> tuple[Path, StateDir]:
    src = tmp_path / "src"
    shutil.copytree(SEED, src)
    state = StateDir(tmp_path / "state")
    for n in NODES:
        state.renew_lease(n, duration=2.0, counter=1)
    return src, state


def controller(src: Path, state: StateDir) -> Controller:
    return Controller(ManifestSource(src, state, settle=0), state)


def record(state: StateDir) -> dict[str, object]:
    return json.loads((state.services / "demo" / "web.json").read_text())  # type: ignore[no-any-return]


def test_records_three_ips_on_three_homes_and_restart_moves_nothing(tmp_path: Path) -> None:
    src, state = setup(tmp_path)
    assert controller(src, state).reconcile(now=0.0) == 1
    first = record(state)
    assert len(first["ingress"]) == 3  # type: ignore[arg-type]
    homes = json.loads(first["annotations"]["metallb-orchestrator.io/l2-homes"])  # type: ignore[index]
    assert sorted(homes.values()) == sorted(NODES)
    conditions = {c["type"]: c for c in first["conditions"]}  # type: ignore[attr-defined]
    assert conditions["AllPublicIPsAssigned"]["message"] == "3 of 3 public IPs were assigned"
    # a new process (fresh allocator) restores from the record: nothing moves or is rewritten
    assert controller(src, state).reconcile(now=0.0) == 0
    assert record(state) == first


def test_invalid_edit_keeps_last_good_config_and_every_ip(tmp_path: Path) -> None:
    src, state = setup(tmp_path)
    ctl = controller(src, state)
    ctl.reconcile(now=0.0)
    before = record(state)
    # break the class: its pool would vanish from the parsed config
    (src / "class.yaml").write_text(
        (src / "class.yaml").read_text().replace("192.168.2.100-192.168.2.150", "192.168.2.300")
    )
    assert ctl.reconcile(now=0.1) == 0
    assert record(state) == before
    # a YAML syntax error that hides the Service document changes nothing either
    (src / "service.yaml").write_text("kind: Service\n  bad: [\n")
    assert ctl.reconcile(now=0.2) == 0
    assert record(state) == before


def test_deleting_the_service_removes_its_record(tmp_path: Path) -> None:
    src, state = setup(tmp_path)
    ctl = controller(src, state)
    ctl.reconcile(now=0.0)
    text = (src / "service.yaml").read_text()
    docs = [d for d in text.split("\n---\n") if "kind: Service" not in d]
    (src / "service.yaml").write_text("\n---\n".join(docs))
    assert ctl.reconcile(now=0.1) == 1
    assert not (state.services / "demo" / "web.json").exists()


def test_metrics_use_metallb_names(tmp_path: Path) -> None:
    src, state = setup(tmp_path)
    ctl = controller(src, state)
    ctl.reconcile(now=0.0)
    get = ctl.registry.get_sample_value
    assert get("metallb_allocator_addresses_total", {"pool": "ingress"}) == 51
    assert get("metallb_allocator_addresses_in_use_total", {"pool": "ingress"}) == 3
    assert get("metallb_k8s_client_config_loaded_bool") == 1
    assert get("metallb_k8s_client_config_stale_bool") == 0
    (src / "class.yaml").write_text((src / "class.yaml").read_text().replace("-192.168.2.150", "x"))
    ctl.reconcile(now=0.1)
    assert get("metallb_k8s_client_config_stale_bool") == 1


class FirstWait:
    """A Waker (the loop's port) that records the loop's first timeout and ends the loop."""

    def __init__(self, done: threading.Event) -> None:
        self.done = done
        self.timeouts: list[float] = []

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def wait(self, timeout: float) -> bool:
        self.timeouts.append(timeout)
        self.done.set()
        return False


def test_loop_looks_again_when_a_settling_edit_is_due_not_a_tick_later(tmp_path: Path) -> None:
    src, state = setup(tmp_path)
    (src / "class.yaml").write_text((src / "class.yaml").read_text())  # just saved: settling
    ctl = Controller(ManifestSource(src, state, settle=0.3), state)
    stop = threading.Event()
    waker = FirstWait(stop)
    ctl.run(stop, waker, tick=5.0)
    assert 0 < waker.timeouts[0] <= 0.3
    assert not (state.services / "demo").exists()  # nothing read yet, nothing written
    old = time.time_ns() - 10**10
    for p in (src, *src.iterdir()):
        os.utime(p, ns=(old, old))
    stop.clear()
    ctl.run(stop, waker, tick=5.0)
    assert waker.timeouts[1] == 5.0
    assert len(record(state)["ingress"]) == 3  # type: ignore[arg-type]


class FailingOnce(StateDir):
    """A store whose first status write fails, as an API conflict or outage would."""

    failed = False

    def write_status(self, key: str, record: StatusRecord) -> None:
        if not self.failed:
            self.failed = True
            raise OSError("disk full")
        super().write_status(key, record)


def test_a_failed_write_is_retried_with_nothing_else_changed(tmp_path: Path) -> None:
    src, _ = setup(tmp_path)
    state = FailingOnce(tmp_path / "state")
    ctl = Controller(ManifestSource(src, state, settle=0), state)
    with pytest.raises(OSError):
        ctl.reconcile(now=0.0)
    assert ctl.reconcile(now=0.1) == 1  # same files, same leases: still written
    assert ctl.reconcile(now=0.2) == 0


def test_a_pass_that_wrote_nothing_is_not_planned_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(files_source, "_RACY_NS", 0)  # the copied files are not "racy"
    src, state = setup(tmp_path)
    ctl = controller(src, state)
    plans: list[object] = []

    def counting(*args: Any, **kwargs: Any) -> Any:
        plans.append(args)
        return plan(*args, **kwargs)

    monkeypatch.setattr("orchestrator.runtime.controller.plan", counting)
    assert ctl.reconcile(now=0.0) == 1
    assert ctl.reconcile(now=0.1) == 0  # the record it wrote is read back: a new snapshot
    for n in NODES:  # renewals: leases change, the live set does not
        state.renew_lease(n, duration=2.0, counter=2)
    assert ctl.reconcile(now=0.2) == 0
    assert len(plans) == 2
    state.release_lease("frontend-2")  # the live set changes: planned again
    ctl.reconcile(now=0.3)
    assert len(plans) == 3
