"""Errors of the GoBGP backend, by who is at fault and what happens next.

- ``TransientBackendError``: gobgpd is unreachable, slow, restarting, or not configured yet.
  Nothing is wrong with the desired state; retry with backoff (the next apply re-reads the
  daemon and repairs whatever the failure left half-done).
- ``ConfigRejected``: the desired state is invalid, or gobgpd refused part of it. Retrying
  the same state will fail the same way; report it and keep the last good state running.

Messages name the RPC and quote gobgpd's reason (truncated, with every password of the
desired state replaced by ``<redacted>``); the gRPC error stays reachable as ``__cause__``
for debugging, never for logging.
"""

from __future__ import annotations

from collections.abc import Iterable

MAX_DETAIL = 300
REDACTED = "<redacted>"


class GobgpBackendError(Exception):
    """Base class: something went wrong talking to gobgpd."""


class TransientBackendError(GobgpBackendError):
    """Retry later; the daemon is unreachable, busy, or was restarted."""


class ConfigRejected(GobgpBackendError):
    """The desired state (or part of it) cannot be applied as it is."""


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret replaced and the length bounded, for error messages."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret:
            text = text.replace(secret, REDACTED)
    if len(text) > MAX_DETAIL:
        text = text[:MAX_DETAIL] + "..."
    return text
