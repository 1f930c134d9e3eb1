"""Which BGPAdvertisements carry an IP, the prefix they put it in, and the attributes of a
prefix that several advertisements share.

The prefix is the IP masked to the advertisement's aggregation length, so several IPs (and
several advertisements) can land on one prefix. A prefix carries one attribute set, the
merge over its contributing advertisements: the union of their communities and the
local-pref of the first advertisement (by name) that sets one; it reaches the union of
their peers. This is MetalLB's per-peer result whenever the contributing advertisements
agree or go to the same peers. When they set different local-prefs, or different
communities towards different peers, the merge is still announced (an invalid object
never withdraws an IP, decision 2) and a ``conflictingAdvertisements`` problem says what
each peer actually receives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network

from orchestrator.core.bgp.reasons import Problem, ProblemReason
from orchestrator.core.model.cluster import (
    AddressPool,
    BGPAdvertisement,
    Community,
    IPAddress,
    IPNetwork,
    PoolKind,
    Protocol,
)


def pool_is_l2_only(pool: AddressPool) -> bool:
    return pool.kind is PoolKind.CLASS or pool.protocol is Protocol.LAYER2


def selects_pool(adv: BGPAdvertisement, pool: AddressPool) -> bool:
    if not adv.pools and not adv.pool_selectors:
        return True
    if pool.name in adv.pools:
        return True
    return any(s.matches(pool.labels) for s in adv.pool_selectors)


def prefix_of(ip: IPAddress, adv: BGPAdvertisement) -> IPNetwork:
    # the (address, length) form: no string round trip, which dominated at 5,000 Services
    if ip.version == 4:
        return IPv4Network((int(ip), adv.aggregation_length), strict=False)
    return IPv6Network((int(ip), adv.aggregation_length_v6), strict=False)


@dataclass(frozen=True)
class Merged:
    local_pref: int | None
    communities: tuple[Community, ...]
    peers: tuple[str, ...]
    problems: tuple[Problem, ...]


def merge(advs: list[BGPAdvertisement], allowed: Mapping[str, tuple[str, ...]]) -> Merged:
    """Attributes of a prefix announced through ``advs`` (sorted by name); a function of
    the advertisement set alone, so it is computed once per set, not once per prefix."""
    problems: list[Problem] = []
    obj = "BGPAdvertisement/" + "+".join(a.name for a in advs)
    names = ", ".join(a.name for a in advs)
    prefs = [a.local_pref for a in advs if a.local_pref is not None]
    local_pref = prefs[0] if prefs else None
    if len(set(prefs)) > 1:
        problems.append(
            Problem(
                ProblemReason.CONFLICTING_ADVERTISEMENTS,
                obj,
                f"advertisements {names} set different localPref on the prefixes they "
                f"share; announcing localPref {local_pref}",
            )
        )
    communities = tuple(sorted({c for a in advs for c in a.communities}))
    if (
        len({frozenset(a.communities) for a in advs}) > 1
        and len({allowed[a.name] for a in advs}) > 1
    ):
        problems.append(
            Problem(
                ProblemReason.CONFLICTING_ADVERTISEMENTS,
                obj,
                f"advertisements {names} send the prefixes they share to different peers "
                "with different communities; every peer that receives them gets the union "
                f"({' '.join(str(c) for c in communities)})",
            )
        )
    peers = tuple(sorted({p for a in advs for p in allowed[a.name]}))
    return Merged(local_pref, communities, peers, tuple(problems))
