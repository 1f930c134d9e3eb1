"""Per-node BGP intent: which sessions this node opens and which prefixes it announces.

docs/design.md §7: the core decides *what* a node announces to *whom* with *which*
attributes; the FRR and GoBGP backends only translate the answer. ``bgp_intent`` is a pure
function of the snapshot, the allocator's ``Assignment``s and the node name, so every
speaker (and ``mlb render``) computes the same answer from the same input.

How a node decides, for every (Service, IP) of every assignment:

1. the pool must be advertised over BGP at all: some BGPAdvertisement selects the pool
   (``ipAddressPools`` / ``ipAddressPoolSelectors``, both empty = every pool) and the
   Service (``serviceSelectors``); L2-only pools never are -> ``noMatchingAdvertisement``;
2. node checks from ``eligibility`` (unknown node, advertisement node selectors ->
   ``notOwner``, exclude label, ``NetworkUnavailable``, liveness);
3. endpoint checks from ``eligibility``: nothing while the Service has no ready endpoint;
   with ``externalTrafficPolicy: Local`` only nodes hosting a ready endpoint;
4. the advertisements that passed must reach at least one of this node's peers of the IP's
   family (``peers`` restricts by BGPPeer name) -> otherwise ``noMatchingPeer``.

Every "no" is kept as a ``Withheld`` with its reason so the CLI can explain it. The
sessions come from ``peers``; prefixes and their merged attributes from ``advertise``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Set
from dataclasses import dataclass

from orchestrator.core import eligibility
from orchestrator.core.bgp.advertise import Merged, merge, pool_is_l2_only, prefix_of, selects_pool
from orchestrator.core.bgp.intent import AdvertisementIntent, NodeBGPIntent, PrefixIntent, Withheld
from orchestrator.core.bgp.peers import select_peers
from orchestrator.core.bgp.reasons import FROM_ELIGIBILITY, BGPReason, Problem
from orchestrator.core.model.cluster import (
    AddressPool,
    Assignment,
    BGPAdvertisement,
    ClusterSnapshot,
    IPAddress,
    IPNetwork,
    Service,
)
from orchestrator.core.model.selectors import any_matches

_NO_ENDPOINTS = eligibility.EndpointSummary()


@dataclass
class _Acc:
    """Contributions to one prefix while the intent is being built."""

    advertisements: set[str]
    services: set[str]


def bgp_intent(
    snapshot: ClusterSnapshot,
    assignments: Iterable[Assignment],
    *,
    node: str,
    live_nodes: Set[str] | None = None,
    ignore_exclude_label: bool = False,
) -> NodeBGPIntent:
    """Compute what ``node`` announces. ``live_nodes=None`` means "this node is live" (a
    speaker computing its own intent is live by definition)."""
    problems: list[Problem] = []
    node_obj = snapshot.nodes.get(node)
    labels: Mapping[str, str] = node_obj.labels if node_obj is not None else {}
    if node_obj is not None:
        asn, router_id, peers = select_peers(snapshot, labels, problems)
    else:
        asn, router_id, peers = None, None, []
    live = live_nodes is None or node in live_nodes

    services = {s.key: s for s in snapshot.services}
    endpoints = eligibility.summarize_endpoints(snapshot)  # one pass over every slice
    advs_all = sorted(snapshot.config.bgp_advertisements, key=lambda a: a.name)
    adv_by_name = {a.name: a for a in advs_all}

    # Peers each advertisement reaches on this node, per family. Computed once: the
    # inner loop below runs per IP and must stay cheap for thousands of Services.
    allowed: dict[tuple[str, int], tuple[str, ...]] = {}
    for adv in advs_all:
        for fam in (4, 6):
            allowed[(adv.name, fam)] = tuple(
                p.name
                for p in peers
                if fam in p.families and (not adv.peers or p.name in adv.peers)
            )
    node_selected = {a.name: any_matches(a.node_selectors, labels) for a in advs_all}

    acc: dict[IPNetwork, _Acc] = {}
    withheld: list[Withheld] = []
    node_check_cache: dict[bool, BGPReason | None] = {}

    def node_check(selected: bool) -> BGPReason | None:
        if selected not in node_check_cache:
            r = eligibility.node_reason(
                node_obj, selected=selected, live=live, ignore_exclude_label=ignore_exclude_label
            )
            node_check_cache[selected] = FROM_ELIGIBILITY[r] if r is not None else None
        return node_check_cache[selected]

    for assignment in assignments:
        service = services.get(assignment.service)
        pool = snapshot.config.pools.get(assignment.pool)
        for ip in assignment.ips:
            reason, contributing = _decide_ip(
                ip,
                service=service,
                pool=pool,
                advs=advs_all,
                node_selected=node_selected,
                node_check=node_check,
                endpoints=endpoints,
                node=node,
                allowed=allowed,
            )
            if reason is not None:
                withheld.append(Withheld(assignment.service, str(ip), reason))
                continue
            for adv in contributing:
                prefix = prefix_of(ip, adv)
                entry = acc.setdefault(prefix, _Acc(set(), set()))
                entry.advertisements.add(adv.name)
                entry.services.add(assignment.service)

    conflict_set: set[Problem] = set()
    prefixes: list[PrefixIntent] = []
    merged: dict[tuple[tuple[str, ...], int], Merged] = {}
    for prefix, entry in acc.items():
        key = (tuple(sorted(entry.advertisements)), prefix.version)
        m = merged.get(key)
        if m is None:
            advs = [adv_by_name[n] for n in key[0]]
            m = merge(advs, {a.name: allowed[(a.name, prefix.version)] for a in advs})
            merged[key] = m
            conflict_set.update(m.problems)
        prefixes.append(
            PrefixIntent(
                prefix=prefix,
                advertisements=key[0],
                local_pref=m.local_pref,
                communities=m.communities,
                peers=m.peers,
                services=tuple(sorted(entry.services)),
            )
        )
    used = {name for names, _ in merged for name in names}
    prefixes.sort(
        key=lambda p: (p.prefix.version, int(p.prefix.network_address), p.prefix.prefixlen)
    )

    adv_intents = tuple(
        AdvertisementIntent(
            name=a.name,
            local_pref=a.local_pref,
            communities=tuple(sorted(a.communities)),
            peers=tuple(sorted(set(allowed[(a.name, 4)]) | set(allowed[(a.name, 6)]))),
        )
        for a in advs_all
        if a.name in used
    )
    bfd = {p.bfd_profile.name: p.bfd_profile for p in peers if p.bfd_profile is not None}
    return NodeBGPIntent(
        node=node,
        asn=asn,
        router_id=router_id,
        peers=tuple(peers),
        advertisements=adv_intents,
        bfd_profiles=tuple(bfd[n] for n in sorted(bfd)),
        prefixes=tuple(prefixes),
        withheld=tuple(sorted(withheld)),
        problems=tuple(problems) + tuple(sorted(conflict_set)),
        node_addresses=node_obj.internal_ips if node_obj is not None else (),
    )


def _decide_ip(
    ip: IPAddress,
    *,
    service: Service | None,
    pool: AddressPool | None,
    advs: list[BGPAdvertisement],
    node_selected: Mapping[str, bool],
    node_check: Callable[[bool], BGPReason | None],
    endpoints: Mapping[str, eligibility.EndpointSummary],
    node: str,
    allowed: Mapping[tuple[str, int], tuple[str, ...]],
) -> tuple[BGPReason | None, list[BGPAdvertisement]]:
    """The checks of the module docstring for one IP; returns a reason or the advertisements
    through which the IP is announced."""
    if service is None:
        return BGPReason.UNKNOWN_SERVICE, []
    if pool is None:
        return BGPReason.UNKNOWN_POOL, []
    if pool_is_l2_only(pool):
        return BGPReason.NO_MATCHING_ADVERTISEMENT, []
    matching = [
        a
        for a in advs
        if selects_pool(a, pool) and any_matches(a.service_selectors, service.labels)
    ]
    if not matching:
        return BGPReason.NO_MATCHING_ADVERTISEMENT, []
    mine = [a for a in matching if node_selected[a.name]]
    reason = node_check(bool(mine))
    if reason is not None:
        return reason, []
    r = endpoints.get(service.key, _NO_ENDPOINTS).reason(service, node)
    if r is not None:
        return FROM_ELIGIBILITY[r], []
    reaching = [a for a in mine if allowed[(a.name, ip.version)]]
    if not reaching:
        return BGPReason.NO_MATCHING_PEER, []
    return None, reaching
