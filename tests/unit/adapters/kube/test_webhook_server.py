"""The webhook server over real TLS on loopback: reviews answered, 503 until synced, a
rotated certificate served from the next handshake without a restart."""

from __future__ import annotations

import json
import socket
import ssl
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from orchestrator.adapters.kube.webhook import WebhookServer
from orchestrator.adapters.tls import KeyPair, issue, new_ca


class Rig:
    def __init__(self) -> None:
        self.ca = new_ca("test-ca")
        self.synced = False
        self.server = WebhookServer(
            ("127.0.0.1", 0), documents=list, ready=lambda: self.synced, namespace="ns"
        )
        self.server.load(self.leaf())
        self.server.start()

    def leaf(self) -> KeyPair:
        return issue(self.ca, "webhook", ips=["127.0.0.1"])

    def post(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        ctx = ssl.create_default_context(cadata=self.ca.cert.decode())
        req = urllib.request.Request(
            f"https://127.0.0.1:{self.server.port}{path}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=5) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def get(self, path: str) -> int:
        ctx = ssl.create_default_context(cadata=self.ca.cert.decode())
        url = f"https://127.0.0.1:{self.server.port}{path}"
        try:
            with urllib.request.urlopen(url, context=ctx, timeout=5) as r:
                return int(r.status)
        except urllib.error.HTTPError as e:
            return int(e.code)

    def served_cert(self) -> bytes:
        ctx = ssl.create_default_context(cadata=self.ca.cert.decode())
        raw = socket.create_connection(("127.0.0.1", self.server.port), timeout=5)
        with raw, ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            der = tls.getpeercert(binary_form=True)
        assert der is not None
        return ssl.DER_cert_to_PEM_cert(der).encode()


@pytest.fixture
def rig() -> Iterator[Rig]:
    r = Rig()
    yield r
    r.server.stop()


POOL = {
    "apiVersion": "metallb.io/v1beta1",
    "kind": "IPAddressPool",
    "metadata": {"name": "p", "namespace": "ns"},
    "spec": {"addresses": ["192.0.2.300"]},
}


def test_validate_waits_for_sync_then_answers(rig: Rig) -> None:
    review = {"request": {"uid": "1", "operation": "CREATE", "object": POOL}}
    assert rig.post("/validate", review)[0] == 503
    assert rig.get("/healthz") == 503
    rig.synced = True
    assert rig.get("/healthz") == 200
    code, out = rig.post("/validate", review)
    assert code == 200 and out["response"]["allowed"] is False
    assert "IPAddressPool/p: spec.addresses[0]" in out["response"]["status"]["message"]


def test_convert_and_unknown_path(rig: Rig) -> None:
    peer = {"apiVersion": "metallb.io/v1beta1", "kind": "BGPPeer", "metadata": {"name": "r"}}
    body = {"request": {"uid": "2", "desiredAPIVersion": "metallb.io/v1beta2", "objects": [peer]}}
    code, out = rig.post("/convert", body)
    assert code == 200
    assert out["response"]["convertedObjects"][0]["apiVersion"] == "metallb.io/v1beta2"
    assert rig.post("/nothing", {})[0] == 404


def test_rotation_is_served_without_restart(rig: Rig) -> None:
    first = rig.served_cert()
    new = rig.leaf()
    rig.server.load(new)
    assert rig.served_cert() == new.cert != first
