"""New allocation: fill what restore left empty, in MetalLB's priority order.

Plain Services (``allocate_plain``):

0. a RequireDualStack Service with ClusterIPs of one family gets nothing, with a reason
   (MetalLB refuses it; one IPv4 would pretend it were served as asked);
1. an IP family still missing next to a restored IP comes from the **same** pool (MetalLB's
   ``AllocateFromPoolForAdditionalFamily``); for RequireDualStack, if that pool cannot, the
   Service is cleared and allocated from scratch;
2. **explicit IPs**: each must lie in a plain pool (the requested pool when one is named), all
   in one pool, one per family of the Service; ``serviceAllocation`` and sharing are checked,
   ``autoAssign`` is not. SingleStack and RequireDualStack must name exactly their families
   (MetalLB's rule); PreferDualStack may name just one IP, which it then gets alone (MetalLB
   would refuse: "prefer" should not turn a single wanted address into an error);
3. the **requested pool**: ``serviceAllocation`` checked, ``autoAssign`` not;
4. **automatic**: ``PoolChooser`` order (pinned by priority, then unpinned by name), tried
   per dual-stack option: RequireDualStack needs both families from one pool;
   PreferDualStack takes both from the first pool that has both, else the primary family,
   else the secondary; SingleStack takes the primary family.

Class Services (``allocate_class``) fill each empty slot from the class's pool: the slot's
requested IP when there is one (requested slots first, so an automatic slot cannot take an
address another slot asked for), else a free address of the primary family. A pool annotation
is ignored for them: Deckhouse renders ``address-pool: <class>`` on every child object.

Inside a pool an address is picked by ``_pick``: an IP already carrying the Service's sharing
key when the sharing rules allow (sharing is opportunistic, as in MetalLB), else the pool's
next never-used address, else its oldest retired one. With a sharing key, pools offering such
an IP are tried first; pool order decides among the rest.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

from orchestrator.core.alloc.pool import PoolSpace
from orchestrator.core.alloc.pool_choice import pool_allows
from orchestrator.core.alloc.result import Reason
from orchestrator.core.alloc.sharing import ip_key
from orchestrator.core.alloc.state import Context, Work
from orchestrator.core.model.cluster import IPAddress, IPFamilyPolicy, PoolKind


def _address(fam: int, value: int) -> IPAddress:
    return IPv4Address(value) if fam == 4 else IPv6Address(value)


def _outside(ctx: Context, ip: IPAddress, where: str) -> str:
    """Why ``ip`` is not allocatable from ``where``; names avoidBuggyIPs when that is why."""
    for space in ctx.spaces.values():
        if space.avoid_buggy and space.covers(ip.version, int(ip)):
            return f"requested IP {ip} is excluded by avoidBuggyIPs of pool {space.name}"
    return f"requested IP {ip} is not in {where}"


def _fams(fams: tuple[int, ...]) -> str:
    return " and ".join(f"IPv{f}" for f in fams)


def _held(space: PoolSpace) -> str:
    return (
        f"pool {space.name} runs on its last good version while its current one is invalid: "
        "it gives out no new IPs until it is fixed"
    )


def _pick(ctx: Context, work: Work, space: PoolSpace, *, fam: int) -> IPAddress | None:
    if space.pool.held:
        return None
    exclude = {ip_key(ip) for ip in work.slots if ip is not None}
    value = ctx.table.shareable(work.service, space, fam, exclude=exclude)
    if value is None:
        value = space.take(fam)
    return None if value is None else _address(fam, value)


def _can_give(ctx: Context, work: Work, space: PoolSpace, *, fams: tuple[int, ...]) -> bool:
    return not space.pool.held and all(
        space.available(f) or ctx.table.shareable(work.service, space, f) is not None for f in fams
    )


def _sharing_first(
    ctx: Context, work: Work, spaces: list[PoolSpace], *, fams: tuple[int, ...]
) -> list[PoolSpace]:
    """Pools offering more IPs that already carry the Service's sharing key come first
    (stable: pool order among equals)."""

    def score(space: PoolSpace) -> int:
        return -sum(ctx.table.shareable(work.service, space, f) is not None for f in fams)

    return sorted(spaces, key=score)


def _options(work: Work) -> list[tuple[int, ...]]:
    fams = work.families
    if len(fams) < 2:
        return [fams]
    if work.service.ip_family_policy is IPFamilyPolicy.REQUIRE_DUAL:
        return [fams]
    return [fams, fams[:1], fams[1:]]


# --------------------------------------------------------------------------- plain


def _dual_stack_missing(work: Work) -> str | None:
    """Why a RequireDualStack Service cannot be dual-stack (MetalLB: fewer than two
    ClusterIP families is an error), or None."""
    service = work.service
    if service.ip_family_policy is not IPFamilyPolicy.REQUIRE_DUAL:
        return None
    fams: set[int] = {ip.version for ip in service.cluster_ips} or set(service.ip_families)
    if len(fams) >= 2:
        return None
    ips = ", ".join(map(str, service.cluster_ips)) or "none"
    return f"RequireDualStack needs an IPv4 and an IPv6 ClusterIP; the Service has {ips}"


def allocate_plain(ctx: Context, work: Work) -> None:
    request = work.service.request
    missing = _dual_stack_missing(work) if not work.slots else None
    if missing is not None:
        work.fail(Reason.DUAL_STACK_UNAVAILABLE, missing)
        return
    if work.slots:
        if request.ips:
            if set(work.slots) == set(request.ips):
                return
            _release_all(ctx, work, "the requested IPs do not fit the Service's IP families")
        elif not _complete_families(ctx, work):
            return
    if request.ips:
        _explicit(ctx, work)
    else:
        _automatic(ctx, work)


def _release_all(ctx: Context, work: Work, why: str) -> None:
    space = work.space
    assert space is not None
    for ip in work.slots:
        if ip is not None:
            ctx.uncommit(work, space, ip, why=why)
    work.slots.clear()
    work.space = None


def _complete_families(ctx: Context, work: Work) -> bool:
    """Add missing families next to restored IPs; True when the Service must start over."""
    space = work.space
    assert space is not None
    for fam in work.families:
        if any(ip is not None and ip.version == fam for ip in work.slots):
            continue
        ip = _pick(ctx, work, space, fam=fam) if space.has_family(fam) else None
        if ip is not None:
            ctx.commit(work, space, ip)
            work.slots.append(ip)
    if len(work.slots) == len(work.families):
        return False
    if space.pool.held:
        work.note = _held(space)  # what it holds stays: bad input never withdraws an IP
        return False
    if work.service.ip_family_policy is not IPFamilyPolicy.REQUIRE_DUAL:
        work.note = f"pool {space.name} has no free address of the other family"
        return False
    _release_all(ctx, work, f"RequireDualStack: pool {space.name} cannot add the missing IP family")
    return True


def _explicit(ctx: Context, work: Work) -> None:
    service = work.service
    request = service.request
    ips = request.ips
    versions = [ip.version for ip in ips]
    if len(set(versions)) != len(versions):
        work.fail(Reason.FAMILY_MISMATCH, "the requested IPs must be of different families")
        return
    for ip in ips:
        if ip.version not in work.families:
            work.fail(
                Reason.FAMILY_MISMATCH,
                f"requested IP {ip} is IPv{ip.version}, which does not match the Service's "
                f"IP family ({_fams(work.families)})",
            )
            return
    if len(ips) != len(work.families) and (
        service.ip_family_policy is not IPFamilyPolicy.PREFER_DUAL
    ):
        work.fail(
            Reason.FAMILY_MISMATCH,
            f"{service.ip_family_policy.value} Service needs {_fams(work.families)} IPs, "
            f"requested {', '.join(map(str, ips))}",
        )
        return
    if request.pool is not None:
        space = _requested_space(ctx, work)
        if space is None:
            return
        for ip in ips:
            if not space.contains(ip.version, int(ip)):
                work.fail(
                    Reason.IP_NOT_IN_REQUESTED_POOL,
                    _outside(ctx, ip, f"the requested pool {space.name}"),
                )
                return
    else:
        found: list[PoolSpace] = []
        for ip in ips:
            where = ctx.plain_space_for(ip)
            if where is None:
                other = ctx.any_space_for(ip)
                suffix = (
                    f"; it belongs to MetalLoadBalancerClass {other.name}"
                    if other is not None
                    else ""
                )
                why = _outside(ctx, ip, "any pool this Service may use") + suffix
                work.fail(Reason.IP_NOT_IN_ANY_POOL, why)
                return
            found.append(where)
        space = found[0]
        if any(s is not space for s in found):
            work.fail(
                Reason.IP_NOT_IN_ANY_POOL,
                f"requested IPs {', '.join(map(str, ips))} are in different pools "
                f"({', '.join(s.name for s in found)}); they must come from one pool",
            )
            return
        refused = pool_allows(space.pool, service, ctx.namespaces)
        if refused is not None:
            work.fail(Reason.POOL_NOT_ALLOWED, refused)
            return
    for ip in ips:
        conflict = ctx.table.conflict(ip_key(ip), work.service)
        if conflict is not None:
            work.fail(Reason.SHARING_CONFLICT, f"requested IP {ip}: {conflict}")
            return
    if space.pool.held:
        work.fail(Reason.POOL_HELD, _held(space))
        return
    work.space = space
    for ip in ips:
        ctx.commit(work, space, ip)
        work.slots.append(ip)


def _requested_space(ctx: Context, work: Work) -> PoolSpace | None:
    """The pool named by the pool annotation, if the Service may use it (else records why)."""
    name = work.service.request.pool
    space = ctx.spaces.get(name or "")
    if space is None:
        work.fail(Reason.UNKNOWN_POOL, f"requested pool {name} does not exist")
        return None
    if space.pool.kind is PoolKind.CLASS:
        work.fail(
            Reason.POOL_NOT_ALLOWED,
            f"requested pool {name} belongs to a MetalLoadBalancerClass and serves only "
            "that class's Services",
        )
        return None
    refused = pool_allows(space.pool, work.service, ctx.namespaces)
    if refused is not None:
        work.fail(Reason.POOL_NOT_ALLOWED, refused)
        return None
    return space


def _automatic(ctx: Context, work: Work) -> None:
    if work.service.request.pool is not None:
        space = _requested_space(ctx, work)
        if space is None:
            return
        candidates = [space]
    else:
        candidates = [ctx.spaces[p.name] for p in ctx.chooser.candidates(work.service)]
        if not candidates:
            work.fail(
                Reason.NO_POOL,
                f"no pool with autoAssign may serve {work.key} (check serviceAllocation)",
            )
            return
    for fams in _options(work):
        usable = [s for s in candidates if all(s.has_family(f) for f in fams)]
        if work.service.request.sharing_key:
            usable = _sharing_first(ctx, work, usable, fams=fams)
        for space in usable:
            if _can_give(ctx, work, space, fams=fams):
                work.space = space
                for fam in fams:
                    ip = _pick(ctx, work, space, fam=fam)
                    assert ip is not None  # _can_give said so
                    ctx.commit(work, space, ip)
                    work.slots.append(ip)
                if len(fams) < len(work.families):
                    work.note = f"no pool offers {_fams(work.families)} together"
                return
    names = ", ".join(s.name for s in candidates)
    wanted = _options(work)[0]
    if all(s.pool.held for s in candidates):
        work.fail(Reason.POOL_HELD, "; ".join(_held(s) for s in candidates))
        return
    if not any(all(s.has_family(f) for f in wanted) for s in candidates):
        if len(wanted) > 1 and work.service.ip_family_policy is IPFamilyPolicy.REQUIRE_DUAL:
            work.fail(
                Reason.DUAL_STACK_UNAVAILABLE,
                f"RequireDualStack needs IPv4 and IPv6 from one pool; none of {names} has both",
            )
            return
        if not any(s.has_family(f) for s in candidates for f in wanted):
            work.fail(Reason.NO_POOL, f"none of the pools {names} has {_fams(wanted)} addresses")
            return
    work.fail(Reason.POOL_EXHAUSTED, f"no available IPs in pool(s) {names}")


# --------------------------------------------------------------------------- class


def allocate_class(ctx: Context, work: Work) -> None:
    space = work.space
    assert space is not None
    fam = work.families[0]
    requested = work.service.request.ips
    slots = work.slots
    explicit = [i for i in range(work.wanted) if i < len(requested) and slots[i] is None]
    automatic = [i for i in range(work.wanted) if i >= len(requested) and slots[i] is None]
    for i in explicit:
        ip = requested[i]
        if ip in slots:
            work.fail(Reason.SHARING_CONFLICT, f"requested IP {ip} is listed twice")
        elif ip.version != fam:
            work.fail(
                Reason.FAMILY_MISMATCH,
                f"requested IP {ip} is IPv{ip.version}, which does not match the Service's "
                f"ClusterIP family (IPv{fam})",
            )
        elif space.pool.held:
            work.fail(Reason.POOL_HELD, _held(space))
        elif not space.contains(fam, int(ip)):
            reason = (
                Reason.IP_NOT_IN_REQUESTED_POOL
                if ctx.any_space_for(ip) is not None
                else Reason.IP_NOT_IN_ANY_POOL
            )
            work.fail(
                reason,
                f"requested IP {ip} is not in the pool of MetalLoadBalancerClass {work.class_name}",
            )
        else:
            conflict = ctx.table.conflict(ip_key(ip), work.service)
            if conflict is not None:
                work.fail(Reason.SHARING_CONFLICT, f"requested IP {ip}: {conflict}")
            else:
                ctx.commit(work, space, ip)
                slots[i] = ip
    for i in automatic:
        picked = _pick(ctx, work, space, fam=fam)
        if picked is None and space.pool.held:
            work.fail(Reason.POOL_HELD, _held(space))
            return
        if picked is None:
            what = "free" if space.has_family(fam) else "configured"
            work.fail(
                Reason.POOL_EXHAUSTED,
                f"pool {space.name} of MetalLoadBalancerClass {work.class_name} has no "
                f"{what} IPv{fam} address",
            )
            return
        ctx.commit(work, space, picked)
        slots[i] = picked
