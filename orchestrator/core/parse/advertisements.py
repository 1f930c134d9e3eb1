"""``L2Advertisement`` and ``BGPAdvertisement`` (metallb.io/v1beta1).

Each is parsed on its own here; the rules that need other objects (the named pools and
peers exist, the aggregation length fits every selected pool, no two advertisements of a
pool disagree on localPref, no two are identical) live in ``crosscheck``.

Defaults follow the CRDs: aggregation 32 (IPv4) and 128 (IPv6); ``localPref: 0`` means "not
set" (None in the model); empty pool lists and selectors mean all pools, empty node
selectors all nodes, empty ``peers`` all BGPPeers, empty ``interfaces`` all interfaces.
Communities are resolved through the aliases of every Community CR, which are therefore
parsed first.
"""

from __future__ import annotations

from dataclasses import replace

from orchestrator.core.model.cluster import BGPAdvertisement, L2Advertisement
from orchestrator.core.parse.communities import Aliases, resolve_list
from orchestrator.core.parse.documents import Doc
from orchestrator.core.parse.drafts import Draft, Item
from orchestrator.core.parse.fields import Fields
from orchestrator.core.parse.labels import selector_list
from orchestrator.core.parse.names import check_interface

_ASN_MAX = 2**32 - 1

#: Fields of newer MetalLB versions that the model does not carry (yet).
_UNSUPPORTED_L2 = ("preferredNodeSelectors",)


def pool_names(spec: Fields, key: str = "ipAddressPools") -> tuple[str, ...]:
    return tuple(name for _, name in spec.texts(key))


def interfaces(spec: Fields, key: str) -> tuple[str, ...]:
    out = []
    for path, name in spec.texts(key):
        if check_interface(spec.errs, path, name):
            out.append(name)
    return tuple(out)


def parse_l2_advertisement(doc: Doc, spec: Fields, draft: Draft) -> None:
    for key in _UNSUPPORTED_L2:
        if spec.has(key):
            spec.errs.warn(spec.at(key), "is not supported yet and is ignored")
    spec.only(
        (
            "ipAddressPools",
            "ipAddressPoolSelectors",
            "nodeSelectors",
            "interfaces",
            "serviceSelectors",
            *_UNSUPPORTED_L2,
        )
    )
    ad = L2Advertisement(
        name=doc.name,
        pools=pool_names(spec),
        pool_selectors=selector_list(spec, "ipAddressPoolSelectors"),
        node_selectors=selector_list(spec, "nodeSelectors"),
        interfaces=interfaces(spec, "interfaces"),
        service_selectors=selector_list(spec, "serviceSelectors"),
    )
    item = Item(ad, spec.errs, doc.source, doc.ref)
    draft.l2_ads.append(item)
    draft.user_l2_ads.append((item, dict(doc.labels)))


def bgp_attributes(body: Fields, aliases: Aliases, base: BGPAdvertisement) -> BGPAdvertisement:
    """Aggregation lengths, localPref and communities: shared with the legacy AddressPool."""
    agg = body.number("aggregationLength", lo=1, hi=32)
    agg6 = body.number("aggregationLengthV6", lo=1, hi=128)
    local_pref = body.number("localPref", lo=0, hi=_ASN_MAX)
    return replace(
        base,
        aggregation_length=32 if agg is None else agg,
        aggregation_length_v6=128 if agg6 is None else agg6,
        local_pref=local_pref or None,
        communities=resolve_list(body, "communities", aliases),
    )


def parse_bgp_advertisement(doc: Doc, spec: Fields, draft: Draft) -> None:
    spec.only(
        (
            "aggregationLength",
            "aggregationLengthV6",
            "localPref",
            "communities",
            "ipAddressPools",
            "ipAddressPoolSelectors",
            "nodeSelectors",
            "peers",
            "serviceSelectors",
        )
    )
    ad = BGPAdvertisement(
        name=doc.name,
        pools=pool_names(spec),
        pool_selectors=selector_list(spec, "ipAddressPoolSelectors"),
        node_selectors=selector_list(spec, "nodeSelectors"),
        peers=tuple(name for _, name in spec.texts("peers")),
        service_selectors=selector_list(spec, "serviceSelectors"),
    )
    ad = bgp_attributes(spec, draft.aliases, ad)
    if ad.service_selectors:
        # MetalLB's CEL rule: with service selectors, only /32 and /128 make sense, because
        # an aggregate would also cover Services the selector did not pick.
        if ad.aggregation_length != 32:
            spec.errs.add(spec.at("aggregationLength"), "must be 32 when serviceSelectors is set")
        if ad.aggregation_length_v6 != 128:
            spec.errs.add(
                spec.at("aggregationLengthV6"), "must be 128 when serviceSelectors is set"
            )
    draft.bgp_ads.append(Item(ad, spec.errs, doc.source, doc.ref))
