"""The CustomResourceDefinitions in ``charts/metallb-orchestrator/crds/``.

Helm installs that folder verbatim, so these files are all an API server ever sees of our
kinds. What is checked, without a cluster:

* each file is one valid CRD (``kubernetes_validate`` strict, Kubernetes ``K8S``), and its
  schema is structural: every node typed, no junctors, nothing free-form;
* every field is described, defaults fit their own schema, list types are usable, and the
  printer columns point at real fields of a matching type;
* every kind the adapter reads from a CRD group (``adapters/kube/resources.py``) has a CRD
  with the same group, version, plural and scope;
* schema and parser know the same field names (the parsers' ``.only(...)`` calls, read with
  ``ast``), and the schema patterns agree with the parser's own checks;
* ``examples/**`` (not ``invalid/``) and the ```yaml blocks of ``docs/*.md`` validate;
* the schemas are not vacuous: typos, wrong types, out-of-range numbers, bad enums and
  missing required fields are rejected;
* the status objects the speaker writes: immutable identity fields (CEL), the status
  subresource, the printer columns.

Object validation uses jsonschema on the ``openAPIV3Schema`` translated by ``to_json_schema``.
CEL rules (``x-kubernetes-validations``) are not evaluated here: no CEL engine is installed;
their presence is checked where the contract asks for them.
"""

from __future__ import annotations

import ast
import copy
import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from orchestrator.adapters.kube import resources
from orchestrator.adapters.kube.resources import Resource
from orchestrator.core.model.errors import Errors
from orchestrator.core.model.selectors import Operator
from orchestrator.core.parse import (
    advertisements,
    bfd,
    classes,
    communities,
    deckhouse_config,
    deckhouse_peers,
    durations,
    labels,
    names,
    peers,
    pools,
    snapshot,
)

ROOT = Path(__file__).resolve().parents[2]
CRD_DIR = ROOT / "charts" / "metallb-orchestrator" / "crds"
#: The oldest Kubernetes in which everything these CRDs use (CEL transition rules included)
#: is GA; ``kubernetes_validate`` ships its API schemas.
K8S = "1.29.0"

Schema = dict[str, Any]


def _load_crds() -> dict[str, Schema]:
    """File name -> the CRD it holds (asserted to be exactly one by a test below)."""
    out: dict[str, Schema] = {}
    for path in sorted(CRD_DIR.glob("*.yaml")):
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
        out[path.name] = docs[0] if len(docs) == 1 else {"documents": docs}
    return out


CRDS = _load_crds()
FILES = sorted(CRDS)


def crd_for(kind: str) -> Schema:
    found = [c for c in CRDS.values() if c.get("spec", {}).get("names", {}).get("kind") == kind]
    assert len(found) == 1, f"{len(found)} CRDs for {kind}"
    return found[0]


def storage_version(crd: Schema) -> Schema:
    (version,) = [v for v in crd["spec"]["versions"] if v["storage"]]
    found: Schema = version
    return found


def schema_of(kind: str) -> Schema:
    schema: Schema = storage_version(crd_for(kind))["schema"]["openAPIV3Schema"]
    return schema


def api_versions(crd: Schema) -> set[str]:
    group = crd["spec"]["group"]
    return {f"{group}/{v['name']}" for v in crd["spec"]["versions"] if v["served"]}


def test_bgppeer_v1beta1_has_the_fields_of_v1beta2() -> None:
    """The conversion is lossless only because both versions hold the same fields."""
    v2, v1 = crd_for("BGPPeer")["spec"]["versions"]
    spec = v2["schema"]["openAPIV3Schema"]["properties"]["spec"]
    assert v1["schema"]["openAPIV3Schema"]["properties"]["spec"] == spec
    assert (
        v1["deprecated"] is True
        and v1["additionalPrinterColumns"] == v2["additionalPrinterColumns"]
    )


# --------------------------------------------------------------------------- schema walks


