"""What the running lab looks like, read from the outside: Services and where they live.

Three sources, each the one a user would trust:

- the **state directory** (what the controller recorded: IPs, pool, home node per L2 IP) —
  the lab's ``kubectl get svc``; with ``--kube``, the Service objects in kube-apiserver;
- **ARP from the client** — who really answers for an L2 IP right now;
- the **router's installed route** — which nodes really receive a BGP VIP's traffic.

``Service`` rows join the manifests (type, ports, requested IP count) with the state; the
L2/BGP split is the homes annotation (only L2 IPs have a home node).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from orchestrator.adapters.files.manifests import load_directory
from orchestrator.adapters.files.store import StateDir
from orchestrator.core.model.cluster import Annotation
from orchestrator.lab.config import LabConfig


@dataclass(frozen=True)
class Service:
    namespace: str
    name: str
    type: str = "LoadBalancer"
    ports: str = ""
    requested: int = 1  # IPs asked for (the Deckhouse count annotation, else 1)
    ips: tuple[str, ...] = ()
    pool: str = ""
    homes: Mapping[str, str] = field(default_factory=dict)
    in_manifests: bool = True

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def l2(self) -> bool:
        return bool(self.homes)


def _count(annotations: Mapping[str, Any]) -> int:
    try:
        return max(1, int(str(annotations.get(Annotation.DH_IPS_COUNT.value, "1"))))
    except ValueError:
        return 1


def _ports(spec: Mapping[str, Any]) -> str:
    ports = spec.get("ports") or []
    return ",".join(
        f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in ports if isinstance(p, Mapping)
    )


def services(config: LabConfig) -> list[Service]:
    """LoadBalancer Services of the manifests with what the state dir records for them, plus
    records whose Service is gone (``in_manifests=False``), sorted by key."""
    found: dict[str, Service] = {}
    for _, doc in load_directory(config.manifests).documents:
        if doc.get("kind") != "Service":
            continue
        meta = doc.get("metadata") or {}
        spec = doc.get("spec") or {}
        if spec.get("type") != "LoadBalancer":
            continue
        ns, name = meta.get("namespace") or "default", str(meta.get("name"))
        found[f"{ns}/{name}"] = Service(
            ns,
            name,
            ports=_ports(spec),
            requested=_count(meta.get("annotations") or {}),
        )
    for key, record in _records(config).items():
        ns, name = key.split("/", 1)
        base = found.get(key, Service(ns, name, in_manifests=False))
        annotations = record.get("annotations") or {}
        try:
            homes = json.loads(annotations.get(Annotation.HOMES.value) or "{}")
        except ValueError:
            homes = {}
        found[key] = Service(
            base.namespace,
            base.name,
            type=base.type,
            ports=base.ports,
            requested=base.requested,
            ips=tuple(str(ip) for ip in record.get("ingress") or ()),
            pool=str(annotations.get(Annotation.ML_ALLOCATED_POOL.value) or ""),
            homes={str(k): str(v) for k, v in homes.items()} if isinstance(homes, dict) else {},
            in_manifests=base.in_manifests,
        )
    return [found[k] for k in sorted(found)]


def _records(config: LabConfig) -> Mapping[str, Mapping[str, Any]]:
    """What the controller recorded per Service: the state directory, or (``--kube``) the
    Service objects' status and annotations, in the same shape."""
    if not config.kube:
        return StateDir(config.state).statuses()
    from orchestrator.lab import kube

    out: dict[str, Mapping[str, Any]] = {}
    for obj in kube.services(config):
        meta = obj.get("metadata") or {}
        ingress = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        annotations = meta.get("annotations") or {}
        if not ingress and Annotation.ML_ALLOCATED_POOL.value not in annotations:
            continue  # not one of ours (the API server's own Service, a ClusterIP)
        out[f"{meta.get('namespace')}/{meta.get('name')}"] = {
            "ingress": [i.get("ip") for i in ingress if i.get("ip")],
            "annotations": annotations,
        }
    return out


def service(config: LabConfig, key: str) -> Service | None:
    return next((s for s in services(config) if s.key == key), None)


def leases(config: LabConfig) -> list[str]:
    """Nodes with a lease file (present; freshness is each observer's own judgement)."""
    if config.kube:
        from orchestrator.lab import kube

        return kube.lease_holders(config)
    return sorted(r.node for r in StateDir(config.state).read_leases())
