"""The parsed, validated model: frozen dataclasses the rest of the core works on.

Raw dicts (YAML documents, API objects) never pass this boundary: ``orchestrator.core.parse``
turns them into these types once, with every error reported at its field path. Inside the
core, addresses are ``ipaddress`` objects, policies are enums, and secrets are ``Secret``
values whose ``repr``/``str`` never show the text.

Mappings in these dataclasses are plain dicts treated as read-only; the dataclasses are frozen
so that a snapshot can be shared between threads and compared between reconciles.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from orchestrator.core.model.errors import FieldError
from orchestrator.core.model.selectors import LabelSelector

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network


# --------------------------------------------------------------------------- annotations


class Annotation(StrEnum):
    """Every Service annotation we read or write."""

    # Deckhouse
    DH_IPS_COUNT = "network.deckhouse.io/l2-load-balancer-external-ips-count"
    DH_IPS = "network.deckhouse.io/load-balancer-ips"
    DH_SHARED_KEY = "network.deckhouse.io/load-balancer-shared-ip-key"
    DH_SHARED_KEY_OLD = "network.deckhouse.io/load-balancer-allow-shared-ip"
    DH_SHARED_KEY_L2 = "network.deckhouse.io/allow-shared-ip"
    DH_CLASS = "network.deckhouse.io/metal-load-balancer-class"
    DH_POOL = "network.deckhouse.io/load-balancer-pool"
    # Deckhouse, older spellings (the 381-l2-load-balancer module; read with a warning)
    DH_IPS_OLD = "network.deckhouse.io/l2-load-balancer-ips"
    DH_SHARED_KEY_LB = "network.deckhouse.io/lb-allow-shared-ip"
    DH_L2LB_NAME = "network.deckhouse.io/l2-load-balancer-name"
    # MetalLB
    ML_POOL = "metallb.io/address-pool"
    ML_IPS = "metallb.io/loadBalancerIPs"
    ML_SHARED = "metallb.io/allow-shared-ip"
    ML_ALLOCATED_POOL = "metallb.io/ip-allocated-from-pool"
    # MetalLB, deprecated spelling (accepted with a warning)
    MU_POOL = "metallb.universe.tf/address-pool"
    MU_IPS = "metallb.universe.tf/loadBalancerIPs"
    MU_SHARED = "metallb.universe.tf/allow-shared-ip"
    # Ours: state written by the controller (the cluster is the source of truth)
    HOMES = "metallb-orchestrator.io/l2-homes"  # JSON object {ip: node}
    CLASS = "metallb-orchestrator.io/load-balancer-class"  # class the Service is bound to


#: Service status condition type Deckhouse uses to record the class binding.
CLASS_CONDITION = "network.deckhouse.io/load-balancer-class"
#: Node label that removes a node from every announcement.
EXCLUDE_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers"


# --------------------------------------------------------------------------- secrets


class Secret:
    """A secret string (BGP password). Never printed: ``repr`` and ``str`` are redacted."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The text, for the one place that must hand it to a routing daemon."""
        return self._value

    def __repr__(self) -> str:
        return "Secret(<redacted>)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))


# --------------------------------------------------------------------------- pools


@dataclass(frozen=True)
class ServiceAllocation:
    """IPAddressPool ``spec.serviceAllocation``: which Services may use the pool, its priority."""

    priority: int = 0  # 0 = lowest, sorts last
    namespaces: frozenset[str] = frozenset()
    namespace_selectors: tuple[LabelSelector, ...] = ()
    service_selectors: tuple[LabelSelector, ...] = ()


class PoolKind(StrEnum):
    IPADDRESSPOOL = "IPAddressPool"
    ADDRESSPOOL = "AddressPool"  # legacy MetalLB operator resource
    MODULECONFIG = "ModuleConfig"  # ModuleConfig metallb settings.addressPools[]
    CLASS = "MetalLoadBalancerClass"  # the pool of an MLBC (spec.addressPool)
    MLBP = "MetalLoadBalancerPool"


class Protocol(StrEnum):
    LAYER2 = "layer2"
    BGP = "bgp"


