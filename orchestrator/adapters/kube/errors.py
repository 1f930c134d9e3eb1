"""Errors of the Kubernetes adapter, by who is at fault and what to do next (docs/design.md §10).

- ``KubeTransient``: the API server or the network hiccuped (5xx, 429, connection reset,
  timeout). Retry with backoff; nothing is wrong with our request.
- ``KubeConflict`` (409): our write was based on an old ``resourceVersion``. Re-read, retry.
- ``KubeGone`` (410): a watch or list asked for a ``resourceVersion`` the server has
  compacted away. Relist.
- ``KubeRejected`` (other 4xx): the request itself is wrong or not allowed (RBAC, a missing
  CRD, validation). Retrying the same request will not help; ``KubeNotFound`` is its 404.

``translate`` turns a library exception or an HTTP error response into one of these. Messages
carry the server's short ``message`` only, truncated: a response body may echo an object we
sent, and that object may be a Secret.
"""

from __future__ import annotations

import json

_MAX_MESSAGE = 200


class KubeError(Exception):
    def __init__(self, message: str, *, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class KubeTransient(KubeError):
    pass


class KubeConflict(KubeError):
    pass


class KubeGone(KubeError):
    pass


class KubeRejected(KubeError):
    pass


class KubeNotFound(KubeRejected):
    pass


def short_message(body: bytes | str | None) -> str:
    """The ``message`` of a ``Status`` body, truncated; never the raw body."""
    if not body:
        return ""
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return ""
    message = parsed.get("message") if isinstance(parsed, dict) else None
    return str(message)[:_MAX_MESSAGE] if message else ""


def for_status(status: int, what: str, message: str = "") -> KubeError:
    """The error for an HTTP ``status`` answered to request ``what`` ("PUT Service/ns/x")."""
    text = f"{what}: HTTP {status}" + (f": {message}" if message else "")
    if status == 409:
        return KubeConflict(text, status=status)
    if status == 410:
        return KubeGone(text, status=status)
    if status == 404:
        return KubeNotFound(text, status=status)
    if status == 429 or status >= 500 or status == 0:
        return KubeTransient(text, status=status)
    return KubeRejected(text, status=status)
