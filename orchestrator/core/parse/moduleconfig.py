"""Deckhouse ``ModuleConfig`` named ``metallb`` (deckhouse.io/v1alpha1), settings versions 1-3.

What we read from ``spec.settings`` and what it becomes:

* ``loadBalancerClass`` -> ``ClusterConfig.load_balancer_class``;
  ``speaker.nodeSelector`` -> ``ClusterConfig.speaker_node_selector`` (the nodes that run a
  speaker at all: L2 and BGP). The controller's ``nodeSelector``/``tolerations`` and
  ``speaker.tolerations`` are validated only.
* ``bgpPeers[i]`` -> ``BGPPeer`` named ``mc-peer-<i>`` (the index in the list). Keys are
  the kebab-case ones of the module (``peer-address``, ``peer-asn``, ``my-asn``,
  ``peer-port`` default 179, ``hold-time`` as seconds or a duration, keepalive = hold/3,
  ``source-address``, ``router-id``, ``node-selector``, ``password``).
* ``addressPools[i]`` with ``protocol: bgp`` -> ``AddressPool`` (kind MODULECONFIG, the
  pool's own name) plus one ``BGPAdvertisement`` per ``bgp-advertisements[j]``, named
  ``mc-<pool>-<j>``, or a default one (``mc-<pool>-0``: aggregation 32, all peers and
  nodes) when the list is empty. ``communities`` there are keys of ``bgpCommunities``.
* ``addressPools[i]`` with ``protocol: layer2``: Deckhouse's conversion to version 2 drops
  them, and its migration hook (which runs while the version is 1) turns them into one
  MetalLoadBalancerClass ``l2-default`` (all pools' addresses, ``speaker.nodeSelector``)
  **only when no pool is a bgp pool**. So in version 1 without bgp pools they become that
  class (``snapshot.settle_migrations``); otherwise, and in versions 2 and 3, they are
  ignored with a warning. Version 1 also turns user L2Advertisements into classes
  (``migration``).

Version 3 (``x-config-version: 3``) moves BGP to the MetalLoadBalancerPool,
MetalLoadBalancerBGPPeer and MetalLoadBalancerConfiguration kinds; Deckhouse's conversion
from version 2 deletes ``bgpPeers``, ``bgpCommunities`` and ``addressPools``. In a version-3
ModuleConfig they are deprecated (empty by default) and, when present, still honoured with a
warning; so is ``speaker`` (moved to MetalLoadBalancerConfiguration ``nodeSelector``).
``mlb migrate`` prints the objects that replace them.

A missing ``spec.version`` means the newest version we know (3). Every generated object
gets its own error accumulator reporting as ``ModuleConfig/metallb`` at its own path, so one
bad pool drops only that pool. ModuleConfigs for other modules are ignored silently.
"""

from __future__ import annotations

from collections.abc import Mapping

from orchestrator.core.model.cluster import (
    AddressPool,
    BGPAdvertisement,
    BGPPeer,
    Community,
    L2Class,
    PoolKind,
    Protocol,
    Secret,
)
from orchestrator.core.model.errors import Errors, quote
from orchestrator.core.parse.communities import CommunityError, parse_value
from orchestrator.core.parse.documents import Doc
from orchestrator.core.parse.drafts import Draft, Item, PoolItem
from orchestrator.core.parse.durations import DurationError, seconds_of
from orchestrator.core.parse.fields import Fields, as_fields, as_str
from orchestrator.core.parse.labels import label_key_problem, label_map, label_selector, tolerations
from orchestrator.core.parse.names import check_name, check_password
from orchestrator.core.parse.peers import ASN_MAX, PORT_MAX, ip_field, router_id_field, timers
from orchestrator.core.parse.pools import pool_entries

MODULE = "metallb"
LATEST_VERSION = 3
VERSIONS = (1, 2, 3)
DEFAULT_CLASS = "l2-default"
#: Settings that version 3 deprecates (Deckhouse's v2->v3 conversion deletes the BGP ones).
V3_DEPRECATED = {
    "bgpPeers": "use MetalLoadBalancerBGPPeer (mlb migrate prints them)",
    "addressPools": "use MetalLoadBalancerPool and MetalLoadBalancerConfiguration "
    "(mlb migrate prints them)",
    "bgpCommunities": "write communities into MetalLoadBalancerConfiguration advertisements",
    "speaker": "use MetalLoadBalancerConfiguration spec.nodeSelector",
}


