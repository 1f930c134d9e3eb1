"""The files' validation step (``adapters/files/isolation.py``) through ``ManifestSource``.

Matrix: a dangling symlink and a symlink loop in the manifest directory are errors (they
were skipped silently: a dangling link made its Services vanish); a file that becomes
unreadable (its symlink now dangling, or a YAML syntax error) keeps its last good
documents, Services included, with a warning; at first start a broken pool next to a valid
one gives a snapshot (not ``None``) with the valid pool in it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from orchestrator.adapters.files.isolation import KEPT_FILE
from orchestrator.adapters.files.source import ManifestSource
from orchestrator.adapters.files.store import StateDir
from orchestrator.core.model.errors import FieldError, Severity

SERVICE = """apiVersion: v1
kind: Service
metadata: {name: %s, namespace: demo}
spec: {type: LoadBalancer, ports: [{port: 80}]}
"""
POOL = """apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: %s, namespace: metallb-system}
spec: {addresses: [%s]}
"""


def source(tmp_path: Path) -> tuple[Path, ManifestSource]:
    manifests = tmp_path / "m"
    manifests.mkdir()
    return manifests, ManifestSource(manifests, StateDir(tmp_path / "state"), settle=0)


def lines(problems: Iterable[FieldError]) -> list[str]:
    return [str(p) for p in problems]


def test_dangling_symlinks_and_loops_are_errors(tmp_path: Path) -> None:
    manifests, src = source(tmp_path)
    (manifests / "web.yaml").write_text(SERVICE % "web")
    os.symlink("nowhere.yaml", manifests / "dangling.yaml")
    os.symlink("loop-b.yaml", manifests / "loop-a.yaml")
    os.symlink("loop-a.yaml", manifests / "loop-b.yaml")
    loaded = src.load()
    errors = [str(p) for p in loaded.problems if p.severity is Severity.ERROR]
    assert errors == [
        "dangling.yaml: cannot read the file: a dangling symbolic link (its target does not exist)",
        "loop-a.yaml: cannot read the file: a symbolic link loop",
        "loop-b.yaml: cannot read the file: a symbolic link loop",
    ]
    assert loaded.snapshot is not None
    assert [s.name for s in loaded.snapshot.services] == ["web"]


def test_a_file_that_becomes_unreadable_keeps_its_documents(tmp_path: Path) -> None:
    manifests, src = source(tmp_path)
    target = tmp_path / "real.yaml"
    target.write_text(SERVICE % "api" + "---\n" + POOL % ("p", "198.51.100.0/28"))
    os.symlink(target, manifests / "linked.yaml")
    (manifests / "syntax.yaml").write_text(SERVICE % "web")
    first = src.load()
    assert first.snapshot is not None and not first.stale
    assert [s.name for s in first.snapshot.services] == ["api", "web"]

    target.unlink()  # the link now dangles
    (manifests / "syntax.yaml").write_text(SERVICE % "web" + "  bad: [indent\n")
    later = src.load()
    assert later.snapshot is not None and later.stale
    assert [s.name for s in later.snapshot.services] == ["api", "web"]
    assert list(later.snapshot.config.pools) == ["p"]
    assert f"warning: linked.yaml: {KEPT_FILE}" in lines(later.problems)
    assert f"warning: syntax.yaml: {KEPT_FILE}" in lines(later.problems)
    assert any(p.startswith("syntax.yaml: line") for p in lines(later.problems))


def test_first_start_with_a_broken_pool_runs_the_valid_one(tmp_path: Path) -> None:
    manifests, src = source(tmp_path)
    (manifests / "pools.yaml").write_text(
        POOL % ("good", "198.51.100.0/28") + "---\n" + POOL % ("typo", "198.51.100.300/29")
    )
    loaded = src.load()
    assert loaded.snapshot is not None and not loaded.stale
    assert list(loaded.snapshot.config.pools) == ["good"]
    assert any(p.startswith("IPAddressPool/typo:") for p in lines(loaded.problems))


def test_a_damaged_status_record_keeps_its_last_good_version(tmp_path: Path) -> None:
    """With the controller down, a damaged record made every speaker withdraw the
    Service's IPs at once; now every reader keeps the last good record and says so."""
    manifests, src = source(tmp_path)
    (manifests / "web.yaml").write_text(SERVICE % "web")
    record = tmp_path / "state" / "services" / "demo" / "web.json"
    record.parent.mkdir(parents=True)
    record.write_text('{"ingress": ["198.51.100.7"], "annotations": {}, "conditions": []}')
    first = src.load()
    assert first.snapshot is not None
    (web,) = first.snapshot.services
    assert [str(ip) for ip in web.state.ingress_ips] == ["198.51.100.7"]

    for damage in ('{"ingress": ["198.51.1', '["not", "a", "record"]', '{"ingress": "x"}'):
        record.write_text(damage)
        later = src.load()
        assert later.snapshot is not None
        (web,) = later.snapshot.services
        assert [str(ip) for ip in web.state.ingress_ips] == ["198.51.100.7"], damage
        assert dict(later.statuses)["demo/web"]["ingress"] == ["198.51.100.7"]
        (problem,) = [p for p in lines(later.problems) if p.startswith("state ")]
        assert problem.startswith("state services/demo/web.json: ")
        assert problem.endswith("; its last good version is kept")
    # a fresh reader (a restarted speaker) has no last good version: it says so
    fresh = ManifestSource(manifests, StateDir(tmp_path / "state"), settle=0).load()
    assert any(p.endswith("no last good version to keep") for p in lines(fresh.problems))
