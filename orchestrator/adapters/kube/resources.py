"""The kinds the adapter reads and writes, and how their API paths are built.

List responses from a real API server carry ``kind``/``apiVersion`` only on the list, not on
its items; ``Resource.stamp`` puts them back on each item so the parser sees exactly what a
manifest would say.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Resource:
    kind: str
    group: str  # "" for the core group
    version: str
    plural: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        return f"{base}/{name}" if name else base

    def stamp(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        out = dict(obj)
        out.setdefault("kind", self.kind)
        out.setdefault("apiVersion", self.api_version)
        return out

    def ref(self, obj: Mapping[str, Any]) -> str:
        """``Kind/namespace/name`` or ``Kind/name``: the document's source in the snapshot."""
        meta = obj.get("metadata") or {}
        ns, name = meta.get("namespace"), meta.get("name")
        return f"{self.kind}/{ns}/{name}" if self.namespaced and ns else f"{self.kind}/{name}"


def key_of(obj: Mapping[str, Any]) -> str:
    """Cache key: ``namespace/name``, or ``name`` for a cluster-scoped object."""
    meta = obj.get("metadata") or {}
    ns, name = meta.get("namespace"), str(meta.get("name"))
    return f"{ns}/{name}" if ns else name


SERVICE = Resource("Service", "", "v1", "services", namespaced=True)
NODE = Resource("Node", "", "v1", "nodes", namespaced=False)
NAMESPACE = Resource("Namespace", "", "v1", "namespaces", namespaced=False)
SECRET = Resource("Secret", "", "v1", "secrets", namespaced=True)
ENDPOINT_SLICE = Resource("EndpointSlice", "discovery.k8s.io", "v1", "endpointslices", True)
LEASE = Resource("Lease", "coordination.k8s.io", "v1", "leases", namespaced=True)
METAL_LB_CLASS = Resource(
    "MetalLoadBalancerClass", "network.deckhouse.io", "v1alpha1", "metalloadbalancerclasses", False
)
METAL_LB_POOL = Resource(
    "MetalLoadBalancerPool", "network.deckhouse.io", "v1alpha1", "metalloadbalancerpools", False
)
METAL_LB_BGP_PEER = Resource(
    "MetalLoadBalancerBGPPeer",
    "network.deckhouse.io",
    "v1alpha1",
    "metalloadbalancerbgppeers",
    False,
)
METAL_LB_CONFIGURATION = Resource(
    "MetalLoadBalancerConfiguration",
    "network.deckhouse.io",
    "v1alpha1",
    "metalloadbalancerconfigurations",
    False,
)
L2_LOAD_BALANCER = Resource(
    "L2LoadBalancer", "network.deckhouse.io", "v1alpha1", "l2loadbalancers", False
)
MODULE_CONFIG = Resource("ModuleConfig", "deckhouse.io", "v1alpha1", "moduleconfigs", False)
IP_ADDRESS_POOL = Resource("IPAddressPool", "metallb.io", "v1beta1", "ipaddresspools", True)
L2_ADVERTISEMENT = Resource("L2Advertisement", "metallb.io", "v1beta1", "l2advertisements", True)
BGP_ADVERTISEMENT = Resource("BGPAdvertisement", "metallb.io", "v1beta1", "bgpadvertisements", True)
BGP_PEER = Resource("BGPPeer", "metallb.io", "v1beta2", "bgppeers", True)
BFD_PROFILE = Resource("BFDProfile", "metallb.io", "v1beta1", "bfdprofiles", True)
COMMUNITY = Resource("Community", "metallb.io", "v1beta1", "communities", True)
EVENT = Resource("Event", "", "v1", "events", namespaced=True)
SERVICE_L2_STATUS = Resource("ServiceL2Status", "metallb.io", "v1beta1", "servicel2statuses", True)
SERVICE_BGP_STATUS = Resource(
    "ServiceBGPStatus", "metallb.io", "v1beta1", "servicebgpstatuses", True
)

#: Read only in our own namespace, as MetalLB does (its objects and the Secrets they name).
NAMESPACED_CONFIG: tuple[Resource, ...] = (
    SECRET,
    IP_ADDRESS_POOL,
    L2_ADVERTISEMENT,
    BGP_ADVERTISEMENT,
    BGP_PEER,
    BFD_PROFILE,
    COMMUNITY,
)
#: The label on the speakers' Leases: the informer watches only these, and the leader
#: election's own Lease (``mlb-controller``) is never mistaken for a node.
SPEAKER_LEASE_LABEL = ("metallb-orchestrator.io/lease", "speaker")

#: Everything a snapshot is built from (leases are read separately: membership, not config).
SNAPSHOT_KINDS: tuple[Resource, ...] = (
    SERVICE,
    ENDPOINT_SLICE,
    NODE,
    NAMESPACE,
    SECRET,
    METAL_LB_CLASS,
    METAL_LB_POOL,
    METAL_LB_BGP_PEER,
    METAL_LB_CONFIGURATION,
    L2_LOAD_BALANCER,
    MODULE_CONFIG,
    IP_ADDRESS_POOL,
    L2_ADVERTISEMENT,
    BGP_ADVERTISEMENT,
    BGP_PEER,
    BFD_PROFILE,
    COMMUNITY,
)
