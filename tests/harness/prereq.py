"""Prerequisites for the integration tiers.

A test may skip only when its prerequisite truly cannot exist here. Under ``CI=true`` a
missing prerequisite (root, FRR, gobgpd, iproute2) is a failure, so CI can never go green
by skipping the real-component tests.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
FRR_LIBDIR = Path("/usr/lib/frr")


def require(condition: bool, what: str) -> None:
    if condition:
        return
    if IN_CI:
        pytest.fail(f"prerequisite missing under CI=true: {what}")
    pytest.skip(f"prerequisite missing: {what}")


def require_root() -> None:
    require(os.geteuid() == 0, "root (network namespaces, raw sockets)")
    require(shutil.which("ip") is not None, "iproute2 (ip)")


def require_frr() -> None:
    require_root()
    require((FRR_LIBDIR / "bgpd").exists(), "FRR bgpd (apt install frr)")
    require(shutil.which("vtysh") is not None, "FRR vtysh (apt install frr)")


def require_gobgpd() -> None:
    require_root()
    require(shutil.which("gobgpd") is not None, "gobgpd (apt install gobgpd)")
