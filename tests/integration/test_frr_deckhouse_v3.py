"""ModuleConfig-v3 BGP kinds end to end through real FRR (root).

The topology is ``test_frr_bgp``'s (a router in AS 64500 peering with n1..n3, an iBGP router
in AS 64512), built again for this module. The configuration comes as Deckhouse manifests
(MetalLoadBalancerPool, two MetalLoadBalancerBGPPeers, a labelled password Secret, one
MetalLoadBalancerConfiguration) through ``parse_snapshot``, ``plan`` and ``bgp_intent`` to
our FrrDriver on each node. Asserted on the routers (``vtysh ... json``, polled, bounded):

- the pool's Service IP reaches the eBGP router from all three nodes (ECMP) with the
  configured communities and no internal tag;
- the iBGP router receives it from n1 only over the session sourced from n1's
  ``sourceAddresses`` address (a second address of n1 the router peers with), which needs
  the MD5 password of the Secret, with the configured local-pref and communities.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from orchestrator.adapters.netns import Namespaces
from orchestrator.core.bgp.compute import bgp_intent
from orchestrator.core.parse import parse_snapshot
from orchestrator.core.plan import plan
from tests.harness.prereq import require_frr
from tests.integration.test_frr_bgp import (
    ALL_HOPS,
    IBGP_IP,
    NODE_IP,
    NODES,
    ROUTER_IP,
    Lab,
    poll,
)

pytestmark = pytest.mark.root

SOURCE = "198.51.100.111"  # n1's second address, its source for the iBGP session
PASSWORD = "v3-md5-key"


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    require_frr()
    with Namespaces(tag="v") as ns:
        lab = Lab(ns)
        try:
            yield lab
        finally:
            lab.close()


def dh(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "network.deckhouse.io/v1alpha1",
        "kind": kind,
        "metadata": {"name": name},
        "spec": spec,
    }


def manifests() -> list[dict[str, Any]]:
    nodes = [{"apiVersion": "v1", "kind": "Node", "metadata": {"name": n}} for n in NODES]
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "ibgp-password",
            "namespace": "metallb-system",
            "labels": {"network.deckhouse.io/metallb-bgp-password": "true"},
        },
        "stringData": {"password": PASSWORD},
    }
    web = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
    }
    endpoints = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": "web-1",
            "namespace": "default",
            "labels": {"kubernetes.io/service-name": "web"},
        },
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["192.0.2.7"], "nodeName": "n2"}],
    }
    return [
        *nodes,
        secret,
        web,
        endpoints,
        dh("MetalLoadBalancerPool", "public-v3", {"addresses": ["203.0.113.128/28"]}),
        dh(
            "MetalLoadBalancerBGPPeer",
            "router",
            {"peerAddress": ROUTER_IP, "peerASN": 64500, "myASN": 64512, "holdTime": "9s"},
        ),
        dh(
            "MetalLoadBalancerBGPPeer",
            "ibgp",
            {
                "peerAddress": IBGP_IP,
                "peerASN": 64512,
                "myASN": 64512,
                "holdTime": "9s",
                "passwordSecretRef": {"name": "ibgp-password", "namespace": "metallb-system"},
                "sourceAddresses": [{"nodeName": "n1", "address": SOURCE}],
            },
        ),
        dh(
            "MetalLoadBalancerConfiguration",
            "lab",
            {
                "mode": "BGP",
                "bgp": {"peerNames": ["router", "ibgp"]},
                "advertisements": [
                    {
                        "poolNames": ["public-v3"],
                        "bgp": {"localPref": 150, "communities": ["64512:100", "no-export"]},
                    }
                ],
            },
        ),
    ]


def test_v3_pool_reaches_both_routers_with_its_attributes(lab: Lab) -> None:
    lab.ns.addr(lab.node_ns["n1"], "eth0", f"{SOURCE}/24")
    Lab.configure(
        lab.ibgp,
        [
            "router bgp 64512",
            f" neighbor {SOURCE} remote-as 64512",
            f" neighbor {SOURCE} timers 3 9",
            f" neighbor {SOURCE} timers connect 1",
            f" neighbor {SOURCE} password {PASSWORD}",
            " address-family ipv4 unicast",
            f"  neighbor {SOURCE} activate",
            " exit-address-family",
            "exit",
        ],
    )
    snap = parse_snapshot([(f"v3#{i}", d) for i, d in enumerate(manifests())])
    assert [str(p) for p in snap.problems if p.severity.name == "ERROR"] == []
    assignments = list(plan(snap).allocation.assignments().values())
    (web,) = assignments
    prefix = f"{web.ips[0]}/32"
    assert web.pool == "public-v3"
    intents = {n: bgp_intent(snap, assignments, node=n) for n in NODES}
    assert [p.name for p in intents["n1"].peers] == ["ibgp-node-n1", "router-lab"]
    assert [p.name for p in intents["n2"].peers] == ["ibgp-lab", "router-lab"]
    for n, intent in intents.items():
        lab.backends[n].apply(intent)

    poll(f"{prefix} from all three nodes at the router", lambda: lab.next_hops(prefix) == ALL_HOPS)
    for path in Lab.route(lab.router, prefix)["paths"]:
        assert set(path["community"]["list"]) == {"64512:100", "noExport"}
        assert "largeCommunity" not in path  # the internal tag never leaves a node

    def ibgp_path() -> dict[str, Any] | None:
        paths = Lab.route(lab.ibgp, prefix).get("paths", [])
        return paths[0] if paths else None

    path = poll("the route at the iBGP router", ibgp_path)
    assert path["peer"]["peerId"] == SOURCE  # the session n1 opened from its source address
    assert path.get("locPrf") == 150
    assert set(path["community"]["list"]) == {"64512:100", "noExport"}
    assert NODE_IP["n1"] not in {p["peer"]["peerId"] for p in Lab.route(lab.ibgp, prefix)["paths"]}
