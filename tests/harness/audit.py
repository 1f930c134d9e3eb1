"""The kube-apiserver's audit log as the cluster tier's record of who asked for what.

The rig's control plane runs with ``AUDIT_POLICY`` (every request at level ``Metadata``: user,
verb, URI, object reference and response code, never a body, so no Secret ends up in the
log; the ``RequestReceived`` stage left out, one line per request, or two for a watch: when
its response started and when it ended) and ``--audit-log-path``. ``AuditLog`` reads that
file back:

- ``requests(user, since=mark)``: every request ``user`` made after ``mark`` (a byte offset
  from ``mark()``), one ``Request`` each, in the order the server took them;
- ``forbidden(user, since=mark)``: those the server refused with 403, which is how a rule
  missing from the chart's RBAC shows up: the server enforces it, the log says what was
  refused;
- ``fence(client)``: the server writes a request's line as it answers it, a line may land a
  moment after the client saw the response; a fence is one marked ``GET /version`` sent
  with ``client`` after everything else, and waited for, so every earlier request of that
  client is in the log when it returns.

A ServiceAccount's user name is ``system:serviceaccount:<namespace>:<name>`` (``user_of``).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from orchestrator.adapters.kube.client import KubeClient
from tests.harness.polling import poll

AUDIT_POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: Metadata
"""

FENCE = "audit-fence"


def user_of(service_account: str, namespace: str) -> str:
    return f"system:serviceaccount:{namespace}:{service_account}"


@dataclass(frozen=True)
class Request:
    """One request as the server recorded it."""

    verb: str  # get, list, watch, create, update, patch, delete
    uri: str  # path and query, as sent
    code: int  # the response's status code
    resource: str = ""  # "" for a non-resource URL (/version)
    subresource: str = ""
    namespace: str = ""
    name: str = ""

    @property
    def path(self) -> str:
        return urlsplit(self.uri).path

    @property
    def query(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(urlsplit(self.uri).query).items()}

    def __str__(self) -> str:
        return f"{self.verb} {self.uri} -> {self.code}"


class AuditLog:
    def __init__(self, path: Path) -> None:
        self.path = path

    def mark(self) -> int:
        """Where the log ends now: pass it as ``since`` to see only what comes after."""
        return self.path.stat().st_size if self.path.exists() else 0

    def _events(self, since: int) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with open(self.path, "rb") as f:
            f.seek(since)
            data = f.read()
        events = []
        for line in data.splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue  # a line being written right now: complete at the next read
            if isinstance(event, dict):
                events.append(event)
        return events

    def requests(self, user: str, *, since: int = 0) -> list[Request]:
        """``user``'s requests after ``since``, in the order the server received them; a
        request logged twice (a watch: started, then ended) counts once, with its last
        stage's code. Fences are left out."""
        by_id: dict[str, Request] = {}
        for event in self._events(since):
            if (event.get("user") or {}).get("username") != user:
                continue
            uri = str(event.get("requestURI", ""))
            if FENCE in uri:
                continue
            ref = event.get("objectRef") or {}
            by_id[str(event.get("auditID"))] = Request(
                verb=str(event.get("verb", "")),
                uri=uri,
                code=int((event.get("responseStatus") or {}).get("code") or 0),
                resource=str(ref.get("resource", "")),
                subresource=str(ref.get("subresource", "")),
                namespace=str(ref.get("namespace", "")),
                name=str(ref.get("name", "")),
            )
        return list(by_id.values())

    def forbidden(self, user: str, *, since: int = 0) -> list[str]:
        """What the server refused ``user`` (403), as ``verb URI`` lines."""
        return [str(r) for r in self.requests(user, since=since) if r.code == 403]

    def fence(self, client: KubeClient, *, timeout: float = 5.0) -> None:
        """Return once every request ``client`` made so far is in the log."""
        token = uuid.uuid4().hex
        mark = self.mark()
        client.request("GET", "/version", query={FENCE: token})

        def seen() -> bool:
            return any(token in str(e.get("requestURI")) for e in self._events(mark))

        poll(f"the audit fence {token}", seen, timeout)
