"""Builders shared by the allocator tests (no tests here): model objects built directly,
without the parser, and a helper that writes a result back into the Services' status the
way the controller does."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from ipaddress import ip_address, ip_network

from orchestrator.core.alloc.allocator import Allocator
from orchestrator.core.alloc.result import AllocationResult
from orchestrator.core.model.cluster import (
    AddressPool,
    ClusterConfig,
    ClusterSnapshot,
    IPFamilyPolicy,
    L2Class,
    Namespace,
    PoolKind,
    Service,
    ServiceAllocation,
    ServicePort,
    ServiceRequest,
    ServiceState,
    TrafficPolicy,
)


def pool(
    name: str,
    *cidrs: str,
    auto_assign: bool = True,
    avoid_buggy: bool = False,
    allocation: ServiceAllocation | None = None,
) -> AddressPool:
    return AddressPool(
        name,
        PoolKind.IPADDRESSPOOL,
        tuple(ip_network(c) for c in cidrs),
        auto_assign=auto_assign,
        avoid_buggy_ips=avoid_buggy,
        allocation=allocation,
    )


def mlbc(name: str, *cidrs: str, default: bool = False) -> tuple[L2Class, AddressPool]:
    """A MetalLoadBalancerClass and its pool (same name), as the parser builds them."""
    cls = L2Class(name, is_default=default, pool=name)
    return cls, AddressPool(
        name, PoolKind.CLASS, tuple(ip_network(c) for c in cidrs), class_name=name
    )


def svc(
    name: str,
    namespace: str = "demo",
    *,
    ports: Iterable[tuple[str, int]] = (("TCP", 80),),
    lb_class: str | None = None,
    type: str = "LoadBalancer",
    policy: IPFamilyPolicy = IPFamilyPolicy.SINGLE,
    families: tuple[int, ...] = (4,),
    pool: str | None = None,
    ips: Iterable[str] = (),
    key: str | None = None,
    count: int = 1,
    class_annotation: str | None = None,
    labels: Mapping[str, str] | None = None,
    local: bool = False,
    selector: Mapping[str, str] | None = None,
    status: Iterable[str] = (),
    allocated_pool: str | None = None,
    bound: str | None = None,
) -> Service:
    return Service(
        namespace,
        name,
        type=type,
        load_balancer_class=lb_class,
        labels=dict(labels or {}),
        selector=dict(selector or {"app": name}),
        ports=tuple(ServicePort(p, n) for p, n in ports),
        external_traffic_policy=TrafficPolicy.LOCAL if local else TrafficPolicy.CLUSTER,
        ip_family_policy=policy,
        ip_families=families,
        request=ServiceRequest(
            pool=pool,
            ips=tuple(ip_address(i) for i in ips),
            sharing_key=key,
            ips_count=count,
            class_annotation=class_annotation,
        ),
        state=ServiceState(
            ingress_ips=tuple(ip_address(i) for i in status),
            allocated_pool=allocated_pool,
            bound_class=bound,
        ),
    )


def snap(
    services: Iterable[Service] = (),
    *,
    pools: Iterable[AddressPool] = (),
    classes: Iterable[L2Class] = (),
    lb_class: str | None = None,
    namespaces: Mapping[str, Mapping[str, str]] | None = None,
) -> ClusterSnapshot:
    return ClusterSnapshot(
        config=ClusterConfig(
            pools={p.name: p for p in pools},
            classes={c.name: c for c in classes},
            load_balancer_class=lb_class,
        ),
        services=tuple(services),
        namespaces={n: Namespace(n, dict(lbl)) for n, lbl in (namespaces or {}).items()},
    )


def ips(result: AllocationResult, key: str) -> list[str]:
    return list(result.outcomes[key].ips)


def written(snapshot: ClusterSnapshot, result: AllocationResult) -> ClusterSnapshot:
    """The snapshot after the controller wrote ``result`` into status (as it would)."""
    services = []
    for s in snapshot.services:
        outcome = result.outcomes.get(s.key)
        if outcome is None or not outcome.decided:
            services.append(s)
            continue
        a = outcome.assignment
        state = (
            ServiceState(ingress_ips=a.ips, allocated_pool=a.pool, bound_class=a.class_name)
            if a is not None
            else ServiceState()
        )
        services.append(dataclasses.replace(s, state=state))
    return dataclasses.replace(snapshot, services=tuple(services))


def without(snapshot: ClusterSnapshot, *keys: str) -> ClusterSnapshot:
    return dataclasses.replace(
        snapshot, services=tuple(s for s in snapshot.services if s.key not in keys)
    )


def plus(snapshot: ClusterSnapshot, *services: Service) -> ClusterSnapshot:
    return dataclasses.replace(snapshot, services=snapshot.services + services)


def run(snapshot: ClusterSnapshot, allocator: Allocator | None = None) -> AllocationResult:
    return (allocator or Allocator()).reconcile(snapshot)
