"""A small Kubernetes API emulator: exactly the subset the adapter uses, over real HTTP.

It serves what a real kube-apiserver cannot be made to do on demand: fail one chosen
request (a 500 or a 503 to exactly this list), for the contract tier
(``tests/contract``), and a cheap server for ``tests/bench/bench_kube.py``. Everything
else the adapter does is tested against a real kube-apiserver (``tests/cluster``); where
the two differ, the real one is right (it drops a Service's ingress when its type stops
being LoadBalancer, defaults ``ipMode``, takes a write that changes nothing as a no-op).

The adapter talks to it with the unmodified ``kubernetes`` client, so everything between our
code and the socket (URL building, auth headers, urllib3, chunked reads of a watch stream)
is the real thing. What it implements, as the API server does it:

- ``GET`` of a collection (all namespaces, or one) -> a ``List`` with
  ``metadata.resourceVersion``; items come without ``kind``/``apiVersion``, as they do;
- ``GET ?watch=1&resourceVersion=N&timeoutSeconds=T`` -> a stream of JSON lines
  ``{"type", "object"}`` for every change after ``N``, ended after ``T`` seconds;
- ``GET``/``POST``/``PUT``/``PATCH`` (JSON merge patch)/``DELETE`` of one object; ``PUT`` and
  ``PATCH`` check a given ``metadata.resourceVersion`` (409 on mismatch); the ``status``
  subresource changes only ``status``, the main resource never changes ``status``;
- ``labelSelector`` (equality ``k=v``, ``k!=v`` and existence ``k``, comma-separated) on
  lists and watches;
- ``POST`` honours ``metadata.generateName``, and drops ``status`` for kinds that have a
  status subresource (``STATUS_SUBRESOURCE``): it must be written through ``/status``;
- one global ``resourceVersion`` counter, bumped on every write, as etcd's revision.

Test hooks: ``on_request(method, path)`` may return an HTTP status to fail a request with
(outages, 5xx); ``end_watches`` closes open streams. Store helpers (``apply``, ``remove``,
``get``) change objects directly, like another client.
"""

from __future__ import annotations

import copy
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

#: Our Deckhouse kinds with an InUse condition in their status subresource.
DECKHOUSE_STATUS = frozenset(
    {
        "metalloadbalancerpools",
        "metalloadbalancerbgppeers",
        "metalloadbalancerconfigurations",
        "l2loadbalancers",
    }
)
CLUSTER_SCOPED = frozenset(
    {"nodes", "namespaces", "metalloadbalancerclasses", "moduleconfigs"} | DECKHOUSE_STATUS
)

#: Kinds whose status only the ``status`` subresource writes (a create drops it).
STATUS_SUBRESOURCE = frozenset(
    {"services", "servicel2statuses", "servicebgpstatuses", "ipaddresspools"} | DECKHOUSE_STATUS
)

Hook = Callable[[str, str], int | None]


def selects(selector: str, labels: dict[str, str] | None) -> bool:
    """Equality-based label selector (what the adapter sends)."""
    labels = labels or {}
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            k, v = term.split("!=", 1)
            if labels.get(k) == v:
                return False
        elif "=" in term:
            k, v = term.split("=", 1)
            if labels.get(k.rstrip("=")) != v:
                return False
        elif term not in labels:
            return False
    return True


@dataclass(frozen=True)
class Target:
    group: str
    version: str
    plural: str
    namespace: str | None
    name: str | None
    sub: str | None


def parse_path(path: str) -> Target | None:
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    namespace = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3:
        return None
    return Target(
        group,
        version,
        rest[0],
        namespace,
        rest[1] if len(rest) > 1 else None,
        rest[2] if len(rest) > 2 else None,
    )


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def status_body(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "code": code,
        "reason": reason,
        "message": message,
    }


