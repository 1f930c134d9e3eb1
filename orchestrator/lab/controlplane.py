"""A real Kubernetes control plane on one machine: etcd and kube-apiserver, nothing else.

Used by ``mlb lab up --kube`` (inside the lab's switch namespace, reached by the nodes over
the lab LAN) and by the cluster test tier (on the root namespace's loopback). The binaries
are ours, built from the Go module proxy by ``make kube-bins`` into a cache outside the
repository; ``find_bins`` locates them.

What is configured, and why:

- etcd, single member, on loopback only, ``--unsafe-no-fsync`` (a throw-away store: fsync
  would only slow every write of the tests down);
- kube-apiserver with RBAC authorization (``--authorization-mode=RBAC``), so the chart's
  ServiceAccounts get exactly what their Roles grant; a static admin token
  (``tokens.csv``, group ``system:masters``) for setup and for the user's ``kubectl``;
  a service-account issuer and signing key, so ``kubectl create token`` (TokenRequest)
  hands out real, verifiable ServiceAccount tokens;
- a private CA (``orchestrator.adapters.tls``) and a serving certificate for every address
  the server is reached at; kubeconfigs verify it;
- a Service cluster-IP range of documentation addresses (no traffic is ever sent to a
  cluster IP here: there is no kube-proxy): by default ``192.0.2.0/24`` + ``2001:db8:1::/112``,
  which holds the ClusterIPs our examples name; the lab picks one clear of its LAN;
- no endpoint reconciler (the ``kubernetes`` Service would point at a loopback address).

There is no kube-controller-manager or scheduler: no Pods run. EndpointSlices are written
by whoever plays the workload (the tests, the lab), as a real endpoint controller would.

``ControlPlane`` only prepares files and says what to run (``etcd()``/``apiserver()``
return argv); the caller starts them its own way (the lab detached with pidfiles, the tests
as children they stop), then calls ``wait_ready``.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from orchestrator.adapters import tls

SERVICE_CIDRS = ("192.0.2.0/24", "2001:db8:1::/112")
ISSUER = "https://kubernetes.default.svc.cluster.local"
BINARIES = ("etcd", "kube-apiserver", "kubectl")
CACHE_DIR = "mlb-kube-bins"


class ControlPlaneError(RuntimeError):
    """The control plane cannot be started or did not become ready (the message says why)."""


def find_bins(explicit: Path | str | None = None) -> Path:
    """The directory with etcd, kube-apiserver and kubectl: ``explicit``, else
    ``$MLB_KUBE_BINS``, else the cache's ``current`` (what ``make kube-bins`` built last)."""
    candidates: list[Path] = []
    if explicit:
        candidates.append(Path(explicit))
    elif os.environ.get("MLB_KUBE_BINS"):
        candidates.append(Path(os.environ["MLB_KUBE_BINS"]))
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        candidates.append(Path(base) / CACHE_DIR / "current")
    for d in candidates:
        if all((d / b).is_file() and os.access(d / b, os.X_OK) for b in BINARIES):
            return d.resolve()
    where = ", ".join(str(d) for d in candidates)
    raise ControlPlaneError(
        f"no kube-apiserver/etcd/kubectl in {where}: run `make kube-bins` "
        "(builds them from the Go module proxy) or pass the directory"
    )


@dataclass(frozen=True)
class Process:
    name: str
    argv: tuple[str, ...]