def walk(node: Schema, path: str = "") -> Iterator[tuple[str, Schema]]:
    """Every schema node with its path (``.spec.addresses[]``); maps as ``{}``."""
    yield path, node
    for key, child in node.get("properties", {}).items():
        yield from walk(child, f"{path}.{key}")
    if isinstance(node.get("items"), dict):
        yield from walk(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from walk(node["additionalProperties"], f"{path}{{}}")


def at(schema: Schema, path: str) -> Schema:
    """The node at ``spec.l2`` or ``spec.communities[]``."""
    node = schema
    for part in path.split("."):
        node = node["properties"][part.removesuffix("[]")]
        if part.endswith("[]"):
            node = node["items"]
    return node


#: Paths where an unknown-field-preserving node is justified (upstream free-form); none yet.
FREE_FORM: frozenset[str] = frozenset()
JUNCTORS = ("anyOf", "allOf", "oneOf", "not")


def structural_problems(schema: Schema) -> list[str]:
    """What would make the API server call the schema non-structural (the subset we use)."""
    problems = []
    for path, node in walk(schema):
        where = path or "<root>"
        if node.get("x-kubernetes-preserve-unknown-fields") and path not in FREE_FORM:
            problems.append(f"{where}: x-kubernetes-preserve-unknown-fields")
        if "type" not in node and not (
            node.get("x-kubernetes-int-or-string")
            or node.get("x-kubernetes-preserve-unknown-fields")
        ):
            problems.append(f"{where}: no type")
        if "properties" in node and "additionalProperties" in node:
            problems.append(f"{where}: both properties and additionalProperties")
        if ("properties" in node or "additionalProperties" in node) and node.get("type") not in (
            None,
            "object",
        ):
            problems.append(f"{where}: properties on a {node.get('type')}")
        if "items" in node and node.get("type") != "array":
            problems.append(f"{where}: items on a {node.get('type')}")
        if node.get("type") == "array" and not isinstance(node.get("items"), dict):
            problems.append(f"{where}: array without one items schema")
        problems += [f"{where}: {j} (not checked here)" for j in JUNCTORS if j in node]
    metadata = schema.get("properties", {}).get("metadata")
    if metadata != {"type": "object"}:
        problems.append(f".metadata must be just {{type: object}}, not {metadata}")
    return problems


def to_json_schema(node: Any) -> Any:
    """OpenAPI v3 as the API server reads it -> JSON Schema for ``jsonschema``.

    * ``x-kubernetes-int-or-string`` -> integer or string;
    * ``nullable`` -> the type also allows null;
    * objects with ``properties`` get ``additionalProperties: false``: an unknown field is
      an error, as with kubectl's default ``--validate=strict`` (the server would otherwise
      prune it silently);
    * ``x-kubernetes-list-type: set`` -> ``uniqueItems`` (the server rejects duplicates).
      ``map`` lists (unique keys) and CEL rules are not translated.
    """
    if isinstance(node, list):
        return [to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: to_json_schema(v) for k, v in node.items()}
    if out.pop("x-kubernetes-int-or-string", False):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if out.pop("nullable", False):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        if "anyOf" in out:
            out["anyOf"].append({"type": "null"})
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    if out.get("x-kubernetes-list-type") == "set":
        out["uniqueItems"] = True
    return out


def errors(kind: str, doc: Any) -> list[str]:
    """Schema violations of ``doc`` against the CRD of ``kind``, as ``path: message``."""
    validator = jsonschema.Draft202012Validator(to_json_schema(schema_of(kind)))
    return sorted(
        f"{'.'.join(str(p) for p in e.absolute_path)}: {e.message}"
        for e in validator.iter_errors(doc)
    )


# --------------------------------------------------------------------------- the CRD files


def test_the_crd_folder_holds_every_crd() -> None:
    assert sorted(c["spec"]["names"]["kind"] for c in CRDS.values() if "spec" in c) == [
        "BFDProfile",
        "BGPAdvertisement",
        "BGPPeer",
        "Community",
        "ConfigurationState",
        "IPAddressPool",
        "L2Advertisement",
        "L2LoadBalancer",
        "MetalLoadBalancerBGPPeer",
        "MetalLoadBalancerClass",
        "MetalLoadBalancerConfiguration",
        "MetalLoadBalancerPool",
        "ServiceBGPStatus",
        "ServiceL2Status",
    ]


@pytest.mark.parametrize("name", FILES)
def test_file_is_one_valid_crd(name: str) -> None:
    crd = CRDS[name]
    assert "documents" not in crd, f"{name} must hold exactly one document"
    assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
    assert crd["kind"] == "CustomResourceDefinition"
    try:
        kubernetes_validate.validate(crd, K8S, strict=True)
    except kubernetes_validate.ValidationError as e:
        where = ".".join(str(p) for p in e.path)
        pytest.fail(f"{name}: {where}: {e.message}")
    spec = crd["spec"]
    assert crd["metadata"]["name"] == f"{spec['names']['plural']}.{spec['group']}"
    assert name == f"{spec['group']}_{spec['names']['plural']}.yaml"
    assert spec["names"]["listKind"] == f"{spec['names']['kind']}List"
    assert spec["names"]["singular"] == spec["names"]["kind"].lower()
    assert [v["name"] for v in spec["versions"] if v["storage"]], "no storage version"
    assert len([v for v in spec["versions"] if v["storage"]]) == 1


@pytest.mark.parametrize("name", FILES)
def test_schema_is_structural(name: str) -> None:
    for version in CRDS[name]["spec"]["versions"]:
        assert structural_problems(version["schema"]["openAPIV3Schema"]) == []


def test_structural_check_catches_untyped_and_free_form_nodes() -> None:
    bad: Schema = {
        "type": "object",
        "properties": {
            "metadata": {"type": "object"},
            "spec": {"properties": {"a": {"type": "string"}}},
            "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            "list": {"type": "array", "items": {"properties": {"b": {"type": "string"}}}},
        },
    }
    assert structural_problems(bad) == [
        ".spec: no type",
        ".status: x-kubernetes-preserve-unknown-fields",
        ".list[]: no type",
    ]


@pytest.mark.parametrize("name", FILES)
def test_every_field_is_described(name: str) -> None:
    schema = CRDS[name]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    missing = []
    for path, node in walk(schema):
        is_field = path.count(".") > 0 and not path.endswith(("[]", "{}"))
        if is_field and path != ".metadata" and not node.get("description", "").strip():
            missing.append(path)
    assert missing == []


@pytest.mark.parametrize("name", FILES)
def test_defaults_fit_their_own_schema(name: str) -> None:
    """The API server refuses a CRD whose default would not validate (or would be pruned)."""
    schema = CRDS[name]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    for path, node in walk(schema):
        if "default" in node:
            sub = {k: v for k, v in node.items() if k != "default"}
            validator = jsonschema.Draft202012Validator(to_json_schema(sub))
            problems = [e.message for e in validator.iter_errors(node["default"])]
            assert problems == [], f"{path}: default {node['default']!r}: {problems}"


@pytest.mark.parametrize("name", FILES)
def test_list_types_are_usable(name: str) -> None:
    """``set`` lists hold scalars; ``map`` lists have keys every item must carry."""
    schema = CRDS[name]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    for path, node in walk(schema):
        kind = node.get("x-kubernetes-list-type")
        if kind == "set":
            assert node["items"]["type"] in ("string", "integer", "number", "boolean"), path
        elif kind == "map":
            keys = node["x-kubernetes-list-map-keys"]
            assert keys and set(keys) <= set(node["items"].get("required", [])), path
        else:
            assert kind in (None, "atomic"), path


@pytest.mark.parametrize("name", FILES)
def test_cel_rules_refer_to_real_fields(name: str) -> None:
    """No CEL engine here, so at least: each ``self.x`` is a property of the node the rule
    sits on, parentheses balance, and every rule has a message. A rule that does not
    compile makes the API server refuse the whole CRD."""
    schema = CRDS[name]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    for path, node in walk(schema):
        for rule in node.get("x-kubernetes-validations", []):
            text = rule["rule"]
            assert rule.get("message"), f"{path}: {text}"
            assert text.count("(") == text.count(")"), f"{path}: {text}"
            for field in re.findall(r"\bself\.(\w+)", text):
                assert field in node.get("properties", {}), f"{path}: {text}: {field}"


COLUMN_TYPES = {"integer": ("integer",), "number": ("integer", "number"), "boolean": ("boolean",)}


def column_target(schema: Schema, json_path: str) -> Schema | None:
    """The schema node a printer column's simple JSONPath points at (None: not found)."""
    if json_path == ".metadata.creationTimestamp":
        return {"type": "string", "format": "date-time"}
    # a filter such as [?(@.type=="InUse")] selects list items, like [*]
    json_path = re.sub(r"\[\?\(.*?\)\]", "[*]", json_path)
    node = schema
    for part in json_path.removeprefix(".").split("."):
        name = part.removesuffix("[*]")
        node = node.get("properties", {}).get(name)
        if node is None:
            return None
        if part.endswith("[*]"):
            node = node["items"]
    return node


@pytest.mark.parametrize("name", FILES)
def test_printer_columns_show_real_fields(name: str) -> None:
    for version in CRDS[name]["spec"]["versions"]:
        schema = version["schema"]["openAPIV3Schema"]
        columns = version.get("additionalPrinterColumns", [])
        assert columns, "kubectl get would show only the name"
        assert columns[-1]["name"] == "Age"
        for column in columns:
            target = column_target(schema, column["jsonPath"])
            assert target is not None, f"{column['name']}: {column['jsonPath']} is not a field"
            allowed = COLUMN_TYPES.get(column["type"])
            if allowed is not None:
                assert target["type"] in allowed, column["name"]
            if column["type"] == "date":
                assert target.get("format") == "date-time", column["name"]


# --------------------------------------------------------------------------- adapter kinds

#: API groups of kinds built into Kubernetes: they have no CRD of ours.
BUILT_IN_GROUPS = frozenset({"", "discovery.k8s.io", "coordination.k8s.io"})
ADAPTER_KINDS = sorted(
    (
        r
        for r in vars(resources).values()
        if isinstance(r, Resource)
        and r.group not in BUILT_IN_GROUPS
        and r is not resources.MODULE_CONFIG  # Deckhouse's own CRD
    ),
    key=lambda r: r.kind,
)


def test_adapter_kinds_were_found() -> None:
    assert {r.kind for r in ADAPTER_KINDS} >= {"BGPPeer", "MetalLoadBalancerClass"}


@pytest.mark.parametrize("res", ADAPTER_KINDS, ids=lambda r: r.kind)
def test_every_adapter_kind_has_a_matching_crd(res: Resource) -> None:
    crd = crd_for(res.kind)
    spec = crd["spec"]
    assert spec["group"] == res.group
    assert spec["names"]["plural"] == res.plural
    assert spec["scope"] == ("Namespaced" if res.namespaced else "Cluster")
    # The version we read is the stored one; only BGPPeer serves another (MetalLB's
    # deprecated v1beta1), through the controller's conversion webhook.
    versions = [(v["name"], v["served"], v["storage"]) for v in spec["versions"]]
    if res.kind == "BGPPeer":
        assert versions == [(res.version, True, True), ("v1beta1", True, False)]
        assert spec["conversion"]["strategy"] == "Webhook"
        assert spec["conversion"]["webhook"]["clientConfig"]["service"]["path"] == "/convert"
    else:
        assert versions == [(res.version, True, True)]
        assert "conversion" not in spec


@pytest.mark.parametrize(
    ("kind", "short"),
    [
        ("MetalLoadBalancerClass", ["mlbc"]),
        ("MetalLoadBalancerPool", ["mlbp"]),
        ("MetalLoadBalancerBGPPeer", ["mlbbp"]),
        ("MetalLoadBalancerConfiguration", ["mlbconfig"]),
    ],
)
def test_deckhouse_short_names(kind: str, short: list[str]) -> None:
    assert crd_for(kind)["spec"]["names"].get("shortNames") == short


@pytest.mark.parametrize(
    "kind",
    ["MetalLoadBalancerPool", "MetalLoadBalancerBGPPeer", "MetalLoadBalancerConfiguration"],
)
def test_v3_kinds_have_a_status_with_conditions(kind: str) -> None:
    (version,) = crd_for(kind)["spec"]["versions"]
    assert version["subresources"] == {"status": {}}
    conditions = at(version["schema"]["openAPIV3Schema"], "status.conditions")
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]
    assert set(conditions["items"]["required"]) >= {"type", "status", "reason"}


