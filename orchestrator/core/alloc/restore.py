"""Restore: give every Service back the IPs its status already shows (decision 1).

Runs before anything new is handed out, Services with more status IPs first (MetalLB's
``reprocessAll`` order), so a restart never moves an IP and a pending Service can never take
an address that an assigned Service still shows. An IP is given back only when all of this
still holds; otherwise it is let go and the Service is allocated afresh afterwards:

- it lies in a pool the Service may use: its class's pool, or for a plain Service a plain pool
  (``avoidBuggyIPs`` and ``serviceAllocation`` checked, ``autoAssign`` not: the IP may have
  come from a pool annotation or an explicit request);
- the request agrees: explicit IPs unchanged, pool annotation unchanged (MetalLB clears the
  whole Service when either differs);
- its family fits the Service's families;
- the sharing rules hold against the Services restored before it.

Plain Services are all-or-nothing on request and pool changes (MetalLB's rule); a family that
is no longer wanted is dropped alone (a SingleStack Service keeps its primary-family IP).
Class Services are per slot, like Deckhouse's one child object per IP: one bad slot does not
move the others. Slot ``i`` with a requested IP takes that IP if it is among the status IPs;
the other status IPs fill the remaining slots in status order.
"""

from __future__ import annotations

from orchestrator.core.alloc.pool_choice import pool_allows
from orchestrator.core.alloc.sharing import ip_key
from orchestrator.core.alloc.state import Context, Work
from orchestrator.core.model.cluster import IPAddress


def restore_plain(ctx: Context, work: Work) -> None:
    service = work.service
    request = service.request
    current = work.current
    if request.ips and set(current) != set(request.ips):
        ctx.drop(work, current, "the requested IPs changed")
        return
    spaces = []
    for ip in current:
        space = ctx.plain_space_for(ip, service.state.allocated_pool)
        if space is None:
            ctx.drop(work, current, f"{ip} is no longer in any pool this Service may use")
            return
        spaces.append(space)
    space = spaces[0]
    if any(s is not space for s in spaces):
        names = ", ".join(sorted({s.name for s in spaces}))
        ctx.drop(work, current, f"the IPs are in different pools ({names})")
        return
    if request.pool is not None and request.pool != space.name:
        ctx.drop(work, current, f"the requested pool changed from {space.name} to {request.pool}")
        return
    refused = pool_allows(space.pool, service, ctx.namespaces)
    if refused is not None:
        ctx.drop(work, current, refused)
        return
    keep: list[IPAddress] = []
    extra: list[IPAddress] = []
    for ip in current:
        if ip.version in work.families and all(k.version != ip.version for k in keep):
            keep.append(ip)
        else:
            extra.append(ip)
    if not keep:
        ctx.drop(work, current, "the Service's IP families changed")
        return
    for ip in keep:
        conflict = ctx.table.conflict(ip_key(ip), work.service)
        if conflict is not None:
            ctx.drop(work, current, f"{ip}: {conflict}")
            return
    ctx.drop(work, extra, "the Service's IP families changed")
    work.space = space
    for ip in keep:
        ctx.commit(work, space, ip)
        work.slots.append(ip)


def restore_class(ctx: Context, work: Work) -> None:
    space = work.space
    assert space is not None  # the caller resolved the class pool
    fam = work.families[0]
    requested: list[IPAddress | None] = list(work.service.request.ips[: work.wanted])
    requested += [None] * (work.wanted - len(requested))
    valid: list[IPAddress] = []
    for ip in work.current:
        if ip.version != fam:
            ctx.drop(work, [ip], f"it is not of the Service's IP family (IPv{fam})")
        elif not space.contains(fam, int(ip)):
            ctx.drop(
                work, [ip], f"it is not in the pool of MetalLoadBalancerClass {work.class_name}"
            )
        else:
            conflict = ctx.table.conflict(ip_key(ip), work.service)
            if conflict is not None:
                ctx.drop(work, [ip], conflict)
            else:
                valid.append(ip)
    slots = work.slots
    for i, want in enumerate(requested):
        if want is not None and want in valid:
            slots[i] = want
            valid.remove(want)
    for i, want in enumerate(requested):
        if want is None and slots[i] is None and valid:
            slots[i] = valid.pop(0)
    if valid:
        why = (
            "the requested IPs changed"
            if any(r is not None for r in requested)
            else f"the Service asks for {work.wanted} IPs only"
        )
        ctx.drop(work, valid, why)
    for held in slots:
        if held is not None:
            ctx.commit(work, space, held)
