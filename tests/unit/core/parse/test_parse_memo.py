"""``ParseMemo``: Services and EndpointSlices passed again as the same objects are reused.

Matrix:

- the same documents twice: every Service and slice is a hit, and the snapshot equals a
  parse without the memo;
- a Service replaced by a new object is parsed again (one miss) and its change shows;
- a Service's own errors stay attached (``Service.errors``, ``problems``) when reused;
- a duplicate is still "defined again" on a hit, and its own field errors are not reported;
- an object no longer passed is forgotten: passed again later, it is parsed again;
- property: over random edit sequences, with and without the memo give equal snapshots.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.core.parse import ParseMemo, parse_snapshot

Docs = list[tuple[str, dict[str, Any]]]
COUNT = "network.deckhouse.io/l2-load-balancer-external-ips-count"


def service(name: str, **annotations: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "demo", "annotations": dict(annotations)},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
    }


def endpoint_slice(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": f"{name}-x",
            "namespace": "demo",
            "labels": {"kubernetes.io/service-name": name},
        },
        "endpoints": [{"addresses": ["10.0.0.1"], "nodeName": "n1", "conditions": {}}],
    }


def pool() -> dict[str, Any]:
    return {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "IPAddressPool",
        "metadata": {"name": "p", "namespace": "metallb-system"},
        "spec": {"addresses": ["192.0.2.0/24"]},
    }


def cluster(n: int) -> Docs:
    docs: Docs = [("pool", pool())]
    for i in range(n):
        docs.append((f"svc-{i}", service(f"svc-{i}")))
        docs.append((f"eps-{i}", endpoint_slice(f"svc-{i}")))
    return docs


def test_same_objects_are_reused_and_parse_the_same() -> None:
    docs = cluster(5)
    memo = ParseMemo()
    first = parse_snapshot(docs, memo)
    assert (memo.hits, memo.misses) == (0, 10)
    second = parse_snapshot(docs, memo)
    assert (memo.hits, memo.misses) == (10, 10)
    assert first == second == parse_snapshot(docs)
    assert len(second.services) == 5 and len(second.endpoint_slices) == 5


def test_a_replaced_object_is_parsed_again() -> None:
    docs = cluster(3)
    memo = ParseMemo()
    parse_snapshot(docs, memo)
    docs[1] = ("svc-0", service("svc-0", **{COUNT: "2"}))  # what an informer does on MODIFIED
    snapshot = parse_snapshot(docs, memo)
    assert (memo.hits, memo.misses) == (5, 7)
    (svc,) = [s for s in snapshot.services if s.name == "svc-0"]
    assert svc.request.ips_count == 2
    assert snapshot == parse_snapshot(docs)


def test_errors_of_a_reused_service_are_still_reported() -> None:
    bad = service("bad")
    bad["spec"]["type"] = "Balanced"
    docs: Docs = [("bad", bad)]
    memo = ParseMemo()
    first = parse_snapshot(docs, memo)
    second = parse_snapshot(docs, memo)
    assert memo.hits == 1
    assert first.problems == second.problems != ()
    assert second.services[0].errors == first.services[0].errors != ()
    assert str(second.problems[0]).startswith('Service/demo/bad: spec.type: "Balanced"')


def test_a_duplicate_is_reported_on_a_hit_without_its_own_errors() -> None:
    docs: Docs = [("a.yaml#1", service("web")), ("b.yaml#1", service("web", **{COUNT: "x"}))]
    memo = ParseMemo()
    parse_snapshot(docs, memo)
    snapshot = parse_snapshot(docs, memo)
    assert memo.hits == 2
    assert [str(p) for p in snapshot.problems] == [
        "Service/demo/web: defined again (first in a.yaml#1); ignored"
    ]
    assert snapshot == parse_snapshot(docs)


def test_an_object_no_longer_passed_is_forgotten() -> None:
    docs = cluster(2)
    memo = ParseMemo()
    parse_snapshot(docs, memo)
    parse_snapshot(docs[:3], memo)  # svc-1 and its slice gone
    assert (memo.hits, memo.misses) == (2, 4)
    parse_snapshot(docs, memo)  # back, as the same objects: parsed again
    assert (memo.hits, memo.misses) == (4, 6)


EDITS = st.lists(
    st.tuples(
        st.sampled_from(["replace", "remove", "add", "break", "duplicate"]), st.integers(0, 5)
    ),
    max_size=12,
)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(EDITS)
def test_memo_never_changes_the_result(edits: list[tuple[str, int]]) -> None:
    docs = cluster(4)
    memo = ParseMemo()
    for op, i in edits:
        name = f"svc-{i}"
        if op == "replace":
            docs = [(s, copy.deepcopy(d)) if s == name else (s, d) for s, d in docs]
        elif op == "remove":
            docs = [(s, d) for s, d in docs if s != name]
        elif op == "add":
            docs = [*docs, (name, service(name, **{COUNT: "2"}))]
        elif op == "break":
            docs = [*docs, (f"{name}-bad", service(f"bad-{i}", **{COUNT: "0"}))]
        else:
            docs = [*docs, (f"{name}-again", service(name))]
        assert parse_snapshot(docs, memo) == parse_snapshot(docs)
