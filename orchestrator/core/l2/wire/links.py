"""Which interfaces may answer ARP/NDP: MetalLB's rules, with a reason for every "no".

MetalLB (``internal/layer2/announcer.go``) creates a responder on an interface that is up,
not enslaved (bond slaves and bridge ports: the frame is handled on the master), without the
NOARP flag, broadcast-capable, and whose name matches none of the ``excludel2`` regexes. We
add one rule of our own: the link must be Ethernet, because every frame we build is.

Two ways of narrowing:

- ``selected`` is the operator's explicit list (``mlb l2 announce --interface X``). Naming an
  interface is a deliberate choice, so it bypasses the exclusion regexes (a test or lab host
  may well call its uplink ``veth0``); every other rule still applies.
- Per-IP interface lists (L2Advertisement ``interfaces``, MetalLoadBalancerClass
  ``l2.interfaces``) do not choose links at all: they go into the announced table and narrow
  which of the allowed links answer for that IP (``DropReason.WRONG_INTERFACE``). As in
  MetalLB, they cannot re-enable an excluded interface.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

#: MetalLB's default ``excludel2`` list (``config/manifests`` ConfigMap ``metallb-excludel2``).
DEFAULT_EXCLUDE: tuple[str, ...] = (
    r"^docker.*",
    r"^cbr.*",
    r"^dummy.*",
    r"^virbr.*",
    r"^lxcbr.*",
    r"^veth.*",
    r"^lo$",
    r"^cali.*",
    r"^tunl.*",
    r"^flannel.*",
    r"^kube-ipvs.*",
    r"^cni.*",
    r"^nodelocaldns.*",
    r"^lxc.*",
)

IFF_UP = 0x1
IFF_BROADCAST = 0x2
IFF_LOOPBACK = 0x8
IFF_NOARP = 0x80
ARPHRD_ETHER = 1


class LinkReason(StrEnum):
    NOT_SELECTED = "notSelected"
    EXCLUDED = "excluded"
    DOWN = "down"
    NOT_ETHERNET = "notEthernet"
    LOOPBACK = "loopback"
    NO_BROADCAST = "noBroadcast"
    NOARP = "noArp"
    ENSLAVED = "enslaved"


@dataclass(frozen=True)
class LinkInfo:
    """What the kernel says about one interface (from an RTM_NEWLINK message)."""

    index: int
    name: str
    mac: bytes
    flags: int
    link_type: int = ARPHRD_ETHER
    master: int | None = None  # ifindex of the bridge/bond it is enslaved to


def compile_exclude(patterns: Sequence[str]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p) for p in patterns)


def link_verdict(
    info: LinkInfo,
    *,
    selected: frozenset[str] | None,
    exclude: Sequence[re.Pattern[str]],
) -> LinkReason | None:
    """None when we answer on this link, else the first rule it fails."""
    if selected is not None:
        if info.name not in selected:
            return LinkReason.NOT_SELECTED
    elif any(p.search(info.name) for p in exclude):
        return LinkReason.EXCLUDED
    if not info.flags & IFF_UP:
        return LinkReason.DOWN
    if info.flags & IFF_LOOPBACK:
        return LinkReason.LOOPBACK
    if info.link_type != ARPHRD_ETHER or len(info.mac) != 6:
        return LinkReason.NOT_ETHERNET
    if not info.flags & IFF_BROADCAST:
        return LinkReason.NO_BROADCAST
    if info.flags & IFF_NOARP:
        return LinkReason.NOARP
    if info.master is not None:
        return LinkReason.ENSLAVED
    return None
