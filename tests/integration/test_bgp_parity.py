"""Parity of the FRR and GoBGP speakers: same intent in, same routes at the routers (root).

Every test runs once per backend (``backend`` = ``frr`` | ``gobgp``) on a topology built
once per backend (``tests.harness.bgp_lab``: FRR routers r1 eBGP AS 64500 with IPv4 and
IPv6 sessions, r2 iBGP AS 64512 over IPv4; nodes n1..n3 AS 64512). Each scenario is a
``ClusterSnapshot`` + ``Assignment``s; every node's intent comes from ``bgp_intent`` and is
applied by the backend under test. The tests are state transitions on the same daemons: each
applies its complete state and polls until both routers' *whole* normalized tables (prefix
-> next hop -> communities, large communities, local-pref, AS path, origin, selected) equal
one expected value that does not depend on the backend, so whatever an earlier scenario
left behind must have been withdrawn too.

Matrix (scenario x router, identical for both backends):

===========================  ==================================  ============================
scenario                     r1 (eBGP, v4 + v6 sessions)         r2 (iBGP, v4 session)
===========================  ==================================  ============================
a. ECMP, Cluster Service     /32 and /128 via n1, n2, n3; the    /32 via n1, n2, n3,
                             /32 installed with 3 next hops,     local-pref 100
                             the /128 with 3
b. Local, ready endpoints    via n1, n3 (n2's endpoint is not    via n1, n3
   on n1, n3                 ready)
c. attributes                communities 65000:100 65000:200,    the same, local-pref 250;
                             large 65000:7:8, no local-pref,     the plain prefix 100
                             no internal tag; a plain prefix
                             with none
c2. well-known communities   each prefix with its no-export /    the same
    (MetalLB behaviour)      no-advertise / local-as
d. ``peers: [r1]``           the restricted and the open prefix  only the open prefix
e. withdraw                  Service deleted -> gone; back ->    the same for the /32
                             announced; no ready endpoint ->
                             gone (/32 and /128)
===========================  ==================================  ============================

IPv6 parity runs over IPv6 sessions (peer ``r1v6``): there gobgpd derives the next hop from
the session, as FRR does, so the intent needs no next hop.

Differences between the backends that the view leaves out on purpose (reported, not
asserted): FRR also sends a link-local IPv6 next hop and r1's zebra installs that one, GoBGP
sends only the global one (so only the *count* of installed IPv6 next hops is compared);
FRR's ``network`` routes carry MED 0, GoBGP's carry no MED (equal under FRR's default
missing-MED-as-0); the BGP router ID is the node's address under FRR and crc32 of the node
name under GoBGP (``gobgp.translate.router_id_for``).
"""

from __future__ import annotations

from collections.abc import Iterator
from ipaddress import ip_address, ip_network

import pytest

from orchestrator.core.bgp.intent import NodeBGPIntent
from orchestrator.core.bgp.reasons import BGPReason
from orchestrator.core.model.cluster import (
    AddressPool,
    Assignment,
    BGPAdvertisement,
    ClusterConfig,
    ClusterSnapshot,
    Community,
    CommunityKind,
    Endpoint,
    EndpointSlice,
    Node,
    PoolKind,
    Service,
    TrafficPolicy,
)
from orchestrator.core.model.selectors import LabelSelector
from tests.harness.bgp_lab import (
    BACKENDS,
    CONVERGE,
    NODE_ASN,
    NODE_V4,
    NODE_V6,
    NODES,
    Lab,
    PathView,
    RouterView,
    lab_peers,
    open_lab,
    poll,
)
from tests.harness.prereq import require_frr, require_gobgpd

pytestmark = pytest.mark.root

PUBLIC = AddressPool(
    name="public", kind=PoolKind.IPADDRESSPOOL, cidrs=(ip_network("203.0.113.0/25"),)
)
GOLD = AddressPool(
    name="gold", kind=PoolKind.IPADDRESSPOOL, cidrs=(ip_network("203.0.113.128/25"),)
)
PUBLIC6 = AddressPool(
    name="public6", kind=PoolKind.IPADDRESSPOOL, cidrs=(ip_network("2001:db8:100::/64"),)
)
DEFAULT_ADV = (BGPAdvertisement(name="default"),)


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture(scope="module")
def lab(backend: str) -> Iterator[Lab]:
    require_frr()  # the routers are FRR for both backends
    if backend == "gobgp":
        require_gobgpd()
    with open_lab(backend) as built:
        yield built


# --------------------------------------------------------------------------- model


def std(value: str) -> Community:
    return Community(CommunityKind.STANDARD, value)


def large(value: str) -> Community:
    return Community(CommunityKind.LARGE, value)


