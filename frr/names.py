"""Every name and number we put into FRR, and the patterns user strings must match first.

Ownership by name: everything we create in FRR is recognisable without any state of ours,
so drift repair can touch our objects and nothing else:

- route-maps, large-community-lists and BFD profiles are named ``MLB-...``;
- neighbours carry the description ``MLB BGPPeer/<name>``;
- ``network`` statements point at an ``MLB-ADV-...`` route-map.

An engineer's own route-maps, lists, neighbours and networks (any other name) survive every
apply and every repair.

Internal tags: prefixes are grouped into *classes*, one per distinct set of
BGPAdvertisements behind a prefix (usually a single advertisement). Each class gets a
number N, and its ``network`` route-map ``MLB-ADV-<class>`` adds the large community
``<myASN>:4242424242:N``; the list ``MLB-ADV-<class>`` (FRR keeps lists and route-maps in
separate namespaces) matches it. Every peer that receives the class has the entry
``route-map MLB-<peer>-out permit N``: it matches the class, sets the class's communities
and deletes every internal tag (one regex list, ``MLB-TAGS``), so the peer sees exactly the
configured communities; ``deny 65535`` ends the route-map. Communities are set there, on the
way out, and not at origination: FRR applies its well-known community rules (no-export,
no-advertise, local-AS) to the path it holds before the outbound route-map runs, so a
community set at origination would keep the node's own announcement from the very router
that is meant to act on it. Numbers come from a hash of the class, so adding or removing
one class does not renumber the others.

Config injection (docs/design.md §10): the parser validates user input first; this module is
the second line. Names must be Kubernetes object names, interface names Linux ones,
passwords printable ASCII without whitespace or the characters FRR's config syntax gives a
meaning (``!``, ``#``, ``?``, quotes, backslash). Communities are written from the numbers
the core model holds (``Community.numbers``), never from user text.
A string that fails is a ``ConversionError``; it never reaches vtysh. Error messages name
the object and field but never quote a password.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from frr.errors import ConversionError
from orchestrator.core.model.cluster import Community, CommunityKind
from orchestrator.core.model.errors import quote

OWNED_PREFIX = "MLB-"
ADV_PREFIX = "MLB-ADV-"
TAGS_LIST = "MLB-TAGS"
DESCRIPTION_PREFIX = "MLB BGPPeer/"
#: Local-data-1 of our internal tag communities; unlikely to collide with a real community.
TAG_MARKER = 4242424242
#: Class numbers are also sequence numbers in the per-peer outbound route-maps (FRR allows
#: 1-65535); the last sequence number is the final "deny everything else" entry.
TAG_MAX = 65534
PEER_OUT_FINAL_SEQ = 65535
#: Room for names inside FRR identifiers; longer names are shortened with a hash suffix.
_MAX_PART = 40

_K8S_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")
_IFACE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,14}")
_PASSWORD = re.compile(r"[A-Za-z0-9$%&()*+,./:;<=>@\[\]^_{|}~-]{1,80}")
#: The last check before a line reaches vtysh: one line of printable ASCII.
SAFE_LINE = re.compile(r"[\x20-\x7e]*")

#: Well-known communities (RFC 1997, 7999, 8326, 9494) by the names FRR prints.
WELL_KNOWN: dict[str, int] = {
    "internet": 0,
    "graceful-shutdown": 0xFFFF0000,
    "accept-own": 0xFFFF0001,
    "llgr-stale": 0xFFFF0006,
    "no-llgr": 0xFFFF0007,
    "blackhole": 0xFFFF029A,
    "no-export": 0xFFFFFF01,
    "no-advertise": 0xFFFFFF02,
    "local-AS": 0xFFFFFF03,
    "no-peer": 0xFFFFFF04,
}
_WELL_KNOWN_BY_VALUE = {v: k for k, v in WELL_KNOWN.items()}


def printable(text: str) -> str:
    """``text`` on one printable line: control characters escaped (for error messages)."""
    return "".join(ch if " " <= ch <= "~" else repr(ch)[1:-1] for ch in text)


class Checker:
    """Collects every validation problem of one conversion, so all are reported at once.

    Messages are always one printable line: object names are escaped, since the object
    that fails validation may be the very one carrying a newline."""

    def __init__(self) -> None:
        self._problems: list[str] = []

    @property
    def problems(self) -> list[str]:
        return self._problems

    def add(self, obj: str, message: str) -> None:
        self._problems.append(f"{printable(obj)}: {message}")

    def name(self, obj: str, field: str, value: str) -> bool:
        if _K8S_NAME.fullmatch(value):
            return True
        self.add(
            obj,
            f"{field} {quote(value)} is not a Kubernetes object name "
            "(lowercase letters, digits, '-' and '.')",
        )
        return False

    def interface(self, obj: str, value: str) -> bool:
        if _IFACE.fullmatch(value):
            return True
        self.add(obj, f"interface {quote(value)} is not a Linux interface name")
        return False

    def password(self, obj: str, value: str) -> bool:
        if _PASSWORD.fullmatch(value):
            return True
        # never quote the value: it is a secret
        self.add(
            obj,
            "password must be 1-80 printable ASCII characters without whitespace, "
            "quotes, backslash, '!', '#' or '?'",
        )
        return False

    def community(self, obj: str, c: Community, *, asn: int | None) -> bool:
        """The model guarantees a well-formed value (``Community.numbers``); what is left
        to refuse is a large community that looks like one of our internal tags."""
        if not _is_reserved(c, asn):
            return True
        self.add(obj, f"community {quote(str(c))} is reserved for internal tags")
        return False

    def raise_if_any(self) -> None:
        if self._problems:
            raise ConversionError(self._problems)


def _is_reserved(c: Community, asn: int | None) -> bool:
    return c.kind is CommunityKind.LARGE and asn is not None and c.numbers[:2] == (asn, TAG_MARKER)


def standard_text(number: int) -> str:
    """A standard community (32-bit value) as FRR prints it: a well-known name or A:B."""
    return _WELL_KNOWN_BY_VALUE.get(number, f"{number >> 16}:{number & 0xFFFF}")


def community_text(c: Community) -> str:
    """The community as FRR prints it, from the model's numbers."""
    if c.kind is CommunityKind.LARGE:
        return ":".join(str(n) for n in c.numbers)
    return standard_text(c.numbers[0])


