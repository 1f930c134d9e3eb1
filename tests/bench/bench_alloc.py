"""Allocation benchmark: 10,000 Services over 20 pools, allocated, then restored from status.

Targets (docs/design.md): allocate <= 1 s, restore from status <= 0.5 s. This prints figures and
exits 0 (or 1 if an IP moved on restore); it asserts no timing, it is not a test.

The snapshot mixes the two kinds of Services the allocator serves:

- half are MetalLoadBalancerClass Services asking for 3 IPs each (external-ips-count 3) from
  ten class pools: five IPv4 /19s and five IPv6 /64s;
- half are plain MetalLB Services: SingleStack IPv4 or IPv6, PreferDualStack and
  RequireDualStack, over five dual-stack pools (IPv4 /20 + IPv6 /64) and five IPv6 /64 pools;
  two pools are pinned to a namespace by serviceAllocation, one in ten Services shares its
  IP with a neighbour through a sharing key.

That mix averages 2.25 IPs per Service, so a second scenario makes every Service a class
Service with 3 IPs: 10,000 x 3 = 30,000 IPs, the figure in the target.

Run: ``.venv/bin/python tests/bench/bench_alloc.py [--services N] [--repeat R]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import time
from ipaddress import IPv4Network, IPv6Network

from orchestrator.core.alloc.allocator import Allocator
from orchestrator.core.alloc.result import AllocationResult
from orchestrator.core.model.cluster import (
    AddressPool,
    ClusterConfig,
    ClusterSnapshot,
    IPFamilyPolicy,
    L2Class,
    PoolKind,
    Service,
    ServiceAllocation,
    ServicePort,
    ServiceRequest,
    ServiceState,
)

POLICIES = (
    (IPFamilyPolicy.SINGLE, (4,)),
    (IPFamilyPolicy.PREFER_DUAL, (4, 6)),
    (IPFamilyPolicy.SINGLE, (6,)),
    (IPFamilyPolicy.REQUIRE_DUAL, (6, 4)),
)


def build_config() -> ClusterConfig:
    pools: dict[str, AddressPool] = {}
    classes: dict[str, L2Class] = {}
    for i in range(5):
        for fam, net in (
            (4, IPv4Network(f"10.{i}.0.0/19")),
            (6, IPv6Network(f"2001:db8:c{i}::/64")),
        ):
            name = f"l2-v{fam}-{i}"
            pools[name] = AddressPool(name, PoolKind.CLASS, (net,), class_name=name)
            classes[name] = L2Class(name, is_default=False, pool=name)
    for i in range(5):
        name = f"dual-{i}"
        cidrs = (IPv4Network(f"10.{100 + i}.0.0/20"), IPv6Network(f"2001:db8:d{i}::/64"))
        pools[name] = AddressPool(name, PoolKind.IPADDRESSPOOL, cidrs, avoid_buggy_ips=i % 2 == 0)
        name = f"v6-{i}"
        pools[name] = AddressPool(
            name, PoolKind.IPADDRESSPOOL, (IPv6Network(f"2001:db8:e{i}::/64"),)
        )
    for name, priority in (("dual-4", 1), ("v6-4", 2)):
        pools[name] = dataclasses.replace(
            pools[name],
            allocation=ServiceAllocation(priority=priority, namespaces=frozenset({"team-a"})),
        )
    return ClusterConfig(pools=pools, classes=classes)


def build_services(count: int, *, class_share: int = 2) -> list[Service]:
    """``class_share`` 2: every other Service is a class Service; 1: all of them are."""
    services = []
    for i in range(count):
        namespace = "team-a" if i % 7 == 0 else f"ns-{i % 40}"
        port = ServicePort("TCP", 80 if i % 20 != 11 else 443)
        if i % class_share == 0:
            v4 = (i // class_share) % 2 == 0
            cls = f"l2-v{4 if v4 else 6}-{(i // (2 * class_share)) % 5}"
            services.append(
                Service(
                    namespace,
                    f"svc-{i}",
                    load_balancer_class=cls,
                    ports=(port,),
                    ip_families=(4,) if v4 else (6,),
                    request=ServiceRequest(ips_count=3),
                )
            )
        else:
            policy, fams = POLICIES[(i // 2) % len(POLICIES)]
            # Services 10 apart (i % 20 in {1, 11}) share a key and differ in port.
            key = f"shared-{i // 20}" if i % 20 in (1, 11) else None
            services.append(
                Service(
                    namespace,
                    f"svc-{i}",
                    ports=(port,),
                    ip_family_policy=policy,
                    ip_families=fams,
                    request=ServiceRequest(sharing_key=key),
                )
            )
    return services


def with_status(services: list[Service], result: AllocationResult) -> list[Service]:
    out = []
    for svc in services:
        a = result.assignment(svc.key)
        state = (
            ServiceState(ingress_ips=a.ips, allocated_pool=a.pool, bound_class=a.class_name)
            if a
            else ServiceState()
        )
        out.append(dataclasses.replace(svc, state=state))
    return out


def timed(alloc: Allocator, snapshot: ClusterSnapshot) -> tuple[AllocationResult, float]:
    gc.collect()
    start = time.perf_counter()
    result = alloc.reconcile(snapshot)
    return result, time.perf_counter() - start


def scenario(name: str, config: ClusterConfig, services: list[Service], repeat: int) -> bool:
    """Allocate, restore with a fresh Allocator, reconcile again; print; True if all is well."""
    snapshot = ClusterSnapshot(config=config, services=tuple(services))
    best_alloc = best_restore = best_steady = float("inf")
    result = restored = None
    for _ in range(repeat):
        result, took = timed(Allocator(), snapshot)
        best_alloc = min(best_alloc, took)
        second = ClusterSnapshot(config=config, services=tuple(with_status(services, result)))
        fresh = Allocator()
        restored, took = timed(fresh, second)
        best_restore = min(best_restore, took)
        _, took = timed(fresh, second)  # steady state: nothing changed since last reconcile
        best_steady = min(best_steady, took)
    assert result is not None and restored is not None

    count = len(services)
    ips = sum(len(a.ips) for a in result.assignments().values())
    unassigned = [k for k, o in result.outcomes.items() if not o.ok]
    moved = [k for k in result.outcomes if result.assignment(k) != restored.assignment(k)]
    v4 = sum(st.ipv4_in_use for st in result.pools.values())
    v6 = sum(st.ipv6_in_use for st in result.pools.values())
    per = ips / count
    print(f"[{name}] {count} services, {ips} IPs ({per:.2f} per service: {v4} IPv4, {v6} IPv6)")
    print(f"  allocate: {count} services x {per:.2f} ips in {best_alloc:.2f} s (target <= 1 s)")
    print(f"  restore: {count} services from status in {best_restore:.2f} s (target <= 0.5 s)")
    print(f"  steady reconcile (nothing changed): {best_steady:.2f} s")
    print(f"  not fully assigned: {len(unassigned)}; moved on restore: {len(moved)}")
    return not moved and not unassigned


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="best of R runs")
    args = parser.parse_args()

    config = build_config()
    print(f"pools: {len(config.pools)} ({len(config.classes)} class pools)")
    mixed = scenario("mixed", config, build_services(args.services), args.repeat)
    classes = scenario(
        "class x3", config, build_services(args.services, class_share=1), args.repeat
    )
    return 0 if mixed and classes else 1


if __name__ == "__main__":
    raise SystemExit(main())
