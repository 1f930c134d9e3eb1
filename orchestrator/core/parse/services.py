"""v1 ``Service``: spec, the request in its annotations, and the state the cluster records.

A Service is never dropped for being invalid: its status IPs must stay allocated (the
cluster is the source of truth, and withdrawing an IP because someone mistyped an annotation
would be an outage). Its own errors go into ``Service.errors`` and the request is parsed as
far as possible; the allocator decides nothing new for a Service with errors.

The request is read only for ``type: LoadBalancer``: annotations on other Services are not
ours to judge. The recorded state is read for every type, so that a Service switched away
from LoadBalancer still shows which IPs it holds until the controller releases them.

State comes from our own writes (and MetalLB's / Deckhouse's): ``status.loadBalancer.ingress``,
``metallb.io/ip-allocated-from-pool``, the ``network.deckhouse.io/load-balancer-class``
condition (or our class annotation) and our JSON home-node annotation. Damage there is a
warning, not a Service error: the controller rewrites state, and an error would freeze the
Service until a human repaired what the controller owns.
"""

from __future__ import annotations

import json
from typing import TypeVar

from orchestrator.core.model.addresses import AddressError, parse_ip
from orchestrator.core.model.cluster import (
    CLASS_CONDITION,
    Annotation,
    IPAddress,
    IPFamilyPolicy,
    Service,
    ServicePort,
    ServiceRequest,
    ServiceState,
    TrafficPolicy,
)
from orchestrator.core.model.errors import Errors
from orchestrator.core.parse.documents import Doc
from orchestrator.core.parse.fields import Fields, as_fields, is_mapping
from orchestrator.core.parse.labels import label_map
from orchestrator.core.parse.service_request import annotation_path, parse_request

SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")
PROTOCOLS = ("TCP", "UDP", "SCTP")
FAMILIES = {"IPv4": 4, "IPv6": 6}


def parse_service(doc: Doc, errs: Errors) -> Service:
    """The Service; the caller attaches its errors (``Service.errors``) once all are known."""
    spec = Fields(errs, doc.raw).obj("spec") or Fields(errs, {}, "spec")
    kind = spec.text("type") or "ClusterIP"
    if kind not in SERVICE_TYPES:
        errs.add(spec.at("type"), f'"{kind}" is not one of {", ".join(SERVICE_TYPES)}')
    cluster_ips = _cluster_ips(spec)
    request = ServiceRequest()
    if kind == "LoadBalancer":
        request = parse_request(errs, doc.annotations, spec.text("loadBalancerIP"))
    return Service(
        namespace=doc.namespace,
        name=doc.name,
        type=kind,
        load_balancer_class=spec.text("loadBalancerClass"),
        labels=dict(doc.labels),
        annotations=dict(doc.annotations),
        selector=label_map(spec, "selector"),
        ports=_ports(spec),
        external_traffic_policy=_enum(spec, "externalTrafficPolicy", TrafficPolicy)
        or TrafficPolicy.CLUSTER,
        ip_family_policy=_enum(spec, "ipFamilyPolicy", IPFamilyPolicy) or IPFamilyPolicy.SINGLE,
        ip_families=_families(spec, cluster_ips),
        cluster_ips=cluster_ips,
        request=request,
        state=_state(doc, errs),
    )


E = TypeVar("E", TrafficPolicy, IPFamilyPolicy)


def _enum(spec: Fields, key: str, enum: type[E]) -> E | None:
    text = spec.text(key)
    if text is None:
        return None
    try:
        return enum(text)
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        spec.errs.add(spec.at(key), f'"{text}" is not one of {allowed}')
        return None


def _ports(spec: Fields) -> tuple[ServicePort, ...]:
    out: list[ServicePort] = []
    for path, raw in spec.elements("ports"):
        port = as_fields(spec.errs, path, raw)
        if port is None:
            continue
        protocol = port.text("protocol") or "TCP"
        if protocol not in PROTOCOLS:
            spec.errs.add(port.at("protocol"), f'"{protocol}" is not TCP, UDP or SCTP')
            continue
        number = port.number("port", lo=1, hi=65535, required=True)
        if number is not None:
            out.append(ServicePort(protocol, number))
    return tuple(out)


