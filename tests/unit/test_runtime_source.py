"""The file source's watcher and cache (``orchestrator.runtime.source``).

Matrix:

- ``relevant``: reads (open, close without write), a directory's own modification and
  hidden (temporary, swap) files do not wake the loop; creations, writes, deletions and a
  rename onto a visible name do;
- a real ``Watcher``: reading the watched files does not wake it (before the fix every
  reconcile woke itself and every process spun at 100 % CPU), writing does;
- ``wait`` returns only when an in-place save (truncate, then write) is complete, but lease
  renewals (never quiet with many nodes) do not hold it back;
- ``ManifestSource`` parses the YAML again only when a file changed, and always while a file
  is younger than the racy window.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from watchdog.events import (
    DirModifiedEvent,
    FileClosedEvent,
    FileClosedNoWriteEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileOpenedEvent,
)

from orchestrator.adapters.files import Loaded, load_directory
from orchestrator.runtime import source
from orchestrator.runtime.source import ManifestSource, Watcher, relevant
from orchestrator.runtime.state import StateDir

SERVICE = """apiVersion: v1
kind: Service
metadata: {name: web, namespace: demo}
spec: {type: LoadBalancer, ports: [{port: 80}]}
"""


def test_relevant_events() -> None:
    assert not relevant(FileOpenedEvent("/m/a.yaml"))
    assert not relevant(FileClosedNoWriteEvent("/m/a.yaml"))
    assert not relevant(DirModifiedEvent("/m"))
    assert not relevant(FileCreatedEvent("/s/leases/.n1.json.abc"))
    assert not relevant(FileModifiedEvent("/s/leases/.n1.json.abc"))
    assert relevant(FileMovedEvent("/s/leases/.n1.json.abc", "/s/leases/n1.json"))
    assert relevant(FileMovedEvent("/m/a.yaml", "/m/.a.yaml.bak"))
    assert relevant(FileModifiedEvent("/m/a.yaml"))
    assert relevant(FileClosedEvent("/m/a.yaml"))
    assert relevant(FileDeletedEvent("/m/a.yaml"))
    assert relevant(FileCreatedEvent("/m/b.yaml"))


@pytest.fixture
def watched(tmp_path: Path) -> tuple[Path, Watcher]:
    (tmp_path / "a.yaml").write_text(SERVICE)
    watcher = Watcher(tmp_path)
    watcher.start()
    time.sleep(0.1)
    watcher.wait(0.05)  # drop anything from the setup
    return tmp_path, watcher


def test_reading_does_not_wake_writing_does(watched: tuple[Path, Watcher]) -> None:
    directory, watcher = watched
    try:
        for _ in range(5):
            (directory / "a.yaml").read_text()
        assert watcher.wait(0.3) is False
        (directory / "a.yaml").write_text(SERVICE + "\n")
        assert watcher.wait(2.0) is True
    finally:
        watcher.stop()


def test_wait_returns_after_an_in_place_save_completes(watched: tuple[Path, Watcher]) -> None:
    directory, watcher = watched
    path = directory / "a.yaml"

    def save() -> None:
        with open(path, "w") as f:  # truncate: an empty file is visible now
            f.flush()
            time.sleep(0.02)
            f.write(SERVICE)

    try:
        writer = threading.Thread(target=save)
        writer.start()
        assert watcher.wait(2.0, settle=0.2) is True
        writer.join()
        assert path.read_text() == SERVICE
    finally:
        watcher.stop()


def test_yaml_is_parsed_again_only_after_a_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifests = tmp_path / "m"
    manifests.mkdir()
    path = manifests / "a.yaml"
    path.write_text(SERVICE)
    calls: list[Path] = []

    def counting(directory: Path | str) -> Loaded:
        calls.append(Path(directory))
        return load_directory(directory)

    monkeypatch.setattr(source, "load_directory", counting)
    src = ManifestSource(manifests, StateDir(tmp_path / "state"))
    src.load()
    src.load()
    assert len(calls) == 2  # the file is younger than the racy window: always re-read
    monkeypatch.setattr(source, "_RACY_NS", 0)
    src.load()
    src.load()
    assert len(calls) == 3
    path.write_text(SERVICE.replace("web", "api"))  # same size
    old = time.time_ns() - 10**9
    os.utime(path, ns=(old, old))
    loaded = src.load()
    assert len(calls) == 4
    assert loaded.snapshot is not None
    assert [s.name for s in loaded.snapshot.services] == ["api"]


def test_lease_renewals_do_not_delay_the_wake_up(tmp_path: Path) -> None:
    leases = tmp_path / "leases"
    leases.mkdir()
    watcher = Watcher(tmp_path, fast=(leases,))
    watcher.start()
    stop = threading.Event()

    def renew() -> None:  # many nodes: a renewal every 10 ms, never quiet
        n = 0
        while not stop.is_set():
            n += 1
            (leases / "n1.json").write_text(str(n))
            time.sleep(0.01)

    writer = threading.Thread(target=renew)
    try:
        time.sleep(0.1)
        writer.start()
        start = time.monotonic()
        assert watcher.wait(2.0, settle=0.2, settle_max=1.0) is True
        assert time.monotonic() - start < 0.15
    finally:
        stop.set()
        writer.join()
        watcher.stop()
