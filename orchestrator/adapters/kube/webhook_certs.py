"""The webhook's certificate: made, kept and rotated by the controller, or supplied.

**Made** (the default): a private CA and a serving certificate for the webhook Service's
names (``<svc>``, ``<svc>.<ns>``, ``<svc>.<ns>.svc``, ``.cluster.local``, and the host of
``--webhook-url`` when one is given) live in one Secret (``ca.crt``, ``ca.key``, ``tls.crt``,
``tls.key``). Every replica runs ``ensure`` at start and then hourly: a missing, unreadable
or foreign Secret is replaced by a new CA and leaf; a leaf within ``RENEW_BEFORE`` of its end
(or not covering the names) is issued again from the same CA, so the ``caBundle`` the API
server trusts does not change under a rotation; a CA within ``RENEW_BEFORE`` of its end is
made again. Two replicas racing to create the Secret: the loser's create answers 409 and it
reads the winner's. Then the CA goes where the API server reads it: every webhook's
``clientConfig.caBundle`` in the ValidatingWebhookConfiguration, and the BGPPeer CRD's
conversion ``clientConfig`` (the chart installs CRDs verbatim, so the CRD cannot be
templated: the controller writes the whole ``clientConfig``, Service or URL).

**Supplied** (``--webhook-cert-dir``): ``tls.crt``/``tls.key`` (and ``ca.crt``) from files,
e.g. a cert-manager Secret mounted by the chart, read again when they change; the chart puts
``webhook.caBundle`` into the configuration itself, the controller patches only the CRD.
"""

from __future__ import annotations

import base64
import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509

from orchestrator.adapters.kube.client import KubeClient
from orchestrator.adapters.kube.errors import KubeConflict, KubeNotFound
from orchestrator.adapters.kube.resources import SECRET, Resource
from orchestrator.adapters.tls import KeyPair, issue, new_ca

VWC = Resource(
    "ValidatingWebhookConfiguration",
    "admissionregistration.k8s.io",
    "v1",
    "validatingwebhookconfigurations",
    False,
)
CRD = Resource(
    "CustomResourceDefinition", "apiextensions.k8s.io", "v1", "customresourcedefinitions", False
)
BGP_PEER_CRD = "bgppeers.metallb.io"
RENEW_BEFORE = datetime.timedelta(days=30)


@dataclass(frozen=True)
class Endpoint:
    """Where the API server finds the webhook: a Service, or a URL (``url`` wins)."""

    namespace: str
    service: str
    port: int = 443
    url: str = ""

    def names(self) -> tuple[list[str], list[str]]:
        """(DNS names, IPs) the serving certificate must cover."""
        s, ns = self.service, self.namespace
        dns = [s, f"{s}.{ns}", f"{s}.{ns}.svc", f"{s}.{ns}.svc.cluster.local"]
        ips: list[str] = []
        host = urlsplit(self.url).hostname if self.url else None
        if host:
            (ips if _is_ip(host) else dns).append(host)
        return dns, ips

    def client_config(self, ca: bytes, path: str) -> dict[str, Any]:
        bundle = base64.b64encode(ca).decode()
        if self.url:
            return {"url": self.url.rstrip("/") + path, "caBundle": bundle, "service": None}
        service = {"namespace": self.namespace, "name": self.service, "port": self.port}
        return {"service": {**service, "path": path}, "caBundle": bundle, "url": None}