# --------------------------------------------------------------------------- parser fields


def only_fields(module: ModuleType, function: str, receiver: str) -> set[str]:
    """The keys ``<receiver>.only(...)`` allows inside ``module.function``.

    The argument may be a tuple literal, with ``*NAME`` parts, or a module-level NAME."""
    tree = ast.parse(inspect.getsource(module))
    (func,) = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == function]
    calls = [
        n
        for n in ast.walk(func)
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and n.func.attr == "only"
        and isinstance(n.func.value, ast.Name)
        and n.func.value.id == receiver
    ]
    assert len(calls) == 1, f"{module.__name__}.{function}: {len(calls)} {receiver}.only calls"

    def resolve(node: ast.expr) -> list[str]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [node.value]
        if isinstance(node, ast.Tuple | ast.List):
            return [key for elt in node.elts for key in resolve(elt)]
        if isinstance(node, ast.Starred):
            return resolve(node.value)
        if isinstance(node, ast.Name):
            return list(getattr(module, node.id))
        raise AssertionError(f"cannot read {ast.dump(node)}")

    return set(resolve(calls[0].args[0]))


# kind, schema path, where the parser lists the keys it reads (module, function, receiver)
PARSER_FIELDS = [
    ("MetalLoadBalancerClass", "spec", classes, "parse_class", "spec"),
    ("MetalLoadBalancerClass", "spec.l2", classes, "parse_class", "l2"),
    ("MetalLoadBalancerClass", "spec.tolerations[]", labels, "tolerations", "tol"),
    ("L2LoadBalancer", "spec", classes, "parse_l2_load_balancer", "spec"),
    ("MetalLoadBalancerPool", "spec", deckhouse_peers, "parse_mlb_pool", "spec"),
    ("MetalLoadBalancerBGPPeer", "spec", deckhouse_peers, "parse_mlb_peer", "spec"),
    ("MetalLoadBalancerBGPPeer", "spec.passwordSecretRef", deckhouse_peers, "_password", "ref"),
    ("MetalLoadBalancerBGPPeer", "spec.sourceAddresses[]", deckhouse_peers, "_sources", "entry"),
    ("MetalLoadBalancerBGPPeer", "spec.bfd", deckhouse_peers, "_bfd", "bfd"),
    ("MetalLoadBalancerConfiguration", "spec", deckhouse_config, "parse_mlb_configuration", "spec"),
    (
        "MetalLoadBalancerConfiguration",
        "spec.bgp",
        deckhouse_config,
        "parse_mlb_configuration",
        "bgp",
    ),
    (
        "MetalLoadBalancerConfiguration",
        "spec.advertisements[]",
        deckhouse_config,
        "_advertisement",
        "a",
    ),
    (
        "MetalLoadBalancerConfiguration",
        "spec.advertisements[].bgp",
        deckhouse_config,
        "_advertisement",
        "bgp",
    ),
    ("IPAddressPool", "spec", pools, "parse_ip_address_pool", "spec"),
    ("IPAddressPool", "spec.serviceAllocation", pools, "service_allocation", "sa"),
    ("L2Advertisement", "spec", advertisements, "parse_l2_advertisement", "spec"),
    ("BGPAdvertisement", "spec", advertisements, "parse_bgp_advertisement", "spec"),
    ("BGPPeer", "spec", peers, "parse_bgp_peer", "spec"),
    ("BGPPeer", "spec.passwordSecret", peers, "_password", "ref"),
    ("BFDProfile", "spec", bfd, "parse_bfd_profile", "spec"),
    ("Community", "spec", communities, "parse_community_cr", "fields"),
    ("Community", "spec.communities[]", communities, "parse_community_cr", "entry"),
]