def _cluster_ips(spec: Fields) -> tuple[IPAddress, ...]:
    texts = [(p, t) for p, t in spec.texts("clusterIPs")]
    if not texts and (single := spec.text("clusterIP")) is not None:
        texts = [(spec.at("clusterIP"), single)]
    out: list[IPAddress] = []
    for path, text in texts:
        if text == "None":  # headless
            continue
        try:
            out.append(parse_ip(text))
        except AddressError as e:
            spec.errs.add(path, str(e))
    return tuple(out)


def _families(spec: Fields, cluster_ips: tuple[IPAddress, ...]) -> tuple[int, ...]:
    out: list[int] = []
    for path, text in spec.texts("ipFamilies"):
        if text not in FAMILIES:
            spec.errs.add(path, f'"{text}" is not IPv4 or IPv6')
            continue
        out.append(FAMILIES[text])
    if len(out) > 2:
        spec.errs.add(spec.at("ipFamilies"), "at most two families")
        out = out[:2]
    if out:
        return tuple(out)
    from_ips = tuple(dict.fromkeys(ip.version for ip in cluster_ips))
    return from_ips or (4,)


def _state(doc: Doc, errs: Errors) -> ServiceState:
    status = Fields(errs, doc.raw).get("status")
    ingress: list[IPAddress] = []
    condition_class: str | None = None
    if is_mapping(status):
        lb = status.get("loadBalancer")
        entries = lb.get("ingress") if is_mapping(lb) else None
        for i, entry in enumerate(entries if isinstance(entries, list) else []):
            ip = entry.get("ip") if is_mapping(entry) else None
            if not ip:
                continue  # hostname-only entries are not ours
            try:
                addr = parse_ip(str(ip))
            except AddressError as e:
                errs.warn(f"status.loadBalancer.ingress[{i}].ip", f"{e}; ignored")
                continue
            if addr not in ingress:
                ingress.append(addr)
        conditions = status.get("conditions")
        for cond in conditions if isinstance(conditions, list) else []:
            if (
                is_mapping(cond)
                and cond.get("type") == CLASS_CONDITION
                and cond.get("status") == "True"
                and isinstance(cond.get("message"), str)
                and cond.get("message")
            ):
                condition_class = str(cond["message"])
    annotated_class = doc.annotations.get(Annotation.CLASS) or None
    if condition_class and annotated_class and condition_class != annotated_class:
        errs.warn(
            annotation_path(Annotation.CLASS),
            f"disagrees with the {CLASS_CONDITION} condition ({condition_class}); "
            "using the condition",
        )
    return ServiceState(
        ingress_ips=tuple(ingress),
        allocated_pool=doc.annotations.get(Annotation.ML_ALLOCATED_POOL) or None,
        homes=_homes(doc, errs),
        bound_class=condition_class or annotated_class,
    )


def _homes(doc: Doc, errs: Errors) -> dict[IPAddress, str]:
    text = doc.annotations.get(Annotation.HOMES)
    if not text:
        return {}
    path = annotation_path(Annotation.HOMES)
    try:
        raw = json.loads(text)
    except ValueError:
        errs.warn(path, "is not valid JSON; ignored")
        return {}
    if not isinstance(raw, dict):
        errs.warn(path, "must be a JSON object {ip: node}; ignored")
        return {}
    homes: dict[IPAddress, str] = {}
    for ip_text, node in raw.items():
        try:
            ip = parse_ip(ip_text)
        except AddressError:
            errs.warn(path, f"key {ip_text!r} is not an IP; entry ignored")
            continue
        if not isinstance(node, str) or not node:
            errs.warn(path, f"node for {ip} must be a non-empty string; entry ignored")
            continue
        homes[ip] = node
    return homes