class Store:
    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.rv = 0
        self.objects: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
        self.events: list[tuple[int, tuple[str, str], str, dict[str, Any]]] = []
        self.generation = 0  # bumped to end open watch streams
        self.closed = False

    @staticmethod
    def key(namespace: str | None, name: str) -> str:
        return f"{namespace}/{name}" if namespace else name

    def _record(self, coll: tuple[str, str], kind: str, obj: dict[str, Any]) -> None:
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        self.events.append((self.rv, coll, kind, copy.deepcopy(obj)))
        self.cond.notify_all()

    def write(self, coll: tuple[str, str], obj: dict[str, Any], *, create: bool) -> dict[str, Any]:
        meta = obj.setdefault("metadata", {})
        key = self.key(meta.get("namespace"), meta["name"])
        with self.cond:
            bucket = self.objects.setdefault(coll, {})
            if create:
                meta.setdefault("uid", str(uuid.uuid4()))
                meta.setdefault("creationTimestamp", time.strftime("%Y-%m-%dT%H:%M:%SZ"))
            bucket[key] = obj
            self._record(coll, "ADDED" if create else "MODIFIED", obj)
            return copy.deepcopy(obj)

    def delete(self, coll: tuple[str, str], key: str) -> dict[str, Any] | None:
        with self.cond:
            obj = self.objects.get(coll, {}).pop(key, None)
            if obj is not None:
                self._record(coll, "DELETED", obj)
            return obj

    def watch(
        self,
        coll: tuple[str, str],
        namespace: str | None,
        since: int,
        timeout: float,
        selector: str = "",
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        deadline = time.monotonic() + timeout
        with self.cond:
            generation = self.generation
        cursor = since
        while True:
            with self.cond:
                pending = [
                    (rv, kind, obj)
                    for rv, c, kind, obj in self.events
                    if rv > cursor
                    and c == coll
                    and (namespace is None or obj["metadata"].get("namespace") == namespace)
                    and selects(selector, obj["metadata"].get("labels"))
                ]
                if not pending:
                    left = deadline - time.monotonic()
                    if left <= 0 or self.closed or self.generation != generation:
                        return
                    self.cond.wait(min(left, 0.5))
                    continue
            for rv, kind, obj in pending:
                cursor = rv
                yield kind, obj


class ApiServer:
    """Run with ``start()``; ``url`` and ``kubeconfig(path)`` to connect; ``stop()`` ends it."""

    def __init__(self) -> None:
        self.store = Store()
        self.on_request: Hook | None = None
        server = self

        class Handler(_Handler):
            api = server

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> ApiServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        with self.store.cond:
            self.store.closed = True
            self.store.cond.notify_all()
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(5)

    def kubeconfig(self, path: Path, *, token: str = "contract-test") -> Path:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "emu", "cluster": {"server": self.url}}],
            "users": [{"name": "emu", "user": {"token": token}}],
            "contexts": [{"name": "emu", "context": {"cluster": "emu", "user": "emu"}}],
            "current-context": "emu",
        }
        path.write_text(json.dumps(config))  # JSON is YAML
        return path

    # -- direct store access (another client, out of band)
    def apply(self, plural: str, obj: dict[str, Any]) -> dict[str, Any]:
        coll = (_group(obj.get("apiVersion", "")), plural)
        meta = obj["metadata"]
        key = Store.key(meta.get("namespace"), meta["name"])
        exists = key in self.store.objects.get(coll, {})
        return self.store.write(coll, copy.deepcopy(obj), create=not exists)

    def remove(self, group: str, plural: str, key: str) -> None:
        self.store.delete((group, plural), key)

    def get(self, group: str, plural: str, key: str) -> dict[str, Any] | None:
        with self.store.cond:
            obj = self.store.objects.get((group, plural), {}).get(key)
            return copy.deepcopy(obj) if obj is not None else None

    def end_watches(self) -> None:
        with self.store.cond:
            self.store.generation += 1
            self.store.cond.notify_all()


class _Server(ThreadingHTTPServer):
    # Every informer connects at once; the default backlog of 5 drops SYNs and costs a
    # 1 s retransmit.
    request_queue_size = 128


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0]


