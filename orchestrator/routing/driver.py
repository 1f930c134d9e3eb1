"""What a routing backend implements: the driver the routing worker runs.

FRR (``frr.driver.FrrDriver``) and GoBGP (``gobgp.driver.GobgpDriver``) each translate the
intent and talk to their daemon; everything about *when* (serializing, coalescing bursts,
backoff, the drift check, repair after a daemon restart), and the metrics and logs that
report it, is the worker's (``orchestrator.routing.worker``), the same for both.

The methods are called from one thread only. Each raises ``RoutingError`` subclasses
(``orchestrator.routing.errors``) with redacted messages:

- ``apply(intent)``: converge the daemon on the intent, sending only what differs from
  what it is known to hold (or, when that is not known, from what it is read to hold);
- ``check_drift()``: compare the daemon with the last good target and repair what
  differs, changing only objects recognisable as ours;
- ``status()`` / ``sessions()``: the configured sessions as the daemon reports them, and
  the sessions configured (for marking them unknown when the daemon cannot be read);
- ``probe()``: the daemon's identity, cheap enough to ask every second: a value that
  changes when the daemon process is replaced (a restarted daemon comes back bare);
  raises ``DaemonUnavailable`` while it cannot be reached;
- ``forget()``: trust nothing about what the daemon holds: the next apply reads it back;
- ``redact(text)``: ``text`` without any password of the current or previous target.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Protocol

from orchestrator.core.bgp.intent import NodeBGPIntent
from orchestrator.routing.report import ApplyReport, DriftReport, PeerStatus, Session


class RoutingDriver(Protocol):
    @property
    def backend(self) -> str:
        """``frr`` or ``gobgp``: the ``backend`` key of every log line."""
        ...

    def apply(self, intent: NodeBGPIntent) -> ApplyReport: ...

    def check_drift(self) -> DriftReport: ...

    def status(self) -> tuple[PeerStatus, ...]: ...

    def sessions(self) -> tuple[Session, ...]: ...

    def probe(self) -> Hashable: ...

    def forget(self) -> None: ...

    def redact(self, text: str) -> str: ...

    def close(self) -> None: ...