@dataclass(frozen=True)
class AddressPool:
    """A set of CIDRs IPs are allocated from. Ranges are already summarized into CIDRs,
    kept in spec order (allocation walks them in this order)."""

    name: str
    kind: PoolKind
    cidrs: tuple[IPNetwork, ...]
    auto_assign: bool = True
    avoid_buggy_ips: bool = False
    allocation: ServiceAllocation | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    #: For pools declared with a protocol (ModuleConfig, legacy AddressPool); None for
    #: IPAddressPool, whose protocol follows from the advertisements that select it.
    protocol: Protocol | None = None
    #: Name of the MetalLoadBalancerClass this pool belongs to (kind CLASS only).
    class_name: str | None = None
    #: Running on its last good version because the current one is invalid
    #: (``core.isolation``): the IPs it holds stay, no new IP is taken from it.
    held: bool = False

    @property
    def ref(self) -> str:
        return f"{self.kind.value}/{self.name}"


# --------------------------------------------------------------------------- L2


@dataclass(frozen=True)
class L2Class:
    """Deckhouse MetalLoadBalancerClass (cluster-scoped, type L2). Its pool has the same name."""

    name: str
    is_default: bool
    pool: str
    interfaces: tuple[str, ...] = ()  # empty = all allowed interfaces
    node_selector: Mapping[str, str] = field(default_factory=dict)  # exact-match labels
    tolerations: tuple[Mapping[str, object], ...] = ()


@dataclass(frozen=True)
class L2Advertisement:
    name: str
    pools: tuple[str, ...] = ()
    pool_selectors: tuple[LabelSelector, ...] = ()
    node_selectors: tuple[LabelSelector, ...] = ()  # empty = all nodes
    interfaces: tuple[str, ...] = ()  # empty = all interfaces
    service_selectors: tuple[LabelSelector, ...] = ()


# --------------------------------------------------------------------------- BGP


class CommunityKind(StrEnum):
    STANDARD = "standard"  # A:B, 16-bit each, or a well-known name
    LARGE = "large"  # large:A:B:C, 32-bit each


#: Well-known communities (RFC 1997, 7999, 8326) under the names the parser normalizes to.
WELL_KNOWN_COMMUNITIES: Mapping[str, int] = {
    "no-export": 0xFFFFFF01,
    "no-advertise": 0xFFFFFF02,
    "local-as": 0xFFFFFF03,
    "no-peer": 0xFFFFFF04,
    "blackhole": 0xFFFF029A,
    "graceful-shutdown": 0xFFFF0000,
    "accept-own": 0xFFFF0001,
}


@dataclass(frozen=True, order=True)
class Community:
    """A BGP community. ``value`` is the normalized text (messages, ordering); ``numbers`` is
    what goes on the wire, computed here once: ``(n,)`` with the 32-bit value of a standard
    community (well-known names included), ``(global, local1, local2)`` for a large one.
    The backends read ``numbers`` only, so no backend parses community text; a value that is
    not in normalized form raises ``ValueError``, so none can reach a daemon."""

    kind: CommunityKind
    value: str  # normalized: "65000:100", "no-export", or "65000:1:2" (without "large:")
    numbers: tuple[int, ...] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "numbers", _community_numbers(self.kind, self.value))

    def __str__(self) -> str:
        return f"large:{self.value}" if self.kind is CommunityKind.LARGE else self.value


def _community_numbers(kind: CommunityKind, value: str) -> tuple[int, ...]:
    """The numbers of a normalized community text (the parser's output, not user input:
    ``orchestrator.core.parse.communities`` reports user mistakes with their field path)."""
    if kind is CommunityKind.STANDARD and value in WELL_KNOWN_COMMUNITIES:
        return (WELL_KNOWN_COMMUNITIES[value],)
    parts = value.split(":")
    bits, count = (16, 2) if kind is CommunityKind.STANDARD else (32, 3)
    if len(parts) != count or not all(p.isascii() and p.isdigit() for p in parts):
        raise ValueError(f"not a normalized {kind.value} community: {value!r}")
    numbers = tuple(int(p) for p in parts)
    if any(n >= 1 << bits for n in numbers):
        raise ValueError(f"{kind.value} community {value!r}: a part exceeds {bits} bits")
    if kind is CommunityKind.STANDARD:
        return ((numbers[0] << 16) | numbers[1],)
    return numbers


