"""Make-before-break (``core/l2/handover.py``), in virtual time: an IP no longer wanted is
answered for exactly the overlap and then released; wanted again meanwhile, it is kept;
when this node is not live, everything not wanted goes at once; new IPs are answered at
once; interfaces of a lingering IP are those it was answered on; an IP no Service holds
any more goes at once."""

from ipaddress import ip_address

from orchestrator.core.l2.handover import Handover, hand_over

A, B = ip_address("192.0.2.10"), ip_address("2001:db8::10")
ALL = frozenset({A, B})


def test_an_ip_no_longer_wanted_is_answered_for_the_overlap_then_released() -> None:
    h = hand_over(Handover(), {A: (), B: ("eth1",)}, now=10.0, overlap=1.0, live=True, assigned=ALL)
    assert h.answer == {A: (), B: ("eth1",)} and h.next_at is None
    h = hand_over(h, {A: ()}, now=11.0, overlap=1.0, live=True, assigned=ALL)  # B moves to its home
    assert h.answer == {A: (), B: ("eth1",)} and h.next_at == 12.0
    h = hand_over(h, {A: ()}, now=11.9, overlap=1.0, live=True, assigned=ALL)
    assert B in h.answer and h.next_at == 12.0  # the deadline does not move
    h = hand_over(h, {A: ()}, now=12.0, overlap=1.0, live=True, assigned=ALL)
    assert h.answer == {A: ()} and h.next_at is None


def test_wanted_again_during_the_overlap_it_is_simply_kept() -> None:
    h = hand_over(Handover(), {A: ()}, now=0.0, overlap=1.0, live=True, assigned=ALL)
    h = hand_over(h, {}, now=0.5, overlap=1.0, live=True, assigned=ALL)
    h = hand_over(h, {A: ()}, now=0.8, overlap=1.0, live=True, assigned=ALL)
    assert h.answer == {A: ()} and h.until == {}
    h = hand_over(h, {}, now=5.0, overlap=1.0, live=True, assigned=ALL)  # a new overlap from now on
    assert h.until == {A: 6.0}


def test_a_node_that_is_not_live_releases_at_once() -> None:
    h = hand_over(Handover(), {A: (), B: ()}, now=0.0, overlap=1.0, live=True, assigned=ALL)
    h = hand_over(h, {B: ()}, now=0.1, overlap=1.0, live=True, assigned=ALL)
    assert h.until == {A: 1.1}
    h = hand_over(h, {}, now=0.2, overlap=1.0, live=False, assigned=ALL)
    assert h.answer == {} and h.next_at is None


def test_zero_overlap_is_break_before_make() -> None:
    h = hand_over(Handover(), {A: ()}, now=0.0, overlap=0.0, live=True, assigned=ALL)
    assert hand_over(h, {}, now=0.1, overlap=0.0, live=True, assigned=ALL).answer == {}


def test_an_ip_no_service_holds_any_more_goes_at_once() -> None:
    h = hand_over(Handover(), {A: (), B: ()}, now=0.0, overlap=1.0, live=True, assigned=ALL)
    h = hand_over(h, {A: ()}, now=0.1, overlap=1.0, live=True, assigned=frozenset({A}))
    assert h.answer == {A: ()} and h.until == {}
