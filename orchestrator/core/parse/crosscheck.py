"""Rules that involve more than one object. Each error names every object involved.

Run once every config object has been parsed on its own. An error is added to the
accumulator of each object at fault, which keeps that object out of ``ClusterConfig``:

1. names are unique per kind: pools across all pool kinds (they share one namespace, the
   ``ClusterConfig.pools`` map), advertisements, peers, BFD profiles; both holders of a
   name are errors;
2. no CIDR of any pool overlaps another CIDR of any pool (MetalLB rejects the whole
   config for this); both pools are errors, or the one pool when it overlaps itself;
3. advertisements name pools and peers that exist (an invalid object still "exists": the
   reference is right, the target has its own error) and pools of a matching protocol;
4. an advertisement's aggregation length is not shorter than the shortest prefix of any
   entry of a pool it applies to (MetalLB's ``lowestMask`` rule: a /24 pool cannot be
   announced as a /16);
5. identical BGPAdvertisements (everything but the name) are duplicates: the later name is
   an error;
6. two BGPAdvertisements of one pool that reach the same peers from the same nodes with the
   same aggregation must not set different localPref (MetalLB's
   ``BGPAdvertisementsHaveCompatibleLocalPref``); both are errors;
7. a peer's ``bfdProfile`` names a valid BFDProfile;
8. two peers that can run on one node must not be the same session (address or interface
   and VRF), and peers sharing a node and VRF must share myASN: FRR and GoBGP run one BGP
   router per VRF with one ASN;
9. at most one valid MetalLoadBalancerClass is the default: the first by name stays
   default, the others are errors naming it. Runs last, so an otherwise broken class does
   not steal the default.

"Same node" uses the Nodes in the snapshot; with no Node objects at all (a directory of
config only), selectors overlap when either is empty (all nodes) or both share a selector.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from orchestrator.core.model.addresses import PoolEntry, find_overlaps
from orchestrator.core.model.cluster import BGPAdvertisement, IPNetwork, Node, Protocol
from orchestrator.core.model.errors import quote
from orchestrator.core.model.selectors import LabelSelector, any_matches
from orchestrator.core.parse.drafts import Draft, Item, PoolItem


def where(item: Item[Any], crd_path: str) -> str:
    """Where to report on an item: its field for a CRD, its own path for generated items."""
    return item.path or crd_path


def check_all(draft: Draft) -> None:
    unique_names(draft.pools, "metadata.name")
    unique_names(draft.l2_ads, "metadata.name")
    unique_names(draft.bgp_ads, "metadata.name")
    unique_names(draft.peers, "metadata.name")
    unique_names(draft.bfd_profiles, "metadata.name")
    pool_overlaps(draft.pools)
    references(draft)
    aggregation(draft)
    identical_advertisements(draft.bgp_ads)
    local_pref(draft)
    bfd_references(draft)
    peer_sessions(draft.peers, draft.nodes)
    default_class(draft)


def unique_names(items: Sequence[Item[Any]], crd_path: str) -> None:
    by_name: dict[str, list[Item[Any]]] = {}
    for item in items:
        by_name.setdefault(item.value.name, []).append(item)
    for name, group in by_name.items():
        for item in group if len(group) > 1 else ():
            others = ", ".join(f"{o.desc} ({o.source})" for o in group if o is not item)
            item.errs.add(where(item, crd_path), f"name {quote(name)} is also used by {others}")


def pool_overlaps(pools: Sequence[PoolItem]) -> None:
    nets: list[IPNetwork] = []
    owners: list[tuple[PoolItem, str, PoolEntry]] = []
    for item in pools:
        for path, entry in item.entries:
            for cidr in entry.cidrs:
                nets.append(cidr)
                owners.append((item, path, entry))
    reported: set[tuple[int, int]] = set()
    for i, j in find_overlaps(nets):
        (a, a_path, a_entry), (b, b_path, b_entry) = owners[i], owners[j]
        pair = (id(a_entry), id(b_entry))
        if a_entry is b_entry or pair in reported:
            continue
        reported.add(pair)
        if a is b:
            b.errs.add(b_path, f"{quote(b_entry.text)} overlaps {quote(a_entry.text)} ({a_path})")
            continue
        a.errs.add(a_path, f"{quote(a_entry.text)} overlaps {quote(b_entry.text)} of {b.desc}")
        b.errs.add(b_path, f"{quote(b_entry.text)} overlaps {quote(a_entry.text)} of {a.desc}")


def selected_pools(
    names: Iterable[str],
    selectors: Sequence[LabelSelector],
    pools: Sequence[PoolItem],
    protocol: Protocol,
) -> list[PoolItem]:
    """The pools an advertisement applies to: by name, by label, or all (when neither)."""
    named = set(names)
    if not named and not selectors:
        return [p for p in pools if p.selectable and p.value.protocol in (None, protocol)]
    return [
        p
        for p in pools
        if p.value.name in named
        or (
            p.selectable
            and p.value.protocol in (None, protocol)
            and any(s.matches(p.value.labels) for s in selectors)
        )
    ]


def references(draft: Draft) -> None:
    pools: dict[str, list[PoolItem]] = {}
    for p in draft.pools:
        pools.setdefault(p.value.name, []).append(p)
    peers = {p.value.name for p in draft.peers}
    checks: list[tuple[Item[Any], tuple[str, ...], Protocol]] = [
        (i, i.value.pools, Protocol.LAYER2) for i in draft.l2_ads
    ]
    checks += [(i, i.value.pools, Protocol.BGP) for i in draft.bgp_ads]
    for item, names, protocol in checks:
        path = where(item, "spec.ipAddressPools")
        for name in names:
            if name not in pools:
                item.errs.add(path, f"names pool {quote(name)}, which does not exist")
                continue
            for pool in pools[name]:
                if pool.value.protocol not in (None, protocol):
                    item.errs.add(path, f"names {pool.desc}, which is a {pool.value.protocol} pool")
    for item in draft.bgp_ads:
        for name in item.value.peers:
            if name not in peers:
                item.errs.add(
                    where(item, "spec.peers"), f"names BGPPeer {quote(name)}, which does not exist"
                )


def aggregation(draft: Draft) -> None:
    for item in draft.bgp_ads:
        ad = item.value
        for pool in selected_pools(ad.pools, ad.pool_selectors, draft.pools, Protocol.BGP):
            for _, entry in pool.entries:
                v4 = entry.cidrs[0].version == 4
                length = ad.aggregation_length if v4 else ad.aggregation_length_v6
                if length < entry.lowest_prefix:
                    key = "aggregationLength" if v4 else "aggregationLengthV6"
                    item.errs.add(
                        where(item, f"spec.{key}"),
                        f"prefix {quote(entry.text)} (/{entry.lowest_prefix}) of {pool.desc} "
                        f"is more specific than the aggregation length {length}",
                    )


def identical_advertisements(ads: Sequence[Item[BGPAdvertisement]]) -> None:
    ordered = sorted(ads, key=lambda i: i.value.name)
    for n, item in enumerate(ordered):
        body = replace(item.value, name="")
        for earlier in ordered[:n]:
            if replace(earlier.value, name="") == body:
                item.errs.add(where(item, "spec"), f"is identical to {earlier.desc}")
                break


def nodes_overlap(
    a: Sequence[LabelSelector], b: Sequence[LabelSelector], nodes: Mapping[str, Node]
) -> bool:
    if nodes:
        return any(
            any_matches(tuple(a), n.labels) and any_matches(tuple(b), n.labels)
            for n in nodes.values()
        )
    return not a or not b or bool({str(s) for s in a} & {str(s) for s in b})


def _aggregation_differs(a: BGPAdvertisement, b: BGPAdvertisement, pool: PoolItem) -> bool:
    families = {c.version for c in pool.value.cidrs}
    v4_differs = a.aggregation_length != b.aggregation_length
    v6_differs = a.aggregation_length_v6 != b.aggregation_length_v6
    if families == {4}:
        return v4_differs
    if families == {6}:
        return v6_differs
    return v4_differs and v6_differs


def local_pref(draft: Draft) -> None:
    per_pool: dict[int, tuple[PoolItem, list[Item[BGPAdvertisement]]]] = {}
    for item in draft.bgp_ads:
        ad = item.value
        if ad.service_selectors:
            continue  # which Services it covers is unknown until runtime (as MetalLB)
        for pool in selected_pools(ad.pools, ad.pool_selectors, draft.pools, Protocol.BGP):
            per_pool.setdefault(id(pool), (pool, []))[1].append(item)
    reported: set[tuple[int, int]] = set()
    for pool, items in per_pool.values():
        for n, x in enumerate(items):
            for y in items[n + 1 :]:
                a, b = x.value, y.value
                if a.local_pref == b.local_pref or _aggregation_differs(a, b, pool):
                    continue
                if a.peers and b.peers and not set(a.peers) & set(b.peers):
                    continue
                if not nodes_overlap(a.node_selectors, b.node_selectors, draft.nodes):
                    continue
                if (id(x), id(y)) in reported:
                    continue
                reported.add((id(x), id(y)))
                for me, other in ((x, y), (y, x)):
                    mine = me.value.local_pref or "unset"
                    theirs = other.value.local_pref or "unset"
                    me.errs.add(
                        where(me, "spec.localPref"),
                        f"localPref {mine} conflicts with localPref {theirs} of {other.desc}: "
                        f"both advertise {pool.desc} to the same peers from the same nodes "
                        "with the same aggregation length",
                    )


def bfd_references(draft: Draft) -> None:
    profiles = {p.value.name: p for p in draft.bfd_profiles}
    for item in draft.peers:
        name = item.value.bfd_profile
        if name is None:
            continue
        path = where(item, "spec.bfdProfile")
        if name not in profiles:
            item.errs.add(path, f"names BFDProfile {quote(name)}, which does not exist")
        elif not profiles[name].ok:
            item.errs.add(path, f"names {profiles[name].desc}, which is invalid")


def peer_sessions(peers: Sequence[Item[Any]], nodes: Mapping[str, Node]) -> None:
    for n, x in enumerate(peers):
        for y in peers[n + 1 :]:
            a, b = x.value, y.value
            if not nodes_overlap(a.node_selectors, b.node_selectors, nodes):
                continue
            vrf_a, vrf_b = a.vrf or "", b.vrf or ""
            target_a = a.peer_address or a.interface
            if (
                vrf_a == vrf_b
                and target_a is not None
                and target_a == (b.peer_address or b.interface)
            ):
                for me, other in ((x, y), (y, x)):
                    me.errs.add(
                        where(me, "spec"),
                        f"same session as {other.desc}: both peer with {target_a} "
                        f"in VRF {quote(vrf_a or 'default')} on the same nodes",
                    )
            elif vrf_a == vrf_b and a.my_asn != b.my_asn and a.my_asn and b.my_asn:
                for me, other in ((x, y), (y, x)):
                    me.errs.add(
                        where(me, "spec.myASN"),
                        f"myASN {me.value.my_asn} differs from myASN {other.value.my_asn} of "
                        f"{other.desc}; peers on the same nodes and VRF must share one ASN",
                    )


def default_class(draft: Draft) -> None:
    defaults = sorted(
        (c for c in draft.classes if c.value.is_default and c.ok), key=lambda c: c.value.name
    )
    for item in defaults[1:]:
        item.errs.add(
            where(item, "spec.isDefault"),
            f"{defaults[0].desc} is already the default class; at most one may be the default",
        )
