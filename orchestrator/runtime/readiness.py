"""May this speaker renew its lease? Only while it can answer (docs/design.md §15).

A lease tells every other node "leave my IPs to me". A speaker that renews it while it
cannot serve them leaves them dark with nobody taking over: with no usable configuration
it does not know what to announce; with its announcer child dead, or not yet holding the
current table, nobody answers ARP/NDP; with its routing daemon's connection down its BGP
routes are not being kept. ``hold_reason`` says which of these holds the lease back (None:
renew); the speaker then lets the lease lapse, and the others take over after the lease
duration. The checks are the ports' own: ``ready`` on the announcer and on the backend.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol


class HoldReason(StrEnum):
    STARTING = "starting"  # no pass has run yet
    NO_CONFIGURATION = "noUsableConfiguration"
    ANNOUNCER_NOT_READY = "announcerNotReady"
    ROUTING_NOT_READY = "routingNotReady"


class Ready(Protocol):
    def ready(self) -> bool: ...


def hold_reason(
    *, passes: int, usable: bool, l2: object | None, bgp: Ready | None
) -> HoldReason | None:
    """Why the lease must not be renewed now, or None."""
    if passes == 0:
        return HoldReason.STARTING
    if not usable:
        return HoldReason.NO_CONFIGURATION
    ready = getattr(l2, "ready", None)  # an announcer that can tell (``AnnouncerProcess``)
    if callable(ready) and not ready():
        return HoldReason.ANNOUNCER_NOT_READY
    if bgp is not None and not bgp.ready():
        return HoldReason.ROUTING_NOT_READY
    return None
