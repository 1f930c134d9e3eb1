"""Rules that involve more than one object. Each error names every object involved.

Run once every config object has been parsed on its own. An error is added to the
accumulator of the object at fault, which keeps that object out of ``ClusterConfig``.

**Conflicts** between objects that are each valid alone leave out only the junior one
(``Draft.rank``: one that was serving before, then the older by ``creationTimestamp``, then
by name), with an error naming both, while the senior keeps serving; objects already left
out for their own errors never count against another. Greedy in rank order: a junior that
conflicts only with something already left out stays.

1. names are unique per kind: pools across all pool kinds (they share one namespace, the
   ``ClusterConfig.pools`` map), advertisements, peers, BFD profiles;
2. no CIDR of any pool overlaps another CIDR of any pool (MetalLB rejects the whole
   config for this); a pool overlapping itself is an error on its own;
3. identical BGPAdvertisements (everything but the name) are duplicates;
4. two BGPAdvertisements of one pool that reach the same peers from the same nodes with the
   same aggregation must not set different localPref (MetalLB's
   ``BGPAdvertisementsHaveCompatibleLocalPref``);
5. two peers that can run on one node must not be the same session (address or interface
   and VRF), and peers sharing a node and VRF must share myASN and routerID: FRR and GoBGP
   run one BGP router per VRF with one ASN and one router ID;
6. a BFD profile with echo mode on a peer that IPv6 prefixes are advertised to (MetalLB:
   echo mode is IPv4 only): the junior of peer and advertisement is left out;
7. two default MetalLoadBalancerClasses are tolerated, as Deckhouse does: the senior is
   the default, both get a warning.

**Dependents** of a left-out object are left out too, with a reason naming it: a peer whose
``bfdProfile`` is missing or invalid, an advertisement naming a missing or invalid pool or
peer, or a pool of the wrong protocol. An advertisement's aggregation length is not shorter
than the shortest prefix of any entry of a pool it applies to (MetalLB's ``lowestMask``
rule: a /24 pool cannot be announced as a /16).

"Same node" uses the Nodes in the snapshot; with no Node objects at all (a directory of
config only), selectors overlap when either is empty (all nodes) or both share a selector.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from orchestrator.core.model.addresses import PoolEntry, find_overlaps
from orchestrator.core.model.cluster import BGPAdvertisement, IPNetwork, Node, Protocol
from orchestrator.core.model.errors import quote
from orchestrator.core.model.selectors import LabelSelector, any_matches
from orchestrator.core.parse.drafts import Draft, Item, PoolItem

T = TypeVar("T")
ItemT = TypeVar("ItemT", bound=Item[Any])


def where(item: Item[Any], crd_path: str) -> str:
    """Where to report on an item: its field for a CRD, its own path for generated items."""
    return item.path or crd_path


def check_all(draft: Draft) -> None:
    for items in (draft.pools, draft.l2_ads, draft.bgp_ads, draft.peers, draft.bfd_profiles):
        unique_names(draft, items, "metadata.name")
    self_overlaps(draft.pools)
    pool_overlaps(draft)
    bfd_references(draft)
    peer_sessions(draft)
    references(draft)
    aggregation(draft)
    identical_advertisements(draft)
    local_pref(draft)
    echo_mode(draft)
    default_class(draft)


def senior_first(draft: Draft, items: Iterable[ItemT]) -> list[ItemT]:
    return sorted(items, key=draft.rank)


def keep_senior(
    draft: Draft,
    items: Iterable[Item[T]],
    clash: Callable[[Item[T], Item[T]], tuple[str, str] | None],
) -> None:
    """Greedy in rank order: an item clashing with one kept gets the error
    ``clash(kept, item)`` (CRD path, message); items already invalid are never kept, so
    they displace nothing."""
    kept: list[Item[T]] = []
    for item in senior_first(draft, items):
        if not item.ok:
            continue
        for older in kept:
            found = clash(older, item)
            if found is not None:
                item.errs.add(where(item, found[0]), f"{found[1]}; {_serving(older)}")
                break
        else:
            kept.append(item)


def _serving(older: Item[Any]) -> str:
    return (
        f"{older.desc} ({older.source}) keeps serving (the senior: valid before, else older, "
        "else first by name); this one is left out"
    )


def unique_names(draft: Draft, items: Sequence[Item[Any]], crd_path: str) -> None:
    by_name: dict[str, list[Item[Any]]] = {}
    for item in items:
        by_name.setdefault(item.value.name, []).append(item)
    for name, group in by_name.items():
        if len(group) < 2:
            continue
        ordered = senior_first(draft, group)
        first = next((i for i in ordered if i.ok), ordered[0])
        for item in ordered:
            if item is not first:
                item.errs.add(
                    where(item, crd_path),
                    f"name {quote(name)} is also used by {first.desc}; {_serving(first)}",
                )


def self_overlaps(pools: Sequence[PoolItem]) -> None:
    for item in pools:
        nets: list[IPNetwork] = []
        owners: list[tuple[str, PoolEntry]] = []
        for path, entry in item.entries:
            for cidr in entry.cidrs:
                nets.append(cidr)
                owners.append((path, entry))
        reported: set[tuple[int, int]] = set()
        for i, j in find_overlaps(nets):
            (a_path, a_entry), (b_path, b_entry) = owners[i], owners[j]
            if a_entry is b_entry or (id(a_entry), id(b_entry)) in reported:
                continue
            reported.add((id(a_entry), id(b_entry)))
            item.errs.add(
                b_path, f"{quote(b_entry.text)} overlaps {quote(a_entry.text)} ({a_path})"
            )


def pool_overlaps(draft: Draft) -> None:
    """Each pool in rank order against the CIDRs of the pools kept so far (per family,
    sorted and disjoint, so one bisection finds any overlap)."""
    starts: dict[int, list[int]] = {4: [], 6: []}
    owners: dict[int, list[tuple[int, PoolItem, PoolEntry]]] = {4: [], 6: []}
    for item in senior_first(draft, draft.pools):
        if not item.ok:
            continue
        clash = None
        for path, entry in item.entries:
            for cidr in entry.cidrs:
                fam, lo, hi = cidr.version, int(cidr.network_address), int(cidr.broadcast_address)
                i = bisect_left(starts[fam], lo)
                for j in (i - 1, i):
                    if 0 <= j < len(starts[fam]):
                        end, other, other_entry = owners[fam][j]
                        if starts[fam][j] <= hi and lo <= end:
                            clash = (path, entry, other, other_entry)
                            break
                if clash:
                    break
            if clash:
                break
        if clash is not None:
            path, entry, other, other_entry = clash
            message = f"{quote(entry.text)} overlaps {quote(other_entry.text)} of {other.desc}"
            if item.errs in other.deps:
                # made from this very pool (a migrated class): both go, nothing serves
                item.errs.add(path, message)
                continue
            item.errs.add(path, f"{message}; {_serving(other)}")
            continue
        for _, entry in item.entries:
            for cidr in entry.cidrs:
                fam, lo = cidr.version, int(cidr.network_address)
                i = bisect_left(starts[fam], lo)
                starts[fam].insert(i, lo)
                owners[fam].insert(i, (int(cidr.broadcast_address), item, entry))


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
    peers: dict[str, list[Item[Any]]] = {}
    for peer in draft.peers:
        peers.setdefault(peer.value.name, []).append(peer)
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
            valid = [p for p in pools[name] if p.ok]
            if not valid and all(p.errs.obj != item.errs.obj for p in pools[name]):
                # (an advertisement generated from the pool's own object says nothing more)
                item.errs.add(path, f"names {pools[name][0].desc}, which is invalid (left out)")
            for pool in valid:
                if pool.value.protocol not in (None, protocol):
                    item.errs.add(path, f"names {pool.desc}, which is a {pool.value.protocol} pool")
    for item in draft.bgp_ads:
        for name in item.value.peers:
            path = where(item, "spec.peers")
            if name not in peers:
                item.errs.add(path, f"names BGPPeer {quote(name)}, which does not exist")
            elif not any(p.ok or p.errs.obj == item.errs.obj for p in peers[name]):
                item.errs.add(path, f"names {peers[name][0].desc}, which is invalid (left out)")


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


def identical_advertisements(draft: Draft) -> None:
    def clash(
        older: Item[BGPAdvertisement], item: Item[BGPAdvertisement]
    ) -> tuple[str, str] | None:
        if replace(older.value, name="") == replace(item.value, name=""):
            return "spec", f"is identical to {older.desc}"
        return None

    keep_senior(draft, draft.bgp_ads, clash)


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
        if ad.service_selectors or not item.ok:
            continue  # which Services it covers is unknown until runtime (as MetalLB)
        for pool in selected_pools(ad.pools, ad.pool_selectors, draft.pools, Protocol.BGP):
            if pool.ok:
                per_pool.setdefault(id(pool), (pool, []))[1].append(item)
    for pool, items in per_pool.values():

        def clash(
            x: Item[BGPAdvertisement], y: Item[BGPAdvertisement], pool: PoolItem = pool
        ) -> tuple[str, str] | None:
            a, b = x.value, y.value
            if a.local_pref == b.local_pref or _aggregation_differs(a, b, pool):
                return None
            if a.peers and b.peers and not set(a.peers) & set(b.peers):
                return None
            if not nodes_overlap(a.node_selectors, b.node_selectors, draft.nodes):
                return None
            return "spec.localPref", (
                f"localPref {b.local_pref or 'unset'} conflicts with localPref "
                f"{a.local_pref or 'unset'} of {x.desc}: both advertise {pool.desc} to the "
                "same peers from the same nodes with the same aggregation length"
            )

        keep_senior(draft, items, clash)


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


def peer_sessions(draft: Draft) -> None:
    def clash(x: Item[Any], y: Item[Any]) -> tuple[str, str] | None:
        a, b = x.value, y.value
        if not nodes_overlap(a.node_selectors, b.node_selectors, draft.nodes):
            return None
        vrf_a, vrf_b = a.vrf or "", b.vrf or ""
        if vrf_a != vrf_b:
            return None
        target = a.peer_address or a.interface
        if target is not None and target == (b.peer_address or b.interface):
            return "spec", (
                f"same session as {x.desc}: both peer with {target} in VRF "
                f"{quote(vrf_a or 'default')} on the same nodes"
            )
        if a.my_asn and b.my_asn and a.my_asn != b.my_asn:
            return "spec.myASN", (
                f"myASN {b.my_asn} differs from myASN {a.my_asn} of {x.desc}; peers on the "
                "same nodes and VRF must share one ASN"
            )
        if a.router_id and b.router_id and a.router_id != b.router_id:
            return "spec.routerID", (
                f"routerID {b.router_id} differs from routerID {a.router_id} of {x.desc}; "
                "peers on the same nodes and VRF must share one router ID"
            )
        return None

    keep_senior(draft, draft.peers, clash)


def _v6_pools(draft: Draft, ad: BGPAdvertisement) -> list[PoolItem]:
    return [
        p
        for p in selected_pools(ad.pools, ad.pool_selectors, draft.pools, Protocol.BGP)
        if p.ok and any(c.version == 6 for c in p.value.cidrs)
    ]


def echo_mode(draft: Draft) -> None:
    echo = {p.value.name for p in draft.bfd_profiles if p.ok and p.value.echo_mode}
    peers = [p for p in draft.peers if p.ok and p.value.bfd_profile in echo]
    if not peers:
        return
    for ad in draft.bgp_ads:
        v6 = _v6_pools(draft, ad.value) if ad.ok else []
        for peer in peers if v6 else ():
            if ad.value.peers and peer.value.name not in ad.value.peers:
                continue
            if not (ad.ok and peer.ok):
                continue
            ad_junior = draft.rank(ad) > draft.rank(peer)
            junior: Item[Any] = ad if ad_junior else peer
            senior: Item[Any] = peer if ad_junior else ad
            junior.errs.add(
                where(junior, "spec.bfdProfile" if junior is peer else "spec"),
                f"{ad.desc} advertises IPv6 {v6[0].desc} to {peer.desc}, whose BFDProfile "
                f"{quote(peer.value.bfd_profile)} has echoMode, which is IPv4 only; "
                + _serving(senior),
            )


def default_class(draft: Draft) -> None:
    """Deckhouse tolerates several default classes: the senior one is the default."""
    defaults = senior_first(draft, (c for c in draft.classes if c.value.is_default and c.ok))
    if len(defaults) < 2:
        return
    first = defaults[0]
    names = ", ".join(c.desc for c in defaults)
    for item in defaults:
        role = "is the default" if item is first else f"is not the default: {first.desc} is"
        item.errs.warn(
            where(item, "spec.isDefault"),
            f"several classes are marked default ({names}); this one {role} (the oldest)",
        )
        if item is not first:
            item.value = replace(item.value, is_default=False)
