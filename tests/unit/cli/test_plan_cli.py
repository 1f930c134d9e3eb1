"""`mlb plan` end to end on the shipped examples: the seed example gets 3 IPs on 3 distinct
frontend nodes; JSON has the documented shape; invalid manifests exit 1 with error lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.cli import main

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def test_seed_plan_spreads_three_ips_over_three_frontend_nodes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["plan", str(EXAMPLES / "seed"), "--output", "json"]) == 0
    services = json.loads(capsys.readouterr().out)["services"]
    assert [(s["namespace"], s["name"]) for s in services] == [("demo", "web")]
    web = services[0]
    assert set(web) == {"namespace", "name", "ips", "pool", "class", "homes", "reason"}
    assert len(web["ips"]) == 3 and web["pool"] == "ingress" and web["reason"] == ""
    assert all(ip.startswith("192.168.2.") for ip in web["ips"])
    assert set(web["homes"]) == set(web["ips"])
    assert sorted(web["homes"].values()) == ["frontend-1", "frontend-2", "frontend-3"]


def test_seed_plan_table_looks_like_kubectl(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", str(EXAMPLES / "seed")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "NAMESPACE",
        "NAME",
        "TYPE",
        "CLUSTER-IP",
        "EXTERNAL-IP",
        "PORT(S)",
        "POOL",
        "HOMES",
        "REASON",
    ]
    row = lines[1].split()
    assert row[:3] == ["demo", "web", "LoadBalancer"]
    assert len(row[4].split(",")) == 3 and row[5] == "80/TCP" and row[6] == "ingress"


def test_plan_reports_why_a_service_got_too_few_ips(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for f in (EXAMPLES / "seed").glob("*.yaml"):
        text = f.read_text()
        # a pool of two addresses cannot give three
        text = text.replace("192.168.2.100-192.168.2.150", "192.168.2.100-192.168.2.101")
        (tmp_path / f.name).write_text(text)
    assert main(["plan", str(tmp_path), "-o", "json"]) == 0
    web = json.loads(capsys.readouterr().out)["services"][0]
    assert len(web["ips"]) == 2
    assert "2 of 3" in web["reason"]


def test_plan_on_invalid_manifests_exits_1_with_error_lines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["plan", str(EXAMPLES / "invalid")]) == 1
    err = capsys.readouterr().err
    assert 'MetalLoadBalancerClass/badrange: spec.addressPool[1]: "192.168.7.300"' in err


def test_plan_allocates_from_the_valid_objects_and_lists_the_errors(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A broken class and a broken pool next to valid ones (examples/isolation)."""
    assert main(["plan", str(EXAMPLES / "isolation"), "-o", "json"]) == 1
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    rows = {s["name"]: s for s in out["services"]}
    assert len(rows["web"]["ips"]) == 3 and rows["web"]["class"] == "ingress"
    assert rows["second"]["ips"] == ["192.168.3.10"] and rows["second"]["class"] == "second"
    assert rows["on-broken"]["ips"] == []
    assert "MetalLoadBalancerClass broken is invalid" in rows["on-broken"]["reason"]
    assert [e.split(":")[0] for e in out["errors"]] == [
        "IPAddressPool/typo",
        "L2Advertisement/on-typo",
        "MetalLoadBalancerClass/broken",
    ]
    assert out["errors"][0] in captured.err


def test_plan_on_missing_directory_exits_2(tmp_path: Path) -> None:
    assert main(["plan", str(tmp_path / "nope")]) == 2


def test_plan_of_the_deckhouse_v3_example(capsys: pytest.CaptureFixture[str]) -> None:
    """Auto-assign from one MetalLoadBalancerPool, the annotation picks the other; the
    Secret-held password appears nowhere in plan output."""
    assert main(["plan", str(EXAMPLES / "deckhouse-v3"), "-o", "json"]) == 0
    out = capsys.readouterr().out
    rows = {s["name"]: s for s in json.loads(out)["services"]}
    assert (rows["web"]["pool"], rows["web"]["ips"]) == ("public", ["203.0.113.1"])
    assert (rows["db"]["pool"], rows["db"]["ips"]) == ("reserved", ["203.0.113.64"])
    assert "example-md5-key" not in out
