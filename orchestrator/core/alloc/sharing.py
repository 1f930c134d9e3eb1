"""Who holds each IP, and whether another Service may join it (MetalLB's ``checkSharing``).

An IP held by some Services may be given to one more only if, against every holder:

1. both have the same **non-empty** sharing key;
2. their **backend keys** are equal: ``""`` for ``externalTrafficPolicy: Cluster``, the
   selector as a sorted ``k=v,k2=v2`` string for ``Local`` (so Local Services must select the
   same pods, and a Local one never shares with a Cluster one: traffic has to reach the same
   backends whichever Service's port it hits);
3. their ``(protocol, port)`` sets are disjoint (TCP/53 and UDP/53 can share).

Addresses are keyed by integers (IPv6 tagged above bit 128 so the families never collide):
hashing an ``ipaddress`` object costs several times more and restore hashes every status IP.

For automatic allocation sharing is opportunistic, as in MetalLB, whose lowest-first scan
accepts an already-used IP when ``checkSharing`` passes. Here the scan is next-fit, so the
table also indexes IPs by sharing key and ``shareable`` finds an IP already carrying the
Service's key (lowest first): Services with the same key land together when they can.
"""

from __future__ import annotations

from orchestrator.core.alloc.pool import PoolSpace
from orchestrator.core.model.cluster import IPAddress, Service, TrafficPolicy

#: Added to IPv6 integers so that they never equal an IPv4 integer.
V6_TAG = 1 << 128


def ip_key(ip: IPAddress) -> int:
    return int(ip) if ip.version == 4 else int(ip) | V6_TAG


def key_of(fam: int, value: int) -> int:
    return value if fam == 4 else value | V6_TAG


def backend_key(service: Service) -> str:
    if service.external_traffic_policy is TrafficPolicy.LOCAL:
        return ",".join(f"{k}={v}" for k, v in sorted(service.selector.items()))
    return ""


def incompatibility(me: Service, other: Service) -> str | None:
    """Why ``me`` may not share an IP with ``other``; None if it may."""
    if not other.request.sharing_key:
        return f"sharing conflict with {other.key}, which has no sharing key"
    mine = me.request.sharing_key
    if not mine:
        return f"sharing conflict with {other.key}: this Service has no sharing key"
    if mine != other.request.sharing_key:
        return (
            f"sharing conflict with {other.key}: sharing keys differ "
            f"({mine!r} vs {other.request.sharing_key!r})"
        )
    backend, other_backend = backend_key(me), backend_key(other)
    if backend != other_backend:
        return (
            f"sharing conflict with {other.key}: externalTrafficPolicy or selector differ "
            f"(backend {backend or 'Cluster'!r} vs {other_backend or 'Cluster'!r})"
        )
    common = set(me.ports) & set(other.ports)
    if common:
        port = min(common)
        return f"sharing conflict with {other.key} on {port.protocol}/{port.port}"
    return None


class SharingTable:
    """Per-reconcile map of IP holders, plus an index of shared IPs by sharing key.

    Holders are the ``Service`` objects themselves: sharing fields are only looked at when an
    IP already has a holder, which is rare, so nothing is built per Service up front. An IP
    with one holder maps to the Service itself, a list only appears when an IP is shared:
    tens of thousands of one-element lists would cost a full garbage collection pass.
    """

    __slots__ = ("_by_key", "_holders")

    def __init__(self) -> None:
        self._holders: dict[int, Service | list[Service]] = {}
        self._by_key: dict[str, dict[int, PoolSpace]] = {}

    def holders(self, ipk: int) -> tuple[Service, ...]:
        found = self._holders.get(ipk)
        if found is None:
            return ()
        return tuple(found) if isinstance(found, list) else (found,)

    def conflict(self, ipk: int, me: Service) -> str | None:
        """Why ``me`` cannot take the IP, or None if it is free or shareable."""
        found = self._holders.get(ipk)
        if found is None:
            return None
        for other in found if isinstance(found, list) else (found,):
            if other is not me:
                why = incompatibility(me, other)
                if why is not None:
                    return why
        return None

    def add(self, ipk: int, me: Service, space: PoolSpace | None) -> None:
        found = self._holders.get(ipk)
        if found is None:
            self._holders[ipk] = me
        elif isinstance(found, list):
            found.append(me)
        else:
            self._holders[ipk] = [found, me]
        key = me.request.sharing_key
        if key and space is not None:
            self._by_key.setdefault(key, {})[ipk] = space

    def remove(self, ipk: int, me: Service) -> bool:
        """Drop ``me`` from the IP; True when nobody holds it any more."""
        found = self._holders.get(ipk)
        if found is None:
            return True
        if isinstance(found, list):
            rest = [h for h in found if h is not me]
            if rest:
                self._holders[ipk] = rest if len(rest) > 1 else rest[0]
                return False
        elif found is not me:
            return False
        del self._holders[ipk]
        for index in self._by_key.values():
            index.pop(ipk, None)
        return True

    def shareable(
        self,
        me: Service,
        space: PoolSpace,
        fam: int,
        *,
        exclude: frozenset[int] | set[int] = frozenset(),
    ) -> int | None:
        """The lowest IP of ``space`` and ``fam`` already carrying ``me``'s key that ``me``
        may join (its integer value, not its key); None if there is none."""
        key = me.request.sharing_key
        if not key:
            return None
        index = self._by_key.get(key)
        if not index:
            return None
        want_v6 = fam == 6
        best: int | None = None
        for ipk, where in index.items():
            if where is not space or (ipk >= V6_TAG) != want_v6 or ipk in exclude:
                continue
            if self.conflict(ipk, me) is None and (best is None or ipk < best):
                best = ipk
        if best is None:
            return None
        return best & ~V6_TAG if want_v6 else best
