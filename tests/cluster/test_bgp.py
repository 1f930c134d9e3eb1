"""BGP on a real kube-apiserver: a BGPPeer's password from a Secret reaches FRR, nowhere else.

``examples/bgp`` applied with kubectl (a BGPPeer whose ``passwordSecret`` names a
``kubernetes.io/basic-auth`` Secret in our namespace, a pool, a BGPAdvertisement, a
Service with ready endpoints on node-1 and node-2); the controller and node-1's speaker
run on the chart's ServiceAccounts, the speaker driving a real FRR (bgpd in a network
namespace of its own; the speaker reaches its vty sockets through the FRR pathspace, which
is namespace-independent). Matrix:

- FRR's running config has ``neighbor 198.51.100.1 password <the Secret's value>`` and the
  Service's /32 as a ``network`` line: the speaker read the Secret with its own RBAC;
- node-1 writes a ServiceBGPStatus naming peer ``router``;
- the password appears in no log line of ours, no Event, no ServiceBGPStatus and no
  world-readable file under FRR's config directory;
- node-3, whose endpoint is not ready (``externalTrafficPolicy: Local``), announces
  nothing and writes no ServiceBGPStatus.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from frr.daemon import FrrInstance
from orchestrator.adapters.netns import Namespaces
from tests.cluster.conftest import Runner
from tests.harness.cluster import NAMESPACE, ROOT, Cluster
from tests.harness.polling import poll
from tests.harness.prereq import require_frr

EXAMPLE = ROOT / "examples" / "bgp"
PASSWORD = "example-md5-key"  # the Secret's value in examples/bgp/metallb.yaml


@pytest.fixture
def frr_nodes(netns: Namespaces) -> Iterator[dict[str, FrrInstance]]:
    require_frr()
    nodes = {}
    for node in ("node-1", "node-3"):
        inst = FrrInstance(netns, netns.add(node.replace("-", "")))
        inst.start()
        nodes[node] = inst
    yield nodes
    for inst in nodes.values():
        inst.close()


def running_config(inst: FrrInstance) -> str:
    return inst.vtysh.show("show running-config")


def test_password_from_secret_reaches_frr_only(
    installed: Cluster, run: Runner, frr_nodes: dict[str, FrrInstance]
) -> None:
    for name in ("nodes.yaml", "service.yaml", "metallb.yaml"):
        installed.kubectl("apply", "-f", str(EXAMPLE / name))
    run.controller()
    speakers = {
        node: run.speaker(node, "--backend", "frr", "--frr-pathspace", inst.name)
        for node, inst in frr_nodes.items()
    }

    def allocated() -> str | None:
        ingress = installed.get("service", "api", "shop")["status"]["loadBalancer"]
        return str(ingress["ingress"][0]["ip"]) if ingress.get("ingress") else None

    ip = poll("the Service's IP", allocated, 30)
    node1 = frr_nodes["node-1"]

    def configured() -> str | None:
        config = running_config(node1)
        return config if f"network {ip}/32" in config else None

    config = poll("node-1's FRR configured", configured, 30)
    assert f"neighbor 198.51.100.1 password {PASSWORD}" in config, config

    def bgp_status(node: str) -> list[dict[str, Any]]:
        return installed.items("servicebgpstatuses", NAMESPACE, selector=f"metallb.io/node={node}")

    def bgp_status_written(node: str) -> list[dict[str, Any]] | None:
        # created first, then its status written through the status subresource
        found = bgp_status(node)
        return found if found and all("status" in s for s in found) else None

    statuses = poll("node-1's ServiceBGPStatus", lambda: bgp_status_written("node-1"), 30)
    assert statuses[0]["status"]["peers"] == ["router"], statuses
    assert statuses[0]["status"]["serviceName"] == "api"

    # node-3 has no ready endpoint (Local): nothing announced, no status object
    assert f"network {ip}/32" not in running_config(frr_nodes["node-3"])
    assert bgp_status("node-3") == []

    # the password is nowhere else: logs, Events, status objects
    for proc in [*speakers.values(), *run.procs]:
        assert PASSWORD not in proc.log(100_000), proc.name
    events = json.dumps(installed.items("events"))
    assert PASSWORD not in events
    assert PASSWORD not in json.dumps(installed.items("servicebgpstatuses", NAMESPACE))
    # nor in a world-readable file of FRR's (config written to disk, if any)
    for path in node1.conf_dir.rglob("*"):
        if path.is_file() and PASSWORD in path.read_text(errors="replace"):
            assert path.stat().st_mode & 0o004 == 0, f"{path} is world-readable"
