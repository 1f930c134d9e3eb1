"""Golden files: ``pytest --update-golden`` (the option is registered in tests/conftest.py)
or ``UPDATE_GOLDEN=1`` rewrites the golden files instead of comparing with them."""

from __future__ import annotations

import os

import pytest


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    flag = False
    try:
        flag = bool(request.config.getoption("--update-golden"))
    except ValueError:  # option not registered (conftest not an initial one)
        flag = False
    return flag or os.environ.get("UPDATE_GOLDEN", "") not in ("", "0")
