"""Errors of the GoBGP backend, by who is at fault and what happens next: each is one of the
routing contract's (``orchestrator.routing.errors``), so the worker treats them as it
treats FRR's.

- ``TransientBackendError``: gobgpd is unreachable, slow, restarting, or not configured yet.
  Nothing is wrong with the desired state; retry with backoff (the next apply re-reads the
  daemon and repairs whatever the failure left half-done).
- ``ConfigRejected``: gobgpd refused part of the desired state. Retrying the same state
  will fail the same way; report it, retry only with backoff.
- ``InvalidDesiredState`` (a ``ConfigRejected`` that never reached the daemon): the desired
  state is invalid (``gobgp.model.validate``); not retried until the intent changes.

Messages name the RPC and quote gobgpd's reason (truncated, with every password of the
desired state replaced by ``<redacted>``); the gRPC error stays reachable as ``__cause__``
for debugging, never for logging.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from orchestrator.routing.errors import (
    DaemonRejected,
    DaemonUnavailable,
    Fault,
    IntentInvalid,
    RoutingError,
)

MAX_DETAIL = 300
REDACTED = "<redacted>"


class GobgpBackendError(RoutingError):
    """Base class: something went wrong talking to gobgpd."""


class TransientBackendError(GobgpBackendError, DaemonUnavailable):
    """Retry later; the daemon is unreachable, busy, or was restarted."""


class ConfigRejected(GobgpBackendError, DaemonRejected):
    """The desired state (or part of it) cannot be applied as it is."""


class InvalidDesiredState(ConfigRejected, IntentInvalid):
    """The desired state fails validation; nothing was sent."""

    fault: ClassVar[Fault] = Fault.INVALID


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret replaced and the length bounded, for error messages."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret:
            text = text.replace(secret, REDACTED)
    if len(text) > MAX_DETAIL:
        text = text[:MAX_DETAIL] + "..."
    return text
