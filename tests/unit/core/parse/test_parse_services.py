"""Services, Nodes, Namespaces and EndpointSlices.

Matrix: spec fields and their defaults (type, ports, policies, families from clusterIPs);
every annotation spelling and its precedence; IP lists (Deckhouse N IPs, MetalLB <= 2 of
different families, loadBalancerIP conflict); ips-count (invalid -> 1 with a warning, cap);
deprecation warnings; recorded state (ingress, pool, homes JSON, class condition vs
annotation); a Service with errors is kept with them; non-LoadBalancer Services carry no
request; node conditions; endpoint conditions (absent stays None).
"""

from __future__ import annotations

import json
from ipaddress import ip_address
from typing import Any

from orchestrator.core.model.cluster import (
    Annotation,
    ClusterSnapshot,
    IPFamilyPolicy,
    Service,
    ServicePort,
    TrafficPolicy,
)
from tests.unit.core.parse.parse_support import errors, snap, warnings


def svc(
    annotations: dict[str, str] | None = None,
    status: dict[str, Any] | None = None,
    name: str = "web",
    **spec: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "LoadBalancer", "clusterIPs": ["192.0.2.80"], **spec}
    doc: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "demo", "annotations": annotations or {}},
        "spec": body,
    }
    if status is not None:
        doc["status"] = status
    return doc


def one(s: ClusterSnapshot) -> Service:
    (service,) = s.services
    return service


def test_spec_fields_and_defaults() -> None:
    s = snap(
        svc(
            selector={"app": "web"},
            ports=[{"port": 80}, {"protocol": "UDP", "port": 53}],
            externalTrafficPolicy="Local",
            ipFamilyPolicy="PreferDualStack",
            clusterIPs=["2001:db8::80", "192.0.2.80"],
            loadBalancerClass="my-class",
        )
    )
    assert errors(s) == []
    x = one(s)
    assert x.key == "demo/web" and x.type == "LoadBalancer" and x.load_balancer_class == "my-class"
    assert x.ports == (ServicePort("TCP", 80), ServicePort("UDP", 53))
    assert x.external_traffic_policy is TrafficPolicy.LOCAL
    assert x.ip_family_policy is IPFamilyPolicy.PREFER_DUAL
    assert x.ip_families == (6, 4)  # from clusterIPs, primary first
    assert x.selector == {"app": "web"}


def test_families_explicit_and_default() -> None:
    s = snap(svc(ipFamilies=["IPv6"], clusterIPs=["2001:db8::1"]), svc(name="b", clusterIPs=None))
    b, web = s.services  # sorted by namespace/name
    assert web.ip_families == (6,)
    assert b.ip_families == (4,) and b.cluster_ips == ()


def test_spec_errors_keep_the_service() -> None:
    s = snap(
        svc(
            {Annotation.ML_IPS: "192.0.2.300"},
            status={"loadBalancer": {"ingress": [{"ip": "198.51.100.7"}]}},
            type="LoadBalancer",
            ports=[{"protocol": "ICMP", "port": 1}, {"port": 70000}],
            externalTrafficPolicy="Global",
            ipFamilies=["IPv5"],
            clusterIPs=["nope"],
        )
    )
    x = one(s)
    assert [str(e) for e in x.errors] == errors(s)
    assert errors(s) == [
        'Service/demo/web: metadata.annotations["metallb.io/loadBalancerIPs"]: "192.0.2.300" is '
        "not an IP address",
        'Service/demo/web: spec.clusterIPs[0]: "nope" is not an IP address',
        'Service/demo/web: spec.externalTrafficPolicy: "Global" is not one of Cluster, Local',
        'Service/demo/web: spec.ipFamilies[0]: "IPv5" is not IPv4 or IPv6',
        'Service/demo/web: spec.ports[0].protocol: "ICMP" is not TCP, UDP or SCTP',
        "Service/demo/web: spec.ports[1].port: 70000 is out of range 1..65535",
    ]
    assert x.state.ingress_ips == (ip_address("198.51.100.7"),)


