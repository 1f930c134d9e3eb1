"""Session status of the neighbours we configured, as the contract's ``PeerStatus``.

gobgpd reports each neighbour's state and the prefixes advertised to it (``ListPeer`` with
``enableAdvertised``, read into ``PeerSnapshot`` by ``gobgp.messages``); a configured
neighbour gobgpd does not have is ``missing``. Hints and metrics are the contract's, the
same as FRR's (``orchestrator.routing.report``, ``orchestrator.routing.metrics``). The
neighbour is named by its address, as in MetalLB's metrics.
"""

from __future__ import annotations

from collections.abc import Mapping

from gobgp.diff import PeerSnapshot
from gobgp.model import GobgpDesired, IPAddress
from orchestrator.routing.report import PeerStatus, Session, SessionState, peer_status


def sessions(desired: GobgpDesired | None) -> tuple[Session, ...]:
    if desired is None:
        return ()
    return tuple(
        Session(peer=p.name, neighbor=str(p.address), password=p.password is not None)
        for p in desired.peers
    )


def peer_statuses(
    desired: GobgpDesired | None, seen: Mapping[IPAddress, PeerSnapshot]
) -> tuple[PeerStatus, ...]:
    out: list[PeerStatus] = []
    for session, peer in zip(sessions(desired), desired.peers if desired else (), strict=True):
        snap = seen.get(peer.address)
        if snap is None:
            out.append(peer_status(session, SessionState.MISSING))
        else:
            out.append(peer_status(session, snap.session, announced=snap.advertised))
    return tuple(out)
