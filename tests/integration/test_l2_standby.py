"""The announcer child killed with SIGKILL: its warm standby answers within ms (root).

Topology of ``test_l2_announce`` (``tests/harness/lan.py``); a raw-socket ARP client asks
for the IP every 10 ms (``ArpWatch``) while the active child is killed. Matrix:

- with a standby: the IP is answered again by the same node, the standby now active; the
  longest unanswered stretch is printed. ``restart_delay`` is 5 s, so only the standby can
  explain answers within a second, and ``ready`` (the lease's condition) is True again as
  soon as the standby confirmed the table;
- without a standby (``standby=False``), ``ready`` is False until a new child holds the
  table: the speaker lets its lease lapse meanwhile, instead of leaving the IP unanswered
  behind a fresh lease.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from ipaddress import ip_address

import pytest

from orchestrator.l2.probe import in_netns
from orchestrator.l2.process import AnnouncerProcess
from orchestrator.lab.arpwatch import ArpWatch
from tests.harness.lan import VIP4, Lan, answered_by, prober
from tests.harness.polling import poll

pytestmark = pytest.mark.root


@pytest.fixture
def pair(lan: Lan) -> Iterator[AnnouncerProcess]:
    a = AnnouncerProcess(interfaces=["eth0"], restart_delay=5.0)
    in_netns(lan.n1, a.start)
    try:
        yield a
    finally:
        a.stop()


def test_the_standby_answers_at_once_after_kill_9(lan: Lan, pair: AnnouncerProcess) -> None:
    pair.set_announced({ip_address(VIP4): None})
    poll("standby started", lambda: pair.standby_pid is not None)
    n1 = lan.mac(lan.n1)
    with prober(lan) as p:
        poll(f"{VIP4} answered", lambda: answered_by(p, VIP4, timeout=0.1))
        poll("ready", pair.ready)
        first, standby = pair.pid, pair.standby_pid
        assert first is not None and standby is not None
        time.sleep(1.5)  # the standby has imported and opened its sockets
        with ArpWatch(p, VIP4, every=0.01, limit=10) as watch:
            time.sleep(0.5)
            killed = time.monotonic()
            os.kill(first, signal.SIGKILL)
            time.sleep(1.0)
        assert pair.pid == standby and pair.restarts == 1
        after = [macs for t, macs in watch.samples if t > killed]
        assert after and after[-1] == {n1}
        assert watch.answered_by() == {n1}
        gap = max(watch.gaps(), default=0.0)
        print(f"\nkill -9 of the announcer child: longest unanswered stretch {gap * 1000:.1f} ms")
        assert gap < 1.0  # a new interpreter (the only other way back) takes longer
    assert pair.ready()


def test_without_a_standby_the_node_is_not_ready_until_a_child_holds_the_table(
    lan: Lan,
) -> None:
    a = AnnouncerProcess(interfaces=["eth0"], restart_delay=5.0, standby=False)
    in_netns(lan.n1, a.start)
    try:
        a.set_announced({ip_address(VIP4): None})
        poll("ready", a.ready)
        first = a.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        poll("not ready", lambda: not a.ready(), timeout=1.0)
        assert poll("ready again", a.ready) and a.pid != first
        with prober(lan) as p:
            assert poll(f"{VIP4} again", lambda: answered_by(p, VIP4)) == lan.mac(lan.n1)
    finally:
        a.stop()
