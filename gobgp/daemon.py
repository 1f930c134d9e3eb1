"""Running a bare gobgpd for the backend: its command line and waiting until it answers.

The backend configures everything over the API, so gobgpd starts without a config file.
Its API listens on a unix socket when given ``unix:///path``: a socket file is reachable
from any network namespace through the filesystem, which lets the lab and the tests drive a
gobgpd that lives inside a node's namespace, and it needs no TCP port. pprof is disabled
(it would bind localhost:6060 in every namespace).
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

from gobgp.client import GobgpClient
from gobgp.errors import TransientBackendError

GOBGPD = "gobgpd"


def unix_target(socket: Path) -> str:
    """The gRPC target (and ``--api-hosts`` value) for a unix socket path."""
    return f"unix://{socket.resolve()}"


def gobgpd_command(api: str, *, binary: str = GOBGPD, log_level: str = "info") -> list[str]:
    """Command line of a gobgpd configured only through its API at ``api``.

    For a unix socket, remove a stale socket file first (``prepare_socket``): gobgpd does
    not start if the path exists.
    """
    return [
        binary,
        f"--api-hosts={api}",
        "--pprof-disable",
        "--log-plain",
        f"--log-level={log_level}",
    ]


def prepare_socket(socket: Path) -> None:
    """Remove a socket left behind by a killed gobgpd; create its directory."""
    socket.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        socket.unlink()


def wait_ready(api: str, *, timeout: float = 10.0) -> None:
    """Return once gobgpd answers at ``api``; ``TransientBackendError`` after ``timeout``."""
    client = GobgpClient(api, timeout=1.0)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                client.get_global()
                return
            except TransientBackendError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
    finally:
        client.close()