def parse_module_config(doc: Doc, spec: Fields, draft: Draft) -> None:
    if doc.name != MODULE:
        return
    spec.only(("version", "enabled", "settings"))
    version = spec.number("version", lo=0, hi=2**31 - 1)
    if version is None:
        version = LATEST_VERSION
    elif version not in VERSIONS:
        spec.errs.add(
            spec.at("version"), f"settings version {version} is not supported (1, 2 or 3)"
        )
        return
    draft.module_version = version
    settings = spec.obj("settings") or Fields(spec.errs, {}, spec.at("settings"))
    settings.only(
        (
            "loadBalancerClass",
            "speaker",
            "nodeSelector",
            "tolerations",
            "bgpPeers",
            "addressPools",
            "bgpCommunities",
        )
    )
    if version == 3:
        for key, instead in V3_DEPRECATED.items():
            if settings.get(key) not in (None, [], {}):
                settings.errs.warn(
                    settings.at(key), f"is deprecated in settings version 3 (honoured); {instead}"
                )
    lb_class = settings.text("loadBalancerClass")
    if lb_class is not None and (problem := label_key_problem(lb_class)):
        spec.errs.add(settings.at("loadBalancerClass"), problem.replace("label key", "class name"))
        lb_class = None
    draft.load_balancer_class = lb_class
    label_map(settings, "nodeSelector")
    tolerations(settings, "tolerations")
    speaker = settings.obj("speaker")
    speaker_tolerations: tuple[Mapping[str, object], ...] = ()
    if speaker is not None:
        speaker.only(("nodeSelector", "tolerations"))
        draft.speaker_node_selector = label_map(speaker, "nodeSelector")
        speaker_tolerations = tolerations(speaker, "tolerations")

    communities = _communities(settings)
    for i, (path, raw) in enumerate(settings.elements("bgpPeers")):
        _peer(doc, draft, i, path, raw)
    pools = settings.elements("addressPools")
    has_bgp = any(isinstance(raw, dict) and raw.get("protocol") == "bgp" for _, raw in pools)
    l2_entries: list[tuple[str, str]] = []
    for path, raw in pools:
        l2_entries += _pool(
            doc, draft, path, raw, communities, keep_l2=version == 1 and not has_bgp
        )
    if l2_entries:
        errs = Errors(doc.ref, draft.sink)
        entries = pool_entries(errs, l2_entries)
        cls = L2Class(
            name=DEFAULT_CLASS,
            is_default=True,  # settled once every MetalLoadBalancerClass is known
            pool=DEFAULT_CLASS,
            node_selector=dict(draft.speaker_node_selector),
            tolerations=speaker_tolerations,
        )
        pool = AddressPool(
            name=DEFAULT_CLASS,
            kind=PoolKind.CLASS,
            cidrs=tuple(c for _, e in entries for c in e.cidrs),
            protocol=Protocol.LAYER2,
            class_name=DEFAULT_CLASS,
        )
        desc = f"MetalLoadBalancerClass {DEFAULT_CLASS} of {doc.ref}"
        path = settings.at("addressPools")
        draft.pending_default_class = (
            Item(cls, errs, doc.source, desc, path=path),
            PoolItem(pool, errs, doc.source, desc, path=path, entries=entries, selectable=False),
        )


def _communities(settings: Fields) -> dict[str, Community]:
    """``bgpCommunities``: alias -> community; only ModuleConfig advertisements use them."""
    table = settings.obj("bgpCommunities")
    out: dict[str, Community] = {}
    if table is None:
        return out
    for key, value in table.raw.items():
        path = f"{table.base}[{key}]"
        text = as_str(table.errs, path, value)
        if text is None:
            continue
        try:
            out[str(key)] = parse_value(text)
        except CommunityError as e:
            table.errs.add(path, str(e))
    return out


