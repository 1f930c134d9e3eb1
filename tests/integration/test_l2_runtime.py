"""The ``Announcer`` API as the speaker drives it, in a node namespace (root).

Same topology as ``test_l2_announce``. The announcer runs in this process: ``start`` is
called from a thread that entered n1's namespace, so its sockets, and the loop thread it
spawns, live there. Matrix:

- withdrawing one IP with ``set_announced`` stops its answers at once while the others
  continue, and adding one answers at once;
- per-IP interface lists: an IP limited to one link is not answered on the other
  (counted as ``wrongInterface``);
- link events: a link that comes up is used within 2 s and one that goes down is dropped,
  with the periodic rescan disabled, so only netlink events can explain it;
- solicited-node groups are joined (``ip maddr``) while an IPv6 VIP is announced and left
  after; above the group limit the link goes all-multicast, and back when stopped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from ipaddress import ip_address

import pytest

from orchestrator.core.l2.wire import DropReason
from orchestrator.l2 import Announcer
from orchestrator.l2.probe import in_netns
from tests.harness.lan import VIP4, VIP6, Lan, answered_by, prober
from tests.harness.polling import poll

pytestmark = pytest.mark.root

OTHER4, OTHER6 = "192.0.2.51", "2001:db8::51"


@pytest.fixture
def announcer(lan: Lan) -> Iterator[Announcer]:
    a = Announcer(interfaces=["eth0", "veth1"], rescan_interval=3600.0)
    in_netns(lan.n1, a.start)
    try:
        yield a
    finally:
        a.stop()
    assert a.error is None


def test_withdraw_and_add_take_effect_at_once(lan: Lan, announcer: Announcer) -> None:
    n1 = lan.mac(lan.n1)
    announcer.set_announced({ip_address(ip): None for ip in (VIP4, VIP6, OTHER4, OTHER6)})
    with prober(lan) as p:
        for ip in (VIP4, VIP6, OTHER4, OTHER6):
            assert answered_by(p, ip) == n1, ip
        announcer.set_announced({ip_address(VIP4): None, ip_address(VIP6): None})
        assert answered_by(p, OTHER4) is None
        assert answered_by(p, OTHER6) is None
        assert answered_by(p, VIP4) == n1
        assert answered_by(p, VIP6) == n1
        announcer.set_announced({ip_address(ip): None for ip in (VIP4, OTHER6)})
        assert answered_by(p, OTHER6) == n1
        assert answered_by(p, VIP6) is None


def test_per_ip_interfaces_narrow_answers(lan: Lan, announcer: Announcer) -> None:
    assert announcer.links == ("eth0", "veth1")
    announcer.set_announced({ip_address(VIP4): ["eth0"], ip_address(OTHER4): ["veth1"]})
    with prober(lan, "eth0") as near, prober(lan, "eth1") as far:
        assert answered_by(near, VIP4) == lan.mac(lan.n1)
        assert answered_by(far, VIP4) is None
        assert answered_by(far, OTHER4) == lan.mac(lan.n1, "veth1")
        assert answered_by(near, OTHER4) is None
    assert announcer.stats.dropped["veth1", DropReason.WRONG_INTERFACE] >= 1
    assert announcer.stats.dropped["eth0", DropReason.WRONG_INTERFACE] >= 1


def test_link_events_are_picked_up_without_polling(lan: Lan, announcer: Announcer) -> None:
    announcer.set_announced({ip_address(VIP4): None})
    lan.ns.run(lan.n1, "ip", "link", "set", "eth0", "down")
    poll("eth0 to be dropped", lambda: announcer.links == ("veth1",), timeout=2)
    assert announcer.link_status()["eth0"] == "down"
    lan.ns.run(lan.n1, "ip", "link", "set", "eth0", "up")
    poll("eth0 to be used again", lambda: announcer.links == ("eth0", "veth1"), timeout=2)
    with prober(lan) as p:
        got = poll("an answer on eth0", lambda: answered_by(p, VIP4), timeout=3)
    assert got == lan.mac(lan.n1)
    lan.ns.run(lan.n1, "ip", "link", "add", "br9", "type", "bridge")
    lan.ns.run(lan.n1, "ip", "link", "set", "veth1", "master", "br9")
    poll("enslaved veth1 to be dropped", lambda: announcer.links == ("eth0",), timeout=2)
    assert announcer.link_status()["veth1"] == "enslaved"


def groups(lan: Lan) -> str:
    return lan.ns.run(lan.n1, "ip", "-6", "maddr", "show", "dev", "eth0").stdout


def test_solicited_node_groups_follow_announcements(lan: Lan, announcer: Announcer) -> None:
    announcer.set_announced({ip_address(VIP6): None, ip_address(VIP4): None})
    poll("the solicited-node group of the VIP", lambda: "ff02::1:ff00:50" in groups(lan))
    announcer.set_announced({ip_address(VIP4): None})
    poll("the group to be left", lambda: "ff02::1:ff00:50" not in groups(lan))


def allmulti(lan: Lan) -> int:
    """The link's all-multicast reference count (socket-held allmulti is not a flag)."""
    out = lan.ns.run(lan.n1, "ip", "-d", "link", "show", "eth0").stdout
    match = re.search(r"\ballmulti (\d+)", out)
    assert match, out
    return int(match.group(1))


def test_many_groups_switch_the_link_to_allmulti(lan: Lan) -> None:
    a = Announcer(interfaces=["eth0"], group_limit=2, rescan_interval=3600.0)
    in_netns(lan.n1, a.start)
    try:
        vips = [ip_address(f"2001:db8::1:{i:x}") for i in range(1, 4)]
        a.set_announced(dict.fromkeys(vips))
        poll("eth0 to go all-multicast", lambda: allmulti(lan) == 1)
        with prober(lan) as p:
            assert answered_by(p, str(vips[2])) == lan.mac(lan.n1)
        a.set_announced(dict.fromkeys(vips[:1]))
        poll("all-multicast to be dropped", lambda: allmulti(lan) == 0)
        poll("one group joined", lambda: "ff02::1:ff01:1" in groups(lan))
        a.set_announced(dict.fromkeys(vips))
        poll("eth0 to go all-multicast again", lambda: allmulti(lan) == 1)
    finally:
        a.stop()
    assert allmulti(lan) == 0  # closing the socket released it
