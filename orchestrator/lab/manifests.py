"""The lab's own manifests, written to ``DIR/manifests`` for the controller and speakers.

One file per concern, so a test (or a user trying things) edits or deletes exactly one::

    00-class.yaml      MetalLoadBalancerClass ``lab`` (default, L2 pool 192.0.2.200-220,
                       nodes labelled node-role.kubernetes.io/lab-node)
    01-nodes.yaml      Node n1..nN with that label
    02-bgp.yaml        IPAddressPool ``lab-bgp`` (203.0.113.0/24), BGPPeer ``router``
                       (192.0.2.1, AS 64512 -> 64500, hold 3 s, connect 1 s), BGPAdvertisement
    03-namespace.yaml  Namespace ``lab``
    10-web.yaml        Service ``web`` asking for 3 L2 IPs + a ready endpoint on every node
    11-api.yaml        Service ``api`` in pool ``lab-bgp`` + a ready endpoint on every node

Endpoints name the node's own LAN address: the "pod" is the node's HTTP server on port 80.
The short BGP hold time lets the router drop a dead node's next hop within 3 s; that is the
lab's choice, not a default. Files are replaced atomically (a watcher never reads half).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from orchestrator.adapters.files.atomic import atomic_write
from orchestrator.core.model.cluster import Annotation
from orchestrator.lab.config import (
    BGP_POOL,
    L2_FIRST,
    L2_LAST,
    NODE_ASN,
    ROUTER_ASN,
    ROUTER_LAN,
    LabConfig,
    node_ip,
)

NODE_LABEL = "node-role.kubernetes.io/lab-node"
NAMESPACE = "lab"
CLASS = "lab"
BGP_POOL_NAME = "lab-bgp"
WEB, API = "web", "api"
SYSTEM_NS = "metallb-system"

Doc = Mapping[str, Any]


def lb_class() -> Doc:
    return {
        "apiVersion": "network.deckhouse.io/v1alpha1",
        "kind": "MetalLoadBalancerClass",
        "metadata": {"name": CLASS},
        "spec": {
            "isDefault": True,
            "type": "L2",
            "addressPool": [f"{L2_FIRST}-{L2_LAST}"],
            "nodeSelector": {NODE_LABEL: ""},
        },
    }


def nodes(nodes: Sequence[str]) -> list[Doc]:
    return [
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": n,
                "labels": {"kubernetes.io/hostname": n, NODE_LABEL: ""},
            },
            # as the kubelet reports it; GoBGP takes its router ID from here
            "status": {"addresses": [{"type": "InternalIP", "address": str(node_ip(n))}]},
        }
        for n in nodes
    ]


def bgp() -> list[Doc]:
    meta = {"namespace": SYSTEM_NS}
    return [
        {
            "apiVersion": "metallb.io/v1beta1",
            "kind": "IPAddressPool",
            "metadata": {"name": BGP_POOL_NAME, **meta},
            "spec": {"addresses": [str(BGP_POOL)], "avoidBuggyIPs": True},
        },
        {
            "apiVersion": "metallb.io/v1beta2",
            "kind": "BGPPeer",
            "metadata": {"name": "router", **meta},
            "spec": {
                "myASN": NODE_ASN,
                "peerASN": ROUTER_ASN,
                "peerAddress": str(ROUTER_LAN),
                "holdTime": "3s",
                "connectTime": "1s",
            },
        },
        {
            "apiVersion": "metallb.io/v1beta1",
            "kind": "BGPAdvertisement",
            "metadata": {"name": BGP_POOL_NAME, **meta},
            "spec": {"ipAddressPools": [BGP_POOL_NAME]},
        },
    ]


def namespace() -> Doc:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}


def service(name: str, *, annotations: Mapping[str, str] | None = None, port: int = 80) -> Doc:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": NAMESPACE,
            "annotations": dict(annotations or {}),
        },
        "spec": {
            "type": "LoadBalancer",
            "selector": {"app": name},
            "ports": [{"name": "http", "protocol": "TCP", "port": port, "targetPort": 80}],
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
            "externalTrafficPolicy": "Cluster",
        },
    }


def endpoints(service: str, nodes: Sequence[str]) -> Doc:
    """A ready endpoint of ``service`` on each of ``nodes`` (the node's HTTP server)."""
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": f"{service}-lab",
            "namespace": NAMESPACE,
            "labels": {"kubernetes.io/service-name": service},
        },
        "addressType": "IPv4",
        "ports": [{"name": "http", "protocol": "TCP", "port": 80}],
        "endpoints": [
            {
                "addresses": [str(node_ip(n))],
                "nodeName": n,
                "conditions": {"ready": True, "serving": True, "terminating": False},
            }
            for n in nodes
        ],
    }


def web(nodes: Sequence[str], *, count: int = 3) -> list[Doc]:
    ann = {Annotation.DH_IPS_COUNT.value: str(count)}
    return [service(WEB, annotations=ann), endpoints(WEB, nodes)]


def api(nodes: Sequence[str]) -> list[Doc]:
    ann = {Annotation.ML_POOL.value: BGP_POOL_NAME}
    return [service(API, annotations=ann), endpoints(API, nodes)]


def dump(docs: Sequence[Doc]) -> str:
    return yaml.safe_dump_all([dict(d) for d in docs], sort_keys=False)


def write(path: Path, docs: Sequence[Doc]) -> None:
    """Replace one manifest file atomically."""
    atomic_write(path, dump(docs))


def files(config: LabConfig) -> dict[str, list[Doc]]:
    names = config.node_names
    return {
        "00-class.yaml": [lb_class()],
        "01-nodes.yaml": nodes(names),
        "02-bgp.yaml": bgp(),
        "03-namespace.yaml": [namespace()],
        "10-web.yaml": web(names),
        "11-api.yaml": api(names),
    }


def write_all(config: LabConfig) -> None:
    config.manifests.mkdir(parents=True, exist_ok=True)
    for name, docs in files(config).items():
        write(config.manifests / name, docs)
