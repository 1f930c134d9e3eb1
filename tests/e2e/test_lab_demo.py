"""``mlb lab demo`` end to end, as ``make demo`` runs it (root, FRR).

The demo builds its own lab (here with the ``mlbe2d-`` prefix and a temporary directory),
prints what a user would see, kills one node, and removes everything before its last line.
Asserted: exit status 0, the exact shape of the last line (3 IPs on 3 nodes, 3/3 HTTP,
3 ECMP next hops, exactly one IP moved), the failover time within the lease time plus
margin, and nothing left behind.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from orchestrator.adapters.netns import leftover_namespaces
from orchestrator.lab import frrd
from tests.e2e.conftest import cli
from tests.harness.prereq import require_frr

pytestmark = [pytest.mark.root, pytest.mark.e2e]

PREFIX = "mlbe2d-"
FINAL = re.compile(r"^demo: ok ips=3 nodes=3 http=3/3 ecmp=3 failover_ms=(\d+) moved=1$")


def test_demo(tmp_path: Path) -> None:
    require_frr()
    directory = tmp_path / "lab"
    try:
        result = cli("lab", "demo", "--dir", str(directory), "--prefix", PREFIX, timeout=240)
    finally:
        cli("lab", "down", "--dir", str(directory), "--prefix", PREFIX)
    lines = result.stdout.strip().splitlines()
    match = FINAL.match(lines[-1])
    assert match, result.stdout[-3000:] + result.stderr[-2000:]
    assert result.returncode == 0
    assert int(match.group(1)) < 4000  # lease 2 s + ARP update + margin
    assert any("kubectl get svc" in line for line in lines)
    assert any("show ip route" in line and "json" in line for line in lines)
    assert leftover_namespaces(PREFIX) == []
    assert not list(frrd.CONF_ROOT.glob(f"{PREFIX}*"))
    assert not directory.exists()