def test_parser_field_table_names_the_dispatched_parsers() -> None:
    """The spec-level rows above must be the functions the snapshot really calls."""
    dispatched = {kind: parser.__name__ for kind, parser, _ in snapshot.CONFIG_KINDS}
    # Community objects are parsed first, outside CONFIG_KINDS (their aliases are needed).
    assert "parse_community_cr(spec" in inspect.getsource(snapshot.parse_snapshot)
    dispatched["Community"] = "parse_community_cr"
    for kind, path, _, function, _ in PARSER_FIELDS:
        if path == "spec":
            assert dispatched[kind] == function, kind


@pytest.mark.parametrize(
    ("kind", "path", "module", "function", "receiver"),
    PARSER_FIELDS,
    ids=[f"{k}.{p}" for k, p, *_ in PARSER_FIELDS],
)
def test_schema_and_parser_know_the_same_fields(
    kind: str, path: str, module: ModuleType, function: str, receiver: str
) -> None:
    """Parser-only fields would be pruned by the API server before we ever see them;
    schema-only fields would draw an "unknown field" warning on objects the server took."""
    parser = only_fields(module, function, receiver)
    schema = set(at(schema_of(kind), path)["properties"])
    assert sorted(parser - schema) == [], "read by the parser, missing from the schema"
    assert sorted(schema - parser) == [], "in the schema, unknown to the parser"


