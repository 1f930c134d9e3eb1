"""Layer-2 announcer logic without I/O: frame layouts and builders (``frames``), the
answer-or-drop decision for each received frame (``decide``) and the interface rules
(``links``). The wire adapter in ``orchestrator.l2`` owns the sockets and calls these."""

from orchestrator.core.l2.wire.decide import (
    AnnouncedTable,
    Answer,
    AnswerKind,
    Drop,
    DropReason,
    decide,
)
from orchestrator.core.l2.wire.frames import Link
from orchestrator.core.l2.wire.links import DEFAULT_EXCLUDE, LinkInfo, LinkReason, link_verdict

__all__ = [
    "DEFAULT_EXCLUDE",
    "AnnouncedTable",
    "Answer",
    "AnswerKind",
    "Drop",
    "DropReason",
    "Link",
    "LinkInfo",
    "LinkReason",
    "decide",
    "link_verdict",
]