def _is_ip(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _b64(data: Mapping[str, Any], key: str) -> bytes:
    return base64.b64decode(str(data.get(key) or ""))


def _fresh(pem: bytes, now: datetime.datetime) -> x509.Certificate | None:
    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError:
        return None
    return cert if cert.not_valid_after_utc - RENEW_BEFORE > now else None


def _covers(cert: x509.Certificate, dns: list[str], ips: list[str]) -> bool:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    have = {
        *san.get_values_for_type(x509.DNSName),
        *map(str, san.get_values_for_type(x509.IPAddress)),
    }
    return set(dns) | set(ips) <= have


def plan(
    data: Mapping[str, Any] | None, endpoint: Endpoint, now: datetime.datetime
) -> tuple[KeyPair, KeyPair] | None:
    """(CA, leaf) to store instead of ``data`` (a Secret's ``data``), or None to keep it."""
    dns, ips = endpoint.names()
    ca_pem = _b64(data or {}, "ca.crt")
    ca_cert = _fresh(ca_pem, now) if data else None
    if ca_cert is None:
        ca = new_ca("metallb-orchestrator-webhook-ca")
        return ca, issue(ca, endpoint.service, dns=dns, ips=ips)
    assert data is not None
    ca = KeyPair(ca_pem, _b64(data, "ca.key"))
    leaf = _fresh(_b64(data, "tls.crt"), now)
    if leaf is not None and _covers(leaf, dns, ips) and _b64(data, "tls.key"):
        return None
    return ca, issue(ca, endpoint.service, dns=dns, ips=ips)


class WebhookCerts:
    """Keeps the Secret, the ValidatingWebhookConfiguration and the CRD in step."""

    def __init__(
        self,
        client: KubeClient,
        endpoint: Endpoint,
        *,
        secret: str | None,
        configuration: str | None,
        cert_dir: Path | None = None,
    ) -> None:
        self.client = client
        self.endpoint = endpoint
        self.secret = secret
        self.configuration = configuration
        self.cert_dir = cert_dir

    def ensure(self, now: datetime.datetime) -> tuple[KeyPair, bytes]:
        """(serving pair, CA PEM), with the API server's trust updated to match."""
        if self.cert_dir is not None:
            d = self.cert_dir
            pair = KeyPair((d / "tls.crt").read_bytes(), (d / "tls.key").read_bytes())
            ca = (d / "ca.crt").read_bytes() if (d / "ca.crt").exists() else b""
        else:
            pair, ca = self._secret(now)
            if self.configuration:
                self._patch_configuration(ca)
        if ca:
            self._patch_crd(ca)
        return pair, ca

    def _secret(self, now: datetime.datetime) -> tuple[KeyPair, bytes]:
        assert self.secret is not None
        ns = self.endpoint.namespace
        for _ in range(3):
            try:
                current: dict[str, Any] | None = self.client.get(SECRET, self.secret, ns)
            except KubeNotFound:
                current = None
            data = (current or {}).get("data") or {}
            made = plan(data if current else None, self.endpoint, now)
            if made is None:
                return KeyPair(_b64(data, "tls.crt"), _b64(data, "tls.key")), _b64(data, "ca.crt")
            ca, leaf = made
            meta: dict[str, Any] = {"name": self.secret, "namespace": ns}
            body = {
                "metadata": meta,
                "type": "kubernetes.io/tls",
                "data": {
                    k: base64.b64encode(v).decode()
                    for k, v in (
                        ("ca.crt", ca.cert),
                        ("ca.key", ca.key),
                        ("tls.crt", leaf.cert),
                        ("tls.key", leaf.key),
                    )
                },
            }
            try:
                if current is None:
                    self.client.create(SECRET, body)
                else:
                    rv = (current.get("metadata") or {}).get("resourceVersion")
                    meta["resourceVersion"] = rv
                    self.client.replace(SECRET, body)
            except KubeConflict:
                continue  # another replica wrote it first: take theirs
            return leaf, ca.cert
        raise KubeConflict(f"Secret {ns}/{self.secret}: changed under us three times")

    def _patch_configuration(self, ca: bytes) -> None:
        assert self.configuration is not None
        vwc = self.client.get(VWC, self.configuration)
        bundle = base64.b64encode(ca).decode()
        hooks = vwc.get("webhooks") or []
        if all((h.get("clientConfig") or {}).get("caBundle") == bundle for h in hooks):
            return
        for h in hooks:
            h.setdefault("clientConfig", {})["caBundle"] = bundle
        self.client.replace(VWC, vwc)

    def _patch_crd(self, ca: bytes) -> None:
        want = self.endpoint.client_config(ca, "/convert")
        crd = self.client.get(CRD, BGP_PEER_CRD)
        have = (((crd.get("spec") or {}).get("conversion") or {}).get("webhook") or {}).get(
            "clientConfig"
        ) or {}
        if all(have.get(k) == v for k, v in want.items() if v is not None) and not any(
            have.get(k) for k, v in want.items() if v is None
        ):
            return
        patch = {
            "spec": {
                "conversion": {
                    "strategy": "Webhook",
                    "webhook": {"clientConfig": want, "conversionReviewVersions": ["v1"]},
                }
            }
        }
        self.client.merge_patch(CRD, BGP_PEER_CRD, patch)
