"""ModuleConfig-v3 kinds on a real kube-apiserver, with the chart's CRDs and RBAC.

Matrix:

- ``kubectl apply -f examples/deckhouse-v3`` and ``examples/l2-load-balancer``: the real
  server takes every object (structural schemas, the Secret with its label);
- the schemas refuse what they should: an unknown field (``--validate=strict``), an
  aggregationLength of 40, a community that is no community, a MetalLoadBalancerBGPPeer
  without ``myASN``;
- the controller (the chart's ServiceAccount token, so the chart's RBAC) gives the Services
  IPs from the MetalLoadBalancerPools and writes the InUse condition through the status
  subresource of every Deckhouse object; ``kubectl get mlbbp`` shows it in its column;
- a peer the parser refuses (hold time 2s, which the schema allows) says Invalid with the
  parser's message while the running configuration stays as it was.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.cluster.conftest import Runner
from tests.harness.cluster import ROOT, Cluster
from tests.harness.polling import poll

V3 = ROOT / "examples" / "deckhouse-v3"
L2LB = ROOT / "examples" / "l2-load-balancer"
#: ModuleConfig is Deckhouse's own CRD, which the chart does not ship: its file is left out
#: (the release's settings Secret stands for it).
V3_FILES = [str(p) for p in sorted(V3.glob("*.yaml")) if p.name != "moduleconfig.yaml"]


def files(directory: Path) -> list[str]:
    chosen = V3_FILES if directory == V3 else [str(directory)]
    return [arg for f in chosen for arg in ("-f", f)]


def in_use(cluster: Cluster, what: str, name: str) -> dict[str, Any] | None:
    obj = cluster.get(what, name)
    for c in (obj.get("status") or {}).get("conditions", []):
        if c["type"] == "InUse":
            found: dict[str, Any] = c
            return found
    return None


def refused(cluster: Cluster, doc: dict[str, Any]) -> str:
    proc = cluster.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(doc), check=False)
    assert proc.returncode != 0, f"the server took {doc['metadata']['name']}"
    return proc.stderr


def peer(name: str, **spec: Any) -> dict[str, Any]:
    body = {"peerAddress": "198.51.100.9", "peerASN": 64512, "myASN": 64513, **spec}
    return {
        "apiVersion": "network.deckhouse.io/v1alpha1",
        "kind": "MetalLoadBalancerBGPPeer",
        "metadata": {"name": name},
        "spec": {k: v for k, v in body.items() if v is not None},
    }


def test_v3_objects_on_a_real_api_server(installed: Cluster, run: Runner) -> None:
    installed.kubectl("apply", *files(V3), *files(L2LB))

    assert "unknown field" in refused(installed, peer("typo", peerAdress="198.51.100.9"))
    assert "myASN" in refused(installed, peer("no-asn", myASN=None))
    config: dict[str, Any] = {
        "apiVersion": "network.deckhouse.io/v1alpha1",
        "kind": "MetalLoadBalancerConfiguration",
        "metadata": {"name": "wide"},
        "spec": {
            "mode": "BGP",
            "advertisements": [{"poolNames": ["public"], "bgp": {"aggregationLength": 40}}],
        },
    }
    assert "aggregationLength" in refused(installed, config)
    config["spec"]["advertisements"][0]["bgp"] = {"communities": ["blackhole-ish"]}
    assert "communities" in refused(installed, config)

    run.controller()

    def web_ip() -> str | None:
        lb = installed.get("service", "web", "shop").get("status", {}).get("loadBalancer", {})
        ingress = lb.get("ingress") or []
        return ingress[0]["ip"] if ingress else None

    assert poll("an IP for shop/web", web_ip, 30) == "203.0.113.1"
    condition = poll("InUse on pool public", lambda: in_use(installed, "mlbp", "public"), 30)
    assert (condition["status"], condition["reason"]) == ("True", "InUse")
    assert condition["message"] == "announced by BGPAdvertisement edge-adv-0"
    router = poll("InUse on router-a", lambda: in_use(installed, "mlbbp", "router-a"), 30)
    assert router["message"] == "sessions from nodes node-1, node-2"
    edge = poll("InUse on edge", lambda: in_use(installed, "mlbconfig", "edge"), 30)
    assert edge["reason"] == "InUse" and "3 sessions" in edge["message"]
    old = poll(
        "InUse on the L2LoadBalancer", lambda: in_use(installed, "l2loadbalancer", "frontend"), 30
    )
    assert old["reason"] == "InUse"
    table = installed.kubectl("get", "mlbbp").stdout
    header, *rows = table.splitlines()
    assert "IN USE" in header and all(" True " in f" {row} " for row in rows), table

    installed.apply([peer("slow", holdTime="2s")])
    bad = poll(
        "Invalid on the refused peer",
        lambda: (c := in_use(installed, "mlbbp", "slow")) and c["reason"] == "Invalid" and c,
        30,
    )
    assert bad["status"] == "False"
    assert bad["message"] == "spec.holdTime: hold time 2s must be 0 or at least 3s"
    assert web_ip() == "203.0.113.1"  # the frozen configuration keeps running
    # left in place: the module's server goes with it (without a namespace controller a
    # deleted Namespace would never finish terminating)
