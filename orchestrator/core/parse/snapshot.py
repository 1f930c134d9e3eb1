"""``parse_snapshot``: a list of manifests in, one ``ClusterSnapshot`` out, never an exception.

Order matters only where one kind refers to another, so documents are grouped by kind and
parsed in dependency order:

1. identity of every document (``documents.read_document``); ``List`` objects are expanded
   into their items; a second document with the same identity is an error and ignored;
2. Secrets (password sources) and Community CRs (aliases), which other objects resolve
   while parsing; Nodes and Namespaces;
3. config objects, each on its own: BFD profiles, pools, classes (and the deprecated
   L2LoadBalancer), the ModuleConfig, peers, the Deckhouse v3 kinds (pools, peers, then the
   configurations that turn them into sessions and advertisements), advertisements; then
   the classes of a version-1 ModuleConfig (``migration``), which must know every class and
   L2Advertisement;
4. ``speaker.nodeSelector`` narrows every peer to the speaker nodes (``speakers``); the
   cross-object rules (``crosscheck``);
5. Services and EndpointSlices, which do not depend on config validity: they are parsed
   during step 1, each on its own, and reused from a ``ParseMemo`` while unchanged
   (``leaves``).

Only config objects with no error reach ``ClusterConfig``; Services are always kept, with
their own errors attached. ``problems`` holds every error and warning, sorted by object and
path so that output is stable whatever the file order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from orchestrator.core.model.cluster import ClusterConfig, ClusterSnapshot, Service
from orchestrator.core.model.errors import Errors, FieldError, Severity
from orchestrator.core.parse.advertisements import parse_bgp_advertisement, parse_l2_advertisement
from orchestrator.core.parse.bfd import parse_bfd_profile
from orchestrator.core.parse.classes import parse_class, parse_l2_load_balancer
from orchestrator.core.parse.cluster import parse_namespace, parse_node
from orchestrator.core.parse.communities import parse_community_cr
from orchestrator.core.parse.crosscheck import check_all
from orchestrator.core.parse.deckhouse_config import parse_mlb_configuration
from orchestrator.core.parse.deckhouse_peers import parse_mlb_peer, parse_mlb_pool
from orchestrator.core.parse.documents import Doc, read_document, spec_of
from orchestrator.core.parse.drafts import Draft, Item, seniority
from orchestrator.core.parse.fields import Fields, is_mapping
from orchestrator.core.parse.leaves import Leaf, ParseMemo, is_leaf, parse_leaf
from orchestrator.core.parse.migration import settle_migrations
from orchestrator.core.parse.moduleconfig import parse_module_config
from orchestrator.core.parse.peers import parse_bgp_peer
from orchestrator.core.parse.pools import parse_ip_address_pool, parse_legacy_address_pool
from orchestrator.core.parse.speakers import scope_peers_to_speakers

ConfigParser = Callable[[Doc, Fields, Draft], None]

#: Cluster-scoped kinds of our CRDs whose status says whether the object is in use.
STATUS_KINDS = (
    "MetalLoadBalancerPool",
    "MetalLoadBalancerBGPPeer",
    "MetalLoadBalancerConfiguration",
    "L2LoadBalancer",
)

#: Config kinds in parse order, with whether ``spec`` is required.
CONFIG_KINDS: tuple[tuple[str, ConfigParser, bool], ...] = (
    ("BFDProfile", parse_bfd_profile, False),
    ("IPAddressPool", parse_ip_address_pool, True),
    ("AddressPool", parse_legacy_address_pool, True),
    ("MetalLoadBalancerClass", parse_class, True),
    ("L2LoadBalancer", parse_l2_load_balancer, True),
    ("ModuleConfig", parse_module_config, False),
    ("BGPPeer", parse_bgp_peer, True),
    ("MetalLoadBalancerPool", parse_mlb_pool, True),
    ("MetalLoadBalancerBGPPeer", parse_mlb_peer, True),
    ("MetalLoadBalancerConfiguration", parse_mlb_configuration, True),
    ("L2Advertisement", parse_l2_advertisement, False),
    ("BGPAdvertisement", parse_bgp_advertisement, False),
)


def expand(docs: Sequence[tuple[str, Mapping[str, Any]]]) -> Iterator[tuple[str, object]]:
    """Documents, with ``kind: List`` (and ``*List``) objects replaced by their items."""
    for source, raw in docs:
        kind = raw.get("kind") if is_mapping(raw) else None
        items = raw.get("items") if is_mapping(raw) else None
        if isinstance(kind, str) and kind.endswith("List") and isinstance(items, list):
            for i, item in enumerate(items):
                yield f"{source}.items[{i}]", item
        else:
            yield source, raw


def identify(
    docs: Sequence[tuple[str, Mapping[str, Any]]],
    sink: list[FieldError],
    memo: ParseMemo | None = None,
) -> tuple[dict[str, list[tuple[Doc, Errors]]], list[Leaf]]:
    """Config documents by kind, and the Services and EndpointSlices already parsed."""
    by_kind: dict[str, list[tuple[Doc, Errors]]] = {}
    leaves: list[Leaf] = []
    seen: dict[str, Doc] = {}
    for source, raw in expand(docs):
        if is_leaf(raw):
            assert isinstance(raw, Mapping)
            leaf = memo.leaf(source, raw) if memo is not None else parse_leaf(source, raw)
            sink.extend(leaf.read)
            if leaf.doc is None:
                continue
            first = seen.setdefault(leaf.doc.ref, leaf.doc)
            if first is not leaf.doc:
                sink.append(FieldError(leaf.doc.ref, "", _again(first)))
                continue
            sink.extend(leaf.parsed)
            leaves.append(leaf)
            continue
        found = read_document(source, raw, sink)
        if found is None:
            continue
        doc, errs = found
        if doc.ref in seen:
            errs.add("", _again(seen[doc.ref]))
            continue
        seen[doc.ref] = doc
        by_kind.setdefault(doc.kind, []).append(found)
    if memo is not None:
        memo.done()
    return by_kind, leaves


def _again(first: Doc) -> str:
    return f"defined again (first in {first.source}); ignored"


def parse_snapshot(
    docs: Sequence[tuple[str, Mapping[str, Any]]],
    memo: ParseMemo | None = None,
    *,
    serving: frozenset[str] = frozenset(),
    held: frozenset[str] = frozenset(),
) -> ClusterSnapshot:
    """Parse and validate every document; see the module docstring for the rules. With
    ``memo``, Services and EndpointSlices passed again as the same objects are not parsed
    again (``leaves``). ``serving``: refs of the objects valid before, which win conflicts
    (``drafts.seniority``); ``held``: refs running on their last good version, whose pools
    give out no new IPs (both from ``core.isolation``)."""
    sink: list[FieldError] = []
    by_kind, leaves = identify(docs, sink, memo)
    draft = Draft(sink, held=held)
    for group in by_kind.values():
        for doc, _ in group:
            draft.ranks[doc.ref] = seniority(
                doc.ref, doc.name, doc.created, serving=doc.ref in serving
            )
    for doc, _ in by_kind.get("Secret", []):
        draft.secrets.add(doc)
    for doc, errs in by_kind.get("Community", []):
        spec = spec_of(doc, errs)
        if spec is not None:
            parse_community_cr(spec, draft.aliases, doc.ref)
    for doc, _ in by_kind.get("Node", []):
        draft.nodes[doc.name] = parse_node(doc)
    namespaces = {doc.name: parse_namespace(doc) for doc, _ in by_kind.get("Namespace", [])}

    for kind in STATUS_KINDS:
        for doc, _ in by_kind.get(kind, []):
            draft.produced[doc.ref] = []
    for kind, parser, spec_required in CONFIG_KINDS:
        for doc, errs in by_kind.get(kind, []):
            spec = spec_of(doc, errs, required=spec_required)
            if spec is not None:
                parser(doc, spec, draft)
    settle_migrations(draft)
    scope_peers_to_speakers(draft)
    check_all(draft)

    services = [leaf.service for leaf in leaves if leaf.service is not None]
    slices = [leaf.endpoint_slice for leaf in leaves if leaf.endpoint_slice is not None]
    problems = sorted(sink, key=lambda e: (e.obj, e.path, e.severity != Severity.ERROR, e.message))
    return ClusterSnapshot(
        config=build_config(draft),
        services=tuple(attach_errors(sorted(services, key=lambda s: s.key), problems)),
        nodes=dict(sorted(draft.nodes.items())),
        namespaces=dict(sorted(namespaces.items())),
        endpoint_slices=tuple(sorted(slices, key=lambda s: (s.namespace, s.name))),
        problems=tuple(problems),
        crd_objects={ref: tuple(sorted(set(made))) for ref, made in sorted(draft.produced.items())},
    )


def build_config(draft: Draft) -> ClusterConfig:
    def ok(items: Sequence[Item[Any]]) -> list[Any]:
        return sorted((i.value for i in items if i.ok), key=lambda v: v.name)

    held = [p for p in draft.pools if p.ok and p.errs.obj in draft.held]
    for item in held:
        item.value = replace(item.value, held=True)
    return ClusterConfig(
        pools={p.name: p for p in ok(draft.pools)},
        classes={c.name: c for c in ok(draft.classes)},
        l2_advertisements=tuple(ok(draft.l2_ads)),
        bgp_advertisements=tuple(ok(draft.bgp_ads)),
        bgp_peers=tuple(ok(draft.peers)),
        bfd_profiles={b.name: b for b in ok(draft.bfd_profiles)},
        load_balancer_class=draft.load_balancer_class,
        speaker_node_selector=dict(draft.speaker_node_selector),
        invalid_pools=frozenset(p.value.name for p in draft.pools if not p.ok)
        - {p.value.name for p in draft.pools if p.ok},
        invalid_classes=frozenset(c.value.name for c in draft.classes if not c.ok)
        - {c.value.name for c in draft.classes if c.ok},
    )


def attach_errors(services: list[Service], problems: Sequence[FieldError]) -> Iterator[Service]:
    """Give each Service the errors recorded against it (warnings stay in ``problems``)."""
    errors: dict[str, list[FieldError]] = {}
    for e in problems:
        if e.severity is Severity.ERROR and e.obj.startswith("Service/"):
            errors.setdefault(e.obj, []).append(e)
    for service in services:
        own = errors.get(f"Service/{service.namespace}/{service.name}")
        yield replace(service, errors=tuple(own)) if own else service
