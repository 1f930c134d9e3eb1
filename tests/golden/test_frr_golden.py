"""Golden FRR configs: every scenario of ``frr_scenarios`` renders to exactly its file in
``tests/golden/frr/``, and every file is accepted by the real FRR installed here
(``vtysh --dryrun -f``: FRR's own parser for every daemon, no daemons needed).

Regenerate with ``pytest tests/golden --update-golden`` or ``UPDATE_GOLDEN=1 pytest``,
then review the diff. Under ``CI=true`` a missing vtysh is a failure, not a skip.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from frr.owned import owned_from_view, parse_running
from frr.render import render_config
from frr.translate import build_view
from orchestrator.core.bgp.compute import bgp_intent
from tests.golden.frr_scenarios import SCENARIOS
from tests.harness.prereq import require

GOLDEN = Path(__file__).parent / "frr"


def rendered(name: str) -> str:
    snap, assignments, node = SCENARIOS[name]()
    return render_config(build_view(bgp_intent(snap, assignments, node=node)))


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_render_matches_golden(name: str, update_golden: bool) -> None:
    path = GOLDEN / f"{name}.conf"
    text = rendered(name)
    if update_golden:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"{path} missing: run pytest tests/golden --update-golden"
    assert text == path.read_text(), f"{path} differs: review, then --update-golden"


def test_every_scenario_has_a_golden_file_and_no_strays() -> None:
    assert {p.stem for p in GOLDEN.glob("*.conf")} == set(SCENARIOS)


def test_render_is_deterministic() -> None:
    for name in SCENARIOS:
        assert rendered(name) == rendered(name)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_golden_parses_back_to_its_model(name: str) -> None:
    snap, assignments, node = SCENARIOS[name]()
    view = build_view(bgp_intent(snap, assignments, node=node))
    assert parse_running((GOLDEN / f"{name}.conf").read_text()) == owned_from_view(view)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_golden_accepted_by_real_frr(name: str) -> None:
    vtysh = shutil.which("vtysh")
    require(vtysh is not None, "FRR vtysh (apt install frr) to validate golden files")
    assert vtysh is not None
    proc = subprocess.run(
        [vtysh, "--dryrun", "-f", str(GOLDEN / f"{name}.conf")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "line " not in proc.stdout + proc.stderr
