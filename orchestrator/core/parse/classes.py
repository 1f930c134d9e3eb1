"""Deckhouse ``MetalLoadBalancerClass`` (network.deckhouse.io/v1alpha1, cluster-scoped).

One class yields two model objects, as the Deckhouse module renders an IPAddressPool and an
L2Advertisement per class: an ``L2Class`` (default flag, interfaces, node selector,
tolerations) and an ``AddressPool`` of kind CLASS with the same name, protocol layer2,
``autoAssign: true``. Both share one error accumulator, so a bad range drops the class and
its pool together.

``spec.type`` is ``L2`` (the only type the CRD has ever allowed; also the default).
``spec.nodeSelector`` is an exact-match label map, not a LabelSelector.
``spec.tolerations`` appears in some CRD versions only; it is accepted and passed through.
Whether at most one class is the default is a cross-object rule (``crosscheck``).

``L2LoadBalancer`` (network.deckhouse.io/v1alpha1, cluster-scoped) is the deprecated
predecessor from Deckhouse's ``381-l2-load-balancer`` module: ``spec.addressPool[]`` and
``spec.nodeSelector``, chosen by a Service with the annotation
``network.deckhouse.io/l2-load-balancer-name``. It is read as a class of its name that is
never the default (a warning says it is deprecated); classes and L2LoadBalancers share one
namespace of names, as their pools do.
"""

from __future__ import annotations

from orchestrator.core.model.cluster import AddressPool, L2Class, PoolKind, Protocol
from orchestrator.core.parse.advertisements import interfaces
from orchestrator.core.parse.documents import Doc
from orchestrator.core.parse.drafts import Draft, Item, PoolItem
from orchestrator.core.parse.fields import Fields
from orchestrator.core.parse.labels import label_map, tolerations
from orchestrator.core.parse.pools import pool_entries


def parse_class(doc: Doc, spec: Fields, draft: Draft) -> None:
    spec.only(("isDefault", "type", "l2", "addressPool", "nodeSelector", "tolerations"))
    kind = spec.text("type") or "L2"
    if kind != "L2":
        spec.errs.add(spec.at("type"), f'"{kind}" is not supported; the only type is L2')
    l2 = spec.obj("l2")
    ifaces: tuple[str, ...] = ()
    if l2 is not None:
        l2.only(("interfaces",))
        ifaces = interfaces(l2, "interfaces")
    entries = pool_entries(spec.errs, spec.texts("addressPool", required=True))
    cls = L2Class(
        name=doc.name,
        is_default=spec.flag("isDefault"),
        pool=doc.name,
        interfaces=ifaces,
        node_selector=label_map(spec, "nodeSelector"),
        tolerations=tolerations(spec, "tolerations"),
    )
    pool = AddressPool(
        name=doc.name,
        kind=PoolKind.CLASS,
        cidrs=tuple(c for _, e in entries for c in e.cidrs),
        labels=dict(doc.labels),
        protocol=Protocol.LAYER2,
        class_name=doc.name,
    )
    draft.classes.append(Item(cls, spec.errs, doc.source, doc.ref))
    draft.pools.append(
        PoolItem(pool, spec.errs, doc.source, doc.ref, entries=entries, selectable=False)
    )


def parse_l2_load_balancer(doc: Doc, spec: Fields, draft: Draft) -> None:
    spec.only(("addressPool", "nodeSelector"))
    spec.errs.warn("", "L2LoadBalancer is deprecated; use a MetalLoadBalancerClass")
    draft.produced.setdefault(doc.ref, []).append(f"L2Class/{doc.name}")
    entries = pool_entries(spec.errs, spec.texts("addressPool", required=True))
    cls = L2Class(
        name=doc.name,
        is_default=False,
        pool=doc.name,
        node_selector=label_map(spec, "nodeSelector"),
    )
    pool = AddressPool(
        name=doc.name,
        kind=PoolKind.CLASS,
        cidrs=tuple(c for _, e in entries for c in e.cidrs),
        labels=dict(doc.labels),
        protocol=Protocol.LAYER2,
        class_name=doc.name,
    )
    draft.classes.append(Item(cls, spec.errs, doc.source, doc.ref))
    draft.pools.append(
        PoolItem(pool, spec.errs, doc.source, doc.ref, entries=entries, selectable=False)
    )
