"""One error vocabulary for both routing backends: who is at fault, and what happens next.

A backend raises its own exception classes (``frr.errors``, ``gobgp.errors``), each a
subclass of one of these; the scheduler only reads ``fault``:

- ``IntentInvalid`` (``Fault.INVALID``): the intent holds something this backend refuses
  to send (a name or password that fails validation, a state the daemon cannot hold). The
  user fixes the input; nothing is retried until a new intent comes, and the daemon keeps
  the last good configuration meanwhile.
- ``DaemonRejected`` (``Fault.REJECTED``): the daemon refused what we sent. Sending the
  same again fails the same way, so it is retried with backoff only (the daemon's state
  may change), and the daemon's message is in the log, the stage status and the
  ``metallb_bgp_apply_errors_total{reason="rejected"}`` counter.
- ``DaemonUnavailable`` (``Fault.UNAVAILABLE``): the daemon is not running or cannot be
  reached. Retried with backoff, and at once when the probe sees the daemon again.
- anything else is ``Fault.INTERNAL``: our bug. Logged with its type, retried with backoff
  so that one bad pass does not stop the only thread that drives the daemon.

Messages are redacted by the backend before they are raised: a daemon that echoes a
password never gets it into a log line.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar


class Fault(StrEnum):
    INVALID = "invalid"
    REJECTED = "rejected"
    UNAVAILABLE = "unavailable"
    INTERNAL = "internal"


class RoutingError(Exception):
    """Something went wrong driving the daemon; ``fault`` says whose and what next."""

    fault: ClassVar[Fault] = Fault.UNAVAILABLE


class IntentInvalid(RoutingError):
    fault: ClassVar[Fault] = Fault.INVALID


class DaemonRejected(RoutingError):
    fault: ClassVar[Fault] = Fault.REJECTED


class DaemonUnavailable(RoutingError):
    fault: ClassVar[Fault] = Fault.UNAVAILABLE


def fault_of(error: BaseException) -> Fault:
    return error.fault if isinstance(error, RoutingError) else Fault.INTERNAL
