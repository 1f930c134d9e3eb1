"""The FRR daemons' identity (frr.client.Vtysh.identity), on real unix sockets standing in
for FRR's vty sockets (what the probe reads: the socket file, a connection, the pid file).

Matrix: the same daemons give the same identity; a daemon that died leaves its socket file
behind, refusing connections: unavailable, naming it; started again (a new socket, a new
pid), the identity differs; a missing optional daemon (bfdd) is part of the identity, not
an error.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from frr.client import Vtysh
from frr.errors import VtyshUnavailable


class FakeDaemons:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.listening: dict[str, socket.socket] = {}

    def start(self, daemon: str, pid: int) -> None:
        path = self.directory / f"{daemon}.vty"
        path.unlink(missing_ok=True)
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(str(path))
        server.listen(4)
        self.listening[daemon] = server
        (self.directory / f"{daemon}.pid").write_text(f"{pid}\n")

    def kill(self, daemon: str) -> None:
        self.listening.pop(daemon).close()  # the socket file stays, as after SIGKILL

    def close(self) -> None:
        for server in self.listening.values():
            server.close()


@pytest.fixture
def daemons(tmp_path: Path) -> Iterator[FakeDaemons]:
    fake = FakeDaemons(tmp_path)
    fake.start("zebra", 100)
    fake.start("bgpd", 101)
    yield fake
    fake.close()


def test_identity_changes_with_the_daemon_process(daemons: FakeDaemons) -> None:
    vtysh = Vtysh(vty_socket=str(daemons.directory))
    first = vtysh.identity()
    assert vtysh.identity() == first
    assert dict(first)["bfdd"] is None  # not running: part of who runs, not an error
    daemons.kill("bgpd")
    with pytest.raises(VtyshUnavailable, match="bgpd is not running"):
        vtysh.identity()
    daemons.start("bgpd", 102)
    second = vtysh.identity()
    assert second != first and dict(second)["zebra"] == dict(first)["zebra"]


def test_socket_directory_of_each_instance() -> None:
    assert Vtysh(vty_socket="/run/x").socket_dir == Path("/run/x")
    assert Vtysh(pathspace="n1").socket_dir == Path("/var/run/frr/n1")
    assert Vtysh().socket_dir == Path("/var/run/frr")
