"""The announcer's scheduling priority: each mode, the fallback without CAP_SYS_NICE, the CLI.

Each case runs in a child interpreter, so this test process keeps its own scheduler. The
fallback case runs the child as ``nobody`` (no capabilities, RLIMIT_RTPRIO 0), which is
what a container without CAP_SYS_NICE sees; that needs root to set up.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from orchestrator.cli.speaker import PRIORITIES
from orchestrator.l2.priority import MODES, Priority
from tests.harness.prereq import require_root

PROBE = (
    "import json, logging, sys\n"
    "logging.basicConfig(level=logging.INFO, stream=sys.stderr)\n"
    "from orchestrator.l2.priority import Priority, current, raise_priority\n"
    "got = raise_priority(Priority(sys.argv[1]))\n"
    "print(json.dumps({'got': got.value, 'kernel': current().value}))\n"
)


def _run(mode: str, *, prefix: tuple[str, ...] = ()) -> tuple[dict[str, str], str]:
    done = subprocess.run(
        [*prefix, sys.executable, "-c", PROBE, mode],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return json.loads(done.stdout), done.stderr


@pytest.mark.parametrize("mode", list(Priority))
def test_each_mode_is_what_the_kernel_then_reports(mode: Priority) -> None:
    require_root()
    result, _ = _run(mode.value)
    assert result == {"got": mode.value, "kernel": mode.value}


def test_without_cap_sys_nice_it_falls_back_and_says_why() -> None:
    require_root()
    nobody = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all")
    result, stderr = _run("rt", prefix=nobody)
    assert result == {"got": "none", "kernel": "none"}
    assert "refused=rt" in stderr and "refused=nice" in stderr
    assert "Operation not permitted" in stderr


def test_the_command_line_offers_exactly_the_modes() -> None:
    assert PRIORITIES == MODES
