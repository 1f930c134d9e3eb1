"""A plain (non-editable) wheel ships every package, the templates as package data, and `mlb`.

Builds the wheel with the venv's hatchling (no network), unpacks it into a temporary target,
and imports the package from there, so the source tree cannot hide a missing file.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=240,
    )
    wheels = list(out.glob("metallb_orchestrator-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_wheel_contains_packages_templates_and_entry_point(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    for module in (
        "orchestrator/core/model/cluster.py",
        "orchestrator/cli/__init__.py",
        "frr/__init__.py",
        "gobgp/__init__.py",
    ):
        assert module in names
    sources = {
        p.relative_to(ROOT / "templates").as_posix()
        for p in (ROOT / "templates").rglob("*")
        if p.is_file()
    }
    shipped = {
        n.removeprefix("orchestrator/_templates/")
        for n in names
        if n.startswith("orchestrator/_templates/")
    }
    assert sources <= shipped, sources - shipped
    assert not any(n.startswith("templates/") for n in names), "templates must not be a package"
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "mlb = orchestrator.cli:main" in zipfile.ZipFile(wheel).read(entry).decode()


def test_installed_wheel_runs_without_the_source_tree(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    env = {**os.environ, "PYTHONPATH": str(target)}
    code = "import orchestrator, sys; print(orchestrator.__file__)"
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert proc.stdout.strip().startswith(str(target))
    proc = subprocess.run(
        [sys.executable, "-m", "orchestrator.cli", "--help"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert "validate" in proc.stdout and "plan" in proc.stdout
