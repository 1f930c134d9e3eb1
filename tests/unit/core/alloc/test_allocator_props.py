"""Allocator invariants under random snapshots and random add/delete sequences (hypothesis,
registered profile: fixed-seed "gate" in CI, "hunt" on demand).

Invariants:

1. no IP is held by two Services unless the sharing rules allow it;
2. every IP lies in its pool (avoidBuggyIPs respected), and the pool is one the Service may
   use (its class's pool; for plain Services a plain pool that serviceAllocation allows, the
   requested pool, the requested IPs), with the Service's families;
3. a fresh Allocator given the status written from a result reproduces it exactly;
4. deleting one Service never takes an IP from any other Service (same Allocator, and after a
   restart);
5. over a sequence of reconciles, an IP that was in use before is handed out again only if
   its pool has no never-used address of that family left.

Pools are tiny (4 to 8 addresses) so that exhaustion, reuse and conflicts happen often.
"""

from __future__ import annotations

from collections import defaultdict
from ipaddress import ip_address
from itertools import combinations

from hypothesis import given
from hypothesis import strategies as st

from orchestrator.core.alloc.allocator import Allocator, allocate
from orchestrator.core.alloc.pool_choice import pool_allows
from orchestrator.core.alloc.result import AllocationResult
from orchestrator.core.model.cluster import (
    AddressPool,
    ClusterSnapshot,
    IPAddress,
    IPFamilyPolicy,
    PoolKind,
    Service,
    ServiceAllocation,
)
from tests.unit.core.alloc.test_allocator_support import (
    mlbc,
    plus,
    pool,
    snap,
    svc,
    without,
    written,
)

POLICIES = [
    (IPFamilyPolicy.SINGLE, (4,)),
    (IPFamilyPolicy.SINGLE, (6,)),
    (IPFamilyPolicy.PREFER_DUAL, (4, 6)),
    (IPFamilyPolicy.REQUIRE_DUAL, (4, 6)),
    (IPFamilyPolicy.REQUIRE_DUAL, (6, 4)),
]
ADDRESSES = [
    "192.0.2.0",
    "192.0.2.3",
    "192.0.2.7",
    "198.51.100.1",
    "203.0.113.2",
    "203.0.113.200",
    "192.0.2.65",
    "2001:db8::1",
    "2001:db8:1::2",
    "2001:db8:2::3",
    "203.0.113.99",
]
PORTS = [("TCP", 53), ("UDP", 53), ("TCP", 80)]


@st.composite
def configs(draw: st.DrawFn) -> list[AddressPool]:
    _, l2_pool = mlbc("l2", "192.0.2.64/29", "2001:db8:2::/125")
    b_cidrs = ["198.51.100.0/30"] + (["2001:db8:1::/126"] if draw(st.booleans()) else [])
    return [
        pool("a", "192.0.2.0/29", "2001:db8::/125", avoid_buggy=draw(st.booleans())),
        pool("b", *b_cidrs),
        pool(
            "team",
            "203.0.113.0/30",
            allocation=ServiceAllocation(priority=1, namespaces=frozenset({"team"})),
        ),
        pool("manual", "203.0.113.200/31", auto_assign=False),
        l2_pool,
    ]


@st.composite
def services(draw: st.DrawFn, prefix: str, max_size: int = 10) -> list[Service]:
    out = []
    for i in range(draw(st.integers(0, max_size))):
        is_class = draw(st.integers(0, 3)) == 0
        policy, fams = draw(st.sampled_from(POLICIES))
        request = draw(st.sampled_from(["auto", "auto", "auto", "pool", "ips"]))
        requested = (
            draw(st.lists(st.sampled_from(ADDRESSES), min_size=1, max_size=3, unique=True))
            if request == "ips"
            else []
        )
        if not is_class:
            requested = requested[:2]
        out.append(
            svc(
                f"{prefix}{i}",
                draw(st.sampled_from(["demo", "team"])),
                ports=draw(st.lists(st.sampled_from(PORTS), min_size=1, max_size=2, unique=True)),
                lb_class="l2" if is_class else None,
                type=draw(st.sampled_from(["LoadBalancer"] * 6 + ["NodePort"])),
                policy=IPFamilyPolicy.SINGLE if is_class else policy,
                families=fams[:1] if is_class else fams,
                pool=draw(st.sampled_from(["a", "b", "team", "manual", "nope"]))
                if request == "pool"
                else None,
                ips=requested,
                key=draw(st.sampled_from([None, "k1", "k1", "k2"])),
                count=draw(st.integers(1, 3)) if is_class else 1,
                local=draw(st.integers(0, 3)) == 0,
                selector={"app": draw(st.sampled_from(["x", "y"]))},
            )
        )
    return out


def make(pools: list[AddressPool], svcs: list[Service]) -> ClusterSnapshot:
    return snap(svcs, pools=pools, classes=[mlbc("l2", "192.0.2.64/29")[0]])


def in_pool(p: AddressPool, ip: IPAddress) -> bool:
    if p.avoid_buggy_ips and ip.version == 4 and int(ip) & 0xFF in (0, 0xFF):
        return False
    return any(ip.version == net.version and ip in net for net in p.cidrs)


