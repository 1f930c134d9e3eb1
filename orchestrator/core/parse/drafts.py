"""Parsed-but-not-yet-accepted config objects, and the documents they came from.

Parsing runs in two steps. First each document is parsed on its own into an ``Item``: the
model value plus the object's ``Errors`` accumulator. Then cross-object rules (overlapping
pools, duplicate names, references, aggregation lengths...) run over all items and add their
errors to the accumulators of the objects involved. Only items whose accumulator recorded no
error reach ``ClusterConfig``. Keeping the accumulator on the item is what lets a late,
cross-object rule still invalidate an object and name it in the message.

Objects generated from a ModuleConfig (pools, peers, advertisements, the ``l2-default``
class) get one accumulator each, all reporting as ``ModuleConfig/metallb`` with their own
paths, so one bad pool entry drops only that pool.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from orchestrator.core.model.addresses import PoolEntry
from orchestrator.core.model.cluster import (
    AddressPool,
    BFDProfile,
    BGPAdvertisement,
    BGPPeer,
    L2Advertisement,
    L2Class,
    Node,
)
from orchestrator.core.model.errors import Errors, FieldError
from orchestrator.core.parse.communities import Aliases
from orchestrator.core.parse.secrets import Secrets

T = TypeVar("T")


@dataclass
class Item(Generic[T]):
    """A parsed object (or a part generated from one) awaiting the cross-object checks."""

    value: T
    errs: Errors
    source: str
    #: How other objects' messages name this one: "IPAddressPool/a", or for generated
    #: items 'pool "a" of ModuleConfig/metallb'.
    desc: str
    #: Path prefix of the item inside its object ("" for a whole object); generated items
    #: report their cross-object errors here.
    path: str = ""

    @property
    def ok(self) -> bool:
        return self.errs.count == 0

    def at(self, sub: str) -> str:
        if not self.path:
            return sub
        return f"{self.path}.{sub}" if sub else self.path


@dataclass
class PoolItem(Item[AddressPool]):
    #: Parsed entries with their paths: overlap and aggregation messages point at them.
    entries: list[tuple[str, PoolEntry]] = field(default_factory=list)
    #: Whether advertisements without a pool list apply to this pool. False for the pool of
    #: a MetalLoadBalancerClass: its announcing nodes come from the class, not from
    #: MetalLB advertisements (Deckhouse runs those pools in a separate MetalLB).
    selectable: bool = True


@dataclass
class Draft:
    """Everything parsed so far; ``snapshot`` turns the valid part into a ClusterConfig."""

    sink: list[FieldError]
    pools: list[PoolItem] = field(default_factory=list)
    classes: list[Item[L2Class]] = field(default_factory=list)
    l2_ads: list[Item[L2Advertisement]] = field(default_factory=list)
    bgp_ads: list[Item[BGPAdvertisement]] = field(default_factory=list)
    peers: list[Item[BGPPeer]] = field(default_factory=list)
    bfd_profiles: list[Item[BFDProfile]] = field(default_factory=list)
    aliases: Aliases = field(default_factory=Aliases)
    secrets: Secrets = field(default_factory=Secrets)
    nodes: dict[str, Node] = field(default_factory=dict)
    load_balancer_class: str | None = None
    speaker_node_selector: dict[str, str] = field(default_factory=dict)
    #: The l2-default class a version-1 ModuleConfig asks for; added after all
    #: MetalLoadBalancerClasses are known (it yields to an existing class of that name and
    #: is default only if no other class is).
    pending_default_class: tuple[Item[L2Class], PoolItem] | None = None
