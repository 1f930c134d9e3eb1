"""Document-level rules and whole-snapshot properties.

Matrix: missing kind/apiVersion, non-mapping documents, unknown kinds and foreign groups
(warnings), missing or invalid names, duplicate identities, ``List`` expansion, the value
grammars of names/labels/selectors; properties: the result does not depend on document
order, and arbitrary input never raises.
"""

from __future__ import annotations

import random
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from orchestrator.core.model.cluster import ClusterSnapshot
from orchestrator.core.model.errors import Severity
from orchestrator.core.parse import parse_snapshot
from orchestrator.core.parse.names import password_problem, valid_name


def snap(*docs: Any) -> ClusterSnapshot:
    return parse_snapshot([(f"t.yaml#{i}", d) for i, d in enumerate(docs, 1)])


def lines(s: ClusterSnapshot) -> list[str]:
    return [str(p) for p in s.problems]


def pool(name: str, *addresses: str, **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "IPAddressPool",
        "metadata": {"name": name, **meta},
        "spec": {"addresses": list(addresses)},
    }


def test_identity_problems() -> None:
    s = snap(
        {"kind": "Service", "metadata": {"name": "x"}},
        {"apiVersion": "v1"},
        ["not", "a", "mapping"],
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}},
        {"apiVersion": "serving.knative.dev/v1", "kind": "Service", "metadata": {"name": "k"}},
        {"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool", "metadata": {}},
        {"apiVersion": 1, "kind": "Node", "metadata": {"name": "n"}},
    )
    assert lines(s) == [
        "IPAddressPool/<t.yaml#6>: metadata.name: is required",
        "t.yaml#1: apiVersion: is required",
        "t.yaml#2: kind: is required",
        "t.yaml#3: document must be an object, not a list",
        "warning: t.yaml#4: Deployment (apps/v1) is not a kind we read; ignored",
        "warning: t.yaml#5: Service (serving.knative.dev/v1) is not a kind we read; ignored",
        "t.yaml#7: kind and apiVersion must be strings",
    ]


def test_names_and_metadata() -> None:
    s = snap(
        pool("Upper_Case", "192.0.2.0/28"),
        pool("ok", "192.0.2.16/28", labels={"bad key!": "v", "k": "v" * 64}),
        pool("a" * 254, "192.0.2.32/28"),
        {
            "apiVersion": "metallb.io/v1beta2",
            "kind": "BGPPeer",
            "metadata": {"name": "p" * 64},
            "spec": {"myASN": 1, "peerASN": 2, "peerAddress": "198.51.100.1"},
        },
    )
    assert [p.split(": ", 2)[1] for p in lines(s)] == [
        "metadata.name",  # 254 characters
        "metadata.name",  # BGPPeer name over 63
        "metadata.name",  # Upper_Case
        "metadata.labels[bad key!]",
        "metadata.labels[k]",
    ]
    assert s.config.pools == {} and s.config.bgp_peers == ()


def test_duplicates_and_lists() -> None:
    s = snap(
        pool("a", "192.0.2.0/28"),
        {
            "apiVersion": "v1",
            "kind": "List",
            "items": [pool("a", "192.0.2.16/28"), pool("b", "192.0.2.32/28")],
        },
    )
    assert lines(s) == ["IPAddressPool/a: defined again (first in t.yaml#1); ignored"]
    assert sorted(s.config.pools) == ["a", "b"]
    assert str(s.config.pools["a"].cidrs[0]) == "192.0.2.0/28"


def test_same_name_in_other_namespace_is_another_service() -> None:
    def svc(ns: str | None) -> dict[str, Any]:
        meta: dict[str, Any] = {"name": "web"}
        if ns:
            meta["namespace"] = ns
        return {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta,
            "spec": {"type": "LoadBalancer"},
        }

    s = snap(svc("a"), svc(None), svc("default"))
    assert [x.key for x in s.services] == ["a/web", "default/web"]
    assert lines(s) == ["Service/default/web: defined again (first in t.yaml#2); ignored"]


