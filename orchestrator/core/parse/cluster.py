"""Cluster objects we only read: ``Node``, ``Namespace`` and ``EndpointSlice``.

* Node: its labels (node selectors), the ``NetworkUnavailable=True`` condition, which
  takes the node out of every announcement (MetalLB's ``nodeNetworkUnavailable``), and its
  ``InternalIP`` addresses (the BGP router ID when no peer sets one; unparsable ones are
  skipped: the kubelet writes them, not the user).
  A Node without the label ``kubernetes.io/hostname`` gets it with its own name: the
  kubelet always sets it (to the node name unless overridden), sessions of a
  MetalLoadBalancerBGPPeer's ``sourceAddresses`` select nodes by it, and hand-written Node
  manifests (files, the lab) usually leave it out.
* Namespace: its labels, against which IPAddressPool ``namespaceSelectors`` are resolved.
* EndpointSlice: which Service it belongs to (label ``kubernetes.io/service-name``), and
  per endpoint its addresses, node and ``ready``/``serving`` conditions. An absent condition
  stays None: for EndpointSlices, "unknown" counts as ready. A slice without the label is
  not a Service's slice (mirrored or hand-made) and is skipped with a warning.

These objects are kept as far as they could be read: a node with a malformed label is
still a node. Problems are still reported (and fail ``mlb validate``).
"""

from __future__ import annotations

from ipaddress import ip_address

from orchestrator.core.model.cluster import Endpoint, EndpointSlice, IPAddress, Namespace, Node
from orchestrator.core.model.errors import Errors
from orchestrator.core.parse.documents import Doc
from orchestrator.core.parse.fields import Fields, as_fields, is_mapping

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
HOSTNAME_LABEL = "kubernetes.io/hostname"


def parse_node(doc: Doc) -> Node:
    unavailable = False
    status = doc.raw.get("status")
    conditions = status.get("conditions") if is_mapping(status) else None
    for cond in conditions if isinstance(conditions, list) else []:
        if (
            is_mapping(cond)
            and cond.get("type") == "NetworkUnavailable"
            and cond.get("status") == "True"
        ):
            unavailable = True
    internal: list[IPAddress] = []
    addresses = status.get("addresses") if is_mapping(status) else None
    for entry in addresses if isinstance(addresses, list) else []:
        if is_mapping(entry) and entry.get("type") == "InternalIP":
            try:
                internal.append(ip_address(str(entry.get("address"))))
            except ValueError:
                continue
    labels = dict(doc.labels)
    labels.setdefault(HOSTNAME_LABEL, doc.name)
    return Node(
        name=doc.name,
        labels=labels,
        network_unavailable=unavailable,
        internal_ips=tuple(internal),
    )


def parse_namespace(doc: Doc) -> Namespace:
    return Namespace(name=doc.name, labels=dict(doc.labels))


def parse_endpoint_slice(doc: Doc, errs: Errors) -> EndpointSlice | None:
    service = doc.labels.get(SERVICE_NAME_LABEL)
    if not service:
        errs.warn("metadata.labels", f"no {SERVICE_NAME_LABEL} label; slice ignored")
        return None
    endpoints: list[Endpoint] = []
    for path, raw in Fields(errs, doc.raw).elements("endpoints"):
        ep = as_fields(errs, path, raw)
        if ep is None:
            continue
        conditions = ep.obj("conditions") or Fields(errs, {}, ep.at("conditions"))
        endpoints.append(
            Endpoint(
                addresses=tuple(a for _, a in ep.texts("addresses", unique=False)),
                node_name=ep.text("nodeName"),
                ready=conditions.maybe_flag("ready"),
                serving=conditions.maybe_flag("serving"),
            )
        )
    return EndpointSlice(
        namespace=doc.namespace, name=doc.name, service_name=service, endpoints=tuple(endpoints)
    )
