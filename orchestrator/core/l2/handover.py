"""Make-before-break: an IP this node stops wanting is still answered for a bounded overlap.

Why (docs/design.md §15, docs/l2.md): when an IP goes back to its restarted home node, or
moves for any planned reason, the old holder learns it from the same lease the new holder
does. If the old holder withdrew at once, the IP had no answer until the new holder's
announcer answered (0.5–1.3 s measured). So the old holder goes on answering for
``overlap`` seconds (one lease renewal interval) after it first stops wanting the IP; the
new holder answers and sends its gratuitous ARP / unsolicited NA in that time, and two
nodes answer for one IP only within that window.

No overlap for an IP no Service holds any more (the Service was deleted, its IP count
lowered): nobody takes it over, so it goes at once. No overlap when this node itself is
not live: its lease has lapsed or was released, so the
others take over because it is gone, and a node that cannot answer must not pretend to.
An IP wanted again during its overlap is simply kept.

``hand_over`` is pure: the previous ``Handover``, the wanted table and ``now`` in, the next
``Handover`` out; ``next_at`` says when to look again to end an overlap.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass, field

from orchestrator.core.model.cluster import IPAddress

Interfaces = tuple[str, ...]  # empty: every allowed interface


@dataclass(frozen=True)
class Handover:
    #: what the announcer answers for now: the wanted IPs and those in their overlap
    answer: Mapping[IPAddress, Interfaces] = field(default_factory=dict)
    #: IPs no longer wanted, answered until the given moment
    until: Mapping[IPAddress, float] = field(default_factory=dict)

    @property
    def next_at(self) -> float | None:
        return min(self.until.values()) if self.until else None


def hand_over(
    previous: Handover,
    wanted: Mapping[IPAddress, Interfaces],
    *,
    now: float,
    overlap: float,
    live: bool,
    assigned: Set[IPAddress],
) -> Handover:
    """The next answer table: ``wanted``, plus what ``previous`` answered and is no longer
    wanted but still ``assigned`` (some node takes it over), for ``overlap`` seconds after
    it stopped being wanted (only while ``live``)."""
    answer = dict(wanted)
    until: dict[IPAddress, float] = {}
    if live:
        for ip, interfaces in previous.answer.items():
            if ip in wanted or ip not in assigned:
                continue
            deadline = previous.until.get(ip, now + overlap)
            if deadline > now:
                answer[ip] = interfaces
                until[ip] = deadline
    return Handover(answer=answer, until=until)
