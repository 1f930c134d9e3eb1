"""IP sharing (reference §3.4): same non-empty key, same backend key, disjoint ports.

Matrix: keys (equal / different / missing) x backend (Cluster / Local same selector / Local
other selector / Local vs Cluster) x ports (disjoint / overlapping, TCP vs UDP) x request
(automatic: opportunistic; explicit: shares or fails naming the other Service and port) x
Service kind (plain / class slots).
"""

from __future__ import annotations

from ipaddress import ip_address

from orchestrator.core.alloc.allocator import allocate
from orchestrator.core.alloc.pool import PoolSpace
from orchestrator.core.alloc.result import Reason
from orchestrator.core.alloc.sharing import SharingTable, backend_key, incompatibility, ip_key
from tests.unit.core.alloc.test_allocator_support import ips, mlbc, pool, snap, svc

P = pool("p", "192.0.2.0/28")
TCP53 = (("TCP", 53),)
UDP53 = (("UDP", 53),)


def test_same_key_disjoint_ports_share_automatically() -> None:
    s = snap(
        [
            svc("dns-tcp", ports=TCP53, key="dns"),
            svc("other"),
            svc("dns-udp", ports=UDP53, key="dns"),
        ],
        pools=[P],
    )
    result = allocate(s)
    assert ips(result, "demo/dns-tcp") == ips(result, "demo/dns-udp") == ["192.0.2.0"]
    assert ips(result, "demo/other") == ["192.0.2.1"]
    assert result.pools["p"].ipv4_in_use == 2


def test_same_key_overlapping_ports_get_different_ips() -> None:
    s = snap([svc("a", ports=TCP53, key="k"), svc("b", ports=TCP53, key="k")], pools=[P])
    result = allocate(s)
    assert ips(result, "demo/a") != ips(result, "demo/b")


def test_explicit_request_conflict_names_service_and_port() -> None:
    s = snap(
        [
            svc("dns", ports=TCP53, key="k", status=["192.0.2.5"]),
            svc("web", ports=TCP53, key="k", ips=["192.0.2.5"]),
        ],
        pools=[P],
    )
    outcome = allocate(s).outcomes["demo/web"]
    assert outcome.reason is Reason.SHARING_CONFLICT
    assert "sharing conflict with demo/dns on TCP/53" in outcome.message
    assert outcome.assignment is None


def test_explicit_request_of_a_compatible_ip_shares_it() -> None:
    s = snap(
        [
            svc("dns", ports=TCP53, key="k", status=["192.0.2.5"]),
            svc("web", ports=UDP53, key="k", ips=["192.0.2.5"]),
        ],
        pools=[P],
    )
    assert ips(allocate(s), "demo/web") == ["192.0.2.5"]


def test_explicit_request_without_key_conflicts() -> None:
    s = snap([svc("a", status=["192.0.2.5"]), svc("b", ports=UDP53, ips=["192.0.2.5"])], pools=[P])
    outcome = allocate(s).outcomes["demo/b"]
    assert outcome.reason is Reason.SHARING_CONFLICT and "demo/a" in outcome.message


def test_different_keys_conflict() -> None:
    s = snap(
        [
            svc("a", key="x", status=["192.0.2.5"]),
            svc("b", ports=UDP53, key="y", ips=["192.0.2.5"]),
        ],
        pools=[P],
    )
    outcome = allocate(s).outcomes["demo/b"]
    assert outcome.reason is Reason.SHARING_CONFLICT and "keys differ" in outcome.message


def test_local_services_must_select_the_same_pods() -> None:
    a = svc("a", ports=TCP53, key="k", local=True, selector={"app": "dns"})
    same = svc("b", ports=UDP53, key="k", local=True, selector={"app": "dns"})
    other = svc("c", ports=(("TCP", 54),), key="k", local=True, selector={"app": "other"})
    cluster = svc("d", ports=(("TCP", 55),), key="k", selector={"app": "dns"})
    result = allocate(snap([a, same, other, cluster], pools=[P]))
    assert ips(result, "demo/b") == ips(result, "demo/a")
    assert ips(result, "demo/c") != ips(result, "demo/a")
    assert ips(result, "demo/d") not in (ips(result, "demo/a"), ips(result, "demo/c"))


def test_backend_key_is_the_sorted_selector_for_local_only() -> None:
    local = svc("a", local=True, selector={"b": "2", "a": "1"})
    assert backend_key(local) == "a=1,b=2"
    assert backend_key(svc("a", selector={"b": "2"})) == ""


def test_incompatibility_reasons() -> None:
    me = svc("me", ports=TCP53, key="k")
    assert incompatibility(me, svc("o", ports=UDP53, key="k")) is None
    assert "no sharing key" in (incompatibility(me, svc("o", ports=UDP53)) or "")
    why = incompatibility(me, svc("o", ports=(("UDP", 1), *TCP53), key="k"))
    assert why == "sharing conflict with demo/o on TCP/53"


def test_a_service_restored_alone_may_change_its_key() -> None:
    s = snap([svc("a", key="new", status=["192.0.2.5"])], pools=[P])
    assert ips(allocate(s), "demo/a") == ["192.0.2.5"]


def test_shared_key_prefers_a_pool_where_its_key_lives() -> None:
    # Pool "a" comes first by name and has free IPs, but the key already lives in "b".
    pools = [pool("a", "192.0.2.0/30"), pool("b", "198.51.100.0/30")]
    s = snap(
        [svc("first", ports=TCP53, key="k", pool="b"), svc("second", ports=UDP53, key="k")],
        pools=pools,
    )
    result = allocate(s)
    assert ips(result, "demo/second") == ips(result, "demo/first") == ["198.51.100.0"]


def test_class_services_share_slot_ips_but_never_twice_in_one_service() -> None:
    cls, cls_pool = mlbc("l2", "192.0.2.0/28")
    a = svc("a", lb_class="l2", count=3, key="k", ports=TCP53)
    b = svc("b", lb_class="l2", count=3, key="k", ports=UDP53)
    result = allocate(snap([a, b], pools=[cls_pool], classes=[cls]))
    assert ips(result, "demo/a") == ips(result, "demo/b")
    assert len(set(ips(result, "demo/a"))) == 3
    assert result.pools["l2"].ipv4_in_use == 3


def test_the_same_port_number_over_tcp_and_udp_is_no_conflict() -> None:
    both = svc("x", ports=(("TCP", 53), ("UDP", 53)), key="k")
    assert incompatibility(both, svc("y", ports=(("SCTP", 53),), key="k")) is None
    assert incompatibility(both, svc("y", ports=UDP53, key="k")) is not None


def test_sharing_table_frees_an_ip_with_its_last_holder() -> None:
    table = SharingTable()
    space = PoolSpace(P)
    a = svc("a", ports=TCP53, key="k")
    b = svc("b", ports=UDP53, key="k")
    c = svc("c", ports=(("TCP", 80),), key="k")
    ipk = ip_key(ip_address("192.0.2.5"))
    for s in (a, b, c):
        assert table.conflict(ipk, s) is None
        table.add(ipk, s, space)
    assert table.holders(ipk) == (a, b, c)
    assert table.shareable(svc("d", ports=(("TCP", 81),), key="k"), space, 4) == ipk
    assert not table.remove(ipk, b) and table.holders(ipk) == (a, c)
    assert not table.remove(ipk, a) and table.holders(ipk) == (c,)
    assert not table.remove(ipk, a)
    assert table.remove(ipk, c) and table.holders(ipk) == ()
    assert table.shareable(svc("d", key="k"), space, 4) is None