def communities_text(communities: Iterable[Community], kind: CommunityKind) -> str:
    """The communities of ``kind`` as one ``set`` argument: numeric order (as FRR prints
    them), duplicates (``no-export`` and ``65535:65281``) once."""
    numbers = sorted({c.numbers for c in communities if c.kind is kind})
    if kind is CommunityKind.LARGE:
        return " ".join(":".join(str(n) for n in parts) for parts in numbers)
    return " ".join(standard_text(parts[0]) for parts in numbers)


def part(name: str) -> str:
    """A Kubernetes name made short enough for an FRR identifier, deterministically."""
    if len(name) <= _MAX_PART:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: _MAX_PART - 9]}-{digest}"


def adv_route_map(advertisements: tuple[str, ...]) -> str:
    """The ``network`` route-map of a prefix whose advertisements are ``advertisements``."""
    joined = "+".join(advertisements)
    if len(advertisements) == 1 or len(joined) <= _MAX_PART:
        return ADV_PREFIX + part(joined)
    digest = hashlib.sha256(joined.encode()).hexdigest()[:12]
    return f"{ADV_PREFIX}multi-{digest}"


def peer_in(peer: str) -> str:
    return f"{OWNED_PREFIX}{part(peer)}-in"


def peer_out(peer: str) -> str:
    return f"{OWNED_PREFIX}{part(peer)}-out"


def bfd_profile(name: str) -> str:
    return f"{OWNED_PREFIX}{part(name)}"


def description(peer: str) -> str:
    return f"{DESCRIPTION_PREFIX}{part(peer)}"


def class_key(advertisements: tuple[str, ...]) -> str:
    """The text a class number is computed from (``+`` never occurs in a validated name)."""
    return "+".join(advertisements)


def adv_list(advertisements: tuple[str, ...]) -> str:
    """The large-community list matching the internal tag of a class; named like the
    class's ``network`` route-map (FRR keeps lists and route-maps apart)."""
    return adv_route_map(advertisements)


def tag_numbers(keys: Iterable[str]) -> dict[str, int]:
    """A stable number in 1..TAG_MAX per key (``class_key`` of a class).

    From a hash of the key, so numbers do not move when other classes come and go; a
    collision (rare) is resolved by probing upwards in key order.
    """
    taken: set[int] = set()
    out: dict[str, int] = {}
    for key in sorted(set(keys)):
        n = int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") % TAG_MAX + 1
        while n in taken:
            n = n % TAG_MAX + 1
        taken.add(n)
        out[key] = n
    return out


def tag_community(asn: int, number: int) -> str:
    return f"{asn}:{TAG_MARKER}:{number}"


def tags_regex(asn: int) -> str:
    return f"^{asn}:{TAG_MARKER}:"


def is_owned_name(name: str) -> bool:
    return name.startswith(OWNED_PREFIX)