@dataclass(frozen=True)
class BGPAdvertisement:
    name: str
    aggregation_length: int = 32
    aggregation_length_v6: int = 128
    local_pref: int | None = None
    communities: tuple[Community, ...] = ()  # aliases already resolved, sorted
    pools: tuple[str, ...] = ()
    pool_selectors: tuple[LabelSelector, ...] = ()
    node_selectors: tuple[LabelSelector, ...] = ()  # empty = all nodes
    peers: tuple[str, ...] = ()  # BGPPeer names; empty = all peers
    service_selectors: tuple[LabelSelector, ...] = ()


class DynamicASN(StrEnum):
    INTERNAL = "internal"
    EXTERNAL = "external"


@dataclass(frozen=True)
class BGPPeer:
    name: str
    my_asn: int
    peer_asn: int | None = None
    dynamic_asn: DynamicASN | None = None
    peer_address: IPAddress | None = None
    interface: str | None = None
    source_address: IPAddress | None = None
    peer_port: int = 179
    hold_time: float | None = None  # seconds; None = daemon default
    keepalive_time: float | None = None
    connect_time: int | None = None
    router_id: IPv4Address | None = None
    node_selectors: tuple[LabelSelector, ...] = ()  # empty = all nodes
    password: Secret | None = None  # inline or resolved from passwordSecret
    bfd_profile: str | None = None
    graceful_restart: bool = False
    ebgp_multihop: bool = False
    vrf: str | None = None
    dual_stack: bool = False
    local_asn: int | None = None


@dataclass(frozen=True)
class BFDProfile:
    name: str
    receive_interval: int = 300
    transmit_interval: int = 300
    detect_multiplier: int = 3
    echo_interval: int = 50
    echo_mode: bool = False
    passive_mode: bool = False
    minimum_ttl: int | None = None


# --------------------------------------------------------------------------- cluster objects


class TrafficPolicy(StrEnum):
    CLUSTER = "Cluster"
    LOCAL = "Local"


class IPFamilyPolicy(StrEnum):
    SINGLE = "SingleStack"
    PREFER_DUAL = "PreferDualStack"
    REQUIRE_DUAL = "RequireDualStack"


@dataclass(frozen=True, order=True)
class ServicePort:
    protocol: str  # TCP, UDP, SCTP
    port: int


@dataclass(frozen=True)
class ServiceRequest:
    """What a Service asks of us, read from its spec and annotations (all spellings)."""

    pool: str | None = None  # network.deckhouse.io/load-balancer-pool > metallb.io/address-pool
    ips: tuple[IPAddress, ...] = ()  # load-balancer-ips / loadBalancerIPs / spec.loadBalancerIP
    sharing_key: str | None = None
    ips_count: int = 1  # l2-load-balancer-external-ips-count (values <= 1 or invalid -> 1)
    class_annotation: str | None = None  # network.deckhouse.io/metal-load-balancer-class


@dataclass(frozen=True)
class ServiceState:
    """What the cluster already records for a Service (we rebuild everything from this)."""

    ingress_ips: tuple[IPAddress, ...] = ()  # status.loadBalancer.ingress[].ip, in order
    allocated_pool: str | None = None  # metallb.io/ip-allocated-from-pool
    homes: Mapping[IPAddress, str] = field(default_factory=dict)  # our l2-homes annotation
    bound_class: str | None = None  # class condition / our class annotation


