"""What a routing backend reports, in one set of types for both: apply and drift reports,
sessions and their status, and the three stages of the last work done.

``PeerStatus`` is one configured BGP session as the daemon reports it: the BGPPeer name,
the neighbour (address, or interface for an unnumbered peer; the ``peer`` label of
MetalLB's metrics), the session state in RFC 4271's words, prefixes announced, the BFD
state when the peer uses BFD, and a hint when the state alone does not say what to check.
``peer_status`` builds it from a ``Session`` (what we configured) and what the daemon said,
so both backends give the same hints; ``unknown_status`` is what a session is when the
daemon cannot be read: not up, whatever it was before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class SessionState(StrEnum):
    IDLE = "Idle"
    CONNECT = "Connect"
    ACTIVE = "Active"
    OPENSENT = "OpenSent"
    OPENCONFIRM = "OpenConfirm"
    ESTABLISHED = "Established"
    MISSING = "missing"  # configured by us, absent from the daemon's running state
    UNKNOWN = "unknown"  # the daemon could not be read, or said something we do not know

    @staticmethod
    def of(text: str) -> SessionState:
        """A daemon's spelling (``Established``, ``Idle (Admin)``, ``established``)."""
        word = text.split(" ", 1)[0].strip().lower()
        return next((s for s in SessionState if s.value.lower() == word), SessionState.UNKNOWN)


MD5_HINT = (
    "session down with a TCP MD5 password configured: check that both sides use the same password"
)
MISSING_HINT = "the neighbour is not in the daemon's running state"


@dataclass(frozen=True)
class Session:
    """A BGP session the backend configured (for status and for "unknown" marking)."""

    peer: str  # BGPPeer name
    neighbor: str  # address, or interface name
    password: bool = False
    bfd: bool = False


@dataclass(frozen=True)
class PeerStatus:
    peer: str
    neighbor: str
    state: SessionState
    announced: int
    bfd: str | None  # "up", "down", "init", "missing", ... or None without BFD
    hint: str | None = None

    @property
    def up(self) -> bool:
        return self.state is SessionState.ESTABLISHED


def peer_status(
    session: Session, state: SessionState, *, announced: int = 0, bfd: str | None = None
) -> PeerStatus:
    hint = None
    if state is not SessionState.ESTABLISHED and session.password:
        # the kernel drops segments with a wrong TCP MD5 signature silently: "down, with a
        # password set" is all any daemon can show
        hint = MD5_HINT
    elif state is SessionState.MISSING:
        hint = MISSING_HINT
    return PeerStatus(
        peer=session.peer,
        neighbor=session.neighbor,
        state=state,
        announced=announced,
        bfd=(bfd or "missing") if session.bfd else None,
        hint=hint,
    )


def unknown_status(session: Session, reason: str) -> PeerStatus:
    return PeerStatus(
        peer=session.peer,
        neighbor=session.neighbor,
        state=SessionState.UNKNOWN,
        announced=0,
        bfd="unknown" if session.bfd else None,
        hint=f"the daemon could not be read: {reason}",
    )


@dataclass(frozen=True)
class ApplyReport:
    """What one apply did. ``changes``: commands (FRR) or objects (GoBGP) sent; ``detail``
    the same by kind, for the log; ``problems``: what the intent asked that is not done
    (withheld by the core, or beyond this backend), reported once per distinct text."""

    changes: int
    full_sync: bool  # the daemon was read back instead of trusting the last apply
    seconds: float = 0.0
    detail: Mapping[str, int] = field(default_factory=dict)
    restarted: bool = False  # the daemon's BGP instance had to be (re)started
    problems: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return self.restarted or self.changes > 0


@dataclass(frozen=True)
class DriftReport:
    drifted: tuple[str, ...]  # what differed, e.g. "neighbor 198.51.100.1" (never values)
    repaired: bool
    changes: int


class Stage(StrEnum):
    CONVERSION = "conversion"  # intent -> the daemon's model
    APPLY = "apply"  # the daemon runs the target (after an apply, or a repair)
    RUNNING = "running"  # the last comparison of the daemon with the target


@dataclass(frozen=True)
class StageStatus:
    stage: Stage
    ok: bool
    message: str
    at: float  # wall clock, seconds since the epoch