def test_every_label_selector_has_the_parsers_fields() -> None:
    selector = only_fields(labels, "label_selector", "sel")
    requirement = only_fields(labels, "_requirement", "expr")
    seen = 0
    for name in FILES:
        schema = CRDS[name]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        for path, node in walk(schema):
            props = node.get("properties", {})
            if "matchLabels" in props or "matchExpressions" in props:
                seen += 1
                assert set(props) == selector, f"{name}: {path}"
                assert set(props["matchExpressions"]["items"]["properties"]) == requirement
                operators = props["matchExpressions"]["items"]["properties"]["operator"]["enum"]
                assert sorted(operators) == sorted(o.value for o in Operator)
    # IPAddressPool 2, L2Advertisement 3 + preferredNodeSelectors[].preference, BGPAdvertisement 3,
    # BGPPeer 1
    assert seen == 10


# --------------------------------------------------------------------------- patterns


def pattern(kind: str, path: str) -> re.Pattern[str]:
    node = at(schema_of(kind), path)
    return re.compile(node["pattern"])


NAME_SAMPLES = ["a", "web-1", "a.b", "0", "", "A", "-a", "a-", "a_b", "a b", "ä"]
INTERFACE_SAMPLES = ["eth0", "bond0.100", "enp1s0f0:1", "veth_x", "", "a" * 15, "a" * 16, "eth 0"]
DURATION_SAMPLES = [
    "90s",
    "1m30s",
    "500ms",
    "1.5h",
    ".5s",
    "0",
    "+3s",
    "2µs",
    "3",
    "s",
    "1d",
    "3 s",
]
COMMUNITY_SAMPLES = ["64512:100", "large:1:2:3", "no-export", "NO-EXPORT", "a:b", "1:2:3", "x y"]


@pytest.mark.parametrize("text", NAME_SAMPLES)
def test_name_pattern_matches_the_parser(text: str) -> None:
    assert bool(pattern("Community", "spec.communities[].name").match(text)) == names.valid_name(
        text, names.SHORT_NAME
    )


@pytest.mark.parametrize("text", INTERFACE_SAMPLES)
def test_interface_pattern_matches_the_parser(text: str) -> None:
    ok = names.check_interface(Errors("test", []), "iface", text)
    assert bool(pattern("L2Advertisement", "spec.interfaces[]").match(text)) == ok
    # The scalar fields also allow "", which the parser reads as unset.
    assert bool(pattern("BGPPeer", "spec.vrf").match(text)) == (ok or text == "")


@pytest.mark.parametrize("text", DURATION_SAMPLES)
def test_duration_pattern_matches_the_parser(text: str) -> None:
    try:
        durations.parse_duration(text)
        ok = True
    except durations.DurationError:
        ok = False
    assert bool(pattern("BGPPeer", "spec.holdTime").match(text)) == ok


