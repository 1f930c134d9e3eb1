"""Address pools: MetalLB ``IPAddressPool`` and the legacy ``AddressPool``.

Both produce an ``AddressPool`` whose CIDRs are the summarized entries in spec order (the
allocator walks them in that order). The entries themselves, with their paths, stay on the
``PoolItem`` so that the cross-object checks can say which entry overlaps which.

The legacy ``AddressPool`` (``metallb.io``, the form the OpenShift/OKD MetalLB Operator and
MetalLB before 0.13 used) carries its protocol. It implies its advertisements, as MetalLB's
conversion did: a ``layer2`` pool gets an L2Advertisement named ``addresspool-<pool>`` for
all nodes and interfaces; a ``bgp`` pool gets one BGPAdvertisement per
``spec.bgpAdvertisements[]`` entry, named ``addresspool-<pool>-<i>``, or a single default one
(``addresspool-<pool>-0``: aggregation 32/128, all peers, all nodes) when the list is empty.
"""

from __future__ import annotations

from orchestrator.core.model.addresses import AddressError, PoolEntry, parse_entry
from orchestrator.core.model.cluster import (
    AddressPool,
    BGPAdvertisement,
    L2Advertisement,
    PoolKind,
    Protocol,
    ServiceAllocation,
)
from orchestrator.core.model.errors import Errors, quote
from orchestrator.core.parse.advertisements import bgp_attributes
from orchestrator.core.parse.documents import Doc
from orchestrator.core.parse.drafts import Draft, Item, PoolItem
from orchestrator.core.parse.fields import Fields, as_fields
from orchestrator.core.parse.labels import selector_list
from orchestrator.core.parse.names import SHORT_NAME, check_name

_PRIORITY_MAX = 2**31 - 1


def pool_entries(errs: Errors, items: list[tuple[str, str]]) -> list[tuple[str, PoolEntry]]:
    """Parse address entries; bad ones become errors at their path, notes become warnings."""
    out: list[tuple[str, PoolEntry]] = []
    for path, text in items:
        try:
            entry = parse_entry(text)
        except AddressError as e:
            errs.add(path, str(e))
            continue
        if entry.note:
            errs.warn(path, entry.note)
        out.append((path, entry))
    return out


def service_allocation(spec: Fields) -> ServiceAllocation | None:
    sa = spec.obj("serviceAllocation")
    if sa is None:
        return None
    sa.only(("priority", "namespaces", "namespaceSelectors", "serviceSelectors"))
    namespaces = sa.texts("namespaces")
    for path, ns in namespaces:
        check_name(sa.errs, path, ns, limit=SHORT_NAME)
    return ServiceAllocation(
        priority=sa.number("priority", lo=0, hi=_PRIORITY_MAX) or 0,
        namespaces=frozenset(ns for _, ns in namespaces),
        namespace_selectors=selector_list(sa, "namespaceSelectors"),
        service_selectors=selector_list(sa, "serviceSelectors"),
    )


def parse_ip_address_pool(doc: Doc, spec: Fields, draft: Draft) -> None:
    spec.only(("addresses", "autoAssign", "avoidBuggyIPs", "serviceAllocation"))
    entries = pool_entries(spec.errs, spec.texts("addresses", required=True))
    pool = AddressPool(
        name=doc.name,
        kind=PoolKind.IPADDRESSPOOL,
        cidrs=tuple(c for _, e in entries for c in e.cidrs),
        auto_assign=spec.flag("autoAssign", True),
        avoid_buggy_ips=spec.flag("avoidBuggyIPs", False),
        allocation=service_allocation(spec),
        labels=dict(doc.labels),
    )
    draft.pools.append(PoolItem(pool, spec.errs, doc.source, doc.ref, entries=entries))


def parse_legacy_address_pool(doc: Doc, spec: Fields, draft: Draft) -> None:
    spec.only(("protocol", "addresses", "autoAssign", "avoidBuggyIPs", "bgpAdvertisements"))
    errs = spec.errs
    protocol: Protocol | None = None
    text = spec.text("protocol", required=True)
    if text is not None:
        try:
            protocol = Protocol(text)
        except ValueError:
            errs.add(spec.at("protocol"), f"{quote(text)} is not layer2 or bgp")
    entries = pool_entries(errs, spec.texts("addresses", required=True))
    pool = AddressPool(
        name=doc.name,
        kind=PoolKind.ADDRESSPOOL,
        cidrs=tuple(c for _, e in entries for c in e.cidrs),
        auto_assign=spec.flag("autoAssign", True),
        avoid_buggy_ips=spec.flag("avoidBuggyIPs", False),
        labels=dict(doc.labels),
        protocol=protocol,
    )
    draft.pools.append(PoolItem(pool, errs, doc.source, doc.ref, entries=entries))
    implied = f"implied by {doc.ref}"
    ads = spec.elements("bgpAdvertisements")
    if protocol is Protocol.LAYER2:
        if ads:
            errs.add(spec.at("bgpAdvertisements"), "is only allowed with protocol bgp")
        ad = L2Advertisement(name=f"addresspool-{doc.name}", pools=(doc.name,))
        desc = f"L2Advertisement {ad.name} {implied}"
        draft.l2_ads.append(Item(ad, errs, doc.source, desc, path=spec.base))
    elif protocol is Protocol.BGP:
        bodies: list[tuple[str, Fields | None]] = [(p, as_fields(errs, p, raw)) for p, raw in ads]
        for i, (path, body) in enumerate(bodies or [(spec.base, None)]):
            name = f"addresspool-{doc.name}-{i}"
            bgp = BGPAdvertisement(name=name, pools=(doc.name,))
            if body is not None:
                body.only(("aggregationLength", "aggregationLengthV6", "localPref", "communities"))
                bgp = bgp_attributes(body, draft.aliases, bgp)
            desc = f"BGPAdvertisement {name} {implied}"
            draft.bgp_ads.append(Item(bgp, errs, doc.source, desc, path=path))