def may_share(x: Service, y: Service) -> bool:
    """The sharing rules, written out independently of the code under test."""

    def backend(v: Service) -> object:
        local = v.external_traffic_policy.value == "Local"
        return sorted(v.selector.items()) if local else None

    kx, ky = x.request.sharing_key, y.request.sharing_key
    ports_x = {(p.protocol, p.port) for p in x.ports}
    ports_y = {(p.protocol, p.port) for p in y.ports}
    return bool(kx) and kx == ky and backend(x) == backend(y) and not ports_x & ports_y


def check_invariants(s: ClusterSnapshot, result: AllocationResult) -> None:
    by_key = {x.key: x for x in s.services}
    holders: dict[IPAddress, list[Service]] = defaultdict(list)
    for key, a in result.assignments().items():
        service = by_key[key]
        p = s.config.pools[a.pool]
        assert len(set(a.ips)) == len(a.ips)
        for ip in a.ips:
            holders[ip].append(service)
            assert in_pool(p, ip), (key, ip, a.pool)
        if service.load_balancer_class == "l2":
            assert (a.pool, a.class_name) == ("l2", "l2")
            assert len(a.ips) <= service.request.ips_count
            assert all(ip.version == service.ip_families[0] for ip in a.ips)
        else:
            assert p.kind is not PoolKind.CLASS and a.class_name is None
            assert pool_allows(p, service, s.namespaces) is None
            if service.request.pool is not None:
                assert a.pool == service.request.pool
            if service.request.ips:
                assert set(a.ips) == set(service.request.ips)
            versions = [ip.version for ip in a.ips]
            assert len(set(versions)) == len(versions)
            assert set(versions) <= set(service.ip_families)
            if service.ip_family_policy is IPFamilyPolicy.SINGLE:
                assert versions == [service.ip_families[0]]
            if service.ip_family_policy is IPFamilyPolicy.REQUIRE_DUAL:
                assert len(versions) == 2
    for ip, group in holders.items():
        for x, y in combinations(group, 2):
            assert may_share(x, y), (ip, x.key, y.key)


@given(configs(), services("s"))
def test_invariants_hold_for_any_snapshot(pools: list[AddressPool], svcs: list[Service]) -> None:
    s = make(pools, svcs)
    check_invariants(s, allocate(s))


@given(configs(), services("s"))
def test_restore_from_status_reproduces_the_result(
    pools: list[AddressPool], svcs: list[Service]
) -> None:
    s = make(pools, svcs)
    first = allocate(s)
    again = allocate(written(s, first))
    assert again.assignments() == first.assignments()
    assert not any(o.changed for o in again.outcomes.values())


@given(configs(), services("s"), st.integers(0, 9))
def test_deleting_one_service_takes_no_ip_from_another(
    pools: list[AddressPool], svcs: list[Service], victim: int
) -> None:
    s = make(pools, svcs)
    alloc = Allocator()
    first = alloc.reconcile(s)
    s = written(s, first)
    gone = svcs[victim % len(svcs)].key if svcs else ""
    for result in (alloc.reconcile(without(s, gone)), allocate(without(s, gone))):
        check_invariants(without(s, gone), result)
        for key, outcome in result.outcomes.items():
            assert set(first.outcomes[key].ips) <= set(outcome.ips), key


def allocatable(p: AddressPool, fam: int) -> set[IPAddress]:
    return {ip for net in p.cidrs if net.version == fam for ip in net if in_pool(p, ip)}


@given(
    configs(),
    services("s"),
    services("n", max_size=8),
    st.lists(st.tuples(st.booleans(), st.integers(0, 20)), max_size=10),
)
def test_freed_ips_wait_until_never_used_ones_run_out(
    pools: list[AddressPool],
    svcs: list[Service],
    newcomers: list[Service],
    steps: list[tuple[bool, int]],
) -> None:
    alloc = Allocator()
    s = make(pools, svcs)
    ever: set[IPAddress] = set()
    before: dict[str, set[IPAddress]] = {}
    pending = list(newcomers)
    for delete, pick in [(False, 0), *steps]:
        if delete and s.services:
            s = without(s, s.services[pick % len(s.services)].key)
        elif not delete and pick and pending:
            s = plus(s, pending.pop(0))
        result = alloc.reconcile(s)
        check_invariants(s, result)
        held_before = set().union(*before.values()) if before else set()
        now = {k: set(map(ip_address, o.ips)) for k, o in result.outcomes.items()}
        assigned_now = set().union(*now.values()) if now else set()
        by_key = {x.key: x for x in s.services}
        for key, got in now.items():
            for ip in got - before.get(key, set()):
                if ip not in ever or ip in held_before or ip in by_key[key].request.ips:
                    continue  # never used, joined by sharing, or asked for by name
                a = result.assignment(key)
                assert a is not None
                fresh = allocatable(s.config.pools[a.pool], ip.version) - ever - assigned_now
                assert not fresh, (key, ip, sorted(map(str, fresh)))
        ever |= assigned_now
        before = now
        s = written(s, result)