@pytest.mark.parametrize("text", COMMUNITY_SAMPLES)
def test_community_patterns_accept_what_the_parser_accepts(text: str) -> None:
    try:
        communities.parse_value(text)
        literal = True
    except communities.CommunityError:
        literal = False
    value = pattern("Community", "spec.communities[].value")
    ref = pattern("BGPAdvertisement", "spec.communities[]")
    if literal:  # the schema is looser (16-bit ranges are the parser's job), never stricter
        assert value.match(text)
        assert ref.match(text)
    assert bool(ref.match(text)) == (
        literal or (names.valid_name(text.lower()) and ":" not in text)
    )


# --------------------------------------------------------------------------- objects

SHIPPED = {(v, c["spec"]["names"]["kind"]) for c in CRDS.values() for v in api_versions(c)}


def shipped(doc: Any) -> bool:
    return isinstance(doc, dict) and (doc.get("apiVersion"), doc.get("kind")) in SHIPPED


def example_documents() -> list[tuple[str, Any]]:
    out = []
    for path in sorted((ROOT / "examples").rglob("*.yaml")):
        rel = path.relative_to(ROOT)
        if rel.parts[:2] == ("examples", "invalid"):
            continue  # broken on purpose for the parser; not asserted on here
        for i, doc in enumerate(yaml.safe_load_all(path.read_text())):
            if shipped(doc):
                out.append((f"{rel}#{i}", doc))
    return out


FENCE = re.compile(r"^```yaml\n(.*?)^```", re.MULTILINE | re.DOTALL)


def doc_documents() -> list[tuple[str, Any]]:
    out = []
    for path in sorted((ROOT / "docs").glob("*.md")):
        rel = path.relative_to(ROOT)
        for b, block in enumerate(FENCE.findall(path.read_text())):
            try:
                docs = list(yaml.safe_load_all(block))
            except yaml.YAMLError:
                # Docs may show fragments on purpose (an elided "...", a <placeholder>):
                # they are illustrations, not manifests, so there is nothing to validate.
                continue
            for i, doc in enumerate(docs):
                if shipped(doc):
                    out.append((f"{rel}#block{b}#{i}", doc))
    return out


EXAMPLES = example_documents()
DOC_EXAMPLES = doc_documents()


def test_examples_and_docs_show_every_kind() -> None:
    """So that the two tests below cannot pass by finding nothing."""
    kinds = {doc["kind"] for _, doc in EXAMPLES + DOC_EXAMPLES}
    assert kinds == {c["spec"]["names"]["kind"] for c in CRDS.values()}


@pytest.mark.parametrize(("where", "doc"), EXAMPLES, ids=[w for w, _ in EXAMPLES])
def test_example_validates(where: str, doc: Any) -> None:
    assert errors(doc["kind"], doc) == []


@pytest.mark.parametrize(("where", "doc"), DOC_EXAMPLES, ids=[w for w, _ in DOC_EXAMPLES])
def test_doc_example_validates(where: str, doc: Any) -> None:
    assert errors(doc["kind"], doc) == []


def obj(kind: str, spec: Schema) -> Schema:
    crd = crd_for(kind)
    api_version = f"{crd['spec']['group']}/{storage_version(crd)['name']}"
    meta: Schema = {"name": "x"}
    if crd["spec"]["scope"] == "Namespaced":
        meta["namespace"] = "metallb-system"
    return {"apiVersion": api_version, "kind": kind, "metadata": meta, "spec": spec}


SELECTOR = {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}
BASES: dict[str, Schema] = {
    "MetalLoadBalancerClass": obj(
        "MetalLoadBalancerClass",
        {
            "addressPool": ["192.0.2.0/28"],
            "l2": {"interfaces": ["eth0"]},
            "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoSchedule"}],
        },
    ),
    "IPAddressPool": obj(
        "IPAddressPool",
        {"addresses": ["192.0.2.0/28"], "serviceAllocation": {"priority": 1}},
    ),
    "L2Advertisement": obj(
        "L2Advertisement",
        {
            "interfaces": ["eth0"],
            "nodeSelectors": [SELECTOR],
            "preferredNodeSelectors": [{"weight": 50, "preference": SELECTOR}],
        },
    ),
    "BGPAdvertisement": obj(
        "BGPAdvertisement", {"aggregationLength": 32, "communities": ["64512:1"], "localPref": 1}
    ),
    "BGPPeer": obj(
        "BGPPeer",
        {"myASN": 64512, "peerASN": 64513, "peerAddress": "192.0.2.1", "holdTime": "9s"},
    ),
    "BFDProfile": obj("BFDProfile", {"receiveInterval": 300, "detectMultiplier": 3}),
    "Community": obj("Community", {"communities": [{"name": "web", "value": "64512:1"}]}),
    "ServiceL2Status": {
        **obj("ServiceL2Status", {}),
        "status": {
            "node": "n1",
            "serviceName": "web",
            "serviceNamespace": "apps",
            "interfaces": [{"name": "eth0"}],
        },
    },
}