@dataclass(frozen=True)
class Service:
    namespace: str
    name: str
    type: str = "LoadBalancer"
    load_balancer_class: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    selector: Mapping[str, str] = field(default_factory=dict)
    ports: tuple[ServicePort, ...] = ()
    external_traffic_policy: TrafficPolicy = TrafficPolicy.CLUSTER
    ip_family_policy: IPFamilyPolicy = IPFamilyPolicy.SINGLE
    ip_families: tuple[int, ...] = (4,)  # 4 or 6, primary first
    cluster_ips: tuple[IPAddress, ...] = ()
    request: ServiceRequest = field(default_factory=ServiceRequest)
    state: ServiceState = field(default_factory=ServiceState)
    #: Problems in this Service's own fields. A Service with errors keeps whatever it has
    #: (its status IPs stay allocated and announced); nothing new is decided for it.
    errors: tuple[FieldError, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class Node:
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    network_unavailable: bool = False
    #: status.addresses of type InternalIP, in order (GoBGP's router ID fallback).
    internal_ips: tuple[IPAddress, ...] = ()


@dataclass(frozen=True)
class Namespace:
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Endpoint:
    addresses: tuple[str, ...]
    node_name: str | None = None
    ready: bool | None = None  # None counts as ready (EndpointSlice semantics)
    serving: bool | None = None

    @property
    def can_serve(self) -> bool:
        """MetalLB's rule: ready is nil or true, or serving is true."""
        return self.ready is None or self.ready or bool(self.serving)


@dataclass(frozen=True)
class EndpointSlice:
    namespace: str
    name: str
    service_name: str  # label kubernetes.io/service-name
    endpoints: tuple[Endpoint, ...] = ()

    @property
    def service_key(self) -> str:
        return f"{self.namespace}/{self.service_name}"


# --------------------------------------------------------------------------- snapshot


@dataclass(frozen=True)
class ClusterConfig:
    """Everything that configures us: pools, classes, advertisements, peers."""

    pools: Mapping[str, AddressPool] = field(default_factory=dict)
    classes: Mapping[str, L2Class] = field(default_factory=dict)
    l2_advertisements: tuple[L2Advertisement, ...] = ()
    bgp_advertisements: tuple[BGPAdvertisement, ...] = ()
    bgp_peers: tuple[BGPPeer, ...] = ()
    bfd_profiles: Mapping[str, BFDProfile] = field(default_factory=dict)
    #: ModuleConfig ``loadBalancerClass`` / MetalLB ``--lb-class``: with it set, plain
    #: (class-less) MetalLB pools serve only Services whose spec.loadBalancerClass equals it.
    load_balancer_class: str | None = None
    #: ModuleConfig ``speaker.nodeSelector`` (v1/v2): nodes that run a speaker at all.
    speaker_node_selector: Mapping[str, str] = field(default_factory=dict)
    #: Names of pools and classes left out for their errors (``core.parse.isolation``): a
    #: Service on one of them keeps its IPs untouched and gets nothing from elsewhere.
    invalid_pools: frozenset[str] = frozenset()
    invalid_classes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ClusterSnapshot:
    config: ClusterConfig
    services: tuple[Service, ...] = ()
    nodes: Mapping[str, Node] = field(default_factory=dict)
    namespaces: Mapping[str, Namespace] = field(default_factory=dict)
    endpoint_slices: tuple[EndpointSlice, ...] = ()
    #: Errors and warnings found while parsing (invalid objects are left out of ``config``
    #: only when the caller chose to; see ``parse.parse_snapshot``).
    problems: tuple[FieldError, ...] = ()
    #: Every object of our cluster-scoped CRDs with a status (MetalLoadBalancerPool,
    #: -BGPPeer, -Configuration, L2LoadBalancer), valid or not, by ``Kind/name``, with the
    #: model objects it produced (``BGPPeer/r1-edge``, ``AddressPool/public``...): what
    #: ``core.crd_usage`` needs to say whether each is in use.
    crd_objects: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def endpoints_of(self, service: Service) -> tuple[Endpoint, ...]:
        key = service.key
        return tuple(ep for s in self.endpoint_slices if s.service_key == key for ep in s.endpoints)


# --------------------------------------------------------------------------- decisions


@dataclass(frozen=True)
class Assignment:
    """The allocator's answer for one Service: which pool, which IPs (in status order).

    ``class_name`` is set for Services served by a MetalLoadBalancerClass (L2 with home
    nodes); None for plain MetalLB pools.
    """

    service: str  # "namespace/name"
    pool: str
    ips: tuple[IPAddress, ...]
    class_name: str | None = None
