"""Rendering the chart for tests: value sets by name, rendered once, as parsed objects.

``helm_python`` is Helm's own Go SDK behind a C ABI (no ``helm`` binary, no cluster), so a
render takes milliseconds; each value set is still rendered only once per session.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import helm_python
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "metallb-orchestrator"
RELEASE = "mlb"
NAMESPACE = "metallb-system"
FULLNAME = "mlb-metallb-orchestrator"
MODULECONFIG_EXAMPLE = ROOT / "examples" / "moduleconfig" / "moduleconfig.yaml"

Obj = dict[str, Any]


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def example_documents() -> list[Obj]:
    return [d for d in yaml.safe_load_all(MODULECONFIG_EXAMPLE.read_text()) if d]


def _moduleconfig_settings() -> Obj:
    (mc,) = [d for d in example_documents() if d["kind"] == "ModuleConfig"]
    settings: Obj = mc["spec"]["settings"]
    return settings


#: Every value set the chart is rendered, linted and validated with.
VALUE_SETS: dict[str, Callable[[], Obj]] = {
    "defaults": lambda: {},
    "backend-frr": lambda: {"speaker": {"backend": "frr"}},
    "backend-gobgp": lambda: {
        "speaker": {
            "backend": "gobgp",
            "interfaces": ["eth0", "bond0.100"],
            "leaseDuration": 3,
            "renewInterval": 0.5,
            "announcerPriority": "none",
        }
    },
    "backend-none": lambda: {"speaker": {"backend": "none"}},
    "example-l2": lambda: load_yaml(ROOT / "examples" / "helm" / "values-l2.yaml"),
    "example-bgp": lambda: load_yaml(ROOT / "examples" / "helm" / "values-bgp.yaml"),
    "moduleconfig-settings": _moduleconfig_settings,
    "settings-v3": lambda: {
        "settingsVersion": 3,
        "loadBalancerClass": "lb.example.com/bgp",
        "nodeSelector": {"node-role.kubernetes.io/control-plane": ""},
    },
    "webhook-supplied": lambda: {
        "webhook": {
            "failurePolicy": "Ignore",
            "url": "https://127.0.0.1:9443",
            "tls": {"secretName": "my-cert", "caBundle": "-----BEGIN CERTIFICATE-----"},
        }
    },
    "toggles-off": lambda: {
        "metrics": {"enabled": False},
        "webhook": {"enabled": False},
        "serviceMonitor": {"enabled": True},
        "rbac": {"create": False},
        "serviceAccounts": {
            "controller": {"create": False, "name": "existing-controller"},
            "speaker": {"create": False, "name": "existing-speaker"},
        },
        "controller": {"replicas": 1, "podDisruptionBudget": {"enabled": False}},
        "settingsVersion": 2,
        "imagePullSecrets": [{"name": "regcred"}],
        "image": {"repository": "registry.example/mlb", "tag": "dev", "pullPolicy": "Always"},
    },
}


def values_of(name: str) -> Obj:
    values: Obj = VALUE_SETS[name]()
    return values


@functools.cache
def chart() -> helm_python.Chart:
    return helm_python.Chart.load(CHART)


@functools.cache
def _rendered(name: str) -> tuple[tuple[str, str], ...]:
    out = chart().render(values_of(name), name=RELEASE, namespace=NAMESPACE)
    return tuple(sorted(out.items()))


def rendered_files(name: str) -> dict[str, str]:
    """Template path -> rendered text (NOTES.txt included)."""
    return dict(_rendered(name))


def objects(name: str) -> list[Obj]:
    """Every Kubernetes object the value set renders (a fresh copy per call)."""
    out: list[Obj] = []
    for path, text in _rendered(name):
        if path.endswith(".txt"):
            continue
        out += [d for d in yaml.safe_load_all(text) if d]
    return out


def one(objs: list[Obj], kind: str, name: str | None = None) -> Obj:
    found = [
        o for o in objs if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)
    ]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


@pytest.fixture(params=sorted(VALUE_SETS))
def value_set(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name
