"""The controller's webhook server: HTTPS, ``POST /validate`` and ``POST /convert``.

The API server calls ``/validate`` (a ValidatingWebhookConfiguration, ``admission.review``)
before it stores one of our objects, and ``/convert`` (the BGPPeer CRD's conversion webhook,
``conversion.review``) to turn a ``v1beta1`` BGPPeer into the stored ``v1beta2`` and back.
``GET /healthz`` answers ``ok`` once the caches are synced, 503 before (the chart's
readiness probe: the Service then sends reviews only to replicas that can decide).

Every replica serves, not only the leader: the Service in front of them picks any, and a
decision only reads the informers' caches. Until those have listed every kind once, a
decision would be made on part of the cluster (an advertisement's pool not yet seen is
"unknown"), so ``/validate`` answers 503 and the API server applies the configuration's
``failurePolicy``.

TLS: ``ssl`` of the standard library over ``ThreadingHTTPServer``. ``load(pair)`` swaps the
serving certificate in place (``SSLContext.load_cert_chain`` on the live context: the next
handshake uses it), which is how a rotated certificate is picked up without a restart. The
PEMs are written to a private directory (0700, files 0600), because ``ssl`` only reads files.
"""

from __future__ import annotations

import json
import os
import ssl
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from orchestrator.adapters.kube import admission, conversion
from orchestrator.adapters.tls import KeyPair

Document = tuple[str, Mapping[str, Any]]
#: The API server never sends more than an object of 1.5 MiB (twice, for an UPDATE).
MAX_BODY = 4 * 1024 * 1024


class WebhookServer:
    def __init__(
        self,
        address: tuple[str, int],
        *,
        documents: Callable[[], Sequence[Document]],
        ready: Callable[[], bool],
        namespace: str | None,
        on_error: Callable[[str], None] = lambda msg: None,
    ) -> None:
        self.documents = documents
        self.ready = ready
        self.namespace = namespace
        self.on_error = on_error
        self._dir = Path(tempfile.mkdtemp(prefix="mlb-webhook-"))
        os.chmod(self._dir, 0o700)
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.minimum_version = ssl.TLSVersion.TLSv1_2
        self._loaded: KeyPair | None = None
        self._httpd = _Server(address, _handler(self))
        self._httpd.on_error = on_error
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def load(self, pair: KeyPair) -> None:
        """Serve ``pair`` from the next handshake on (a no-op when it is the same)."""
        if pair == self._loaded:
            return
        cert, key = self._dir / "tls.crt", self._dir / "tls.key"
        for path, data in ((cert, pair.cert), (key, pair.key)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
        self.context.load_cert_chain(cert, key)
        self._loaded = pair

    def start(self) -> None:
        if self._loaded is None:
            raise RuntimeError("no serving certificate loaded")
        # the handshake runs in the request's thread (Handler.setup), not in accept()
        self._httpd.socket = self.context.wrap_socket(
            self._httpd.socket, server_side=True, do_handshake_on_connect=False
        )
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="webhook")
        self._thread.daemon = True
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
        self._httpd.server_close()
        for name in ("tls.crt", "tls.key"):
            (self._dir / name).unlink(missing_ok=True)
        self._dir.rmdir()

    def answer(self, path: str, body: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        """(HTTP status, response body) for one review."""
        if path == "/validate":
            if not self.ready():
                return 503, {"message": "the controller has not read the cluster yet"}
            return 200, admission.review(body, self.documents(), namespace=self.namespace)
        if path == "/convert":
            return 200, conversion.review(body)
        return 404, {"message": f"no such path {path}"}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    on_error: Callable[[str], None] = staticmethod(lambda msg: None)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a failed handshake or a client gone mid-request: one line, not a traceback
        self.on_error(f"connection from {client_address[0]} failed")


def _handler(server: WebhookServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        timeout = 10  # a client that stalls mid-request does not hold a thread forever

        def setup(self) -> None:
            super().setup()
            self.connection.do_handshake()

        def do_GET(self) -> None:
            if self.path == "/healthz":
                if server.ready():
                    self._reply(200, b"ok", "text/plain")
                else:  # not ready: the Service sends reviews to a replica that is
                    self._reply(503, b"not synced", "text/plain")
            else:
                self._reply(404, b"not found", "text/plain")

        def do_POST(self) -> None:
            path = self.path.split("?", 1)[0]
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if not 0 < length <= MAX_BODY:
                self._reply(400, b'{"message": "bad Content-Length"}', "application/json")
                return
            try:
                body = json.loads(self.rfile.read(length))
                if not isinstance(body, dict):
                    raise ValueError("not an object")
                code, out = server.answer(path, body)
            except ValueError as e:
                code, out = 400, {"message": f"body is not a JSON object: {e}"}
            except Exception as e:  # one bad review must not end the server
                server.on_error(f"{path}: {type(e).__name__}: {e}")
                code, out = 500, {"message": f"{type(e).__name__}"}
            self._reply(code, json.dumps(out).encode(), "application/json")

        def _reply(self, code: int, data: bytes, content_type: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the API server's audit log has every call; ours would repeat it

    return Handler
