"""A standalone controller, started through the CLI on a directory with a broken class and
a broken pool next to valid ones (examples/isolation) and an empty state directory, writes
the valid Services' IPs: one typo no longer leaves every Service without an IP at first
start (the freeze did: nothing was written until the typo was fixed). No network
namespaces: the controller only reads files and writes its state files.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from orchestrator.adapters.files.store import StateDir
from tests.e2e.conftest import cli

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "isolation"


def test_first_start_with_broken_objects_writes_the_valid_services_ips(tmp_path: Path) -> None:
    manifests, state = tmp_path / "manifests", tmp_path / "state"
    shutil.copytree(EXAMPLE, manifests)
    state.mkdir()
    done = cli(
        "controller",
        "--source",
        str(manifests),
        "--state",
        str(state),
        "--once",
        "--metrics-address",
        "",
        timeout=90,
    )
    assert done.returncode == 0, done.stderr
    statuses = StateDir(state).statuses()
    assert len(statuses["demo/web"]["ingress"]) == 3
    assert statuses["demo/second"]["ingress"] == ["192.168.3.10"]
    assert not (statuses.get("demo/on-broken") or {}).get("ingress")
    # the errors are in the log, each naming its object
    assert "MetalLoadBalancerClass/broken" in done.stderr + done.stdout
    assert "IPAddressPool/typo" in done.stderr + done.stdout
