"""Stopping the process groups we started (daemons, namespaced helpers): SIGTERM each group,
newest first so dependants go before what they depend on (bgpd before zebra), wait, and
SIGKILL a group still there after ``timeout``.

A ``PermissionError`` from the SIGTERM (the processes changed to another user and we lack
CAP_KILL) is raised to the caller, who knows what that means (the FRR sidecar: the daemons
end with the container)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Sequence


def stop_groups(procs: Sequence[subprocess.Popen[bytes]], *, timeout: float) -> None:
    for proc in reversed(procs):
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
    for proc in reversed(procs):
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=timeout)
