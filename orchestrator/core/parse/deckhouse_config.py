"""``MetalLoadBalancerConfiguration``: sessions and announcements, as MetalLB objects.

Deckhouse's hook (``discovery_bgp``) renders each configuration with ``mode: BGP`` into
MetalLB BGPPeers and BGPAdvertisements; we build the same model objects, so allocation, BGP
intent and both backends see nothing new. For every name in ``spec.bgp.peerNames`` (a
MetalLoadBalancerBGPPeer):

* one BGPPeer ``<peer>-node-<node>`` per ``sourceAddresses[]`` entry, on that node only
  (``kubernetes.io/hostname``), with that entry's address as the session source; the same
  for every configuration naming the peer, so it is made once;
* one BGPPeer ``<peer>-<configuration>`` on the configuration's nodes (``spec.nodeSelector``,
  all nodes when empty) except the nodes listed in ``sourceAddresses``, with no source
  address.

So every selected node opens one session per peer, from its own source address where one is
given. For ``spec.advertisements[i]`` one BGPAdvertisement ``<configuration>-adv-<i>``:
``poolNames`` (required), ``bgp.communities`` (``A:B``, ``no-export``, ``no-advertise``,
``local-as``; ``none`` adds nothing), ``bgp.localPref``, ``bgp.aggregationLength`` (the
IPv4 aggregation, 1..32, default 32), on the configuration's nodes. Where Deckhouse's
template leaves ``peers`` out (its advertisements reach every session of their nodes), ours
go to this configuration's own sessions: the peers it names, as the hook computes them. A
configuration without peers therefore announces nothing (a warning says so).

A peer name or pool name that does not exist is an error on the configuration; each
generated object reports as the configuration at its own path and depends on the peer it
came from, so a broken peer or configuration takes its sessions out with it.
"""

from __future__ import annotations

import re
from dataclasses import replace

from orchestrator.core.model.cluster import BGPAdvertisement, BGPPeer, Community
from orchestrator.core.model.errors import Errors, quote
from orchestrator.core.model.selectors import LabelSelector, Operator, Requirement
from orchestrator.core.parse.cluster import HOSTNAME_LABEL
from orchestrator.core.parse.communities import CommunityError, parse_value
from orchestrator.core.parse.deckhouse_peers import DeckhousePeer
from orchestrator.core.parse.documents import Doc
from orchestrator.core.parse.drafts import Draft, Item
from orchestrator.core.parse.fields import Fields, as_fields
from orchestrator.core.parse.labels import label_map
from orchestrator.core.parse.names import LONG_NAME
from orchestrator.core.parse.peers import ASN_MAX

COMMUNITY_RE = re.compile(r"[0-9]+:[0-9]+|no-export|no-advertise|local-as|none")
MODES = ("BGP",)


def parse_mlb_configuration(doc: Doc, spec: Fields, draft: Draft) -> None:
    spec.only(("mode", "nodeSelector", "bgp", "advertisements"))
    errs = spec.errs
    mode = spec.text("mode", required=True)
    if mode is not None and mode not in MODES:
        errs.add(spec.at("mode"), f"{quote(mode)} is not supported; the only mode is BGP")
    nodes = label_map(spec, "nodeSelector")
    bgp = spec.obj("bgp")
    names: list[tuple[str, str]] = []
    if bgp is not None:
        bgp.only(("peerNames",))
        names = bgp.texts("peerNames")
    known = {i.value.name: i for i in draft.deckhouse_peers}
    sessions: list[str] = []
    for path, name in names:
        item = known.get(name)
        if item is None:
            errs.add(path, f"names MetalLoadBalancerBGPPeer {quote(name)}, which does not exist")
            continue
        made = _sessions(doc, draft, item, errs=errs, nodes=nodes, path=path)
        sessions += made
        for ref in (doc.ref, item.desc):
            draft.produced.setdefault(ref, []).extend(f"BGPPeer/{n}" for n in made)
    ads = spec.elements("advertisements")
    if ads and not sessions:
        errs.warn(spec.at("bgp.peerNames"), "no peers: the advertisements reach no router")
        return
    for i, (path, raw) in enumerate(ads):
        ad = _advertisement(errs, f"{doc.name}-adv-{i}", path, raw, nodes=nodes)
        if ad is not None:
            ad = replace(ad, peers=tuple(sorted(sessions)))
            desc = f"BGPAdvertisement {ad.name} of {doc.ref}"
            draft.bgp_ads.append(Item(ad, errs, doc.source, desc, path))
            draft.produced.setdefault(doc.ref, []).append(f"BGPAdvertisement/{ad.name}")


