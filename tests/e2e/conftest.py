"""The e2e tier's lab: one per test module, brought up and torn down through the CLI.

``lab_for(request, tmp_path_factory, prefix=, backend=)`` runs ``python -m orchestrator.cli
lab up`` (each module with its own namespace prefix, so a developer's ``mlblab-`` lab is never
touched) and registers ``lab down`` twice: in the fixture's teardown and as a finalizer, so a
failure anywhere still removes every namespace, process and directory. After ``down`` it
asserts that nothing is left. When a test of the module failed, the tail of every lab log is
printed first (pytest shows it with the teardown).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.adapters.netns import leftover_namespaces
from orchestrator.lab import converge, frrd, procs
from orchestrator.lab.config import LabConfig

UP_TIMEOUT = 150.0


def cli(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orchestrator.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def dump_logs(directory: Path, lines: int = 15) -> None:
    for log in sorted((directory / "logs").glob("*.log")):
        tail = log.read_text(errors="replace").splitlines()[-lines:]
        print(f"--- {log.name}\n" + "\n".join(tail))


def down_and_check(directory: Path, prefix: str) -> None:
    pids = [r for r in procs.read_all(directory / "run")]
    result = cli("lab", "down", "--dir", str(directory), "--prefix", prefix)
    assert result.returncode == 0, result.stdout + result.stderr
    assert leftover_namespaces(prefix) == []
    assert not any(procs.alive(r.pid, r.start) for r in pids)
    assert not list(frrd.CONF_ROOT.glob(f"{prefix}*"))
    assert not list(frrd.RUN_ROOT.glob(f"{prefix}*"))
    assert not directory.exists()


def lab_for(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    *,
    prefix: str,
    backend: str,
    extra: tuple[str, ...] = (),
) -> LabConfig:
    directory = tmp_path_factory.mktemp(prefix.rstrip("-")) / "lab"
    failed_before = request.session.testsfailed

    def finalize() -> None:
        if directory.exists() and request.session.testsfailed > failed_before:
            dump_logs(directory)
        down_and_check(directory, prefix)

    request.addfinalizer(finalize)
    result = cli(
        "lab",
        "up",
        "--dir",
        str(directory),
        "--prefix",
        prefix,
        "--backend",
        backend,
        "--nodes",
        "3",
        *extra,
        timeout=UP_TIMEOUT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    config = LabConfig.load(directory)
    assert config is not None
    return config


def converged(config: LabConfig, timeout: float = 40.0) -> None:
    """Every test starts from (and the restarting ones return to) a converged lab."""
    try:
        converge.wait(config, timeout=timeout)
    except converge.NotConverged as e:
        pytest.fail(str(e))