def test_annotation_precedence_and_deprecation() -> None:
    s = snap(
        svc(
            {
                Annotation.DH_POOL: "dh-pool",
                Annotation.ML_POOL: "ml-pool",
                Annotation.MU_POOL: "dh-pool",
                Annotation.MU_SHARED: "k1",
                Annotation.DH_SHARED_KEY_OLD: "k2",
                Annotation.DH_CLASS: "ingress",
                "metallb.universe.tf/preferredL2SpeakerNode": "n1",
            }
        )
    )
    assert errors(s) == []
    assert warnings(s) == [
        'warning: Service/demo/web: metadata.annotations["metallb.io/address-pool"]: ignored: '
        "network.deckhouse.io/load-balancer-pool is set and takes precedence",
        'warning: Service/demo/web: metadata.annotations["metallb.universe.tf/address-pool"]: '
        "deprecatedAnnotation: use metallb.io/address-pool instead",
        'warning: Service/demo/web: metadata.annotations["metallb.universe.tf/allow-shared-ip"]: '
        "deprecatedAnnotation: use metallb.io/allow-shared-ip instead",
        'warning: Service/demo/web: metadata.annotations["metallb.universe.tf/allow-shared-ip"]: '
        "ignored: network.deckhouse.io/load-balancer-allow-shared-ip is set and takes precedence",
        "warning: Service/demo/web: "
        'metadata.annotations["metallb.universe.tf/preferredL2SpeakerNode"]: '
        "deprecatedAnnotation: use metallb.io/preferredL2SpeakerNode instead",
        "warning: Service/demo/web: "
        'metadata.annotations["network.deckhouse.io/load-balancer-allow-shared-ip"]: '
        "deprecatedAnnotation: use network.deckhouse.io/load-balancer-shared-ip-key instead",
    ]
    r = one(s).request
    assert (r.pool, r.sharing_key, r.class_annotation) == ("dh-pool", "k2", "ingress")


def test_ip_lists() -> None:
    s = snap(
        svc({Annotation.DH_IPS: "192.0.2.1, 192.0.2.2,192.0.2.3"}, name="dh"),
        svc({Annotation.ML_IPS: "192.0.2.1,2001:db8::1"}, name="dual"),
        svc({Annotation.ML_IPS: "192.0.2.1,192.0.2.2"}, name="same-family"),
        svc({Annotation.MU_IPS: "192.0.2.1,2001:db8::1,192.0.2.2"}, name="three"),
        svc({Annotation.DH_IPS: "192.0.2.1,,192.0.2.1"}, name="dup"),
        svc({Annotation.ML_IPS: "192.0.2.9"}, name="both", loadBalancerIP="192.0.2.9"),
        svc(name="spec", loadBalancerIP="192.0.2.10"),
    )
    by = {x.name: x for x in s.services}
    assert by["dh"].request.ips == tuple(ip_address(f"192.0.2.{i}") for i in (1, 2, 3))
    assert by["dual"].request.ips == (ip_address("192.0.2.1"), ip_address("2001:db8::1"))
    assert by["spec"].request.ips == (ip_address("192.0.2.10"),)
    assert by["both"].request.ips == (ip_address("192.0.2.9"),)
    assert errors(s) == [
        "Service/demo/both: spec.loadBalancerIP: must not be set together with annotation "
        "metallb.io/loadBalancerIPs",
        'Service/demo/dup: metadata.annotations["network.deckhouse.io/load-balancer-ips"]: has '
        "an empty entry",
        'Service/demo/dup: metadata.annotations["network.deckhouse.io/load-balancer-ips"]: lists '
        "192.0.2.1 twice",
        'Service/demo/same-family: metadata.annotations["metallb.io/loadBalancerIPs"]: two IPs '
        "must be of different families (one IPv4, one IPv6)",
        'Service/demo/three: metadata.annotations["metallb.universe.tf/loadBalancerIPs"]: at '
        "most 2 IPs (one IPv4 and one IPv6) are allowed",
    ]
    assert by["dual"].errors == () and by["three"].errors


def test_ips_count() -> None:
    s = snap(
        svc({Annotation.DH_IPS_COUNT: "3"}, name="three"),
        svc({Annotation.DH_IPS_COUNT: "zero"}, name="junk"),
        svc({Annotation.DH_IPS_COUNT: "-2"}, name="neg"),
        svc({Annotation.DH_IPS_COUNT: "1"}, name="one"),
        svc({Annotation.DH_IPS_COUNT: "1000"}, name="many"),
        svc({Annotation.DH_IPS_COUNT: "65537"}, name="huge"),
    )
    by = {x.name: x.request.ips_count for x in s.services}
    # the class pool's size is the real limit (the allocator's); 65,536 bounds memory
    assert by == {"three": 3, "junk": 1, "neg": 1, "one": 1, "many": 1000, "huge": 65536}
    key = 'metadata.annotations["network.deckhouse.io/l2-load-balancer-external-ips-count"]'
    keeps = "; the Service keeps its current IPs until this is fixed"
    # errors, not "using 1": the Service is held (its IPs untouched) until it is fixed
    assert errors(s) == [
        f"Service/demo/huge: {key}: 65537 is more than 65536{keeps}",
        f'Service/demo/junk: {key}: "zero" is not a whole number{keeps}',
        f"Service/demo/neg: {key}: -2 is less than 1{keeps}",
    ]
    assert warnings(s) == []