def test_selector_grammar() -> None:
    def l2(selectors: list[Any]) -> dict[str, Any]:
        return {
            "apiVersion": "metallb.io/v1beta1",
            "kind": "L2Advertisement",
            "metadata": {"name": "l2"},
            "spec": {"nodeSelectors": selectors},
        }

    s = snap(
        l2(
            [
                {"matchExpressions": [{"key": "a", "operator": "In"}]},
                {"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]},
                {"matchExpressions": [{"key": "a", "operator": "Near", "values": ["x"]}]},
                {"matchExpressions": [{"key": "-a", "operator": "Exists"}]},
                {
                    "matchExpressions": [
                        {"key": "a", "operator": "Exists"},
                        {"key": "a", "operator": "Exists"},
                    ]
                },
                {"matchLabel": {"a": "b"}},
                "rack=a",
            ]
        )
    )
    assert lines(s) == [
        "L2Advertisement/l2: spec.nodeSelectors[0].matchExpressions[0].values: must not be empty "
        "for operator In",
        "L2Advertisement/l2: spec.nodeSelectors[1].matchExpressions[0].values: must be empty for "
        "operator Exists",
        'L2Advertisement/l2: spec.nodeSelectors[2].matchExpressions[0].operator: "Near" is not In, '
        "NotIn, Exists or DoesNotExist",
        'L2Advertisement/l2: spec.nodeSelectors[3].matchExpressions[0].key: "-a" is not a valid '
        "label key",
        'L2Advertisement/l2: spec.nodeSelectors[4].matchExpressions[1]: duplicate expression "a"',
        "warning: L2Advertisement/l2: spec.nodeSelectors[5].matchLabel: unknown field, ignored",
        "L2Advertisement/l2: spec.nodeSelectors[6]: must be an object, not a string",
    ]


def test_name_and_password_patterns() -> None:
    assert valid_name("a") and valid_name("a.b-c9") and not valid_name("-a")
    assert not valid_name("a_b") and not valid_name("a b") and not valid_name("A")
    assert not valid_name("a" * 64, 63) and valid_name("a" * 63, 63)
    assert password_problem("S3cr3t$%&()*+,-./:;<=>?@[]^_`{|}~") is None
    for bad in ("", "a b", "a\nb", "a!b", "a#b", "a'b", 'a"b', "pässword", "x" * 81, "a\tb"):
        problem = password_problem(bad)
        assert problem is not None
        assert not bad or bad not in problem  # the value is never echoed


def test_order_does_not_matter() -> None:
    docs: list[dict[str, Any]] = [
        pool("a", "192.0.2.0/25"),
        pool("b", "192.0.2.64/26"),
        pool("c", "198.51.100.0/24"),
        {
            "apiVersion": "network.deckhouse.io/v1alpha1",
            "kind": "MetalLoadBalancerClass",
            "metadata": {"name": "x"},
            "spec": {"addressPool": ["203.0.113.0/28"], "isDefault": True},
        },
        {
            "apiVersion": "network.deckhouse.io/v1alpha1",
            "kind": "MetalLoadBalancerClass",
            "metadata": {"name": "y"},
            "spec": {"addressPool": ["203.0.113.16/28"], "isDefault": True},
        },
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s1", "namespace": "n"}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s0", "namespace": "n"}},
    ]
    first = parse_snapshot([(f"f#{i}", d) for i, d in enumerate(docs)])
    rng = random.Random(7)
    for _ in range(5):
        order = list(enumerate(docs))
        rng.shuffle(order)
        again = parse_snapshot([(f"f#{i}", d) for i, d in order])
        assert again == first


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
kinds = st.sampled_from(
    [
        ("metallb.io/v1beta1", "IPAddressPool"),
        ("metallb.io/v1beta1", "AddressPool"),
        ("metallb.io/v1beta1", "L2Advertisement"),
        ("metallb.io/v1beta1", "BGPAdvertisement"),
        ("metallb.io/v1beta2", "BGPPeer"),
        ("metallb.io/v1beta1", "BFDProfile"),
        ("metallb.io/v1beta1", "Community"),
        ("network.deckhouse.io/v1alpha1", "MetalLoadBalancerClass"),
        ("deckhouse.io/v1alpha1", "ModuleConfig"),
        ("v1", "Service"),
        ("v1", "Node"),
        ("v1", "Namespace"),
        ("v1", "Secret"),
        ("discovery.k8s.io/v1", "EndpointSlice"),
    ]
)


@given(
    st.lists(
        st.tuples(
            kinds,
            st.dictionaries(
                st.sampled_from(
                    [
                        "spec",
                        "status",
                        "addresses",
                        "addressPool",
                        "settings",
                        "endpoints",
                        "myASN",
                        "peerAddress",
                        "communities",
                        "ports",
                        "data",
                        "type",
                    ]
                ),
                json_values,
                max_size=4,
            ),
            json_values,
        ),
        max_size=6,
    )
)
def test_arbitrary_input_never_raises(
    items: list[tuple[tuple[str, str], dict[str, Any], Any]],
) -> None:
    docs: list[tuple[str, Any]] = []
    for i, ((api, kind), body, meta) in enumerate(items):
        spec = body.pop("spec", body)
        doc = {
            "apiVersion": api,
            "kind": kind,
            "metadata": {"name": "metallb", "annotations": meta},
            "spec": spec,
            **body,
        }
        docs.append((f"f#{i}", doc))
    s = parse_snapshot(docs)
    assert all(p.severity in (Severity.ERROR, Severity.WARNING) for p in s.problems)
