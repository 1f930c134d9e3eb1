"""``mlb migrate DIR``: version-3 objects for a ModuleConfig's BGP settings.

Matrix: Deckhouse's naming (pool name / pool-<i>, peer-<i>, migrated-bgp) and labels; the
objects parse without errors and give every node the same sessions (address, port, hold
time, source address, password) and announcements (prefix, localPref, communities) as the
ModuleConfig did, except a large community, which the CRD refuses (dropped with a note);
password redacted on stdout, written 0600 with --secret-dir; node-selector with
matchExpressions stays in migrated-bgp with a note; version 1 prints l2-default for
layer2-only settings; no ModuleConfig: nothing to migrate; errors exit 1.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator.cli import main
from orchestrator.core.bgp.compute import bgp_intent
from orchestrator.core.model.cluster import ClusterSnapshot
from orchestrator.core.parse import parse_snapshot
from orchestrator.core.plan import plan

SETTINGS: dict[str, Any] = {
    "speaker": {"nodeSelector": {"edge": ""}},
    "bgpCommunities": {"big": "large:1:2:3", "edge": "64512:200"},
    "bgpPeers": [
        {
            "peer-address": "198.51.100.1",
            "peer-asn": 64512,
            "my-asn": 64513,
            "password": "topsecret-1",
            "source-address": "198.51.100.111",
            "node-selector": {"matchLabels": {"rack": "a"}},
        },
        {"peer-address": "198.51.100.2", "peer-asn": 64512, "my-asn": 64513, "hold-time": 9},
        {
            "peer-address": "198.51.100.3",
            "peer-asn": 64514,
            "my-asn": 64513,
            "peer-port": 1179,
            "node-selector": {"matchExpressions": [{"key": "rack", "operator": "Exists"}]},
        },
    ],
    "addressPools": [
        {
            "name": "public",
            "protocol": "bgp",
            "addresses": ["203.0.113.0/26"],
            "bgp-advertisements": [{"communities": ["edge", "big"], "localpref": 50}],
        },
        {"name": "plain", "protocol": "bgp", "addresses": ["203.0.113.64/28"]},
    ],
}


def node(name: str, **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels}}


def service(name: str, pool: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": "apps",
            "annotations": {"network.deckhouse.io/load-balancer-pool": pool},
        },
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
    }


def endpoints(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": name,
            "namespace": "apps",
            "labels": {"kubernetes.io/service-name": name},
        },
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["192.0.2.7"], "nodeName": "n1"}],
    }


OTHERS = [
    node("n1", edge="", rack="a"),
    node("n2", edge=""),
    node("n3"),
    service("web", "public"),
    service("db", "plain"),
    endpoints("web"),
    endpoints("db"),
]


def write(tmp: Path, settings: dict[str, Any], version: int = 2) -> Path:
    mc = {
        "apiVersion": "deckhouse.io/v1alpha1",
        "kind": "ModuleConfig",
        "metadata": {"name": "metallb"},
        "spec": {"version": version, "enabled": True, "settings": settings},
    }
    d = tmp / "in"
    d.mkdir()
    (d / "all.yaml").write_text(yaml.safe_dump_all([mc, *OTHERS]))
    return d


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["migrate", *args])
    out, err = capsys.readouterr()
    return code, out, err


def sessions_and_routes(s: ClusterSnapshot) -> dict[str, Any]:
    assignments = list(plan(s).allocation.assignments().values())
    out = {}
    for name in s.nodes:
        intent = bgp_intent(s, assignments, node=name)
        peers = {
            (
                str(p.peer.peer_address),
                p.peer.peer_port,
                p.peer.hold_time,
                str(p.peer.source_address),
                p.peer.password.reveal() if p.peer.password else None,
            ): p.name
            for p in intent.peers
        }
        routes = {
            (
                str(r.prefix),
                r.local_pref,
                tuple(str(c) for c in r.communities),
                tuple(sorted(k for k, v in peers.items() if v in r.peers)),
            )
            for r in intent.prefixes
        }
        out[name] = (sorted(peers), sorted(routes))
    return out


def test_migrated_objects_give_every_node_the_same_sessions_and_routes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = write(tmp_path, SETTINGS)
    code, out, err = run(capsys, str(src), "--secret-dir", str(tmp_path / "secrets"))
    assert code == 0, err
    assert "topsecret" not in out
    docs = [d for d in yaml.safe_load_all(out) if d]
    names = [(d["kind"], d["metadata"]["name"]) for d in docs]
    assert names == [
        ("MetalLoadBalancerPool", "public"),
        ("MetalLoadBalancerPool", "plain"),
        ("Secret", "bgp-peer-0"),
        ("MetalLoadBalancerBGPPeer", "peer-0"),
        ("MetalLoadBalancerBGPPeer", "peer-1"),
        ("MetalLoadBalancerBGPPeer", "peer-2"),
        ("MetalLoadBalancerConfiguration", "migrated-bgp"),
        ("MetalLoadBalancerConfiguration", "migrated-bgp-peer-0"),
    ]
    assert all(d["metadata"]["labels"]["auto-generated-by"] == "d8-migration-hook" for d in docs)
    assert "community 'large:1:2:3' (big) dropped" in out
    assert "matchExpressions" in out and "source-address -> sourceAddresses of nodes n1" in out
    secret_file = tmp_path / "secrets" / "bgp-peer-0.yaml"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    secret = yaml.safe_load(secret_file.read_text())
    docs = [secret if d["kind"] == "Secret" else d for d in docs]

    before = parse_snapshot([("in", d) for d in yaml.safe_load_all((src / "all.yaml").read_text())])
    after = parse_snapshot([(f"out#{i}", d) for i, d in enumerate([*docs, *OTHERS])])
    assert [str(p) for p in after.problems if p.severity.name == "ERROR"] == []
    old, new = sessions_and_routes(before), sessions_and_routes(after)
    # peer 198.51.100.3 (matchExpressions) now runs on every speaker node, as the note says
    assert [p[0] for p in new["n2"][0]] == ["198.51.100.2", "198.51.100.3"]
    assert [p[0] for p in old["n2"][0]] == ["198.51.100.2"]

    def comparable(peers: Any, routes: Any) -> Any:
        keep = [p for p in peers if p[0] != "198.51.100.3"]
        # the large community is what the version-3 CRD cannot carry
        return keep, sorted(
            (
                p,
                lp,
                tuple(c for c in cs if not c.startswith("large:")),
                tuple(t for t in to if t in keep),
            )
            for p, lp, cs, to in routes
        )

    for name, (peers, routes) in old.items():
        assert comparable(*new[name]) == comparable(peers, routes), name
    assert old["n1"][0] and old["n2"][0] and not old["n3"][0]  # the test sees sessions


def test_stdout_redacts_and_version_1_prints_its_classes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    layer2 = {
        "speaker": {"nodeSelector": {"edge": ""}},
        "addressPools": [{"name": "office", "protocol": "layer2", "addresses": ["192.0.2.0/28"]}],
    }
    code, out, _ = run(capsys, str(write(tmp_path, layer2, version=1)))
    assert code == 0
    (cls,) = [d for d in yaml.safe_load_all(out) if d]
    assert cls["kind"] == "MetalLoadBalancerClass" and cls["metadata"]["name"] == "l2-default"
    assert cls["spec"] == {
        "isDefault": True,
        "type": "L2",
        "addressPool": ["192.0.2.0/28"],
        "nodeSelector": {"edge": ""},
    }

    (tmp_path / "in" / "all.yaml").unlink()
    code, out, _ = run(capsys, str(tmp_path / "in"))
    assert code == 0 and "nothing to migrate" in out


def test_redacted_secret_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(write(tmp_path, SETTINGS)))
    assert code == 0
    (secret,) = [d for d in yaml.safe_load_all(out) if d and d["kind"] == "Secret"]
    assert secret["stringData"] == {"password": "<redacted>"}
    assert "topsecret" not in out
    bad = {"bgpPeers": [{"peer-address": "nope", "peer-asn": 1, "my-asn": 2}]}
    other = tmp_path / "bad"
    other.mkdir()
    code, out, _ = run(capsys, str(write(other, bad)))
    assert code == 1 and "peer-address" in out