class ControlPlane:
    """Files and command lines of one etcd + kube-apiserver pair under ``directory``."""

    def __init__(
        self,
        directory: Path,
        *,
        bins: Path,
        address: str = "127.0.0.1",
        port: int = 6443,
        etcd_port: int = 2379,
        etcd_peer_port: int | None = None,
        extra_addresses: Sequence[str] = (),
        min_request_timeout: int = 1800,
        extra_args: Sequence[str] = (),
        service_cidrs: Sequence[str] = SERVICE_CIDRS,
    ) -> None:
        self.directory = Path(directory)
        self.bins = Path(bins)
        self.address = address
        self.port = port
        self.etcd_port = etcd_port
        self.etcd_peer_port = etcd_peer_port or etcd_port + 1
        self.extra_addresses = tuple(extra_addresses)
        self.min_request_timeout = min_request_timeout
        self.extra_args = tuple(extra_args)
        self.service_cidrs = tuple(service_cidrs)
        self.pki = self.directory / "pki"
        self.etcd_data = self.directory / "etcd"
        self._token_file = self.directory / "admin.token"

    # -- files
    @property
    def url(self) -> str:
        return f"https://{self.address}:{self.port}"

    @property
    def etcd_url(self) -> str:
        return f"http://127.0.0.1:{self.etcd_port}"

    @property
    def ca_file(self) -> Path:
        return self.pki / "ca.crt"

    @property
    def admin_token(self) -> str:
        return self._token_file.read_text().strip()

    @property
    def admin_kubeconfig(self) -> Path:
        return self.directory / "admin.kubeconfig"

    def prepare(self) -> None:
        """Write the CA, the serving certificate, the service-account key and the admin
        token; clear etcd's data (a new control plane starts empty)."""
        self.pki.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.etcd_data, ignore_errors=True)
        ca = tls.new_ca("mlb-lab-ca")
        ips = ["127.0.0.1", self.address, *self.extra_addresses]
        serving = tls.issue(
            ca,
            "kube-apiserver",
            dns=["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"],
            ips=sorted(set(ips)),
        )
        sa_key, sa_pub = tls.signing_key()
        _write(self.ca_file, ca.cert)
        _write(self.pki / "apiserver.crt", serving.cert)
        _write(self.pki / "apiserver.key", serving.key, private=True)
        _write(self.pki / "sa.key", sa_key, private=True)
        _write(self.pki / "sa.pub", sa_pub)
        token = secrets.token_hex(24)
        _write(self._token_file, token.encode() + b"\n", private=True)
        # token,user,uid,"group1,group2"
        _write(
            self.directory / "tokens.csv",
            f'{token},admin,admin,"system:masters"\n'.encode(),
            private=True,
        )
        self.write_kubeconfig(self.admin_kubeconfig, user="admin", token=token)

    def write_kubeconfig(
        self, path: Path, *, user: str, token: str, server: str | None = None
    ) -> Path:
        """A kubeconfig that trusts our CA and authenticates with ``token`` (mode 0600)."""
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "mlb-lab",
                    "cluster": {
                        "server": server or self.url,
                        "certificate-authority-data": base64.b64encode(
                            self.ca_file.read_bytes()
                        ).decode(),
                    },
                }
            ],
            "users": [{"name": user, "user": {"token": token}}],
            "contexts": [{"name": user, "context": {"cluster": "mlb-lab", "user": user}}],
            "current-context": user,
        }
        _write(path, yaml.safe_dump(config, sort_keys=False).encode(), private=True)
        return path

    # -- what to run
    def etcd(self) -> Process:
        peer = self.etcd_peer_port
        return Process(
            "etcd",
            (
                str(self.bins / "etcd"),
                "--name=mlb",
                f"--data-dir={self.etcd_data}",
                f"--listen-client-urls={self.etcd_url}",
                f"--advertise-client-urls={self.etcd_url}",
                f"--listen-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-cluster=mlb=http://127.0.0.1:{peer}",
                "--listen-metrics-urls=",
                "--unsafe-no-fsync",
                "--log-level=warn",
            ),
        )

    def apiserver(self) -> Process:
        return Process(
            "kube-apiserver",
            (
                str(self.bins / "kube-apiserver"),
                f"--etcd-servers={self.etcd_url}",
                f"--bind-address={self.address}",
                f"--advertise-address={self.address}",
                f"--secure-port={self.port}",
                f"--tls-cert-file={self.pki / 'apiserver.crt'}",
                f"--tls-private-key-file={self.pki / 'apiserver.key'}",
                f"--token-auth-file={self.directory / 'tokens.csv'}",
                "--authorization-mode=RBAC",
                f"--service-account-issuer={ISSUER}",
                f"--service-account-key-file={self.pki / 'sa.pub'}",
                f"--service-account-signing-key-file={self.pki / 'sa.key'}",
                f"--api-audiences={ISSUER}",
                f"--service-cluster-ip-range={','.join(self.service_cidrs)}",
                "--endpoint-reconciler-type=none",
                "--allow-privileged=true",
                "--profiling=false",
                f"--min-request-timeout={self.min_request_timeout}",
                f"--cert-dir={self.pki}",
                "-v=0",
                *self.extra_args,
            ),
        )

    # -- readiness
    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))

    def get(self, path: str, *, url: str | None = None, timeout: float = 5.0) -> bytes:
        """An authenticated GET as the admin (for readiness probes and small checks)."""
        request = urllib.request.Request(
            (url or self.url) + path, headers={"Authorization": f"Bearer {self.admin_token}"}
        )
        with urllib.request.urlopen(request, timeout=timeout, context=self.ssl_context()) as r:
            body: bytes = r.read()
            return body

    def wait_ready(
        self,
        *,
        timeout: float = 60.0,
        url: str | None = None,
        alive: Sequence[object] = (),
    ) -> float:
        """Poll ``/readyz`` (bounded) until it answers ok; seconds waited. ``alive`` are
        callables returning False once a process died: fail at once then, not at timeout."""
        start = time.monotonic()
        last = "no answer yet"
        while time.monotonic() - start < timeout:
            for check in alive:
                if callable(check) and not check():
                    raise ControlPlaneError(f"a control-plane process exited ({last})")
            try:
                if self.get("/readyz", url=url, timeout=2.0).strip() == b"ok":
                    return time.monotonic() - start
            except urllib.error.HTTPError as e:
                last = f"/readyz {e.code}"
            except (OSError, ssl.SSLError) as e:
                last = str(e)[:200]
            time.sleep(0.2)
        raise ControlPlaneError(
            f"kube-apiserver at {url or self.url} not ready after {timeout:.0f} s: {last}"
        )

    def version(self) -> str:
        info = json.loads(self.get("/version"))
        return str(info.get("gitVersion", "?"))


def _write(path: Path, data: bytes, *, private: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600 if private else 0o644)
