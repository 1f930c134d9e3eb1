"""The lab on a real control plane: ``mlb lab up --kube``.

The same topology, but the cluster lives in a real etcd + kube-apiserver
(``orchestrator.lab.controlplane``, binaries from ``make kube-bins``) instead of the
manifest and state directories:

- the control plane runs in the switch namespace, which gets the LAN address
  ``192.0.2.2``: the speakers reach ``https://192.0.2.2:6443`` over the lab LAN, as nodes
  reach a real control plane (a node whose link is down loses the API too);
- the chart's CRDs, ServiceAccounts and RBAC (``helm template`` of ``charts/``) are
  applied, and the controller and every speaker run on a token of their own
  ServiceAccount (TokenRequest), so they have exactly the chart's rights;
- the lab's manifests (``DIR/manifests``, written as without ``--kube``) are applied with
  ``kubectl apply``; Node addresses go through the status subresource, as a kubelet's do;
- ``DIR/kubeconfig`` (admin) points at ``127.0.0.1:PORT`` in the root namespace, where
  ``orchestrator.lab.forward`` relays into the switch namespace: ``kubectl --kubeconfig
  DIR/kubeconfig get svc -A -o wide`` works from the shell, and the root namespace gains no
  address or route.

Edit the lab with ``kubectl`` then (``apply``, ``edit``, ``delete``); the manifest files
are only what was applied first.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from orchestrator.lab import procs
from orchestrator.lab.config import BRIDGE, LAN, LabConfig
from orchestrator.lab.controlplane import ControlPlane, ControlPlaneError, find_bins

CP_ADDRESS = "192.0.2.2"
API_PORT = 6443
NAMESPACE = "metallb-system"
RELEASE = "mlb"
FULLNAME = "mlb-metallb-orchestrator"
#: what of the rendered chart the lab applies: the API surface and the rights, no workloads
CHART_KINDS = frozenset(
    {
        "CustomResourceDefinition",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
    }
)
PROCESSES = ("cp-etcd", "cp-apiserver", "cp-forward")
#: cluster IPs clear of the LAN (192.0.2.0/24) and the BGP pool: the uplink's upper half,
#: which holds only the router (.1) and the client (.100) below it
SERVICE_CIDRS = ("198.51.100.128/25", "2001:db8:1::/112")


class LabKubeError(RuntimeError):
    """The control plane could not be set up (the message says what to do)."""


def chart_dir() -> Path:
    here = Path(__file__).resolve().parents[2] / "charts" / "metallb-orchestrator"
    if not (here / "Chart.yaml").exists():
        raise LabKubeError("mlb lab --kube needs a source checkout (it applies charts/)")
    return here


def directory(config: LabConfig) -> Path:
    return config.directory / "kube"


def user_kubeconfig(config: LabConfig) -> Path:
    return config.directory / "kubeconfig"


def component_kubeconfig(config: LabConfig, component: str) -> Path:
    """The kubeconfig ``controller`` or ``speaker`` runs with (its ServiceAccount's token,
    the API at its LAN address)."""
    return directory(config) / f"{component}.kubeconfig"


def control_plane(config: LabConfig) -> ControlPlane:
    bins = find_bins(config.kube_bins or None)
    return ControlPlane(
        directory(config),
        bins=bins,
        address=CP_ADDRESS,
        port=API_PORT,
        etcd_port=2379,
        extra_addresses=("127.0.0.1",),
        service_cidrs=SERVICE_CIDRS,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def kubectl(
    config: LabConfig, *args: str, stdin: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    bins = find_bins(config.kube_bins or None)
    result = subprocess.run(
        [str(bins / "kubectl"), "--kubeconfig", str(user_kubeconfig(config)), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if check and result.returncode != 0:
        raise LabKubeError(f"kubectl {' '.join(args[:3])}: {result.stderr.strip()[:400]}")
    return result


def start(config: LabConfig) -> None:
    """Control plane up, chart's API and RBAC applied, component kubeconfigs written."""
    cp = control_plane(config)
    if not (cp.bins / "helm").is_file():
        raise LabKubeError(f"no helm in {cp.bins}: run `make kube-bins`")
    cp.prepare()
    subprocess.run(
        ["ip", "-n", config.switch, "addr", "add", f"{CP_ADDRESS}/{LAN.prefixlen}", "dev", BRIDGE],
        capture_output=True,
        check=True,
        timeout=20,
    )
    _spawn(config, "cp-etcd", cp.etcd().argv, config.switch)
    _spawn(config, "cp-apiserver", cp.apiserver().argv, config.switch)
    port = _free_port()
    forward = [
        sys.executable,
        "-m",
        "orchestrator.lab.forward",
        "--listen",
        f"127.0.0.1:{port}",
        "--netns",
        config.switch,
        "--connect",
        f"{CP_ADDRESS}:{API_PORT}",
    ]
    _spawn(config, "cp-forward", forward, None)
    url = f"https://127.0.0.1:{port}"
    try:
        cp.wait_ready(
            url=url,
            timeout=60,
            alive=[lambda n=n: procs.running(config.run_dir, n) for n in PROCESSES],
        )
    except ControlPlaneError as e:
        raise LabKubeError(f"{e} (logs: {config.log_dir}/cp-*.log)") from e
    cp.write_kubeconfig(user_kubeconfig(config), user="admin", token=cp.admin_token, server=url)
    _install_chart(config, cp)
    for component in ("controller", "speaker"):
        token = kubectl(
            config, "create", "token", f"{FULLNAME}-{component}", "-n", NAMESPACE, "--duration=24h"
        ).stdout.strip()
        cp.write_kubeconfig(component_kubeconfig(config, component), user=component, token=token)