@pytest.mark.parametrize("kind", sorted(BASES))
def test_base_object_validates(kind: str) -> None:
    assert errors(kind, BASES[kind]) == []


def with_value(doc: Schema, path: str, value: Any) -> Schema:
    """A copy of ``doc`` with ``value`` at ``spec.a.b`` or ``spec.list.0.key``."""
    out = copy.deepcopy(doc)
    *parents, last = path.split(".")
    node: Any = out
    for part in parents:
        node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
    if last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return out


def without(doc: Schema, path: str) -> Schema:
    out = copy.deepcopy(doc)
    *parents, last = path.split(".")
    node: Any = out
    for part in parents:
        node = node[part]
    del node[last]
    return out


# kind, path, value, the word the jsonschema message must contain
REJECTED = [
    # misspelled fields
    ("IPAddressPool", "spec.adresses", ["192.0.2.0/28"], "adresses"),
    ("IPAddressPool", "spec.serviceAllocation.namespace", "apps", "namespace"),
    ("BGPPeer", "spec.peerAdress", "192.0.2.1", "peerAdress"),
    ("MetalLoadBalancerClass", "spec.l2.interface", "eth0", "interface"),
    ("ServiceL2Status", "status.nodes", "n1", "nodes"),
    # wrong types
    ("IPAddressPool", "spec.autoAssign", "yes", "boolean"),
    ("IPAddressPool", "spec.addresses", "192.0.2.0/28", "array"),
    ("BGPPeer", "spec.myASN", "64512", "integer"),
    ("BGPPeer", "spec.holdTime", 90, "string"),
    ("MetalLoadBalancerClass", "spec.isDefault", "true", "boolean"),
    ("MetalLoadBalancerClass", "spec.nodeSelector", {"zone": 1}, "string"),
    ("ServiceL2Status", "status.interfaces.0.name", 5, "string"),
    # out of range, too many, too few, duplicates, bad patterns
    ("BGPPeer", "spec.peerPort", 16385, "maximum"),
    ("BGPPeer", "spec.myASN", 2**32, "maximum"),
    ("BGPPeer", "spec.myASN", 0, "minimum"),
    ("BGPPeer", "spec.holdTime", "90 seconds", "match"),
    ("BGPPeer", "spec.vrf", "this-is-a-long-vrf", "long"),
    ("BGPAdvertisement", "spec.aggregationLength", 33, "maximum"),
    ("BGPAdvertisement", "spec.aggregationLengthV6", 0, "minimum"),
    ("BGPAdvertisement", "spec.localPref", -1, "minimum"),
    ("BGPAdvertisement", "spec.communities", ["64512:abc"], "match"),
    ("BGPAdvertisement", "spec.communities", [f"1:{i}" for i in range(64)], "long"),
    ("BFDProfile", "spec.detectMultiplier", 1, "minimum"),
    ("BFDProfile", "spec.receiveInterval", 60001, "maximum"),
    ("IPAddressPool", "spec.serviceAllocation.priority", -1, "minimum"),
    ("IPAddressPool", "spec.addresses", [], "non-empty"),
    ("IPAddressPool", "spec.addresses", ["192.0.2.0/28", "192.0.2.0/28"], "non-unique"),
    ("L2Advertisement", "spec.interfaces", ["an-interface-name"], "match"),
    ("L2Advertisement", "spec.preferredNodeSelectors.0.weight", 101, "maximum"),
    ("Community", "spec.communities.0.value", "abc:def", "match"),
    ("Community", "spec.communities.0.name", "Web", "match"),
    # bad enum values
    ("MetalLoadBalancerClass", "spec.type", "BGP", "one of"),
    ("MetalLoadBalancerClass", "spec.tolerations.0.operator", "Maybe", "one of"),
    ("BGPPeer", "spec.dynamicASN", "both", "one of"),
    ("L2Advertisement", "spec.nodeSelectors.0.matchExpressions.0.operator", "Has", "one of"),
]


@pytest.mark.parametrize(
    ("kind", "path", "value", "word"),
    REJECTED,
    ids=[f"{k}.{p}={v!r}"[:60] for k, p, v, _ in REJECTED],
)
def test_schema_rejects(kind: str, path: str, value: Any, word: str) -> None:
    assert errors(kind, BASES[kind]) == []
    problems = errors(kind, with_value(BASES[kind], path, value))
    assert problems, f"{path}={value!r} was accepted"
    assert any(word in p for p in problems), problems


@pytest.mark.parametrize(
    ("kind", "path"),
    [
        ("IPAddressPool", "spec.addresses"),
        ("MetalLoadBalancerClass", "spec.addressPool"),
        ("BGPPeer", "spec.myASN"),
        ("Community", "spec.communities.0.value"),
        ("IPAddressPool", "spec"),
    ],
)
def test_schema_requires(kind: str, path: str) -> None:
    if path == "spec.communities.0.value":
        doc = copy.deepcopy(BASES[kind])
        del doc["spec"]["communities"][0]["value"]
    else:
        doc = without(BASES[kind], path)
    assert any("required" in p for p in errors(kind, doc))