def _peer(doc: Doc, draft: Draft, i: int, path: str, raw: object) -> None:
    errs = Errors(doc.ref, draft.sink)
    p = as_fields(errs, path, raw)
    if p is None:
        return
    p.only(
        (
            "peer-address",
            "peer-asn",
            "my-asn",
            "peer-port",
            "hold-time",
            "source-address",
            "router-id",
            "node-selector",
            "password",
        )
    )
    hold: float | None = None
    if p.has("hold-time"):
        try:
            hold = seconds_of(p.get("hold-time"))
        except DurationError as e:
            errs.add(p.at("hold-time"), str(e))
    hold, keepalive = timers(errs, (p.at("hold-time"), hold), (p.at("hold-time"), None))
    selector = None
    if p.has("node-selector"):
        selector = label_selector(errs, p.at("node-selector"), p.get("node-selector"))
    password = p.text("password")
    secret = None
    if password is not None and check_password(errs, p.at("password"), password):
        secret = Secret(password)
    my_asn = p.number("my-asn", lo=1, hi=ASN_MAX, required=True)
    name = f"mc-peer-{i}"
    peer = BGPPeer(
        name=name,
        my_asn=my_asn or 0,
        peer_asn=p.number("peer-asn", lo=1, hi=ASN_MAX, required=True),
        peer_address=ip_field(p, "peer-address"),
        source_address=ip_field(p, "source-address"),
        peer_port=p.number("peer-port", lo=0, hi=PORT_MAX) or 179,
        hold_time=hold,
        keepalive_time=keepalive,
        router_id=router_id_field(p, "router-id"),
        node_selectors=(selector,) if selector is not None else (),
        password=secret,
    )
    if not p.has("peer-address"):
        errs.add(p.at("peer-address"), "is required")
    draft.peers.append(Item(peer, errs, doc.source, f"BGPPeer {name} of {doc.ref}", path=path))


def _pool(
    doc: Doc,
    draft: Draft,
    path: str,
    raw: object,
    communities: dict[str, Community],
    *,
    keep_l2: bool,
) -> list[tuple[str, str]]:
    """Register a bgp pool; return a layer2 pool's (path, address) entries for l2-default
    when ``keep_l2`` (version 1 without bgp pools), else drop it with a warning."""
    errs = Errors(doc.ref, draft.sink)
    p = as_fields(errs, path, raw)
    if p is None:
        return []
    p.only(
        ("name", "protocol", "addresses", "auto-assign", "avoid-buggy-ips", "bgp-advertisements")
    )
    protocol = p.text("protocol", required=True)
    if protocol == "layer2":
        if not keep_l2:
            errs.warn(
                path,
                "layer2 pool ignored: Deckhouse drops layer2 pools from settings version 2 on, "
                "and makes the class l2-default of them only while no pool is a bgp pool; "
                "use a MetalLoadBalancerClass",
            )
            return []
        return p.texts("addresses", required=True)
    if protocol is not None and protocol != "bgp":
        errs.add(p.at("protocol"), f"{quote(protocol)} is not bgp or layer2")
    name = p.text("name", required=True)
    if name is not None and not check_name(errs, p.at("name"), name):
        name = None
    entries = pool_entries(errs, p.texts("addresses", required=True))
    pool_name = name or f"<{path}>"
    pool = AddressPool(
        name=pool_name,
        kind=PoolKind.MODULECONFIG,
        cidrs=tuple(c for _, e in entries for c in e.cidrs),
        auto_assign=p.flag("auto-assign", True),
        avoid_buggy_ips=p.flag("avoid-buggy-ips", False),
        protocol=Protocol.BGP,
    )
    desc = f"pool {quote(pool_name)} of {doc.ref}"
    draft.pools.append(PoolItem(pool, errs, doc.source, desc, path=path, entries=entries))
    ads = p.elements("bgp-advertisements")
    for j, (apath, araw) in enumerate(ads or [(path, None)]):
        ad_name = f"mc-{pool_name}-{j}"
        ad = BGPAdvertisement(name=ad_name, pools=(pool_name,))
        if araw is not None:
            ad = _advertisement(errs, apath, araw, communities, ad)
        ad_desc = f"BGPAdvertisement {ad_name} of {doc.ref}"
        draft.bgp_ads.append(Item(ad, errs, doc.source, ad_desc, path=apath))
    return []


def _advertisement(
    errs: Errors,
    path: str,
    raw: object,
    communities: dict[str, Community],
    ad: BGPAdvertisement,
) -> BGPAdvertisement:
    a = as_fields(errs, path, raw)
    if a is None:
        return ad
    a.only(("aggregation-length", "localpref", "communities"))
    agg = a.number("aggregation-length", lo=1, hi=32)
    found: set[Community] = set()
    for cpath, key in a.texts("communities"):
        if key in communities:
            found.add(communities[key])
        else:
            errs.add(cpath, f"unknown community alias {quote(key)} (not a key of bgpCommunities)")
    return BGPAdvertisement(
        name=ad.name,
        pools=ad.pools,
        aggregation_length=32 if agg is None else agg,
        local_pref=a.number("localpref", lo=0, hi=ASN_MAX) or None,
        communities=tuple(sorted(found)),
    )
