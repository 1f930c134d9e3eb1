"""Shared fixtures. Hypothesis runs a fixed-seed "gate" profile by default (CI); set
HYPOTHESIS_PROFILE=hunt for a longer random search."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from orchestrator.adapters.netns import Namespaces
from tests.harness.prereq import require_root

settings.register_profile(
    "gate",
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("hunt", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "gate"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/golden files from the current rendering",
    )


@pytest.fixture
def netns() -> Iterator[Namespaces]:
    """Namespaces that are removed after the test, also when it fails."""
    require_root()
    with Namespaces() as ns:
        yield ns
