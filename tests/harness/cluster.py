"""The cluster tier's rig: a real etcd + kube-apiserver, the chart installed by real Helm,
and our processes run exactly as the chart runs them, on its ServiceAccounts' tokens.

- ``Cluster`` starts the control plane of ``orchestrator.lab.controlplane`` on the root
  namespace's loopback (free ports), as children of the test session, and stops them in
  teardown whatever happened. ``kubectl``/``helm`` are the binaries ``make kube-bins`` built.
- ``Cluster.token_kubeconfig(sa)`` asks the server for a token of ServiceAccount ``sa``
  (``kubectl create token``, the TokenRequest API) and writes a kubeconfig for it: every
  request our processes make is then authorized by the chart's own RBAC, as in a cluster.
- ``chart_argv`` takes a container's ``args`` from the release's rendered manifest and swaps
  only what a pod gets from its environment: ``--in-cluster`` becomes ``--kubeconfig``,
  ``$(NODE_NAME)``/``$(POD_NAME)`` their values, the metrics address a free loopback port.
  Speakers run with ``--no-l2``: this tier runs in the root namespace, where an ARP
  responder must never answer; the wire is the integration and e2e tiers' business.
- The API server writes an **audit log** (``Cluster.audit``, ``tests/harness/audit.py``):
  every request at level Metadata (who, verb, URI, response code), so a test checks what a
  component asked for and what the server answered (a 403 is a missing RBAC rule) on the
  server's own record, not on a client-side one.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from orchestrator.adapters.procs import stop_groups
from orchestrator.lab.controlplane import ControlPlane
from tests.harness.audit import AUDIT_POLICY, AuditLog

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "metallb-orchestrator"
RELEASE = "mlb"
NAMESPACE = "metallb-system"
FULLNAME = "mlb-metallb-orchestrator"
CONTROLLER_SA = f"{FULLNAME}-controller"
SPEAKER_SA = f"{FULLNAME}-speaker"

Obj = dict[str, Any]


def ip_pool(name: str, *addresses: str) -> Obj:
    """An IPAddressPool in the release's namespace."""
    return {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "IPAddressPool",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {"addresses": list(addresses)},
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Cluster:
    def __init__(self, directory: Path, bins: Path, *, extra_args: Sequence[str] = ()) -> None:
        """``extra_args``: more kube-apiserver flags (a module that needs, say, watches
        served by etcd itself passes ``--watch-cache=false``)."""
        self.directory = directory
        self.bins = bins
        self.audit = AuditLog(directory / "audit.log")
        self._policy = directory / "audit-policy.yaml"
        self.cp = ControlPlane(
            directory / "cp",
            bins=bins,
            port=free_port(),
            etcd_port=free_port(),
            etcd_peer_port=free_port(),
            # watches end after 5-10 s, as a busy API server's do: informers must resume
            min_request_timeout=5,
            extra_args=(
                f"--audit-policy-file={self._policy}",
                f"--audit-log-path={self.audit.path}",
                *extra_args,
            ),
        )
        self._procs: list[subprocess.Popen[bytes]] = []
        self.started = 0.0

    # -- lifecycle
    def start(self) -> Cluster:
        self.cp.prepare()
        self._policy.write_text(AUDIT_POLICY)
        for spec in (self.cp.etcd(), self.cp.apiserver()):
            self._procs.append(self._spawn(spec.name, spec.argv))
        self.started = self.cp.wait_ready(
            timeout=90, alive=[lambda p=p: p.poll() is None for p in self._procs]
        )
        return self

    def stop(self) -> None:
        # one at a time, newest first: kube-apiserver ends in about a second while etcd
        # answers; with etcd stopped under it, it retried etcd until the SIGKILL (3 s)
        for proc in reversed(self._procs):
            stop_groups([proc], timeout=3)
        self._procs.clear()

    def _spawn(self, name: str, argv: Sequence[str]) -> subprocess.Popen[bytes]:
        log = open(self.directory / f"{name}.log", "ab")  # noqa: SIM115 (the child keeps it)
        with log:
            return subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.directory / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def compact_etcd(self) -> int:
        """Compact etcd's history up to its current revision, through etcd's HTTP gateway
        (what the API server itself does every five minutes); the revision."""

        def call(path: str, body: Mapping[str, object]) -> Obj:
            request = urllib.request.Request(
                self.cp.etcd_url + path, data=json.dumps(body).encode(), method="POST"
            )
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            with opener.open(request, timeout=5) as r:
                answer: Obj = json.loads(r.read())
                return answer

        revision = int(
            call("/v3/kv/range", {"key": base64.b64encode(b"/").decode()})["header"]["revision"]
        )
        call("/v3/kv/compaction", {"revision": str(revision), "physical": True})
        return revision

    # -- clients
    @property
    def kubeconfig(self) -> Path:
        return self.cp.admin_kubeconfig

    def _env(self) -> dict[str, str]:
        home = self.directory / "home"
        env = {**os.environ, "HOME": str(home), "NO_PROXY": "127.0.0.1,localhost"}
        env["no_proxy"] = env["NO_PROXY"]
        for var in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"):
            env[var] = str(home / var.lower())
        return env

    def kubectl(
        self,
        *args: str,
        stdin: str | None = None,
        kubeconfig: Path | None = None,
        check: bool = True,
        timeout: float = 60,
    ) -> subprocess.CompletedProcess[str]:
        argv = [str(self.bins / "kubectl"), "--kubeconfig", str(kubeconfig or self.kubeconfig)]
        result = subprocess.run(
            [*argv, *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self._env(),
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)}: {result.stderr.strip()}")
        return result

    def helm(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        argv = [str(self.bins / "helm"), "--kubeconfig", str(self.kubeconfig), *args]
        result = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, env=self._env(), check=False
        )
        if result.returncode != 0:
            raise AssertionError(f"helm {' '.join(args)}: {result.stderr.strip()}")
        return result

    def apply(self, docs: Iterable[Mapping[str, Any]] | str, *args: str) -> str:
        text = docs if isinstance(docs, str) else yaml.safe_dump_all(list(docs))
        return self.kubectl("apply", "-f", "-", *args, stdin=text).stdout

    def get(self, what: str, name: str | None = None, namespace: str | None = None) -> Obj:
        args = ["get", what, *([name] if name else []), "-o", "json"]
        if namespace:
            args += ["-n", namespace]
        obj: Obj = json.loads(self.kubectl(*args).stdout)
        return obj

    def items(self, what: str, namespace: str | None = None, selector: str = "") -> list[Obj]:
        args = ["get", what, "-o", "json", *(["-l", selector] if selector else [])]
        args += ["-n", namespace] if namespace else ["-A"]
        items: list[Obj] = json.loads(self.kubectl(*args).stdout)["items"]
        return items

    def token(self, sa: str, namespace: str = NAMESPACE) -> str:
        """A real token of ServiceAccount ``namespace/sa`` (the TokenRequest API)."""
        token = self.kubectl("create", "token", sa, "-n", namespace, "--duration=2h").stdout
        return token.strip()

    def token_kubeconfig(
        self, sa: str, namespace: str = NAMESPACE, *, path: Path | None = None
    ) -> Path:
        """A kubeconfig carrying a real token of ServiceAccount ``namespace/sa``."""
        path = path or self.directory / f"{namespace}-{sa}.kubeconfig"
        return self.cp.write_kubeconfig(
            path, user=f"{namespace}:{sa}", token=self.token(sa, namespace)
        )


# -- the chart's processes
def release_objects(cluster: Cluster) -> list[Obj]:
    manifest = cluster.helm("get", "manifest", RELEASE, "-n", NAMESPACE).stdout
    return [d for d in yaml.safe_load_all(manifest) if d]


def container_args(objects: Iterable[Obj], kind: str, container: str) -> list[str]:
    for obj in objects:
        if obj.get("kind") != kind:
            continue
        for c in obj["spec"]["template"]["spec"]["containers"]:
            if c["name"] == container:
                return [str(a) for a in c.get("args") or []]
    raise AssertionError(f"no container {container!r} in a {kind} of the release")


def chart_argv(
    args: Sequence[str],
    *,
    kubeconfig: Path,
    env: Mapping[str, str],
    replace: Mapping[str, str] | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    """``python -m orchestrator.cli`` with the chart's ``args``, adapted to run here."""
    out: list[str] = []
    it = iter(args)
    for arg in it:
        if arg == "--in-cluster":
            out += ["--kubeconfig", str(kubeconfig)]
            continue
        if arg == "--metrics-address":
            next(it)
            out += [arg, f"127.0.0.1:{free_port()}"]
            continue
        if replace and arg in replace:
            out += [arg, replace[arg]]
            next(it)
            continue
        for var, value in env.items():
            arg = arg.replace(f"$({var})", value)
        out.append(arg)
    return [sys.executable, "-m", "orchestrator.cli", *out, *extra]


class Process:
    """One ``mlb`` process of the test; its output goes to ``DIR/<name>.log``."""

    def __init__(self, name: str, argv: Sequence[str], directory: Path) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = directory / f"{name}.log"
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1", "NO_PROXY": "127.0.0.1"},
            )

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 15) -> int:
        if self.alive:
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return self.proc.wait(timeout)

    def kill(self) -> None:
        """A crash: SIGKILL, nothing released (its Lease stays until it expires)."""
        if self.alive:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def log(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])