def test_translation_of_openapi_extensions() -> None:
    schema = to_json_schema(
        {
            "type": "object",
            "properties": {
                "port": {"x-kubernetes-int-or-string": True},
                "name": {"type": "string", "nullable": True},
                "tags": {
                    "type": "array",
                    "items": {"type": "string"},
                    "x-kubernetes-list-type": "set",
                },
            },
        }
    )
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid({"port": 80, "name": None, "tags": ["a"]})
    assert validator.is_valid({"port": "http"})
    assert not validator.is_valid({"port": True})
    assert not validator.is_valid({"name": 1})
    assert not validator.is_valid({"tags": ["a", "a"]})
    assert not validator.is_valid({"typo": 1})


# --------------------------------------------------------------------------- defaults


@pytest.mark.parametrize(
    ("kind", "path", "default"),
    [
        ("IPAddressPool", "spec.autoAssign", True),
        ("IPAddressPool", "spec.avoidBuggyIPs", False),
        ("BGPAdvertisement", "spec.aggregationLength", 32),
        ("BGPAdvertisement", "spec.aggregationLengthV6", 128),
        ("BGPPeer", "spec.peerPort", 179),
        ("BFDProfile", "spec.receiveInterval", 300),
        ("BFDProfile", "spec.transmitInterval", 300),
        ("BFDProfile", "spec.echoInterval", 50),
        ("BFDProfile", "spec.detectMultiplier", 3),
        ("MetalLoadBalancerClass", "spec.type", "L2"),
        ("MetalLoadBalancerClass", "spec.isDefault", False),
    ],
)
def test_reference_defaults(kind: str, path: str, default: Any) -> None:
    assert at(schema_of(kind), path)["default"] == default


def test_hold_time_has_no_schema_default() -> None:
    """Unset means the daemon's default in the parser; a schema default would change that."""
    assert "default" not in at(schema_of("BGPPeer"), "spec.holdTime")
    assert "default" not in at(schema_of("BGPPeer"), "spec.keepaliveTime")


# --------------------------------------------------------------------------- status objects

STATUS_KINDS = ["ServiceL2Status", "ServiceBGPStatus"]


@pytest.mark.parametrize("kind", STATUS_KINDS)
def test_status_identity_is_immutable(kind: str) -> None:
    status = at(schema_of(kind), "status")
    for field in ("node", "serviceName", "serviceNamespace"):
        rules = [r["rule"] for r in status["properties"][field].get("x-kubernetes-validations", [])]
        assert "self == oldSelf" in rules, field


@pytest.mark.parametrize("kind", STATUS_KINDS)
def test_status_object_shape(kind: str) -> None:
    crd = crd_for(kind)
    (version,) = crd["spec"]["versions"]
    assert crd["spec"]["group"] == "metallb.io"
    assert version["name"] == "v1beta1"
    assert crd["spec"]["scope"] == "Namespaced"
    assert version["subresources"] == {"status": {}}
    assert [(c["name"], c["jsonPath"]) for c in version["additionalPrinterColumns"]] == [
        ("Node", ".status.node"),
        ("Service Name", ".status.serviceName"),
        ("Service Namespace", ".status.serviceNamespace"),
        ("Age", ".metadata.creationTimestamp"),
    ]
    extra = {"ServiceL2Status": "interfaces", "ServiceBGPStatus": "peers"}[kind]
    assert set(at(schema_of(kind), "status")["properties"]) == {
        "node",
        "serviceName",
        "serviceNamespace",
        extra,
    }


def test_bgp_status_peers_are_strings() -> None:
    doc = {
        **obj("ServiceBGPStatus", {}),
        "status": {"node": "n1", "serviceName": "s", "serviceNamespace": "d", "peers": ["r1"]},
    }
    assert errors("ServiceBGPStatus", doc) == []
    assert errors("ServiceBGPStatus", with_value(doc, "status.peers", [{"name": "r1"}]))


def test_pool_status_counters() -> None:
    version = crd_for("IPAddressPool")["spec"]["versions"][0]
    assert version["subresources"] == {"status": {}}
    status = at(schema_of("IPAddressPool"), "status")["properties"]
    for field in ("assignedIPv4", "assignedIPv6", "availableIPv4", "availableIPv6"):
        assert status[field]["type"] == "integer"
        assert status[field]["format"] == "int64"


def test_graceful_restart_is_immutable() -> None:
    node = at(schema_of("BGPPeer"), "spec.enableGracefulRestart")
    assert [r["rule"] for r in node["x-kubernetes-validations"]] == ["self == oldSelf"]
    # With a default the old value always exists, so false -> true is caught as well.
    assert node["default"] is False
