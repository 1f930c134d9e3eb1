"""Document identity: kind, API group, name and namespace, and how errors name the object.

Every document is first checked here: it must be a mapping with ``kind`` and ``apiVersion``
(an error otherwise, reported under the document's source, ``file.yaml#2``). The API version
is checked loosely: only the group must match the kind we know (``metallb.io`` for
``BGPPeer``, ``""`` for ``Service``...), so ``v1beta1`` and ``v1beta2`` BGPPeers both parse.
A kind we do not know, or a known kind in another group (a Knative ``Service``), is ignored
with a warning.

Objects are named ``Kind/name``, or ``Kind/namespace/name`` for namespaced core objects
(Service, Secret, EndpointSlice). MetalLB CRDs are namespaced too, but MetalLB only reads
them from its own namespace and references them by bare name, so they are named
``Kind/name``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from orchestrator.core.model.errors import Errors, FieldError, Severity
from orchestrator.core.parse.fields import Fields, is_mapping, type_name
from orchestrator.core.parse.labels import label_map
from orchestrator.core.parse.names import LONG_NAME, SHORT_NAME, check_name

METALLB = "metallb.io"


@dataclass(frozen=True)
class KindInfo:
    group: str
    #: Namespace appears in the object's name in messages (and in its identity).
    namespaced: bool = False
    #: Longest allowed metadata.name.
    name_limit: int = LONG_NAME


DECKHOUSE = "network.deckhouse.io"
#: MetalLoadBalancerBGPPeer names reach daemon config inside ``bfd-<name>`` (63 at most).
_MLB_PEER_NAME = SHORT_NAME - len("bfd-")

KINDS: dict[str, KindInfo] = {
    "MetalLoadBalancerClass": KindInfo(DECKHOUSE),
    "MetalLoadBalancerPool": KindInfo(DECKHOUSE),
    "MetalLoadBalancerBGPPeer": KindInfo(DECKHOUSE, name_limit=_MLB_PEER_NAME),
    "MetalLoadBalancerConfiguration": KindInfo(DECKHOUSE),
    "L2LoadBalancer": KindInfo(DECKHOUSE),
    "ModuleConfig": KindInfo("deckhouse.io"),
    "IPAddressPool": KindInfo(METALLB),
    "AddressPool": KindInfo(METALLB),
    "L2Advertisement": KindInfo(METALLB),
    "BGPAdvertisement": KindInfo(METALLB),
    # Peer and BFD profile names go into daemon config: keep them short.
    "BGPPeer": KindInfo(METALLB, name_limit=SHORT_NAME),
    "BFDProfile": KindInfo(METALLB, name_limit=SHORT_NAME),
    "Community": KindInfo(METALLB),
    "Service": KindInfo("", namespaced=True, name_limit=SHORT_NAME),
    "Node": KindInfo(""),
    "Namespace": KindInfo("", name_limit=SHORT_NAME),
    "Secret": KindInfo("", namespaced=True),
    "EndpointSlice": KindInfo("discovery.k8s.io", namespaced=True),
}


@dataclass(frozen=True)
class Doc:
    """One manifest with its identity already read."""

    source: str  # "file.yaml#2"
    kind: str
    group: str
    version: str
    name: str
    namespace: str
    ref: str  # "Kind/name" or "Kind/namespace/name": how errors name the object
    raw: Mapping[str, Any]
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    #: ``metadata.creationTimestamp`` as the API server writes it (RFC 3339, UTC, so text
    #: order is time order); None in a manifest file that has none.
    created: str | None = None


def ref_of(raw: object) -> str | None:
    """The identity ``read_document`` would give ``raw`` (``Kind/name``...), without
    validating anything; None when it has none."""
    if not is_mapping(raw):
        return None
    kind, meta, api = raw.get("kind"), raw.get("metadata"), raw.get("apiVersion")
    info = KINDS.get(kind) if isinstance(kind, str) else None
    name = meta.get("name") if is_mapping(meta) else None
    if info is None or not isinstance(api, str) or split_api_version(api)[0] != info.group:
        return None
    if not isinstance(name, str) or not name:
        return None
    if not info.namespaced:
        return f"{kind}/{name}"
    namespace = meta.get("namespace") if is_mapping(meta) else None
    return f"{kind}/{namespace if isinstance(namespace, str) and namespace else 'default'}/{name}"


def split_api_version(api_version: str) -> tuple[str, str]:
    """``metallb.io/v1beta1`` -> (``metallb.io``, ``v1beta1``); ``v1`` -> (``""``, ``v1``)."""
    group, _, version = api_version.rpartition("/")
    return group, version


def read_document(source: str, raw: object, sink: list[FieldError]) -> tuple[Doc, Errors] | None:
    """Identify one document; None when it is broken or not ours (problems recorded)."""
    if not is_mapping(raw):
        sink.append(FieldError(source, "", f"document must be an object, not {type_name(raw)}"))
        return None
    kind, api_version = raw.get("kind"), raw.get("apiVersion")
    missing = [k for k, v in (("apiVersion", api_version), ("kind", kind)) if not v]
    for key in missing:
        sink.append(FieldError(source, key, "is required"))
    if missing:
        return None
    if not isinstance(kind, str) or not isinstance(api_version, str):
        sink.append(FieldError(source, "", "kind and apiVersion must be strings"))
        return None
    group, version = split_api_version(api_version)
    info = KINDS.get(kind)
    if info is None or info.group != group:
        sink.append(
            FieldError(
                source,
                "",
                f"{kind} ({api_version}) is not a kind we read; ignored",
                Severity.WARNING,
            )
        )
        return None
    meta = raw.get("metadata")
    name = meta.get("name") if is_mapping(meta) else None
    namespace = meta.get("namespace") if is_mapping(meta) else None
    if not isinstance(name, str) or not name:
        sink.append(FieldError(f"{kind}/<{source}>", "metadata.name", "is required"))
        return None
    if not isinstance(namespace, str) or not namespace:
        # kubectl puts namespaced core objects without a namespace into "default".
        namespace = "default" if info.namespaced else ""
    ref = f"{kind}/{namespace}/{name}" if info.namespaced else f"{kind}/{name}"
    errs = Errors(ref, sink)
    check_name(errs, "metadata.name", name, limit=info.name_limit)
    if info.namespaced:
        check_name(errs, "metadata.namespace", namespace, limit=SHORT_NAME)
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    if is_mapping(meta):
        metadata = Fields(errs, meta, "metadata")
        labels = label_map(metadata, "labels")
        annotations = metadata.string_map("annotations")
    created = meta.get("creationTimestamp") if is_mapping(meta) else None
    doc = Doc(
        source,
        kind,
        group,
        version,
        name,
        namespace,
        ref,
        raw,
        labels,
        annotations,
        created=str(created) if created else None,
    )
    return doc, errs


def spec_of(doc: Doc, errs: Errors, *, required: bool = True) -> Fields | None:
    """The ``spec`` mapping; an absent spec reads as empty unless ``required``."""
    spec = Fields(errs, doc.raw).obj("spec", required=required)
    if spec is None and not required:
        return Fields(errs, {}, "spec")
    return spec
