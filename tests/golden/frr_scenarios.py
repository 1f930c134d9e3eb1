"""Cluster snapshots the FRR golden files, unit tests and benchmark render.

Each scenario is a function returning ``(snapshot, assignments, node)``. Addresses are
documentation ranges only (198.51.100.0/24 for peers, 203.0.113.0/24 and 2001:db8::/32 for
Services); ASNs are private.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from ipaddress import IPv4Address, ip_address, ip_network
from pathlib import Path

from orchestrator.adapters.files.manifests import load_directory
from orchestrator.core.model.cluster import (
    AddressPool,
    Assignment,
    BFDProfile,
    BGPAdvertisement,
    BGPPeer,
    ClusterConfig,
    ClusterSnapshot,
    Community,
    CommunityKind,
    DynamicASN,
    Endpoint,
    EndpointSlice,
    Node,
    PoolKind,
    Secret,
    Service,
    TrafficPolicy,
)
from orchestrator.core.model.selectors import LabelSelector
from orchestrator.core.parse import parse_snapshot
from orchestrator.core.plan import plan

Scenario = tuple[ClusterSnapshot, list[Assignment], str]

POOL4 = AddressPool(
    name="public", kind=PoolKind.IPADDRESSPOOL, cidrs=(ip_network("203.0.113.0/24"),)
)
POOL6 = AddressPool(
    name="public6", kind=PoolKind.IPADDRESSPOOL, cidrs=(ip_network("2001:db8:100::/64"),)
)


def std(value: str) -> Community:
    return Community(CommunityKind.STANDARD, value)


def large(value: str) -> Community:
    return Community(CommunityKind.LARGE, value)


def node(name: str, **labels: str) -> Node:
    return Node(name=name, labels={"kubernetes.io/hostname": name, **labels})


def service(
    name: str,
    *,
    policy: TrafficPolicy = TrafficPolicy.CLUSTER,
    endpoints_on: Sequence[str] = ("n1",),
    namespace: str = "default",
) -> tuple[Service, EndpointSlice]:
    svc = Service(namespace=namespace, name=name, external_traffic_policy=policy)
    eps = tuple(
        Endpoint(addresses=(f"10.244.{i}.10",), node_name=n, ready=True)
        for i, n in enumerate(endpoints_on)
    )
    return svc, EndpointSlice(namespace, f"{name}-abc", name, eps)


def peer(name: str, address: str, **kw: object) -> BGPPeer:
    args: dict[str, object] = {"my_asn": 64512, "peer_asn": 64500}
    args.update(kw)
    return BGPPeer(name=name, peer_address=ip_address(address), **args)  # type: ignore[arg-type]


def snapshot(
    *,
    peers: Sequence[BGPPeer],
    advertisements: Sequence[BGPAdvertisement],
    services: Sequence[tuple[Service, EndpointSlice]],
    nodes: Sequence[Node] = (),
    pools: Sequence[AddressPool] = (POOL4, POOL6),
    bfd: Sequence[BFDProfile] = (),
) -> ClusterSnapshot:
    return ClusterSnapshot(
        config=ClusterConfig(
            pools={p.name: p for p in pools},
            bgp_advertisements=tuple(advertisements),
            bgp_peers=tuple(peers),
            bfd_profiles={b.name: b for b in bfd},
        ),
        services=tuple(s for s, _ in services),
        endpoint_slices=tuple(e for _, e in services),
        nodes={n.name: n for n in (nodes or [node("n1"), node("n2"), node("n3")])},
    )


def assign(key: str, *ips: str, pool: str = "public") -> Assignment:
    return Assignment(service=key, pool=pool, ips=tuple(ip_address(i) for i in ips))


# --------------------------------------------------------------------------- scenarios


def basic() -> Scenario:
    """One IPv4 peer, one Cluster Service, one plain advertisement."""
    snap = snapshot(
        peers=[peer("router1", "198.51.100.1")],
        advertisements=[BGPAdvertisement(name="default")],
        services=[service("web")],
    )
    return snap, [assign("default/web", "203.0.113.10")], "n1"


def full() -> Scenario:
    """Every peer option, two advertisements with attributes, peer restriction, IPv6,
    dual stack, aggregation, BFD, a Local Service without a local endpoint."""
    bfd = BFDProfile(
        name="fast",
        receive_interval=100,
        transmit_interval=150,
        detect_multiplier=5,
        echo_interval=60,
        echo_mode=True,
        passive_mode=True,
        minimum_ttl=250,
    )
    peers = [
        peer(
            "router1",
            "198.51.100.1",
            password=Secret("s3cr3t-pw"),
            bfd_profile="fast",
            hold_time=30.0,
            connect_time=5,
            router_id=IPv4Address("198.51.100.11"),
            source_address=IPv4Address("198.51.100.11"),
            graceful_restart=True,
        ),
        peer(
            "router2",
            "198.51.100.2",
            peer_asn=64501,
            ebgp_multihop=True,
            peer_port=1179,
            keepalive_time=10.0,
            bfd_profile="plain",
        ),
        peer("router6", "2001:db8::1", peer_asn=None, dynamic_asn=DynamicASN.EXTERNAL),
        peer("rr", "198.51.100.3", peer_asn=64512, dual_stack=True, local_asn=None),
        peer(
            "elsewhere",
            "198.51.100.9",
            node_selectors=(LabelSelector({"rack": "b"}),),
        ),
    ]
    advs = [
        BGPAdvertisement(
            name="upstream",
            local_pref=200,
            communities=(std("65000:100"), std("no-export"), large("65000:1:2")),
            peers=("router1", "rr"),
        ),
        BGPAdvertisement(
            name="agg",
            aggregation_length=28,
            aggregation_length_v6=64,
            communities=(std("65000:200"),),
            pools=("public6", "agg"),
        ),
    ]
    agg_pool = AddressPool(
        name="agg", kind=PoolKind.IPADDRESSPOOL, cidrs=(ip_network("203.0.113.64/26"),)
    )
    services = [
        service("web"),
        service("api", policy=TrafficPolicy.LOCAL, endpoints_on=("n1",)),
        service("db", policy=TrafficPolicy.LOCAL, endpoints_on=("n2",)),
        service("v6"),
        service("batch", endpoints_on=()),
        service("agg1"),
        service("agg2"),
    ]
    snap = snapshot(
        peers=peers,
        advertisements=advs,
        services=services,
        pools=(POOL4, POOL6, agg_pool),
        bfd=[bfd, BFDProfile(name="plain")],
        nodes=[node("n1", rack="a"), node("n2", rack="a")],
    )
    assignments = [
        assign("default/web", "203.0.113.10"),
        assign("default/api", "203.0.113.11"),
        assign("default/db", "203.0.113.12"),
        assign("default/v6", "2001:db8:100::10", pool="public6"),
        assign("default/batch", "203.0.113.13"),
        assign("default/agg1", "203.0.113.65", pool="agg"),
        assign("default/agg2", "203.0.113.66", pool="agg"),
    ]
    return snap, assignments, "n1"


def overlap() -> Scenario:
    """Two advertisements cover the same prefix: one route-map carries both tags."""
    snap = snapshot(
        peers=[peer("r1", "198.51.100.1"), peer("r2", "198.51.100.2")],
        advertisements=[
            BGPAdvertisement(name="to-r1", communities=(std("65000:1"),), peers=("r1",)),
            BGPAdvertisement(name="to-r2", communities=(std("65000:2"),), peers=("r2",)),
            BGPAdvertisement(name="both", local_pref=150),
        ],
        services=[service("web")],
    )
    return snap, [assign("default/web", "203.0.113.10")], "n1"


def interface_peer() -> Scenario:
    """Unnumbered BGP over an interface (both families) with an internal dynamic ASN."""
    p = BGPPeer(
        name="tor",
        my_asn=64512,
        dynamic_asn=DynamicASN.INTERNAL,
        interface="eth1",
    )
    snap = snapshot(
        peers=[p],
        advertisements=[BGPAdvertisement(name="default")],
        services=[service("web"), service("v6")],
    )
    return (
        snap,
        [
            assign("default/web", "203.0.113.10"),
            assign("default/v6", "2001:db8:100::10", pool="public6"),
        ],
        "n1",
    )


def no_peers() -> Scenario:
    """A node no BGPPeer selects: no router at all."""
    snap = snapshot(
        peers=[peer("r1", "198.51.100.1", node_selectors=(LabelSelector({"rack": "z"}),))],
        advertisements=[BGPAdvertisement(name="default")],
        services=[service("web")],
    )
    return snap, [assign("default/web", "203.0.113.10")], "n1"


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def deckhouse_v3(node_name: str) -> Callable[[], Scenario]:
    """``examples/deckhouse-v3`` as parsed from disk: the ModuleConfig-v3 kinds through the
    whole path (parse, plan, intent). node-1 has a per-node source address for router-a;
    node-2 uses the configuration's fallback sessions; both carry the Secret's password and
    router-a's BFD profile."""

    def build() -> Scenario:
        loaded = load_directory(EXAMPLES / "deckhouse-v3")
        snap = parse_snapshot(loaded.documents)
        errors = [str(p) for p in snap.problems if p.severity.name == "ERROR"]
        assert errors == [], errors
        return snap, list(plan(snap).allocation.assignments().values()), node_name

    return build


SCENARIOS: dict[str, Callable[[], Scenario]] = {
    "basic": basic,
    "full": full,
    "overlap": overlap,
    "interface": interface_peer,
    "no-peers": no_peers,
    "deckhouse-v3-node-1": deckhouse_v3("node-1"),
    "deckhouse-v3-node-2": deckhouse_v3("node-2"),
}


def many_services(
    count: int, *, base: str = "2001:db8:5::1", pool: str = "public6"
) -> list[Assignment]:
    """``count`` single-IP assignments from consecutive addresses (benchmarks). IPv6 by
    default: 5,000 addresses do not fit into the IPv4 documentation range."""
    start = int(ip_address(base))
    return [Assignment(f"default/s{i}", pool, (ip_address(start + i),)) for i in range(count)]
