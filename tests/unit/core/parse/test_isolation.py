"""``isolate``: the one isolation rule both sources apply (docs/design.md §16).

Matrix: first start (no last good) with a broken pool next to a valid one; a pool that
becomes invalid (held at its last good version: its IPs stay, none new) and is fixed
again; dependents (an advertisement naming a left-out pool is left out, naming it; one
naming a held pool stays); a conflict with a serving object (the newcomer is left out even
when it sorts first); an unreadable origin (its last good documents kept); a Service on a
left-out class or pool keeps its IPs and falls back to nothing. The property test drives
random edits through a controller loop and checks that no IP of a valid object ever moves.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.adapters.files.source import overlay
from orchestrator.core.alloc.allocator import Allocator
from orchestrator.core.alloc.result import Reason
from orchestrator.core.model.errors import Severity
from orchestrator.core.parse.isolation import HELD, Document, Isolated, isolate
from orchestrator.core.plan import plan
from orchestrator.core.status.records import desired_status
from tests.unit.core.parse.parse_support import obj, pool

POOL_ANNOTATION = "metallb.universe.tf/address-pool"


def docs(*items: dict[str, Any]) -> list[Document]:
    return [(f"t.yaml#{i}", d) for i, d in enumerate(items, 1)]


def l2adv(name: str, *pools: str) -> dict[str, Any]:
    return obj("L2Advertisement", name, {"ipAddressPools": list(pools)})


def service(name: str, pool_name: str | None = None, *, cls: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "demo"}
    if pool_name is not None:
        meta["annotations"] = {POOL_ANNOTATION: pool_name}
    spec: dict[str, Any] = {
        "type": "LoadBalancer",
        "ports": [{"port": 80, "protocol": "TCP"}],
        "clusterIP": "192.0.2.1",
        "clusterIPs": ["192.0.2.1"],
        "ipFamilies": ["IPv4"],
        "ipFamilyPolicy": "SingleStack",
    }
    if cls is not None:
        spec["loadBalancerClass"] = cls
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec}


def mlbc(name: str, *addresses: str) -> dict[str, Any]:
    return {
        "apiVersion": "network.deckhouse.io/v1alpha1",
        "kind": "MetalLoadBalancerClass",
        "metadata": {"name": name},
        "spec": {"type": "L2", "addressPool": list(addresses)},
    }


def errors_of(result: Isolated) -> list[str]:
    return [str(p) for p in result.snapshot.problems if p.severity is Severity.ERROR]


def test_first_start_leaves_out_only_the_broken_pool_and_its_dependents() -> None:
    result = isolate(
        docs(
            pool("good", "198.51.100.0/28"),
            pool("typo", "198.51.100.300/29"),
            l2adv("on-good", "good"),
            l2adv("on-typo", "typo"),
        )
    )
    config = result.snapshot.config
    assert list(config.pools) == ["good"]
    assert [a.name for a in config.l2_advertisements] == ["on-good"]
    assert result.left_out == {"IPAddressPool/typo", "L2Advertisement/on-typo"}
    assert errors_of(result) == [
        'IPAddressPool/typo: spec.addresses[0]: "198.51.100.300/29" is not a valid CIDR',
        "L2Advertisement/on-typo: spec.ipAddressPools: names IPAddressPool/typo, which is "
        "invalid (left out)",
    ]
    assert set(result.last_good) == {"IPAddressPool/good", "L2Advertisement/on-good"}


def test_a_pool_that_becomes_invalid_is_held_at_its_last_good_version() -> None:
    first = isolate(docs(pool("p", "198.51.100.0/28"), l2adv("ad", "p")))
    broken = isolate(docs(pool("p", "198.51.100.0/33"), l2adv("ad", "p")), first.last_good)
    p = broken.snapshot.config.pools["p"]
    assert p.held and [str(c) for c in p.cidrs] == ["198.51.100.0/28"]
    assert [a.name for a in broken.snapshot.config.l2_advertisements] == ["ad"]
    assert broken.held == {"IPAddressPool/p"} and not broken.left_out
    assert any("198.51.100.0/33" in e for e in errors_of(broken))
    assert f"warning: IPAddressPool/p: {HELD}" in [str(x) for x in broken.snapshot.problems]
    assert broken.last_good == first.last_good
    fixed = isolate(docs(pool("p", "198.51.100.0/27"), l2adv("ad", "p")), broken.last_good)
    assert not fixed.snapshot.config.pools["p"].held and not fixed.snapshot.problems
    assert [str(c) for c in fixed.snapshot.config.pools["p"].cidrs] == ["198.51.100.0/27"]


def test_a_held_pool_keeps_its_ips_and_gives_out_none() -> None:
    allocator = Allocator()
    statuses: dict[str, Mapping[str, Any]] = {}

    def reconcile(items: Sequence[dict[str, Any]], last: Mapping[str, Document]) -> Isolated:
        result = isolate(overlay(docs(*items), statuses), last)
        out = plan(result.snapshot, allocator=allocator)
        for row in out.services:
            record = desired_status(row.service, row.outcome, row.homes)
            if record is not None:
                statuses[row.service.key] = record.to_dict()
        return result

    first = reconcile([pool("p", "198.51.100.0/30"), service("a", "p")], {})
    assert statuses["demo/a"]["ingress"] == ["198.51.100.0"]
    broken = [pool("p", "198.51.100.0/33"), service("a", "p"), service("b", "p")]
    held = reconcile(broken, first.last_good)
    assert statuses["demo/a"]["ingress"] == ["198.51.100.0"]
    assert "demo/b" not in statuses or not statuses["demo/b"]["ingress"]
    (b,) = [r for r in plan(held.snapshot, allocator=allocator).services if r.service.name == "b"]
    assert b.outcome.reason is Reason.POOL_HELD


def test_a_newcomer_never_displaces_a_serving_object() -> None:
    first = isolate(docs(pool("z-old", "198.51.100.0/28")))
    # "a-new" sorts first by name, but z-old has been serving
    later = isolate(
        docs(pool("z-old", "198.51.100.0/28"), pool("a-new", "198.51.100.8/29")), first.last_good
    )
    assert list(later.snapshot.config.pools) == ["z-old"]
    assert errors_of(later)[0].startswith("IPAddressPool/a-new: spec.addresses[0]:")
    assert "IPAddressPool/z-old (t.yaml#1) keeps serving" in errors_of(later)[0]


def test_an_unreadable_origin_keeps_its_last_good_documents() -> None:
    settings_doc = ("Secret/ns/s:moduleconfig.yaml#1", pool("from-secret", "203.0.113.0/28"))
    first = isolate([settings_doc])
    later = isolate([], first.last_good, unreadable=frozenset({"Secret/ns/s:moduleconfig.yaml"}))
    assert later.snapshot.config.pools["from-secret"].held
    assert later.held == {"IPAddressPool/from-secret"}
    gone = isolate([], first.last_good)  # readable and empty: deleted for real
    assert gone.snapshot.config.pools == {}


def test_a_service_on_a_left_out_class_gets_no_fallback_to_the_default() -> None:
    default = mlbc("main", "198.51.100.0/28")
    default["spec"]["isDefault"] = True
    result = isolate(docs(default, mlbc("broken", "198.51.100.300"), service("x", cls="broken")))
    (row,) = plan(result.snapshot).services
    assert row.assignment is None and row.outcome.reason is Reason.CLASS_INVALID
    assert "MetalLoadBalancerClass broken is invalid" in row.outcome.message


def test_a_service_on_a_left_out_pool_keeps_its_ips_after_a_restart() -> None:
    svc = service("a", "p")
    svc["metadata"]["annotations"]["metallb.io/ip-allocated-from-pool"] = "p"
    svc["status"] = {"loadBalancer": {"ingress": [{"ip": "198.51.100.5"}]}}
    # a restarted controller: no last good version of the (now broken) pool
    result = isolate(docs(pool("p", "198.51.100.0/33"), pool("q", "198.51.100.0/28"), svc))
    (row,) = plan(result.snapshot).services
    assert row.outcome.reason is Reason.POOL_INVALID
    assert row.assignment is not None and [str(ip) for ip in row.assignment.ips] == ["198.51.100.5"]
    assert desired_status(row.service, row.outcome, row.homes) is None  # nothing rewritten


# --------------------------------------------------------------------------- property

POOLS = [f"p{i}" for i in range(4)]
GOOD = {name: [f"198.51.100.{16 * i}/28"] for i, name in enumerate(POOLS)}
#: Always valid, and always the senior of any pool overlapping it ("anchor" sorts first).
ANCHOR = pool("anchor", "198.51.100.128/28")
#: Ways to make a pool invalid: a typo, an overlap with itself, an overlap with the
#: serving anchor, a value that is no address at all. (Not a valid edit of its range: that
#: may move an IP, as the user asked.)
BAD = [
    ["198.51.100.300/28"],
    ["198.51.100.64/28", "198.51.100.64/29"],
    ["198.51.100.128/27"],
    ["not-an-ip"],
]

edit = st.tuples(
    st.sampled_from(["break", "fix", "add_service", "restart"]),
    st.sampled_from(POOLS),
    st.integers(0, len(BAD) - 1),
)


@settings(max_examples=60, deadline=None)
@given(start_broken=st.sets(st.sampled_from(POOLS)), edits=st.lists(edit, max_size=12))
def test_no_ip_of_a_valid_object_ever_moves(
    start_broken: set[str], edits: list[tuple[str, str, int]]
) -> None:
    services = [service(f"s-{name}", name) for name in POOLS]
    spec = {name: (BAD[0] if name in start_broken else GOOD[name]) for name in POOLS}
    services.append(service("s-anchor", "anchor"))
    allocator = Allocator()
    statuses: dict[str, Mapping[str, Any]] = {}
    last: Mapping[str, Document] = {}
    seen: dict[str, list[str]] = {}  # Service -> the IPs it first got

    def reconcile() -> None:
        nonlocal last
        items = [ANCHOR, *(pool(name, *addresses) for name, addresses in spec.items())]
        result = isolate(overlay(docs(*copy.deepcopy(items), *services), statuses), last)
        last = result.last_good
        for row in plan(result.snapshot, allocator=allocator).services:
            record = desired_status(row.service, row.outcome, row.homes)
            if record is not None:
                statuses[row.service.key] = record.to_dict()
        for key, recorded in statuses.items():
            ips = list(recorded.get("ingress") or [])
            if seen.get(key):
                assert ips == seen[key], f"{key} moved from {seen[key]} to {ips}"
            elif ips:
                seen[key] = ips

    reconcile()
    for action, name, bad in edits:
        if action == "break":
            spec[name] = BAD[bad]
        elif action == "fix":
            spec[name] = GOOD[name]
        elif action == "add_service":
            services.append(service(f"s-{name}-{len(services)}", name))
        else:  # a controller restart: no allocator cache, no last good versions
            allocator, last = Allocator(), {}
        reconcile()


def test_a_bad_ips_count_keeps_the_current_ips_and_a_fixed_one_the_same_ips() -> None:
    """`l2-load-balancer-external-ips-count: "-3"` was read as 1: two of three IPs were
    released, and "3" again handed out new ones."""
    cls = mlbc("main", "198.51.100.0/28")
    cls["spec"]["isDefault"] = True
    allocator = Allocator()
    statuses: dict[str, Mapping[str, Any]] = {}

    def ips_with(count: str) -> list[str]:
        svc = service("web")
        svc["metadata"]["annotations"] = {
            "network.deckhouse.io/l2-load-balancer-external-ips-count": count
        }
        result = isolate(overlay(docs(copy.deepcopy(cls), svc), statuses))
        for row in plan(result.snapshot, allocator=allocator).services:
            record = desired_status(row.service, row.outcome, row.homes)
            if record is not None:
                statuses[row.service.key] = record.to_dict()
        return list(statuses["demo/web"]["ingress"])

    three = ips_with("3")
    assert len(three) == 3
    for bad in ("-3", "abc", "0", "1000000"):
        assert ips_with(bad) == three, bad
    assert ips_with("3") == three


def test_a_damaged_recorded_state_keeps_the_last_clean_one() -> None:
    """An unreadable home-node annotation or status IP (controller down) made speakers move
    or withdraw the Service's IPs; the last clean state stands until it is rewritten."""
    svc = service("web")
    homes = "metallb-orchestrator.io/l2-homes"
    svc["metadata"]["annotations"] = {homes: '{"198.51.100.5": "node-a"}'}
    svc["status"] = {"loadBalancer": {"ingress": [{"ip": "198.51.100.5"}]}}
    first = isolate(docs(svc))
    (web,) = first.snapshot.services
    assert web.state.homes and web.state.ingress_ips

    for damage in ("homes", "ingress"):
        broken = copy.deepcopy(svc)
        if damage == "homes":
            broken["metadata"]["annotations"][homes] = '{"198.51.100.5": '
        else:
            broken["status"]["loadBalancer"]["ingress"] = [{"ip": "198.51.100.300"}]
        later = isolate(docs(broken), last_states=first.states)
        (kept,) = later.snapshot.services
        assert kept.state == web.state, damage
        assert "warning: Service/demo/web: cannot be read; the Service's last good " in "\n".join(
            str(p) for p in later.snapshot.problems
        )
        assert later.states == first.states
        # no last clean state (a restarted reader): what could be read, and no record kept
        fresh = isolate(docs(broken))
        assert fresh.snapshot.services[0].state != web.state and not fresh.states
