"""The webhook certificate's life: made, kept, renewed from the same CA, made again."""

from __future__ import annotations

import base64
import datetime

from cryptography import x509

from orchestrator.adapters.kube.webhook_certs import Endpoint, plan

EP = Endpoint(namespace="metallb-system", service="mlb-webhook", url="https://127.0.0.1:9443")
NOW = datetime.datetime.now(datetime.UTC)


def _data(ca: bytes, ca_key: bytes, crt: bytes, key: bytes) -> dict[str, str]:
    pems = {"ca.crt": ca, "ca.key": ca_key, "tls.crt": crt, "tls.key": key}
    return {k: base64.b64encode(v).decode() for k, v in pems.items()}


def test_made_kept_renewed() -> None:
    made = plan(None, EP, NOW)
    assert made is not None
    ca, leaf = made
    cert = x509.load_pem_x509_certificate(leaf.cert)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "mlb-webhook.metallb-system.svc" in san.get_values_for_type(x509.DNSName)
    assert [str(i) for i in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    data = _data(ca.cert, ca.key, leaf.cert, leaf.key)
    assert plan(data, EP, NOW) is None  # kept
    # 340 days on, the 1-year leaf is within 30 days of its end: issued again, same CA
    later = plan(data, EP, NOW + datetime.timedelta(days=340))
    assert later is not None and later[0].cert == ca.cert and later[1].cert != leaf.cert
    # another name to cover (the URL changed): issued again, same CA
    moved = Endpoint(namespace="metallb-system", service="mlb-webhook", url="https://[::1]:1")
    again = plan(data, moved, NOW)
    assert again is not None and again[0].cert == ca.cert
    # the CA itself near its end (10 years): everything new
    far = plan(data, EP, NOW + datetime.timedelta(days=3640))
    assert far is not None and far[0].cert != ca.cert


def test_garbage_is_replaced() -> None:
    made = plan({"ca.crt": "bm9wZQ=="}, EP, NOW)
    assert made is not None


def test_client_config_service_or_url() -> None:
    svc = Endpoint(namespace="ns", service="s").client_config(b"CA", "/convert")
    assert svc["service"] == {"namespace": "ns", "name": "s", "port": 443, "path": "/convert"}
    assert svc["url"] is None and base64.b64decode(svc["caBundle"]) == b"CA"
    assert EP.client_config(b"CA", "/convert")["url"] == "https://127.0.0.1:9443/convert"