def test_request_only_for_load_balancers() -> None:
    s = snap(svc({Annotation.ML_IPS: "garbage", Annotation.MU_POOL: "x"}, type="ClusterIP"))
    assert errors(s) == [] and warnings(s) == []
    x = one(s)
    assert x.type == "ClusterIP" and x.request.ips == () and x.request.pool is None


def test_state() -> None:
    homes = {"192.168.2.100": "frontend-1", "192.168.2.101": "frontend-2"}
    s = snap(
        svc(
            {
                Annotation.ML_ALLOCATED_POOL: "ingress",
                Annotation.HOMES: json.dumps(homes),
                Annotation.CLASS: "ingress",
            },
            status={
                "loadBalancer": {
                    "ingress": [{"ip": "192.168.2.100"}, {"hostname": "x"}, {"ip": "192.168.2.101"}]
                },
                "conditions": [
                    {"type": "AllPublicIPsAssigned", "status": "True", "message": "2 of 2"},
                    {
                        "type": "network.deckhouse.io/load-balancer-class",
                        "status": "True",
                        "message": "ingress",
                    },
                ],
            },
        )
    )
    assert errors(s) == [] and warnings(s) == []
    st = one(s).state
    assert st.ingress_ips == (ip_address("192.168.2.100"), ip_address("192.168.2.101"))
    assert st.allocated_pool == "ingress" and st.bound_class == "ingress"
    assert st.homes == {ip_address(k): v for k, v in homes.items()}


def test_damaged_state_is_a_warning() -> None:
    s = snap(
        svc(
            {Annotation.HOMES: "{not json", Annotation.CLASS: "other"},
            status={
                "loadBalancer": {"ingress": [{"ip": "bogus"}]},
                "conditions": [
                    {
                        "type": "network.deckhouse.io/load-balancer-class",
                        "status": "True",
                        "message": "ingress",
                    }
                ],
            },
        ),
        svc({Annotation.HOMES: json.dumps({"x": "n1", "192.0.2.1": 5})}, name="b"),
    )
    assert errors(s) == []
    homes = 'metadata.annotations["metallb-orchestrator.io/l2-homes"]'
    assert warnings(s) == [
        f"warning: Service/demo/b: {homes}: key 'x' is not an IP; entry ignored",
        f"warning: Service/demo/b: {homes}: node for 192.0.2.1 must be a non-empty string; "
        "entry ignored",
        f"warning: Service/demo/web: {homes}: is not valid JSON; ignored",
        'warning: Service/demo/web: metadata.annotations["metallb-orchestrator.io/load-balancer-'
        'class"]: disagrees with the network.deckhouse.io/load-balancer-class condition '
        "(ingress); using the condition",
        'warning: Service/demo/web: status.loadBalancer.ingress[0].ip: "bogus" is not an IP '
        "address; ignored",
    ]
    assert s.services[1].state.bound_class == "ingress"


def test_nodes_namespaces_and_slices() -> None:
    s = snap(
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": "n1", "labels": {"zone": "a"}},
            "status": {"conditions": [{"type": "NetworkUnavailable", "status": "True"}]},
        },
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": "n2"},
            "status": {"conditions": [{"type": "NetworkUnavailable", "status": "False"}]},
        },
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "demo", "labels": {"t": "x"}},
        },
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": "web-1",
                "namespace": "demo",
                "labels": {"kubernetes.io/service-name": "web"},
            },
            "endpoints": [
                {"addresses": ["192.0.2.11"], "nodeName": "n1", "conditions": {"ready": True}},
                {
                    "addresses": ["192.0.2.12"],
                    "nodeName": "n2",
                    "conditions": {"ready": False, "serving": True},
                },
                {"addresses": ["192.0.2.13"]},
            ],
        },
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {"name": "orphan", "namespace": "demo"},
        },
        svc(),
    )
    assert errors(s) == []
    assert warnings(s) == [
        "warning: EndpointSlice/demo/orphan: metadata.labels: no kubernetes.io/service-name "
        "label; slice ignored"
    ]
    assert s.nodes["n1"].network_unavailable and not s.nodes["n2"].network_unavailable
    assert s.nodes["n1"].labels == {"zone": "a", "kubernetes.io/hostname": "n1"}  # defaulted
    assert s.namespaces["demo"].labels == {"t": "x"}
    (sl,) = s.endpoint_slices
    assert sl.service_key == "demo/web"
    eps = s.endpoints_of(s.services[0])
    assert [e.ready for e in eps] == [True, False, None]
    assert [e.can_serve for e in eps] == [True, True, True]
    assert eps[2].node_name is None
