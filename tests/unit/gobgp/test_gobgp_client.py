"""GobgpClient against an in-process gRPC server speaking our generated API (no gobgpd).

Covers: gRPC failures become our errors — "not started" and unreachable/slow daemons are
``TransientBackendError``, refusals are ``ConfigRejected`` — with the RPC named, passwords
scrubbed and the gRPC error kept as ``__cause__``; deadlines bound every call; the channel
ignores ``http_proxy``/``https_proxy`` (a proxy that does not exist is configured, and the
call still reaches the local server); requests carry what the model says (StartBgp's
``global`` field, AddPathStream batches); the identity the routing worker probes changes
when the server behind the socket is replaced.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent import futures
from ipaddress import IPv4Address, ip_address, ip_network
from pathlib import Path
from typing import Any

import grpc  # type: ignore[import-untyped]
import pytest
from google.protobuf import empty_pb2  # type: ignore[import-untyped]

from gobgp._generated import gobgp_pb2 as api
from gobgp._generated import gobgp_pb2_grpc as api_grpc
from gobgp.client import STREAM_BATCH, GobgpClient
from gobgp.daemon import unix_target
from gobgp.diff import RibPath
from gobgp.errors import ConfigRejected, TransientBackendError
from gobgp.model import GobgpGlobal, GobgpPeer
from orchestrator.core.model.cluster import Secret

PASSWORD = "s3cret-do-not-print"


class Servicer(api_grpc.GobgpApiServicer):  # type: ignore[misc]
    """Records requests; each RPC behaves as the test sets it up."""

    def __init__(self) -> None:
        self.started: Any = None
        self.stream_sizes: list[int] = []
        self.delay = 0.0

    def GetBgp(self, request: Any, context: Any) -> Any:
        time.sleep(self.delay)
        if self.started is None:
            return api.GetBgpResponse()
        return api.GetBgpResponse(**{"global": self.started})

    def StartBgp(self, request: Any, context: Any) -> Any:
        self.started = getattr(request, "global")
        return empty_pb2.Empty()

    def AddPeer(self, request: Any, context: Any) -> Any:
        # gobgpd-style plain error that (badly) quotes the configuration
        password = request.peer.conf.auth_password
        context.abort(grpc.StatusCode.UNKNOWN, f"invalid peer config: password {password}")

    def DeletePeer(self, request: Any, context: Any) -> Any:
        context.abort(grpc.StatusCode.UNKNOWN, "bgp server hasn't started yet")

    def AddPathStream(self, request_iterator: Iterator[Any], context: Any) -> Any:
        for message in request_iterator:
            self.stream_sizes.append(len(message.paths))
        return empty_pb2.Empty()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Servicer, str]]:
    servicer = Servicer()
    srv = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    api_grpc.add_GobgpApiServicer_to_server(servicer, srv)
    target = unix_target(tmp_path / "api.sock")
    srv.add_insecure_port(target)
    srv.start()
    try:
        yield servicer, target
    finally:
        srv.stop(grace=None)


def test_start_and_get_global(server: tuple[Servicer, str]) -> None:
    servicer, target = server
    client = GobgpClient(target)
    try:
        assert client.get_global() is None
        instance = GobgpGlobal(64512, IPv4Address("198.51.100.11"), listen_port=-1)
        client.start(instance)
        assert servicer.started.asn == 64512 and servicer.started.listen_port == -1
        assert client.get_global() == instance
    finally:
        client.close()


def test_refusal_is_config_rejected_and_scrubbed(server: tuple[Servicer, str]) -> None:
    _, target = server
    client = GobgpClient(target, secrets=lambda: (PASSWORD,))
    peer = GobgpPeer("r1", ip_address("198.51.100.1"), 64500, password=Secret(PASSWORD))
    try:
        with pytest.raises(ConfigRejected) as info:
            client.add_peer(peer)
    finally:
        client.close()
    message = str(info.value)
    assert "AddPeer" in message and "UNKNOWN" in message and "<redacted>" in message
    assert PASSWORD not in message
    assert isinstance(info.value.__cause__, grpc.RpcError)


def test_not_started_is_transient(server: tuple[Servicer, str]) -> None:
    _, target = server
    client = GobgpClient(target)
    try:
        with pytest.raises(TransientBackendError, match="DeletePeer"):
            client.delete_peer(ip_address("198.51.100.1"))
    finally:
        client.close()


def test_deadline_is_transient(server: tuple[Servicer, str]) -> None:
    servicer, target = server
    servicer.delay = 1.0
    client = GobgpClient(target, timeout=0.2)
    started = time.monotonic()
    try:
        with pytest.raises(TransientBackendError, match="DEADLINE_EXCEEDED"):
            client.get_global()
    finally:
        client.close()
    assert time.monotonic() - started < 0.9


def test_unreachable_is_transient(tmp_path: Path) -> None:
    client = GobgpClient(unix_target(tmp_path / "nobody.sock"), timeout=1.0)
    try:
        with pytest.raises(TransientBackendError, match="UNAVAILABLE"):
            client.get_global()
    finally:
        client.close()


def test_paths_are_streamed_in_batches(server: tuple[Servicer, str]) -> None:
    servicer, target = server
    paths = [
        RibPath(ip_network(f"2001:db8:5::{i:x}/128"), None, None, (), (), frozenset())
        for i in range(1, STREAM_BATCH + 11)
    ]
    client = GobgpClient(target)
    try:
        client.push_paths(paths, [ip_network("203.0.113.1/32")])
        client.push_paths([], [])  # nothing to do: no call
    finally:
        client.close()
    assert servicer.stream_sizes == [STREAM_BATCH, 11]


def test_channel_ignores_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Over TCP to loopback with a proxy configured that nothing listens on: the call must
    go straight to the server (gRPC would otherwise tunnel through the proxy and fail)."""
    servicer = Servicer()
    srv = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    api_grpc.add_GobgpApiServicer_to_server(servicer, srv)
    port = srv.add_insecure_port("127.0.0.1:0")
    srv.start()
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "grpc_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # discard port: no proxy there
    for name in ("no_proxy", "NO_PROXY", "no_grpc_proxy"):
        monkeypatch.delenv(name, raising=False)
    client = GobgpClient(f"127.0.0.1:{port}", timeout=3.0)
    try:
        assert client.get_global() is None
    finally:
        client.close()
        srv.stop(grace=None)


def test_identity_changes_when_the_server_behind_the_socket_is_replaced(tmp_path: Path) -> None:
    """The probe's identity: the same while one server answers, another after a restart on
    the same socket (however quickly it came back), unreachable in between."""
    target = unix_target(tmp_path / "api.sock")

    def serve() -> Any:
        srv = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        api_grpc.add_GobgpApiServicer_to_server(Servicer(), srv)
        srv.add_insecure_port(target)
        srv.start()
        return srv

    srv = serve()
    client = GobgpClient(target, timeout=1.0)
    try:
        first = client.identity()
        assert client.identity() == first
        srv.stop(grace=None).wait()
        with pytest.raises(TransientBackendError):
            client.identity()
        srv = serve()
        deadline = time.monotonic() + 10  # the channel reconnects within its backoff (2 s)
        while True:
            try:
                second = client.identity()
                break
            except TransientBackendError:
                assert time.monotonic() < deadline, "never reconnected"
                time.sleep(0.1)
        assert second != first
    finally:
        client.close()
        srv.stop(grace=None)
