"""The file source's watcher and cache (``orchestrator.adapters.files``).

Matrix:

- ``relevant``: reads (open, close without write), a directory's own modification and
  hidden (temporary, swap) files do not wake the loop; creations, writes, deletions and a
  rename onto a visible name do;
- a real ``Watcher``: reading the watched files does not wake it (before the fix every
  reconcile woke itself and every process spun at 100 % CPU), writing does;
- ``ManifestSource`` parses the YAML again only when a file changed, and always while a file
  is younger than the racy window;
- an edit is read only once the manifests have been quiet for ``settle``: a real in-place
  save (truncate, pause, write) is never seen half done, a deletion waits too, the first
  read waits (``snapshot=None``), ``retry_in`` says when to look again, and a directory
  that never goes quiet is read anyway after ``settle_max``.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

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

from orchestrator import ports
from orchestrator.adapters.files import manifests as manifests_module
from orchestrator.adapters.files import source
from orchestrator.adapters.files.manifests import Loaded
from orchestrator.adapters.files.source import ManifestSource
from orchestrator.adapters.files.store import StateDir
from orchestrator.adapters.files.watch import Watcher, relevant
from orchestrator.core.status.records import StatusRecord

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


def test_yaml_is_parsed_again_only_after_a_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifests = tmp_path / "m"
    manifests.mkdir()
    path = manifests / "a.yaml"
    path.write_text(SERVICE)
    parsed: list[str] = []
    read: list[Path] = []
    real_load_text, real_read_text = manifests_module.load_text, Path.read_text

    def counting(text: str, name: str) -> Loaded:
        parsed.append(name)
        return real_load_text(text, name)

    def reading(self: Path, *args: Any, **kwargs: Any) -> str:
        if self.suffix == ".yaml":
            read.append(self)
        return real_read_text(self, *args, **kwargs)

    monkeypatch.setattr(manifests_module, "load_text", counting)
    monkeypatch.setattr(Path, "read_text", reading)
    src = ManifestSource(manifests, StateDir(tmp_path / "state"), settle=0)
    first = src.load()
    second = src.load()
    # the file is younger than the racy window: read again, but the same text is not parsed
    assert (len(read), parsed) == (2, ["a.yaml"])
    assert second.snapshot is first.snapshot
    monkeypatch.setattr(source, "_RACY_NS", 0)
    src.load()
    src.load()
    assert (len(read), len(parsed)) == (3, 1)  # old enough: the fingerprint stands
    path.write_text(SERVICE.replace("web", "api"))  # same size
    old = time.time_ns() - 10**9
    os.utime(path, ns=(old, old))
    loaded = src.load()
    assert (len(read), len(parsed)) == (4, 2)
    assert loaded.snapshot is not None
    assert [s.name for s in loaded.snapshot.services] == ["api"]


def _names(loaded: ports.Loaded) -> list[str] | None:
    return None if loaded.snapshot is None else [s.name for s in loaded.snapshot.services]


def _age(*paths: Path, seconds: float = 10.0) -> None:
    old = time.time_ns() - int(seconds * 1e9)
    for p in paths:
        os.utime(p, ns=(old, old))


def test_an_in_place_save_is_never_read_half_done(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text(SERVICE)
    state = StateDir(tmp_path / ".state")
    _age(path, tmp_path)
    src = ManifestSource(tmp_path, state, settle=0.2)
    assert _names(src.load()) == ["web"]
    saved = threading.Event()

    def save() -> None:
        with open(path, "w") as f:  # truncated: an empty file is visible from here on
            f.flush()
            time.sleep(0.1)
            f.write(SERVICE.replace("web", "api"))
        saved.set()

    writer = threading.Thread(target=save)
    writer.start()
    seen: list[list[str] | None] = []
    try:
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline and not (saved.is_set() and seen[-1] == ["api"]):
            seen.append(_names(src.load()))
            time.sleep(0.005)
    finally:
        writer.join()
    assert seen[-1] == ["api"]
    assert {tuple(names or ()) for names in seen} == {("web",), ("api",)}, "read half done"


def test_a_deletion_settles_too_and_retry_in_says_when(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(SERVICE)
    (tmp_path / "b.yaml").write_text(SERVICE.replace("web", "api"))
    state = StateDir(tmp_path / ".state")
    _age(tmp_path / "a.yaml", tmp_path / "b.yaml", tmp_path)
    now = time.time_ns()
    src = ManifestSource(tmp_path, state, settle=1.0, clock=lambda: now)
    assert _names(src.load()) == ["api", "web"]
    (tmp_path / "b.yaml").unlink()  # the directory's mtime is now
    now = time.time_ns() + 400_000_000
    held = src.load()
    assert _names(held) == ["api", "web"]
    assert held.retry_in is not None and 0.5 < held.retry_in <= 0.6
    now += 700_000_000
    settled = src.load()
    assert (_names(settled), settled.retry_in) == (["web"], None)


def test_the_first_read_waits_for_quiet(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(SERVICE)
    now = time.time_ns()
    src = ManifestSource(tmp_path, StateDir(tmp_path / ".state"), settle=1.0, clock=lambda: now)
    first = src.load()
    assert (first.snapshot, first.stale, first.problems) == (None, False, ())
    assert first.retry_in is not None and 0.9 < first.retry_in <= 1.0
    now += 2_000_000_000
    assert _names(src.load()) == ["web"]


def test_a_directory_never_quiet_is_read_after_settle_max(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(SERVICE)
    src = ManifestSource(tmp_path, StateDir(tmp_path / ".state"), settle=60.0, settle_max=0.1)
    assert src.load().snapshot is None
    time.sleep(0.15)
    assert _names(src.load()) == ["web"]


def test_a_changed_record_parses_only_its_service_again(tmp_path: Path) -> None:
    manifests = tmp_path / "m"
    manifests.mkdir()
    text = "".join(SERVICE.replace("web", f"s{i}") + "---\n" for i in range(5))
    (manifests / "a.yaml").write_text(text)
    _age(manifests / "a.yaml", manifests)
    state = StateDir(tmp_path / "state")
    for i in range(5):
        state.write_status(f"demo/s{i}", StatusRecord(ingress=(f"192.0.2.{i + 1}",)))
    src = ManifestSource(manifests, state, settle=0)
    src.load()
    before = src._memo.misses
    StateDir(tmp_path / "state").write_status("demo/s3", StatusRecord(ingress=("192.0.2.99",)))
    loaded = src.load()
    assert src._memo.misses - before == 1  # s3 alone; the other four are reused
    assert loaded.snapshot is not None
    ips = {s.name: [str(ip) for ip in s.state.ingress_ips] for s in loaded.snapshot.services}
    assert ips["s3"] == ["192.0.2.99"] and ips["s0"] == ["192.0.2.1"]


def test_the_reader_parses_only_the_file_whose_text_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.yaml").write_text(SERVICE)
    (tmp_path / "b.yaml").write_text(SERVICE.replace("web", "api"))
    parsed: list[str] = []
    real = manifests_module.load_text

    def counting(text: str, name: str) -> Loaded:
        parsed.append(name)
        return real(text, name)

    monkeypatch.setattr(manifests_module, "load_text", counting)
    reader = manifests_module.DirectoryReader(tmp_path)
    first = reader.read()
    assert reader.read() is first  # nothing changed: the very same result
    (tmp_path / "b.yaml").write_text(SERVICE.replace("web", "db"))
    names = [doc["metadata"]["name"] for _, doc in reader.read().documents]
    assert names == ["web", "db"]
    assert parsed == ["a.yaml", "b.yaml", "b.yaml"]
    (tmp_path / "a.yaml").unlink()
    assert [doc["metadata"]["name"] for _, doc in reader.read().documents] == ["db"]
    assert parsed == ["a.yaml", "b.yaml", "b.yaml"]
