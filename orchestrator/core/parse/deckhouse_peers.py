"""Deckhouse ModuleConfig-v3 kinds that stand on their own: pools and BGP peers.

``MetalLoadBalancerPool`` (network.deckhouse.io/v1alpha1, cluster-scoped) is an address
pool like MetalLB's IPAddressPool: ``addresses`` (required, at least one), ``autoAssign``
(default true), ``avoidBuggyIPs`` (default false). Deckhouse's hook forwards only the
addresses to MetalLB; we honour both flags too, as the CRD documents them. The pool is BGP:
only a MetalLoadBalancerConfiguration (or a MetalLB BGPAdvertisement) announces it.

``MetalLoadBalancerBGPPeer`` is a router, not yet a session: it becomes BGPPeers only when a
MetalLoadBalancerConfiguration names it (``deckhouse_config``), so it is parsed into a
``DeckhousePeer`` here and kept on the draft. Rules, from its CRD:

* ``peerAddress`` (IPv4), ``peerASN`` and ``myASN`` (1..4294967295) are required;
* ``peerPort`` 1..65535 (default 179); ``routerID`` IPv4;
* ``holdTime`` matches ``^([0-9]+(ms|s|m|h))+$``, then MetalLB's timer rules (0 or at least
  3s, keepalive = hold/3; unset = 90s/30s);
* ``passwordSecretRef {name, namespace}``, both required: the Secret must carry the label
  ``network.deckhouse.io/metallb-bgp-password: "true"`` and a ``password`` key. The password
  is read now and held as a ``Secret``; no message shows it;
* ``sourceAddresses[] {nodeName, address}``: the session of node ``nodeName`` uses
  ``address`` as its source; one entry per node;
* ``bfd {receiveInterval, transmitInterval, detectMultiplier, echoInterval, echoMode,
  passiveMode, minimumTTL}``: a BFDProfile ``bfd-<peer>`` with MetalLB's ranges and
  defaults. Deckhouse cannot run BFD (its MetalLB speaks BGP natively); our FRR backend can.

The generated names (``bfd-<peer>``, ``<peer>-<configuration>``, ``<peer>-node-<node>``)
go into daemon configuration, hence the shorter name limit of this kind (59: room for
``bfd-`` within 63).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from ipaddress import IPv4Address

from orchestrator.core.model.cluster import (
    AddressPool,
    BFDProfile,
    IPAddress,
    PoolKind,
    Protocol,
    Secret,
)
from orchestrator.core.parse.documents import Doc
from orchestrator.core.parse.drafts import Draft, Item, PoolItem
from orchestrator.core.parse.durations import DurationError, parse_duration
from orchestrator.core.parse.fields import Fields, as_fields
from orchestrator.core.parse.names import check_name, check_password
from orchestrator.core.parse.peers import ASN_MAX, ip_field, router_id_field, timers
from orchestrator.core.parse.pools import pool_entries
from orchestrator.core.parse.secrets import SecretError

HOLD_TIME_RE = re.compile(r"([0-9]+(ms|s|m|h))+")
PORT_MAX = 65535
#: ``bfd-<name>`` must fit the 63 characters of a BFD profile name.
PEER_NAME_LIMIT = 59
BFD_PREFIX = "bfd-"
_BFD_INTERVAL = (10, 60000)


@dataclass(frozen=True)
class SourceAddress:
    node: str
    address: IPAddress
    path: str  # where it was written, for messages about the peer it generates


@dataclass(frozen=True)
class DeckhousePeer:
    """A MetalLoadBalancerBGPPeer, read; sessions come from the configurations naming it."""

    name: str
    peer_address: IPv4Address | None
    peer_asn: int
    my_asn: int
    peer_port: int = 179
    router_id: IPv4Address | None = None
    hold_time: float | None = None
    keepalive_time: float | None = None
    password: Secret | None = None
    sources: tuple[SourceAddress, ...] = ()
    bfd_profile: str | None = None


def parse_mlb_pool(doc: Doc, spec: Fields, draft: Draft) -> None:
    spec.only(("addresses", "autoAssign", "avoidBuggyIPs"))
    entries = pool_entries(spec.errs, spec.texts("addresses", required=True))
    pool = AddressPool(
        name=doc.name,
        kind=PoolKind.MLBP,
        cidrs=tuple(c for _, e in entries for c in e.cidrs),
        auto_assign=spec.flag("autoAssign", True),
        avoid_buggy_ips=spec.flag("avoidBuggyIPs", False),
        labels=dict(doc.labels),
        protocol=Protocol.BGP,
    )
    draft.pools.append(PoolItem(pool, spec.errs, doc.source, doc.ref, entries=entries))
    draft.produced.setdefault(doc.ref, []).append(f"AddressPool/{doc.name}")


def parse_mlb_peer(doc: Doc, spec: Fields, draft: Draft) -> None:
    spec.only(
        (
            "peerAddress",
            "peerPort",
            "peerASN",
            "myASN",
            "routerID",
            "holdTime",
            "passwordSecretRef",
            "sourceAddresses",
            "bfd",
        )
    )
    errs = spec.errs
    address = ip_field(spec, "peerAddress")
    if address is not None and not isinstance(address, IPv4Address):
        errs.add(spec.at("peerAddress"), f"{address} is not an IPv4 address")
        address = None
    if not spec.has("peerAddress"):
        errs.add(spec.at("peerAddress"), "is required")
    hold_path = spec.at("holdTime")
    hold, keepalive = timers(errs, (hold_path, _hold_time(spec)), (hold_path, None))
    bfd = _bfd(doc, spec, draft)
    peer = DeckhousePeer(
        name=doc.name,
        peer_address=address,
        peer_asn=spec.number("peerASN", lo=1, hi=ASN_MAX, required=True) or 0,
        my_asn=spec.number("myASN", lo=1, hi=ASN_MAX, required=True) or 0,
        peer_port=spec.number("peerPort", lo=1, hi=PORT_MAX) or 179,
        router_id=router_id_field(spec, "routerID"),
        hold_time=hold,
        keepalive_time=keepalive,
        password=_password(spec, draft),
        sources=_sources(spec),
        bfd_profile=bfd,
    )
    draft.deckhouse_peers.append(Item(peer, errs, doc.source, doc.ref))


def _hold_time(spec: Fields) -> float | None:
    text = spec.text("holdTime")
    if text is None:
        return None
    if not HOLD_TIME_RE.fullmatch(text):
        spec.errs.add(spec.at("holdTime"), f"{text!r} does not match ^([0-9]+(ms|s|m|h))+$")
        return None
    try:
        return parse_duration(text)
    except DurationError as e:
        spec.errs.add(spec.at("holdTime"), str(e))
        return None


def _password(spec: Fields, draft: Draft) -> Secret | None:
    ref = spec.obj("passwordSecretRef")
    if ref is None:
        return None
    ref.only(("name", "namespace"))
    name = ref.text("name", required=True)
    namespace = ref.text("namespace", required=True)
    if name is None or namespace is None:
        return None
    try:
        text = draft.secrets.password(namespace, name, deckhouse=True)
    except SecretError as e:
        spec.errs.add(ref.base, str(e))
        return None
    return Secret(text) if check_password(spec.errs, ref.base, text) else None


def _sources(spec: Fields) -> tuple[SourceAddress, ...]:
    out: list[SourceAddress] = []
    seen: set[str] = set()
    for path, raw in spec.elements("sourceAddresses"):
        entry = as_fields(spec.errs, path, raw)
        if entry is None:
            continue
        entry.only(("nodeName", "address"))
        node = entry.text("nodeName", required=True)
        address = ip_field(entry, "address")
        if not entry.has("address"):
            entry.errs.add(entry.at("address"), "is required")
        if node is None or not check_name(spec.errs, entry.at("nodeName"), node):
            continue
        if node in seen:
            spec.errs.add(entry.at("nodeName"), f"node {node} is listed twice")
            continue
        seen.add(node)
        if address is not None:
            out.append(SourceAddress(node, address, path))
    return tuple(out)


def _bfd(doc: Doc, spec: Fields, draft: Draft) -> str | None:
    bfd = spec.obj("bfd")
    if bfd is None:
        return None
    bfd.only(
        (
            "receiveInterval",
            "transmitInterval",
            "detectMultiplier",
            "echoInterval",
            "echoMode",
            "passiveMode",
            "minimumTTL",
        )
    )
    name = BFD_PREFIX + doc.name
    lo, hi = _BFD_INTERVAL
    defaults = BFDProfile(name=name)

    def number(key: str, default: int, low: int = lo, high: int = hi) -> int:
        value = bfd.number(key, lo=low, hi=high)
        return default if value is None else value

    profile = BFDProfile(
        name=name,
        receive_interval=number("receiveInterval", defaults.receive_interval),
        transmit_interval=number("transmitInterval", defaults.transmit_interval),
        detect_multiplier=number("detectMultiplier", defaults.detect_multiplier, 2, 255),
        echo_interval=number("echoInterval", defaults.echo_interval),
        echo_mode=bfd.flag("echoMode"),
        passive_mode=bfd.flag("passiveMode"),
        minimum_ttl=bfd.number("minimumTTL", lo=1, hi=254),
    )
    desc = f"BFDProfile {name} of {doc.ref}"
    draft.bfd_profiles.append(Item(profile, spec.errs, doc.source, desc, path=bfd.base))
    draft.produced.setdefault(doc.ref, []).append(f"BFDProfile/{name}")
    return name