def service(
    name: str,
    *,
    ready_on: tuple[str, ...] = ("n2",),
    not_ready_on: tuple[str, ...] = (),
    policy: TrafficPolicy = TrafficPolicy.CLUSTER,
    labels: dict[str, str] | None = None,
) -> tuple[Service, EndpointSlice]:
    endpoints = [(n, True) for n in ready_on] + [(n, False) for n in not_ready_on]
    slice_ = EndpointSlice(
        namespace="default",
        name=f"{name}-x1",
        service_name=name,
        endpoints=tuple(
            Endpoint(addresses=(f"10.244.{i}.10",), node_name=n, ready=ready)
            for i, (n, ready) in enumerate(endpoints)
        ),
    )
    svc = Service(
        namespace="default", name=name, external_traffic_policy=policy, labels=labels or {}
    )
    return svc, slice_


def by_label(value: str) -> LabelSelector:
    return LabelSelector({"wk": value})


def snapshot(
    services: list[tuple[Service, EndpointSlice]],
    advertisements: tuple[BGPAdvertisement, ...] = DEFAULT_ADV,
) -> ClusterSnapshot:
    return ClusterSnapshot(
        config=ClusterConfig(
            pools={p.name: p for p in (PUBLIC, GOLD, PUBLIC6)},
            bgp_advertisements=advertisements,
            bgp_peers=lab_peers(),
        ),
        services=tuple(s for s, _ in services),
        endpoint_slices=tuple(e for _, e in services),
        nodes={n: Node(name=n, labels={"kubernetes.io/hostname": n}) for n in NODES},
    )


def assign(name: str, ip: str, pool: str = "public") -> Assignment:
    return Assignment(service=f"default/{name}", pool=pool, ips=(ip_address(ip),))


# --------------------------------------------------------------------------- expected views


def ebgp(
    *nodes: str, v6: bool = False, communities: tuple[str, ...] = (), large: tuple[str, ...] = ()
) -> dict[str, PathView]:
    """Paths r1 should hold from ``nodes``: AS path = the node's AS, no LOCAL_PREF."""
    hops = NODE_V6 if v6 else NODE_V4
    attrs = PathView(communities=communities, large_communities=large, as_path=str(NODE_ASN))
    return {hops[n]: attrs for n in nodes}


def ibgp(
    *nodes: str,
    local_pref: int = 100,
    communities: tuple[str, ...] = (),
    large: tuple[str, ...] = (),
) -> dict[str, PathView]:
    """Paths r2 should hold from ``nodes``: empty AS path, LOCAL_PREF as sent."""
    attrs = PathView(
        communities=communities, large_communities=large, local_pref=local_pref, as_path=""
    )
    return {NODE_V4[n]: attrs for n in nodes}


def views(r1: RouterView, r2: RouterView) -> dict[str, RouterView]:
    return {"r1": r1, "r2": r2}


def withheld(intents: dict[str, NodeBGPIntent]) -> dict[str, set[BGPReason]]:
    return {n: {w.reason for w in i.withheld} for n, i in intents.items()}


# --------------------------------------------------------------------------- scenarios


def test_a_cluster_service_is_ecmp_over_three_nodes(lab: Lab) -> None:
    snap = snapshot([service("web"), service("web6")])
    intents = lab.apply(
        snap, [assign("web", "203.0.113.10"), assign("web6", "2001:db8:100::10", "public6")]
    )
    assert all(len(i.prefixes) == 2 for i in intents.values())
    lab.converge(
        views(
            r1={
                "203.0.113.10/32": ebgp(*NODES),
                "2001:db8:100::10/128": ebgp(*NODES, v6=True),
            },
            r2={"203.0.113.10/32": ibgp(*NODES)},
        )
    )
    r1 = lab.routers["r1"]
    poll(
        "3 installed IPv4 next hops at r1",
        lambda: r1.installed_next_hops("203.0.113.10/32"),
        lambda hops: hops == set(NODE_V4.values()),
        timeout=10,
    )
    poll(
        "3 installed IPv6 next hops at r1",
        lambda: r1.installed_next_hops("2001:db8:100::10/128"),
        lambda hops: len(hops) == 3,
        timeout=10,
    )


def test_b_local_service_only_via_nodes_with_ready_endpoints(lab: Lab) -> None:
    api = service("api", ready_on=("n1", "n3"), not_ready_on=("n2",), policy=TrafficPolicy.LOCAL)
    intents = lab.apply(snapshot([api]), [assign("api", "203.0.113.20")])
    assert withheld(intents) == {
        "n1": set(),
        "n2": {BGPReason.NO_LOCAL_ENDPOINTS},
        "n3": set(),
    }
    lab.converge(
        views(
            r1={"203.0.113.20/32": ebgp("n1", "n3")},
            r2={"203.0.113.20/32": ibgp("n1", "n3")},
        )
    )


