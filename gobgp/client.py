"""A thin, typed gRPC client for one local gobgpd, speaking our model.

Why a wrapper and not the generated stub directly: every call needs the same four things —
a deadline, the proxy-free channel, translation of ``grpc.RpcError`` into our two error
kinds with passwords scrubbed from the text, and conversion of untyped messages into typed
values. Keeping them here leaves ``GobgpDriver`` with only decisions.

The channel: ``api`` is any gRPC target, ``127.0.0.1:50051`` or ``unix:///run/gobgpd.sock``.
gRPC honours ``http_proxy``/``https_proxy`` even for a local target, which would send our
calls (and BGP passwords) to a proxy, so ``grpc.enable_http_proxy`` is switched off. The
reconnect backoff is capped at 2 s instead of gRPC's 120 s: the daemon is local, and after
it restarts the next apply should reach it at once. The channel counts its (re)connections
(``identity``): the routing worker probes it every second, so a daemon that was replaced
is configured again without waiting for an intent change.

Bulk path changes go through ``AddPathStream``: one client stream carrying batches of paths,
withdrawals included (``is_withdraw``), so 5,000 paths cost a handful of messages instead of
5,000 round trips.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

import grpc  # type: ignore[import-untyped]

from gobgp import messages
from gobgp._generated import gobgp_pb2 as api
from gobgp._generated import gobgp_pb2_grpc as api_grpc
from gobgp.diff import ExportPolicy, PeerSnapshot, RibPath
from gobgp.errors import ConfigRejected, GobgpBackendError, TransientBackendError, scrub
from gobgp.model import Family, GobgpGlobal, GobgpPeer, IPAddress, IPNetwork

T = TypeVar("T")

# enum values the backend passes back in (policy direction, defined-set kind)
IMPORT: int = api.IMPORT
EXPORT: int = api.EXPORT
NEIGHBOR: int = api.NEIGHBOR
LARGE_COMMUNITY: int = api.LARGE_COMMUNITY

DEFAULT_TIMEOUT = 5.0
STREAM_BATCH = 512  # paths per AddPathStream message
CHANNEL_OPTIONS = (
    ("grpc.enable_http_proxy", 0),
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 2000),
)

# Codes that mean "the daemon is not there or not ready", not "your request is wrong".
_TRANSIENT_CODES = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.INTERNAL,
    }
)
# gobgpd reports "not started" as a plain error (code UNKNOWN); after a restart that is the
# normal state until the backend configures it again.
_NOT_STARTED = ("hasn't started", "not started")


class GobgpClient:
    def __init__(
        self,
        api_target: str = "127.0.0.1:50051",
        *,
        timeout: float = DEFAULT_TIMEOUT,
        secrets: Callable[[], Iterable[str]] = tuple,
    ) -> None:
        self.target = api_target
        self.timeout = timeout
        self._secrets = secrets  # passwords to scrub from error texts
        self._channel: Any = grpc.insecure_channel(api_target, options=CHANNEL_OPTIONS)
        self._stub: Any = api_grpc.GobgpApiStub(self._channel)
        self._connections = 0  # times the channel became READY: one per daemon process
        self._ready = False
        self._connectivity = threading.Condition()
        self._channel.subscribe(self._on_connectivity, try_to_connect=False)

    def _on_connectivity(self, state: Any) -> None:
        # called on a gRPC thread
        with self._connectivity:
            self._ready = state == grpc.ChannelConnectivity.READY
            if self._ready:
                self._connections += 1
            self._connectivity.notify_all()

    def close(self) -> None:
        self._channel.unsubscribe(self._on_connectivity)
        self._channel.close()

    # ------------------------------------------------------------------ plumbing

    def _error(self, rpc: str, exc: Any) -> GobgpBackendError:
        code = exc.code() if callable(getattr(exc, "code", None)) else None
        details = str(exc.details() if callable(getattr(exc, "details", None)) else exc)
        text = scrub(details or "no details", self._secrets())
        name = code.name if code is not None else "ERROR"
        message = f"gobgpd {rpc} at {self.target}: {name}: {text}"
        if code in _TRANSIENT_CODES or any(s in details for s in _NOT_STARTED):
            return TransientBackendError(message)
        return ConfigRejected(message)

    def _unary(self, rpc: str, request: Any, *, timeout: float | None = None) -> Any:
        try:
            return getattr(self._stub, rpc)(request, timeout=timeout or self.timeout)
        except grpc.RpcError as e:
            raise self._error(rpc, e) from e

    def _stream(self, rpc: str, request: Any, convert: Callable[[Any], T]) -> list[T]:
        """Server-streaming call, drained within one deadline."""
        try:
            return [
                convert(item) for item in getattr(self._stub, rpc)(request, timeout=self.timeout)
            ]
        except grpc.RpcError as e:
            raise self._error(rpc, e) from e

    # ------------------------------------------------------------------ instance

    def identity(self) -> int:
        """Which daemon answers: the number of times the channel (re)connected. A daemon
        killed and started again breaks the connection, so the number changes however
        quickly it came back; ``GetBgp`` makes sure it answers now (raises
        ``TransientBackendError`` while it does not)."""
        self.get_global()
        with self._connectivity:
            # the call succeeded, so the channel is READY; gRPC reports that on another
            # thread, which may not have run yet: wait for it, or a first connection would
            # look like a second one at the next probe
            self._connectivity.wait_for(lambda: self._ready, timeout=0.5)
            return self._connections

    def get_global(self) -> GobgpGlobal | None:
        """The running instance, or ``None`` when gobgpd has not been started."""
        reply = self._unary("GetBgp", api.GetBgpRequest())
        return messages.global_from(getattr(reply, "global"))  # a keyword in Python

    def start(self, instance: GobgpGlobal) -> None:
        self._unary("StartBgp", _start(instance))

    def stop(self) -> None:
        self._unary("StopBgp", api.StopBgpRequest())

    # ------------------------------------------------------------------ neighbours

    def list_peers(self, *, advertised: bool = False) -> list[PeerSnapshot]:
        request = api.ListPeerRequest(enableAdvertised=advertised)
        return self._stream("ListPeer", request, lambda r: messages.peer_from(r.peer))

    def add_peer(self, peer: GobgpPeer) -> None:
        self._unary("AddPeer", api.AddPeerRequest(peer=messages.peer_message(peer)))

    def update_peer(self, peer: GobgpPeer) -> None:
        self._unary("UpdatePeer", api.UpdatePeerRequest(peer=messages.peer_message(peer)))

    def delete_peer(self, address: IPAddress) -> None:
        self._unary("DeletePeer", api.DeletePeerRequest(address=str(address)))

    # ------------------------------------------------------------------ RIB

    def table_size(self, family: Family) -> int:
        """Destinations in the global RIB for ``family``."""
        request = api.GetTableRequest(table_type=api.GLOBAL, family=messages.family(family))
        return int(self._unary("GetTable", request).num_destination)

    def list_paths(self, family: Family) -> list[RibPath]:
        """Locally originated paths in the global RIB."""
        request = api.ListPathRequest(table_type=api.GLOBAL, family=messages.family(family))

        def convert(reply: Any) -> list[RibPath]:
            found = (messages.path_from(p) for p in reply.destination.paths)
            return [p for p in found if p is not None]

        return [p for batch in self._stream("ListPath", request, convert) for p in batch]

    def push_paths(self, announce: Sequence[RibPath], withdraw: Sequence[IPNetwork]) -> None:
        """Withdraw, then announce, in one ``AddPathStream``; returns when gobgpd has
        applied all of it."""
        total = len(announce) + len(withdraw)
        if not total:
            return

        def batches() -> Iterator[Any]:
            paths: list[Any] = []
            for prefix in withdraw:
                paths.append(messages.withdraw_message(prefix))
                if len(paths) == STREAM_BATCH:
                    yield api.AddPathStreamRequest(table_type=api.GLOBAL, paths=paths)
                    paths = []
            for path in announce:
                paths.append(messages.path_message(path))
                if len(paths) == STREAM_BATCH:
                    yield api.AddPathStreamRequest(table_type=api.GLOBAL, paths=paths)
                    paths = []
            if paths:
                yield api.AddPathStreamRequest(table_type=api.GLOBAL, paths=paths)

        # the deadline grows with the batch: ~0.2 ms a path is gobgpd's own cost
        self._unary("AddPathStream", batches(), timeout=self.timeout + total * 0.002)

    # ------------------------------------------------------------------ policy

    def list_policy_names(self) -> set[str]:
        return set(
            self._stream("ListPolicy", api.ListPolicyRequest(), lambda r: str(r.policy.name))
        )

    def list_defined_sets(self, kind: int) -> set[str]:
        """Names of the defined sets of ``kind`` (``api.NEIGHBOR``, ``api.LARGE_COMMUNITY``)."""
        request = api.ListDefinedSetRequest(defined_type=kind)
        return set(self._stream("ListDefinedSet", request, lambda r: str(r.defined_set.name)))

    def get_assignment(self, direction: int) -> tuple[tuple[str, ...], bool]:
        """(policy names, default is REJECT) of the global import or export list."""
        request = api.ListPolicyAssignmentRequest(name=messages.GLOBAL_TABLE, direction=direction)
        found = self._stream(
            "ListPolicyAssignment", request, lambda r: messages.assignment_from(r.assignment)
        )
        return found[0] if found else ((), False)

    def set_assignment(self, direction: int, policies: Iterable[str]) -> None:
        assignment = messages.assignment(direction, policies)
        self._unary("SetPolicyAssignment", api.SetPolicyAssignmentRequest(assignment=assignment))

    def add_export(self, export: ExportPolicy) -> None:
        for defined in (messages.neighbor_set(export), messages.tag_set(export)):
            self._unary("AddDefinedSet", api.AddDefinedSetRequest(defined_set=defined))
        self._unary("AddPolicy", api.AddPolicyRequest(policy=messages.export_policy(export)))

    def add_import_policy(self) -> None:
        self._unary("AddPolicy", api.AddPolicyRequest(policy=messages.import_policy()))

    def delete_policy(self, name: str) -> None:
        request = api.DeletePolicyRequest(policy=api.Policy(name=name), all=True)
        self._unary("DeletePolicy", request)

    def delete_defined_set(self, kind: int, name: str) -> None:
        defined = api.DefinedSet(defined_type=kind, name=name)
        self._unary("DeleteDefinedSet", api.DeleteDefinedSetRequest(defined_set=defined, all=True))


def _start(instance: GobgpGlobal) -> Any:
    # ``global`` is a Python keyword, so the field can only be set through a dict
    return api.StartBgpRequest(**{"global": messages.global_message(instance)})
