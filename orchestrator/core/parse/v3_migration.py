"""The version-3 objects that replace a ModuleConfig's BGP settings (``mlb migrate``).

Deckhouse's hook ``migration_bgp`` runs while the settings version is below 3 and creates,
labelled ``heritage: deckhouse`` and ``auto-generated-by: d8-migration-hook``:

* a MetalLoadBalancerPool per bgp pool (its ``name``, or ``pool-<i>``; addresses only);
* a MetalLoadBalancerBGPPeer ``peer-<i>`` per ``bgpPeers[i]`` (peerAddress, peerASN, myASN,
  routerID, peerPort, holdTime);
* the MetalLoadBalancerConfiguration ``migrated-bgp``: mode BGP, nodeSelector =
  ``speaker.nodeSelector``, every peer, one advertisement per ``bgp-advertisements[]`` entry
  of every bgp pool (or a bare one for a pool without entries), community aliases resolved
  through ``bgpCommunities`` and values the CRD pattern refuses dropped.

The hook drops three peer keys; we keep them, and a note on the object says where each went:

* ``password`` -> a Secret ``bgp-peer-<i>`` (labelled for Deckhouse) named by
  ``passwordSecretRef``; the password itself is a ``Secret`` value, shown only where the
  caller chooses to reveal it;
* ``source-address`` -> ``sourceAddresses``, one entry per known Node the peer runs on;
* ``node-selector`` -> a configuration of its own, ``migrated-bgp-peer-<i>``, on
  ``speaker.nodeSelector`` plus the selector's ``matchLabels`` (``matchExpressions`` cannot be
  written as a label map: the note says so and the peer stays in ``migrated-bgp``).

Auto-assign and avoid-buggy-ips of a pool are kept too (the hook drops them; the pool
CRD has both). Input is the ModuleConfig as ``parse`` accepted it: this module does not
validate again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from orchestrator.core.model.cluster import Node, Secret
from orchestrator.core.model.selectors import LabelSelector
from orchestrator.core.parse.durations import DurationError, seconds_of

API = "network.deckhouse.io/v1alpha1"
LABELS = {"heritage": "deckhouse", "auto-generated-by": "d8-migration-hook"}
CONFIG_NAME = "migrated-bgp"
COMMUNITY_RE = re.compile(r"[0-9]+:[0-9]+|no-export|no-advertise|local-as|none")
PASSWORD_LABEL = {"network.deckhouse.io/metallb-bgp-password": "true"}


@dataclass
class Migrated:
    """One object to create, with notes on what the hook would have done differently."""

    obj: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def _meta(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "labels": dict(LABELS), **extra}


def _duration(value: object) -> str | None:
    try:
        seconds = seconds_of(value)
    except DurationError:
        return None
    if seconds == int(seconds):
        return f"{int(seconds)}s"
    return f"{round(seconds * 1000)}ms"


def migrate_bgp(
    settings: Mapping[str, Any], *, nodes: Mapping[str, Node], namespace: str
) -> list[Migrated]:
    """The objects for ``spec.settings`` of a ModuleConfig ``metallb`` (any version)."""
    speaker = dict((settings.get("speaker") or {}).get("nodeSelector") or {})
    communities: Mapping[str, str] = settings.get("bgpCommunities") or {}
    out: list[Migrated] = []
    advertisements: list[dict[str, Any]] = []
    ad_notes: list[str] = []
    for i, pool in enumerate(settings.get("addressPools") or []):
        if pool.get("protocol") != "bgp":
            continue
        name = pool.get("name") or f"pool-{i}"
        spec: dict[str, Any] = {"addresses": list(pool.get("addresses") or [])}
        kept = []
        for key, camel in (("auto-assign", "autoAssign"), ("avoid-buggy-ips", "avoidBuggyIPs")):
            if key in pool:
                spec[camel] = pool[key]
                kept.append(f"{key} -> spec.{camel}")
        notes = [f"kept (Deckhouse's hook drops them): {', '.join(kept)}"] if kept else []
        obj = {"apiVersion": API, "kind": "MetalLoadBalancerPool", "metadata": _meta(name)}
        out.append(Migrated({**obj, "spec": spec}, notes))
        for ad in pool.get("bgp-advertisements") or [{}]:
            advertisements.append(_advertisement(name, ad, communities, ad_notes))

    main_peers: list[str] = []
    own_configs: list[Migrated] = []
    for i, raw in enumerate(settings.get("bgpPeers") or []):
        peer, secret, own = _peer(i, raw, speaker=speaker, nodes=nodes, namespace=namespace)
        if secret is not None:
            out.append(secret)
        out.append(peer)
        name = peer.obj["metadata"]["name"]
        if own is None:
            main_peers.append(name)
            continue
        body = _configuration(own.obj["metadata"]["name"], own.obj["spec"], [name], advertisements)
        own_configs.append(Migrated(body, own.notes))
    if main_peers or (advertisements and not own_configs):
        config = _configuration(CONFIG_NAME, speaker, main_peers, advertisements)
        out.append(Migrated(config, ad_notes))
    out += own_configs
    return out


def _configuration(
    name: str, nodes: Mapping[str, str], peers: list[str], ads: list[dict[str, Any]]
) -> dict[str, Any]:
    spec: dict[str, Any] = {"mode": "BGP"}
    if nodes:
        spec["nodeSelector"] = dict(nodes)
    spec["bgp"] = {"peerNames": list(peers)}
    spec["advertisements"] = [dict(a) for a in ads]
    kind = "MetalLoadBalancerConfiguration"
    return {"apiVersion": API, "kind": kind, "metadata": _meta(name), "spec": spec}


def _advertisement(
    pool: str, ad: Mapping[str, Any], aliases: Mapping[str, str], notes: list[str]
) -> dict[str, Any]:
    out: dict[str, Any] = {"poolNames": [pool]}
    bgp: dict[str, Any] = {}
    found = []
    for key in ad.get("communities") or []:
        value = aliases.get(key, key)
        if COMMUNITY_RE.fullmatch(value):
            found.append(value)
        else:
            notes.append(f"pool {pool}: community {value!r} ({key}) dropped: the CRD refuses it")
    if found:
        bgp["communities"] = found
    if ad.get("localpref"):
        bgp["localPref"] = ad["localpref"]
    if "aggregation-length" in ad:
        bgp["aggregationLength"] = ad["aggregation-length"]
    if bgp:
        out["bgp"] = bgp
    return out


def _peer(
    i: int,
    raw: Mapping[str, Any],
    *,
    speaker: Mapping[str, str],
    nodes: Mapping[str, Node],
    namespace: str,
) -> tuple[Migrated, Migrated | None, Migrated | None]:
    """The peer, its password Secret, and a configuration of its own (node-selector)."""
    name = f"peer-{i}"
    spec: dict[str, Any] = {
        "peerAddress": raw.get("peer-address"),
        "peerASN": raw.get("peer-asn"),
        "myASN": raw.get("my-asn"),
    }
    if raw.get("router-id"):
        spec["routerID"] = raw["router-id"]
    if raw.get("peer-port"):
        spec["peerPort"] = raw["peer-port"]
    if raw.get("hold-time") is not None and (hold := _duration(raw["hold-time"])) is not None:
        spec["holdTime"] = hold
    notes: list[str] = []
    secret = None
    if raw.get("password"):
        secret_name = f"bgp-peer-{i}"
        spec["passwordSecretRef"] = {"name": secret_name, "namespace": namespace}
        labels = {**LABELS, **PASSWORD_LABEL}
        secret = Migrated(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": secret_name, "namespace": namespace, "labels": labels},
                "type": "kubernetes.io/basic-auth",
                "stringData": {"password": Secret(str(raw["password"]))},
            },
            [f"password of bgpPeers[{i}] (Deckhouse's hook drops it)"],
        )
        notes.append(f"password -> Secret {namespace}/{secret_name} (passwordSecretRef)")
    own: Migrated | None = None
    selector = raw.get("node-selector") or {}
    labels_only = dict(selector.get("matchLabels") or {})
    if selector:
        if selector.get("matchExpressions"):
            notes.append(
                "node-selector has matchExpressions, which a MetalLoadBalancerConfiguration "
                f"nodeSelector cannot express: the peer stays in {CONFIG_NAME} (every speaker "
                "node); narrow it by hand"
            )
        elif any(speaker.get(k, v) != v for k, v in labels_only.items()):
            notes.append("node-selector contradicts speaker.nodeSelector: no node can match")
        elif labels_only.items() <= speaker.items():
            notes.append(f"node-selector adds nothing to speaker.nodeSelector: in {CONFIG_NAME}")
        else:
            config = f"{CONFIG_NAME}-{name}"
            merged = {**speaker, **labels_only}
            own = Migrated({"metadata": {"name": config}, "spec": merged}, [])
            notes.append(f"node-selector -> MetalLoadBalancerConfiguration {config} nodeSelector")
    if raw.get("source-address"):
        # the nodes the migrated peer has sessions on
        match = LabelSelector({**speaker, **labels_only} if own else dict(speaker))
        chosen = sorted(n for n, node in nodes.items() if match.matches(node.labels))
        if chosen:
            spec["sourceAddresses"] = [
                {"nodeName": n, "address": raw["source-address"]} for n in chosen
            ]
            notes.append(f"source-address -> sourceAddresses of nodes {', '.join(chosen)}")
        else:
            notes.append(
                f"source-address {raw['source-address']} not carried over: no Node in the "
                "input runs this peer; add sourceAddresses[] {nodeName, address} by hand"
            )
    obj = {"apiVersion": API, "kind": "MetalLoadBalancerBGPPeer", "metadata": _meta(name)}
    return Migrated({**obj, "spec": spec}, notes), secret, own


def reveal_secrets(value: Any, *, reveal: bool) -> Any:
    """``value`` with every ``Secret`` replaced by its text, or by ``<redacted>``."""
    if isinstance(value, Secret):
        return value.reveal() if reveal else "<redacted>"
    if isinstance(value, Mapping):
        return {k: reveal_secrets(v, reveal=reveal) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [reveal_secrets(v, reveal=reveal) for v in value]
    return value
