"""``KubeClient``: raw JSON requests through the unmodified ``kubernetes`` client.

Why raw dicts and not the generated models: the parser reads manifests as mappings (the file
adapter gives it the same), so the adapter keeps the API's own JSON and never round-trips it
through model classes (which would rename fields and drop unknown ones). The ``kubernetes``
package still does the work that matters: kubeconfig and in-cluster configuration (tokens,
client certificates, CA), authentication headers and the urllib3 connection pool.

Every call is bounded by a request timeout; a watch is bounded on both sides (the server's
``timeoutSeconds`` and our read timeout). Library exceptions (``ApiException``, urllib3
errors, ``OSError``) and HTTP error statuses become our ``KubeError`` kinds
(``raise ... from e``). Requests and responses are never logged: Secrets pass through here.

Proxy: cluster traffic goes straight to the API server; a proxy from the environment is not
used (``Configuration.proxy`` is cleared unless the kubeconfig itself names one).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

from orchestrator.adapters.kube.errors import KubeError, KubeTransient, for_status, short_message
from orchestrator.adapters.kube.resources import Resource

JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
_TRANSPORT_ERRORS = (urllib3.exceptions.HTTPError, OSError)


class KubeClient:
    def __init__(self, api: Any, *, timeout: float = 10.0) -> None:
        self.api = api  # kubernetes.client.ApiClient
        self.timeout = timeout

    @classmethod
    def from_kubeconfig(
        cls, path: str, *, context: str | None = None, timeout: float = 10.0
    ) -> KubeClient:
        cfg = k8s.Configuration()
        k8s_config.load_kube_config(config_file=path, context=context, client_configuration=cfg)  # type: ignore[no-untyped-call]
        return cls(k8s.ApiClient(_direct(cfg)), timeout=timeout)

    @classmethod
    def in_cluster(cls, *, timeout: float = 10.0) -> KubeClient:
        cfg = k8s.Configuration()
        k8s_config.load_incluster_config(client_configuration=cfg)  # type: ignore[no-untyped-call]
        return cls(k8s.ApiClient(_direct(cfg)), timeout=timeout)

    def close(self) -> None:
        self.api.close()

    # -- requests
    def _send(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        body: object = None,
        content_type: str = JSON,
        timeout: float | tuple[float, float] | None = None,
    ) -> Any:
        """Send a request; return the urllib3 response, body not yet read."""
        what = f"{method} {path}"
        headers = {"Accept": JSON}
        if body is not None:
            headers["Content-Type"] = content_type
        try:
            _, url, headers, body, _ = self.api.param_serialize(
                method,
                path,
                query_params=list((query or {}).items()),
                header_params=headers,
                body=body,
                auth_settings=["BearerToken"],
            )
            resp = self.api.call_api(
                method, url, header_params=headers, body=body, _request_timeout=timeout
            )
        except ApiException as e:
            raise for_status(e.status or 0, what, short_message(e.body)) from e
        except _TRANSPORT_ERRORS as e:
            raise KubeTransient(f"{what}: {type(e).__name__}") from e
        raw = resp.response
        if not 200 <= resp.status <= 299:
            try:
                data = raw.data
            except _TRANSPORT_ERRORS:
                data = b""
            raw.release_conn()
            raise for_status(resp.status, what, short_message(data))
        return raw

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        body: object = None,
        content_type: str = JSON,
    ) -> dict[str, Any]:
        raw = self._send(
            method, path, query=query, body=body, content_type=content_type, timeout=self.timeout
        )
        try:
            data = raw.data
        except _TRANSPORT_ERRORS as e:
            raise KubeTransient(f"{method} {path}: {type(e).__name__}") from e
        finally:
            raw.release_conn()
        try:
            parsed = json.loads(data)
        except ValueError as e:
            raise KubeTransient(f"{method} {path}: response is not JSON") from e
        if not isinstance(parsed, dict):
            raise KubeTransient(f"{method} {path}: response is not an object")
        return parsed

    # -- typed helpers over ``Resource``
    def list(
        self, res: Resource, namespace: str | None = None, *, label_selector: str = ""
    ) -> tuple[list[dict[str, Any]], str]:
        """All objects (stamped with kind/apiVersion) and the list's resourceVersion; with
        ``namespace``, only that namespace's; with ``label_selector``, only matching ones."""
        query = {"labelSelector": label_selector} if label_selector else None
        out = self.request("GET", res.path(namespace), query=query)
        items = [res.stamp(i) for i in out.get("items") or [] if isinstance(i, dict)]
        return items, str((out.get("metadata") or {}).get("resourceVersion", ""))

    def get(
        self, res: Resource, name: str, namespace: str | None = None, *, subresource: str = ""
    ) -> dict[str, Any]:
        path = res.path(namespace, name) + (f"/{subresource}" if subresource else "")
        return res.stamp(self.request("GET", path))

    def create(self, res: Resource, obj: Mapping[str, Any]) -> dict[str, Any]:
        ns = (obj.get("metadata") or {}).get("namespace")
        return self.request("POST", res.path(ns), body=dict(res.stamp(obj)))

    def replace(self, res: Resource, obj: Mapping[str, Any], *, subresource: str = "") -> Any:
        meta = obj.get("metadata") or {}
        path = res.path(meta.get("namespace"), meta.get("name"))
        if subresource:
            path += f"/{subresource}"
        return self.request("PUT", path, body=dict(res.stamp(obj)))

    def merge_patch(
        self,
        res: Resource,
        name: str,
        patch: Mapping[str, Any],
        namespace: str | None = None,
        *,
        subresource: str = "",
    ) -> dict[str, Any]:
        path = res.path(namespace, name) + (f"/{subresource}" if subresource else "")
        return self.request("PATCH", path, body=dict(patch), content_type=MERGE_PATCH)

    def delete(self, res: Resource, name: str, namespace: str | None = None) -> None:
        self.request("DELETE", res.path(namespace, name))

    def watch(
        self,
        res: Resource,
        resource_version: str,
        *,
        namespace: str | None = None,
        label_selector: str = "",
        timeout_seconds: int = 30,
        opened: Callable[[Callable[[], None]], None] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Watch events ``{type, object}`` after ``resource_version``; ends when the server
        closes the stream (at ``timeout_seconds``). A read stalled for longer than that plus
        a margin raises ``KubeTransient``, so a silently dead connection cannot hang us.
        ``opened`` receives a function that ends the stream from another thread (a stop
        must not wait for an idle watch to time out)."""
        query = {
            "watch": "1",
            "resourceVersion": resource_version,
            "timeoutSeconds": str(timeout_seconds),
            "allowWatchBookmarks": "true",
        }
        if label_selector:
            query["labelSelector"] = label_selector
        path = res.path(namespace)
        raw = self._send("GET", path, query=query, timeout=(self.timeout, timeout_seconds + 5))
        if opened is not None:
            opened(raw.shutdown)
        try:
            for line in _lines(raw, f"WATCH {path}"):
                try:
                    event = json.loads(line)
                except ValueError as e:
                    raise KubeTransient(f"WATCH {path}: bad event line") from e
                if isinstance(event, dict):
                    yield event
        finally:
            # A stream left early has unread data: close it rather than return it to the pool.
            raw.close()
            raw.release_conn()


def _lines(raw: Any, what: str) -> Iterator[bytes]:
    buf = b""
    try:
        for chunk in raw.stream(4096, decode_content=True):
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if line.strip():
                    yield line
    except _TRANSPORT_ERRORS as e:
        raise KubeTransient(f"{what}: {type(e).__name__}") from e
    if buf.strip():
        yield buf


def _direct(cfg: Any) -> Any:
    """No proxy from the environment; a kubeconfig ``proxy-url`` would have set one."""
    if not getattr(cfg, "proxy", None):
        cfg.proxy = None
    cfg.retries = False  # our loops retry with backoff; urllib3's own retries hide outages
    # one long-lived watch per kind (14) plus requests: the default pool (5 per CPU) is
    # too small and would open and discard a connection per request
    cfg.connection_pool_maxsize = max(getattr(cfg, "connection_pool_maxsize", 0) or 0, 32)
    return cfg


__all__ = ["KubeClient", "KubeError"]
