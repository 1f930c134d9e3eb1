"""Bounded polling for tests that wait on real daemons and kernels: every wait has a limit
and fails with what it was waiting for."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


def poll(
    what: str,
    probe: Callable[[], T | None],
    timeout: float = 5.0,
    *,
    since: float | None = None,
    interval: float = 0.05,
) -> T:
    """``probe()`` until it returns something truthy (returned); fail once ``timeout`` s have
    passed since ``since`` (a ``time.monotonic()`` value; default: now), with the last value."""
    deadline = (time.monotonic() if since is None else since) + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what} (last: {value!r})")
        time.sleep(interval)