def _spawn(config: LabConfig, name: str, argv: Sequence[str], ns: str | None) -> None:
    procs.spawn(name, list(argv), run_dir=config.run_dir, log_dir=config.log_dir, netns=ns)


def _install_chart(config: LabConfig, cp: ControlPlane) -> None:
    rendered = subprocess.run(
        [
            str(cp.bins / "helm"),
            "template",
            RELEASE,
            str(chart_dir()),
            "-n",
            NAMESPACE,
            "--include-crds",
            # the server's own version: helm's built-in default is older than the chart allows
            f"--kube-version={_server_version(config)}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if rendered.returncode != 0:
        raise LabKubeError(f"helm template: {rendered.stderr.strip()[:400]}")
    docs = [d for d in yaml.safe_load_all(rendered.stdout) if d and d.get("kind") in CHART_KINDS]
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
    kubectl(config, "apply", "-f", "-", stdin=yaml.safe_dump_all([namespace, *docs]))
    kubectl(config, "wait", "--for=condition=Established", "crd", "--all", "--timeout=30s")


def _server_version(config: LabConfig) -> str:
    info = json.loads(kubectl(config, "version", "-o", "json").stdout)
    return str(info["serverVersion"]["gitVersion"])


def apply_manifests(config: LabConfig) -> None:
    """The lab's manifests through the API; Node status as a kubelet would report it."""
    kubectl(config, "apply", "-f", str(config.manifests))
    for path in sorted(config.manifests.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == "Node" and doc.get("status"):
                patch = json.dumps({"status": doc["status"]})
                name = doc["metadata"]["name"]
                kubectl(
                    config,
                    "patch",
                    "node",
                    name,
                    "--subresource=status",
                    "--type=merge",
                    "-p",
                    patch,
                )


def services(config: LabConfig) -> list[dict[str, Any]]:
    """Every Service object, from the API."""
    items: list[dict[str, Any]] = json.loads(
        kubectl(config, "get", "svc", "-A", "-o", "json").stdout
    )["items"]
    return items


def lease_holders(config: LabConfig) -> list[str]:
    """Nodes holding a speaker Lease (freshness is each observer's own judgement)."""
    out = kubectl(config, "get", "leases", "-n", NAMESPACE, "-o", "json", check=False)
    if out.returncode != 0:
        return []
    holders = []
    for lease in json.loads(out.stdout)["items"]:
        name = lease["metadata"]["name"]
        holder = (lease.get("spec") or {}).get("holderIdentity")
        if holder and name == f"mlb-{holder}":
            holders.append(str(holder))
    return sorted(holders)