def _sessions(
    doc: Doc,
    draft: Draft,
    item: Item[DeckhousePeer],
    *,
    errs: Errors,
    nodes: dict[str, str],
    path: str,
) -> list[str]:
    """Add the BGPPeers of one named peer; return their names."""
    dh = item.value
    base = BGPPeer(
        name="",
        my_asn=dh.my_asn,
        peer_asn=dh.peer_asn,
        peer_address=dh.peer_address,
        peer_port=dh.peer_port,
        hold_time=dh.hold_time,
        keepalive_time=dh.keepalive_time,
        router_id=dh.router_id,
        password=dh.password,
        bfd_profile=dh.bfd_profile,
    )
    out: list[str] = []
    existing = {p.value.name: p.value for p in draft.peers}
    for source in dh.sources:
        name = f"{dh.name}-node-{source.node}"
        out.append(name)
        peer = replace(
            base,
            name=name,
            source_address=source.address,
            node_selectors=(LabelSelector({HOSTNAME_LABEL: source.node}),),
        )
        if existing.get(name) == peer:
            continue  # another configuration named this peer too: one session per node
        if len(name) > LONG_NAME:
            item.errs.add(f"{source.path}.nodeName", f"BGPPeer name {name} is too long")
            continue
        desc = f"BGPPeer {name} of {item.desc}"
        draft.peers.append(Item(peer, item.errs, doc.source, desc, path=source.path, deps=(errs,)))
    name = f"{dh.name}-{doc.name}"
    if len(name) > LONG_NAME:
        errs.add(path, f"BGPPeer name {name} is longer than {LONG_NAME} characters")
        return out
    explicit = tuple(sorted(s.node for s in dh.sources))
    selectors: tuple[LabelSelector, ...] = ()
    if nodes or explicit:
        rest = (Requirement(HOSTNAME_LABEL, Operator.NOT_IN, explicit),) if explicit else ()
        selectors = (LabelSelector(dict(nodes), rest),)
    peer = replace(base, name=name, node_selectors=selectors)
    desc = f"BGPPeer {name} of {doc.ref}"
    draft.peers.append(Item(peer, errs, doc.source, desc, path=path, deps=(item.errs,)))
    out.append(name)
    return out


def _advertisement(
    errs: Errors, name: str, path: str, raw: object, *, nodes: dict[str, str]
) -> BGPAdvertisement | None:
    a = as_fields(errs, path, raw)
    if a is None:
        return None
    a.only(("poolNames", "bgp"))
    pools = tuple(name for _, name in a.texts("poolNames", required=True))
    aggregation = 32
    local_pref: int | None = None
    communities: tuple[Community, ...] = ()
    bgp = a.obj("bgp")
    if bgp is not None:
        bgp.only(("communities", "localPref", "aggregationLength"))
        length = bgp.number("aggregationLength", lo=0, hi=128)
        if length is not None and not 1 <= length <= 32:
            errs.add(
                bgp.at("aggregationLength"),
                f"{length} is not an IPv4 aggregation length (1..32); IPv6 prefixes stay /128",
            )
        elif length is not None:
            aggregation = length
        local_pref = bgp.number("localPref", lo=0, hi=ASN_MAX) or None
        communities = _communities(bgp)
    return BGPAdvertisement(
        name=name,
        pools=pools,
        aggregation_length=aggregation,
        local_pref=local_pref,
        communities=communities,
        node_selectors=(LabelSelector(dict(nodes)),) if nodes else (),
    )


def _communities(bgp: Fields) -> tuple[Community, ...]:
    found: set[Community] = set()
    for path, text in bgp.texts("communities"):
        if not COMMUNITY_RE.fullmatch(text):
            bgp.errs.add(
                path, f"{quote(text)} is not A:B, no-export, no-advertise, local-as or none"
            )
            continue
        if text == "none":
            continue
        try:
            found.add(parse_value(text))
        except CommunityError as e:
            bgp.errs.add(path, str(e))
    return tuple(sorted(found))