def test_c_attributes_reach_the_routers_and_internal_tags_do_not(lab: Lab) -> None:
    advertisements = (
        BGPAdvertisement(name="default", pools=("public",)),
        BGPAdvertisement(
            name="gold",
            pools=("gold",),
            local_pref=250,
            communities=(std("65000:100"), std("65000:200"), large("65000:7:8")),
        ),
    )
    snap = snapshot([service("plain"), service("premium")], advertisements)
    lab.apply(snap, [assign("plain", "203.0.113.30"), assign("premium", "203.0.113.130", "gold")])
    # exactly these: each backend's internal per-peer tag (a large community) is stripped
    comms, larges = ("65000:100", "65000:200"), ("65000:7:8",)
    lab.converge(
        views(
            r1={
                "203.0.113.30/32": ebgp(*NODES),
                "203.0.113.130/32": ebgp(*NODES, communities=comms, large=larges),
            },
            r2={
                "203.0.113.30/32": ibgp(*NODES),
                "203.0.113.130/32": ibgp(*NODES, local_pref=250, communities=comms, large=larges),
            },
        )
    )


WELL_KNOWN = {  # community -> (Service, IP, how FRR's JSON spells it)
    "no-export": ("wk-ne", "203.0.113.61", "noExport"),
    "no-advertise": ("wk-na", "203.0.113.62", "noAdvertise"),
    "local-as": ("wk-la", "203.0.113.63", "localAs"),
}


def test_c2_well_known_communities_are_sent_as_configured(lab: Lab) -> None:
    """A well-known community is an instruction to the *receiving* router (MetalLB users
    set no-export / no-advertise so the upstream router keeps the route to itself): the
    speaker announces the route with it, to every peer the advertisement selects."""
    advertisements = [BGPAdvertisement(name="control", service_selectors=(by_label("control"),))]
    services = [service("control", labels={"wk": "control"})]
    assignments = [assign("control", "203.0.113.60")]
    for community, (name, ip, _) in WELL_KNOWN.items():
        advertisements.append(
            BGPAdvertisement(
                name=name,
                service_selectors=(by_label(community),),
                communities=(std("65000:100"), std(community)),
            )
        )
        services.append(service(name, labels={"wk": community}))
        assignments.append(assign(name, ip))
    lab.apply(snapshot(services, tuple(advertisements)), assignments)

    def control_arrived(got: dict[str, RouterView]) -> bool:
        prefix = "203.0.113.60/32"
        return got["r1"].get(prefix) == ebgp(*NODES) and got["r2"].get(prefix) == ibgp(*NODES)

    # the plain prefix proves sessions are up and the apply went out; the others were in
    # the same apply, so they get a short grace period only
    poll("the control prefix at both routers", lab.views, control_arrived, CONVERGE)
    r1: RouterView = {"203.0.113.60/32": ebgp(*NODES)}
    r2: RouterView = {"203.0.113.60/32": ibgp(*NODES)}
    for _, ip, spelled in WELL_KNOWN.values():
        comms = tuple(sorted(("65000:100", spelled)))
        r1[f"{ip}/32"] = ebgp(*NODES, communities=comms)
        r2[f"{ip}/32"] = ibgp(*NODES, communities=comms)
    lab.converge(views(r1=r1, r2=r2), timeout=5)


def test_d_peer_restriction_reaches_only_the_named_router(lab: Lab) -> None:
    advertisements = (
        BGPAdvertisement(name="to-r1", pools=("public",), peers=("r1",)),
        BGPAdvertisement(name="everywhere", pools=("gold",)),
    )
    snap = snapshot([service("edge"), service("wide")], advertisements)
    intents = lab.apply(
        snap, [assign("edge", "203.0.113.40"), assign("wide", "203.0.113.140", "gold")]
    )
    assert {p.peers for p in intents["n1"].prefixes} == {("r1",), ("r1", "r2")}
    # the open prefix at r2 shows its sessions are up: the restricted one is absent by policy
    lab.converge(
        views(
            r1={"203.0.113.40/32": ebgp(*NODES), "203.0.113.140/32": ebgp(*NODES)},
            r2={"203.0.113.140/32": ibgp(*NODES)},
        )
    )


def test_e_withdraw_on_service_delete_and_on_endpoint_loss(lab: Lab) -> None:
    assignments = [assign("web", "203.0.113.50"), assign("web6", "2001:db8:100::50", "public6")]
    announced = views(
        r1={"203.0.113.50/32": ebgp(*NODES), "2001:db8:100::50/128": ebgp(*NODES, v6=True)},
        r2={"203.0.113.50/32": ibgp(*NODES)},
    )
    nothing = views(r1={}, r2={})

    lab.apply(snapshot([service("web"), service("web6")]), assignments)
    lab.converge(announced)

    # the Service objects are gone; the speaker may still hold the stale assignments
    intents = lab.apply(snapshot([]), assignments)
    assert withheld(intents) == {n: {BGPReason.UNKNOWN_SERVICE} for n in NODES}
    lab.converge(nothing)

    lab.apply(snapshot([service("web"), service("web6")]), assignments)
    lab.converge(announced)

    gone = [service("web", ready_on=(), not_ready_on=NODES), service("web6", ready_on=())]
    intents = lab.apply(snapshot(gone), assignments)
    assert withheld(intents) == {n: {BGPReason.NO_ENDPOINTS} for n in NODES}
    lab.converge(nothing)
