"""Are the requests a component made allowed by the RBAC the Helm chart gives it?

The emulator records every request with its bearer token; components in a test use their
own token (``controller`` / ``speaker``). Each request becomes an RBAC attribute
(verb, API group, resource[/subresource], namespace) as the API server computes it, and is
checked against the rules of the ClusterRole and Role the chart renders for that component
(Role rules hold only in the release namespace). The emulator does not enforce RBAC; this
is how a missing verb in the chart shows up before a real cluster refuses it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tests.chart.conftest import NAMESPACE, objects
from tests.harness.apiserver import parse_path

Attr = tuple[str, str, str, str | None]  # verb, group, resource, namespace


def attribute(method: str, path: str, query: dict[str, str]) -> Attr:
    target = parse_path(path)
    assert target is not None, path
    if method == "GET":
        verb = "get" if target.name else ("watch" if query.get("watch") else "list")
    else:
        verb = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}[method]
    resource = target.plural + (f"/{target.sub}" if target.sub else "")
    return verb, target.group, resource, target.namespace


def rules_for(
    component: str, values: dict[str, Any] | None = None
) -> list[tuple[dict[str, Any], bool]]:
    """(rule, cluster-wide?) of the chart's roles bound to the component's ServiceAccount."""
    name = f"mlb-metallb-orchestrator-{component}"
    out: list[tuple[dict[str, Any], bool]] = []
    for obj in objects("defaults"):
        if obj["kind"] in ("ClusterRole", "Role") and obj["metadata"]["name"] == name:
            out += [(rule, obj["kind"] == "ClusterRole") for rule in obj["rules"]]
    assert out, f"no roles for {component}"
    return out


def allowed(attr: Attr, rules: Iterable[tuple[dict[str, Any], bool]]) -> bool:
    verb, group, resource, namespace = attr
    for rule, cluster_wide in rules:
        if not cluster_wide and namespace != NAMESPACE:
            continue
        if group in rule["apiGroups"] and resource in rule["resources"] and verb in rule["verbs"]:
            return True
    return False


def denied(calls: Iterable[tuple[str, str, str, dict[str, str]]], component: str) -> set[Attr]:
    """Every request made with ``component``'s token that its roles do not allow."""
    rules = rules_for(component)
    return {
        attr
        for token, method, path, query in calls
        if token == component
        for attr in [attribute(method, path, query)]
        if not allowed(attr, rules)
    }
