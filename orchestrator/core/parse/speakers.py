"""``speaker.nodeSelector`` of the ModuleConfig: the nodes that run a speaker at all.

In Deckhouse it is the speaker DaemonSet's node selector, so a node outside it has no
speaker: it answers no ARP/NDP (the L2 scope applies it) and opens no BGP session. The BGP
half is applied here, once, to every BGPPeer of the draft: each of its node selectors
gains one ``In`` requirement per label of the speaker selector (a peer for all nodes gets a
selector of just those), so sessions, the cross-object session rules and every backend
see the narrowed peer. Requirements, not ``matchLabels``, so that a peer selector asking
for another value of the same label matches no node instead of being overwritten.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from orchestrator.core.model.selectors import LabelSelector, Operator, Requirement
from orchestrator.core.parse.drafts import Draft


def narrow(
    selectors: tuple[LabelSelector, ...], speaker: Mapping[str, str]
) -> tuple[LabelSelector, ...]:
    if not speaker:
        return selectors
    extra = tuple(Requirement(k, Operator.IN, (v,)) for k, v in sorted(speaker.items()))
    if not selectors:
        return (LabelSelector({}, extra),)
    return tuple(replace(s, match_expressions=s.match_expressions + extra) for s in selectors)


def scope_peers_to_speakers(draft: Draft) -> None:
    speaker = draft.speaker_node_selector
    if not speaker:
        return
    for item in draft.peers:
        item.value = replace(item.value, node_selectors=narrow(item.value.node_selectors, speaker))
