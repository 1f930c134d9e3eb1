"""Builders shared by the parser tests: manifests as dicts, and the problems of a snapshot."""

from __future__ import annotations

from typing import Any

from orchestrator.core.model.cluster import ClusterSnapshot
from orchestrator.core.model.errors import Severity
from orchestrator.core.parse import parse_snapshot


def snap(*docs: dict[str, Any]) -> ClusterSnapshot:
    return parse_snapshot([(f"t.yaml#{i}", d) for i, d in enumerate(docs, 1)])


def serving(desc: str, source: str) -> str:
    """The tail of a conflict error: who keeps serving (``crosscheck._serving``)."""
    return (
        f"; {desc} ({source}) keeps serving (the senior: valid before, else older, else first "
        "by name); this one is left out"
    )


def created(doc: dict[str, Any], when: str) -> dict[str, Any]:
    """``doc`` with a ``metadata.creationTimestamp``, as the API server writes it."""
    doc["metadata"]["creationTimestamp"] = when
    return doc


def errors(s: ClusterSnapshot) -> list[str]:
    return [str(p) for p in s.problems if p.severity is Severity.ERROR]


def warnings(s: ClusterSnapshot) -> list[str]:
    return [str(p) for p in s.problems if p.severity is Severity.WARNING]


def obj(kind: str, name: str, spec: dict[str, Any], version: str = "v1beta1") -> dict[str, Any]:
    return {
        "apiVersion": f"metallb.io/{version}",
        "kind": kind,
        "metadata": {"name": name, "namespace": "metallb-system"},
        "spec": spec,
    }


def peer(name: str, **spec: Any) -> dict[str, Any]:
    base = {"myASN": 64513, "peerASN": 64512, "peerAddress": "198.51.100.1"}
    base.update(spec)
    return obj("BGPPeer", name, {k: v for k, v in base.items() if v is not None}, "v1beta2")


def pool(name: str, *addresses: str) -> dict[str, Any]:
    return obj("IPAddressPool", name, {"addresses": list(addresses)})


def bgpadv(name: str, **spec: Any) -> dict[str, Any]:
    return obj("BGPAdvertisement", name, spec)


def secret(name: str, **body: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": "metallb-system"},
        **body,
    }
