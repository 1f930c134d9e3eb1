"""Fixtures shared by the L2 integration tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.adapters.netns import Namespaces
from tests.harness.lan import Lan, setup_lan
from tests.harness.prereq import require_root


@pytest.fixture
def lan(netns: Namespaces, tmp_path: Path) -> Lan:
    """Nodes n1 and n2 and a client on one bridge (``setup_lan``), as root."""
    require_root()
    return setup_lan(netns, tmp_path)
