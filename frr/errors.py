"""Errors of the FRR backend, by who is at fault and what happens next: each is one of the
routing contract's (``orchestrator.routing.errors``), so the worker treats them as it
treats GoBGP's.

- ``ConversionError``: the intent holds something we refuse to hand to FRR (a name, a
  community, a password that fails validation). The user fixes the input; FRR keeps the
  last good configuration meanwhile.
- ``UnsafeCommandError``: a command line that could break out of its context; the last
  check before vtysh. Reaching it is our bug: the model validated first.
- ``VtyshUnavailable``: a daemon is not running, or vtysh cannot reach it (retry).
- ``VtyshCommandError``: FRR rejected lines of a batch (retrying the same batch fails the
  same way; FRR may be partly changed, so the next attempt re-reads the running config).

vtysh echoes a failing line in its error message, so every message passes through
``redact`` before it is logged or raised: passwords never leave this package.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from orchestrator.core.model.cluster import Secret
from orchestrator.routing.errors import (
    DaemonRejected,
    DaemonUnavailable,
    IntentInvalid,
    RoutingError,
)

_MAX_MESSAGE = 600


class ConversionError(IntentInvalid):
    """The intent holds something we refuse to hand to FRR. The user fixes the input; the
    backend keeps the last good configuration meanwhile."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(self.problems))


class UnsafeCommandError(ValueError):
    """A command line that could break out of its context; never sent to FRR."""


class VtyshError(RoutingError):
    """vtysh did not do what we asked (unexpected output: retried like an unavailable
    daemon)."""


class VtyshUnavailable(VtyshError, DaemonUnavailable):
    """A daemon is not running, or vtysh cannot reach it."""


class VtyshCommandError(VtyshError, DaemonRejected):
    """FRR rejected commands of a batch (messages redacted)."""

    def __init__(self, daemon: str, errors: Sequence[str]) -> None:
        self.daemon = daemon
        self.errors = tuple(errors)
        super().__init__(f"{daemon} rejected {len(errors)} line(s): " + " | ".join(errors[:5]))


def redact(text: str, secrets: Iterable[Secret]) -> str:
    for s in secrets:
        value = s.reveal()
        if value:
            text = text.replace(value, "<redacted>")
    # belt and braces: a password line vtysh echoes back whatever we knew about
    text = re.sub(r"(password\s+)\S+", r"\1<redacted>", text)
    if len(text) > _MAX_MESSAGE:
        text = text[:_MAX_MESSAGE] + "..."
    return text