class _Handler(BaseHTTPRequestHandler):
    api: ApiServer
    # HTTP/1.1: a watch is sent with chunked encoding, one event per chunk, as the API
    # server does; the client reads each chunk as it arrives.
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms stalls

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, code: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _fail(self, code: int, reason: str, message: str) -> None:
        self._send(code, status_body(code, reason, message))

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"null")

    def _dispatch(self, method: str) -> None:
        split = urlsplit(self.path)
        hook = self.api.on_request
        if hook is not None:
            code = hook(method, self.path)
            if code is not None:
                self._fail(code, "Injected", f"injected {code}")
                return
        target = parse_path(split.path)
        if target is None:
            self._fail(404, "NotFound", "no such path")
            return
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        getattr(self, f"_{method.lower()}")(target, query)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # -- verbs
    def _coll(self, t: Target) -> tuple[str, str]:
        return (t.group, t.plural)

    def _key(self, t: Target) -> str:
        assert t.name is not None
        return Store.key(None if t.plural in CLUSTER_SCOPED else t.namespace, t.name)

    def _current(self, t: Target) -> dict[str, Any] | None:
        return self.api.get(t.group, t.plural, self._key(t))

    def _get(self, t: Target, query: dict[str, str]) -> None:
        if t.name is not None:
            obj = self._current(t)
            if obj is None:
                self._fail(404, "NotFound", f"{t.plural} {t.name} not found")
            else:
                self._send(200, obj)
            return
        if query.get("watch") in ("1", "true"):
            self._watch(t, query)
            return
        store = self.api.store
        with store.cond:
            items = [
                {k: v for k, v in copy.deepcopy(o).items() if k not in ("kind", "apiVersion")}
                for o in store.objects.get(self._coll(t), {}).values()
                if (t.namespace is None or o["metadata"].get("namespace") == t.namespace)
                and selects(query.get("labelSelector", ""), o["metadata"].get("labels"))
            ]
            rv = store.rv
        api_version = f"{t.group}/{t.version}" if t.group else t.version
        self._send(
            200,
            {
                "kind": "List",
                "apiVersion": api_version,
                "metadata": {"resourceVersion": str(rv)},
                "items": items,
            },
        )

    def _watch(self, t: Target, query: dict[str, str]) -> None:
        since = int(query.get("resourceVersion") or 0)
        timeout = float(query.get("timeoutSeconds") or 30)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        try:
            self._stream(t, since, timeout, query.get("labelSelector", ""))
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            return

    def _stream(self, t: Target, since: int, timeout: float, selector: str) -> None:
        store = self.api.store
        for kind, obj in store.watch(self._coll(t), t.namespace, since, timeout, selector):
            self._line({"type": kind, "object": obj})

    def _line(self, event: dict[str, Any]) -> None:
        data = json.dumps(event).encode() + b"\n"
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _post(self, t: Target, query: dict[str, str]) -> None:
        obj = self._body()
        meta = obj.setdefault("metadata", {})
        if t.plural not in CLUSTER_SCOPED:
            meta["namespace"] = t.namespace
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = f"{meta['generateName']}{uuid.uuid4().hex[:5]}"
        if t.plural in STATUS_SUBRESOURCE:
            obj.pop("status", None)
        t2 = Target(t.group, t.version, t.plural, t.namespace, meta.get("name"), None)
        if self._current(t2) is not None:
            self._fail(409, "AlreadyExists", f"{t.plural} {meta.get('name')} already exists")
            return
        self._send(201, self.api.store.write(self._coll(t), obj, create=True))

    def _update(
        self, t: Target, build: Callable[[dict[str, Any]], dict[str, Any]], version: object
    ) -> None:
        store = self.api.store
        with store.cond:  # check and write atomically, as etcd's compare-and-swap
            current = self._current(t)
            if current is None:
                self._fail(404, "NotFound", f"{t.plural} {t.name} not found")
                return
            new = build(current)
            if version and str(version) != current["metadata"]["resourceVersion"]:
                self._fail(409, "Conflict", "the object has been modified; please retry")
                return
            if t.sub == "status":
                result = {**current, "status": new.get("status") or {}}
            else:
                result = {**new, "metadata": {**current["metadata"], **new.get("metadata", {})}}
                if "status" in current:
                    result["status"] = current["status"]
                else:
                    result.pop("status", None)
            out = store.write(self._coll(t), result, create=False)
        self._send(200, out)

    def _put(self, t: Target, query: dict[str, str]) -> None:
        body = self._body()
        self._update(t, lambda _: body, (body.get("metadata") or {}).get("resourceVersion"))

    def _patch(self, t: Target, query: dict[str, str]) -> None:
        if "merge-patch" not in (self.headers.get("Content-Type") or ""):
            self._fail(415, "UnsupportedMediaType", "only merge patch is emulated")
            return
        patch = self._body()
        version = (patch.get("metadata") or {}).get("resourceVersion")

        def build(current: dict[str, Any]) -> dict[str, Any]:
            new: dict[str, Any] = merge_patch(current, patch)
            new["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            return new

        self._update(t, build, version)

    def _delete(self, t: Target, query: dict[str, str]) -> None:
        obj = self.api.store.delete(self._coll(t), self._key(t))
        if obj is None:
            self._fail(404, "NotFound", f"{t.plural} {t.name} not found")
        else:
            self._send(200, status_body(200, "", "deleted") | {"status": "Success"})
