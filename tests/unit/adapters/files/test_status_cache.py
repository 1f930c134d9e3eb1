"""The state directory reads only the records a watcher named, and writes atomically.

Real files, and for the watcher real inotify (watchdog) on a temporary directory. The
first test fails on a ``FileStatuses`` that reads every record on every call (the cost
this avoids: a speaker spent 86 % of its main thread there with 2,000 Services).
"""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from pathlib import Path

from orchestrator.adapters.files.atomic import atomic_write
from orchestrator.adapters.files.status import FileStatuses
from orchestrator.adapters.files.store import StateDir
from orchestrator.adapters.files.watch import Watcher
from orchestrator.core.status.records import StatusRecord


def _put(directory: Path, key: str, ip: str) -> Path:
    ns, name = key.split("/")
    path = directory / ns / f"{name}.json"
    atomic_write(path, json.dumps({"ingress": [ip], "annotations": {}, "conditions": []}))
    return path


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_tracked_read_touches_only_the_files_named(tmp_path: Path) -> None:
    clock = Clock()
    files = FileStatuses(tmp_path, clock=clock)
    files.track()
    _put(tmp_path, "a/x", "192.0.2.1")
    path = _put(tmp_path, "a/y", "192.0.2.2")
    first = files.statuses()  # the first read after track() reads everything
    assert first["a/y"]["ingress"] == ["192.0.2.2"]
    _put(tmp_path, "a/y", "192.0.2.3")  # no notice: not read again
    assert files.statuses() is first
    files.notice(str(path))
    assert files.statuses()["a/y"]["ingress"] == ["192.0.2.3"]
    path.unlink()
    files.notice(str(path))
    assert set(files.statuses()) == {"a/x"}


def test_lost_names_a_directory_or_time_read_everything_again(tmp_path: Path) -> None:
    clock = Clock()
    files = FileStatuses(tmp_path, clock=clock, full_every=10.0)
    files.track()
    files.statuses()
    _put(tmp_path, "a/x", "192.0.2.1")
    files.notice(None)  # the watcher's queue overflowed
    assert set(files.statuses()) == {"a/x"}
    _put(tmp_path, "b/x", "192.0.2.2")
    files.notice(str(tmp_path / "b"))  # a new namespace directory
    assert set(files.statuses()) == {"a/x", "b/x"}
    _put(tmp_path, "c/x", "192.0.2.3")
    files.notice(str(tmp_path / "c" / ".x.json.1.2.tmp"))  # a temporary file: not ours
    assert set(files.statuses()) == {"a/x", "b/x"}
    clock.now = 10.0  # the periodic safety pass
    assert set(files.statuses()) == {"a/x", "b/x", "c/x"}


def test_untracked_reads_everything_every_time(tmp_path: Path) -> None:
    files = FileStatuses(tmp_path)
    files.statuses()
    _put(tmp_path, "a/x", "192.0.2.1")
    assert set(files.statuses()) == {"a/x"}


def test_own_writes_are_seen_at_once_and_as_read_back(tmp_path: Path) -> None:
    files = FileStatuses(tmp_path)
    files.track()
    before = files.statuses()
    files.write_status("a/x", StatusRecord(ingress=("192.0.2.1",)))
    after = files.statuses()
    assert after is not before
    assert after["a/x"] == json.loads((tmp_path / "a" / "x.json").read_text())
    files.delete_status("a/x")
    assert files.statuses() == {}


def test_a_watcher_names_the_record_another_process_wrote(tmp_path: Path) -> None:
    state = StateDir(tmp_path)
    state.track()
    watcher = Watcher(tmp_path, on_path=state.notice)
    watcher.start()
    try:
        assert state.statuses() == {}
        (tmp_path / "services" / "a").mkdir()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and state.statuses() == {}:
            # a write after the directory's watch is set up is named
            _put(tmp_path / "services", "a/x", "192.0.2.1")
            watcher.wait(0.5)
        assert state.statuses()["a/x"]["ingress"] == ["192.0.2.1"]
        _put(tmp_path / "services", "a/x", "192.0.2.9")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and state.statuses()["a/x"]["ingress"] != ["192.0.2.9"]:
            watcher.wait(0.5)
        assert state.statuses()["a/x"]["ingress"] == ["192.0.2.9"]
    finally:
        watcher.stop()


def test_atomic_write_mode_directory_and_no_leftovers(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        target = tmp_path / "new" / "r.json"
        atomic_write(target, "{}", mode=0o644)  # the directory is created on demand
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644  # exactly, whatever the umask
    threads = [
        threading.Thread(target=atomic_write, args=(target, json.dumps({"n": i}))) for i in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert json.loads(target.read_text())["n"] in range(8)
    assert os.listdir(target.parent) == ["r.json"]


def test_a_burst_of_writes_is_few_wake_ups(tmp_path: Path) -> None:
    watcher = Watcher(tmp_path)
    watcher.start()
    try:
        time.sleep(0.1)
        watcher.wait(0.05)
        done = threading.Event()

        def burst() -> None:
            for i in range(100):
                _put(tmp_path, "a/x", f"192.0.2.{i + 1}")
                time.sleep(0.002)
            done.set()

        writer = threading.Thread(target=burst)
        writer.start()
        wakes = 0
        deadline = time.monotonic() + 20
        while not done.is_set() and time.monotonic() < deadline:
            wakes += watcher.wait(0.5)
        writer.join()
        # one per write without the folding (the loop asks again at once)
        assert 1 <= wakes <= 50
    finally:
        watcher.stop()
