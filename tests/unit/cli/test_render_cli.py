"""`mlb render frr` on the shipped BGP example: the node's peers and service prefixes appear,
passwords only when not redacted, and invalid manifests exit 1."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.cli import main

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def test_render_frr_for_a_node(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render", "frr", "--node", "node-1", str(EXAMPLES / "bgp")]) == 0
    out = capsys.readouterr().out
    assert "router bgp 64513" in out
    assert "neighbor 198.51.100.1 description MLB BGPPeer/router" in out
    assert "network 203.0.113.1/32 route-map MLB-ADV-public" in out
    assert "neighbor 198.51.100.1 password example-md5-key" in out


def test_render_frr_redacts_on_request(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render", "frr", "--redact", "--node", "node-1", str(EXAMPLES / "bgp")]) == 0
    out = capsys.readouterr().out
    assert "example-md5-key" not in out and "<redacted>" in out


def test_render_frr_refuses_invalid_manifests(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render", "frr", "--node", "node-1", str(EXAMPLES / "invalid")]) == 1
    out = capsys.readouterr().out
    assert "BGPPeer/bad-password: spec.password" in out


def test_render_of_the_deckhouse_v3_example_redacts_on_request(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The MetalLoadBalancerBGPPeer's password comes from its labelled Secret: printed so the
    file loads, hidden with --redact; node-1's session to router-a starts from its
    sourceAddresses address, node-2's does not."""
    v3 = str(EXAMPLES / "deckhouse-v3")
    assert main(["render", "frr", "--node", "node-1", v3]) == 0
    full = capsys.readouterr().out
    assert " neighbor 198.51.100.1 password example-md5-key" in full
    assert " neighbor 198.51.100.1 update-source 198.51.100.111" in full
    assert main(["render", "frr", "--node", "node-1", "--redact", v3]) == 0
    redacted = capsys.readouterr().out
    assert "example-md5-key" not in redacted and "password <redacted>" in redacted
    assert main(["render", "frr", "--node", "node-2", v3]) == 0
    assert "update-source" not in capsys.readouterr().out
