"""Session status from FRR's JSON, as the contract's ``PeerStatus``.

``peer_status`` reads ``show bgp summary json`` (per address family: state, prefixes sent)
and ``show bfd peers json`` for the neighbours we configured, and names each by its
BGPPeer. The state words are FRR's own (RFC 4271's), read into ``SessionState``; a
neighbour FRR does not know is ``missing``. Hints (a session down with a TCP MD5 password
set, a missing neighbour) and the metrics are the contract's, the same for GoBGP
(``orchestrator.routing.report``, ``orchestrator.routing.metrics``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from frr.model import FrrView
from orchestrator.routing.report import PeerStatus, Session, SessionState
from orchestrator.routing.report import peer_status as make_status


def sessions(view: FrrView | None) -> tuple[Session, ...]:
    """The sessions a view configures."""
    if view is None:
        return ()
    return tuple(
        Session(
            peer=n.peer,
            neighbor=n.key,
            password=n.password is not None,
            bfd=any(o.startswith("bfd") for o in n.options),
        )
        for n in view.neighbors
    )


def peer_status(view: FrrView, summary: Mapping[str, Any], bfd: Any) -> tuple[PeerStatus, ...]:
    states: dict[str, str] = {}
    sent: dict[str, int] = {}
    for family in summary.values():
        if not isinstance(family, Mapping):
            continue
        for key, info in (family.get("peers") or {}).items():
            if not isinstance(info, Mapping):
                continue
            states[key] = str(info.get("state", "unknown"))
            sent[key] = sent.get(key, 0) + int(info.get("pfxSnt", 0) or 0)
    bfd_state: dict[str, str] = {}
    if isinstance(bfd, list):
        for entry in bfd:
            if isinstance(entry, Mapping) and "peer" in entry:
                bfd_state[str(entry["peer"])] = str(entry.get("status", "unknown"))
            if isinstance(entry, Mapping) and "interface" in entry and "peer" not in entry:
                bfd_state[str(entry["interface"])] = str(entry.get("status", "unknown"))
    out: list[PeerStatus] = []
    for session in sessions(view):
        key = session.neighbor
        state = SessionState.of(states[key]) if key in states else SessionState.MISSING
        out.append(make_status(session, state, announced=sent.get(key, 0), bfd=bfd_state.get(key)))
    return tuple(out)
