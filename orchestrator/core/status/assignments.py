"""Assignments as the cluster records them: what speakers announce.

Speakers never allocate; they announce exactly what ``status.loadBalancer.ingress`` says
(MetalLB's rule: status is the single source of truth), with the pool and class the
controller recorded beside it. A record without a pool annotation (written by another
controller, or before an upgrade) gets the pool that contains its first IP.
"""

from __future__ import annotations

from orchestrator.core.model.cluster import Assignment, ClusterSnapshot, IPAddress


def _pool_containing(snapshot: ClusterSnapshot, ip: IPAddress) -> str | None:
    for pool in snapshot.config.pools.values():
        if any(ip.version == net.version and ip in net for net in pool.cidrs):
            return pool.name
    return None


def assignments_from_status(snapshot: ClusterSnapshot) -> list[Assignment]:
    out: list[Assignment] = []
    for svc in snapshot.services:
        ips = svc.state.ingress_ips
        if svc.type != "LoadBalancer" or not ips:
            continue
        pool_name = svc.state.allocated_pool
        if pool_name not in snapshot.config.pools:
            pool_name = _pool_containing(snapshot, ips[0])
        if pool_name is None:
            continue  # an IP in no pool is not ours to announce
        pool = snapshot.config.pools[pool_name]
        class_name = pool.class_name
        if class_name is None and svc.state.bound_class in snapshot.config.classes:
            class_name = svc.state.bound_class
        out.append(Assignment(svc.key, pool_name, ips, class_name))
    return out
