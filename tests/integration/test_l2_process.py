"""``AnnouncerProcess``: the announcer in a child process, as ``mlb speaker`` runs it (root).

Same topology as ``test_l2_announce``; ``start`` is called from a thread in n1's namespace,
so the child (and every replacement) is spawned there. Matrix:

- the child, not this process, answers ARP and NDP for what ``set_announced`` gave it, and
  the parent mirrors its links and counters (the metrics read the mirror);
- a withdrawal is in effect in the child within 50 ms;
- a killed child is replaced and answers the current table again; ``error`` says why;
- ``stop`` withdraws everything and the child is gone;
- with ``quiet_after``, the child withdraws when no keepalive came for that long (a frozen
  speaker whose lease expires), and answers again at the next one.
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
from tests.harness.lan import VIP4, VIP6, Lan, answered_by, prober
from tests.harness.polling import poll

pytestmark = pytest.mark.root


@pytest.fixture
def child(lan: Lan) -> Iterator[AnnouncerProcess]:
    a = AnnouncerProcess(interfaces=["eth0", "veth1"], restart_delay=0.2, counters_every=0.5)
    in_netns(lan.n1, a.start)
    try:
        yield a
    finally:
        a.stop()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_the_child_answers_and_the_parent_mirrors_it(lan: Lan, child: AnnouncerProcess) -> None:
    assert child.pid is not None and child.pid != os.getpid()
    child.set_announced({ip_address(VIP4): None, ip_address(VIP6): ["eth0"]})
    n1 = lan.mac(lan.n1)
    with prober(lan) as p:
        assert poll(f"{VIP4} answered", lambda: answered_by(p, VIP4)) == n1
        assert answered_by(p, VIP6) == n1
    assert poll("links reported", lambda: child.links) == ("eth0", "veth1")
    packed = ip_address(VIP4).packed
    poll("counters mirrored", lambda: child.stats.responses_sent.get(packed, 0) > 0)
    assert child.error is None


def test_a_withdrawal_reaches_the_child_within_50_ms(lan: Lan, child: AnnouncerProcess) -> None:
    child.set_announced({ip_address(VIP4): None, ip_address(VIP6): None})
    with prober(lan) as p:
        poll(f"{VIP6} answered", lambda: answered_by(p, VIP6))
        child.set_announced({ip_address(VIP4): None})
        time.sleep(0.05)  # the message's way through the socket and the child's loop
        p.drain()  # a gratuitous NA of the takeover burst sent before the withdrawal
        assert answered_by(p, VIP6) is None
        assert answered_by(p, VIP4) == lan.mac(lan.n1)


def test_a_killed_child_is_replaced_with_the_table(lan: Lan, child: AnnouncerProcess) -> None:
    child.set_announced({ip_address(VIP4): None})
    with prober(lan) as p:
        poll(f"{VIP4} answered", lambda: answered_by(p, VIP4))
        first = child.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        poll("a new child", lambda: child.pid not in (None, first) and child.running)
        assert poll(f"{VIP4} answered again", lambda: answered_by(p, VIP4)) == lan.mac(lan.n1)
    assert child.restarts == 1
    assert child.error is not None and "exited (code -9)" in child.error


def test_stop_withdraws_and_ends_the_child(lan: Lan, child: AnnouncerProcess) -> None:
    child.set_announced({ip_address(VIP4): None})
    with prober(lan) as p:
        poll(f"{VIP4} answered", lambda: answered_by(p, VIP4))
        pid = child.pid
        assert pid is not None
        child.stop()
        assert not child.running and not _alive(pid)
        p.drain()
        assert answered_by(p, VIP4) is None


def test_the_child_goes_quiet_when_the_speaker_does(lan: Lan) -> None:
    quiet = AnnouncerProcess(interfaces=["eth0"], quiet_after=0.6)
    in_netns(lan.n1, quiet.start)
    try:
        quiet.set_announced({ip_address(VIP4): None})
        with prober(lan) as p:
            poll(f"{VIP4} answered", lambda: answered_by(p, VIP4, timeout=0.1))
            for _ in range(4):  # renewals keep it answering past quiet_after
                time.sleep(0.3)
                quiet.keepalive()
            assert answered_by(p, VIP4, timeout=0.1) == lan.mac(lan.n1)
            time.sleep(0.8)  # no renewal: the speaker froze; others take over now
            p.drain()
            assert answered_by(p, VIP4) is None
            quiet.keepalive()  # back: the same table again
            assert poll(f"{VIP4} again", lambda: answered_by(p, VIP4, timeout=0.1)) == lan.mac(
                lan.n1
            )
    finally:
        quiet.stop()
