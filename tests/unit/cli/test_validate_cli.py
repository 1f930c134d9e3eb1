"""``mlb validate`` and the file adapter it uses.

Matrix: the file adapter (multi-document files, sources ``file#n`` counting empty
documents, *.yml, hidden and non-YAML files skipped, syntax errors with line and column
and without the offending text, non-mapping documents, unreadable files, empty directory);
the command (exit 0 with warnings on stderr, exit 1 with sorted error lines on stdout,
exit 2 for a non-directory); every shipped example (valid ones pass, ``examples/invalid``
reports exactly its documented problems).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.adapters.files.manifests import load_directory
from orchestrator.cli import main

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"

POOL = """\
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: %s}
spec: {addresses: [%s]}
"""


def write(directory: Path, name: str, text: str) -> None:
    (directory / name).write_text(text, encoding="utf-8")


def test_loader_sources_and_skips(tmp_path: Path) -> None:
    write(
        tmp_path,
        "b.yaml",
        "---\n" + POOL % ("b1", "192.0.2.0/28") + "---\n---\n" + POOL % ("b2", "192.0.2.16/28"),
    )
    write(tmp_path, "a.yml", POOL % ("a", "192.0.2.32/28"))
    write(tmp_path, ".hidden.yaml", "{{{")
    write(tmp_path, "notes.txt", "{{{")
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub", "c.yaml", POOL % ("c", "192.0.2.48/28"))
    loaded = load_directory(tmp_path)
    assert loaded.problems == []
    assert [s for s, _ in loaded.documents] == ["a.yml#1", "b.yaml#1", "b.yaml#3"]


def test_loader_reports_syntax_errors_without_the_text(tmp_path: Path) -> None:
    write(tmp_path, "ok.yaml", POOL % ("ok", "192.0.2.0/28"))
    write(
        tmp_path,
        "bad.yaml",
        POOL % ("first", "192.0.2.16/28") + "---\nspec:\n  password: [hunter2-secret\n",
    )
    write(tmp_path, "list.yaml", "- a\n- b\n")
    loaded = load_directory(tmp_path)
    assert [s for s, _ in loaded.documents] == ["bad.yaml#1", "ok.yaml#1"]
    messages = [str(p) for p in loaded.problems]
    assert len(messages) == 2
    assert messages[0].startswith("bad.yaml: line ")
    assert "YAML syntax error" in messages[0] and "hunter2" not in messages[0]
    assert messages[1] == "list.yaml#1: document must be an object, not a list"


def test_loader_unreadable_and_empty(tmp_path: Path) -> None:
    assert [str(p) for p in load_directory(tmp_path).problems] == [
        f"warning: {tmp_path}: no *.yaml or *.yml files"
    ]
    (tmp_path / "binary.yaml").write_bytes(b"\xff\xfe\x00")
    (problem,) = load_directory(tmp_path).problems
    assert str(problem) == "binary.yaml: cannot read the file: UnicodeDecodeError"


SERVING = (
    " keeps serving (the senior: valid before, else older, else first by name); "
    "this one is left out"
)


def test_validate_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    typo = (POOL % ("typo", "192.0.2.32/28")).replace("{addresses", "{adresses: [], addresses")
    write(tmp_path, "ok.yaml", POOL % ("ok", "192.0.2.0/28") + "---\n" + typo)
    assert main(["validate", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "warning: IPAddressPool/typo: spec.adresses: unknown field, ignored\n"

    write(
        tmp_path, "bad.yaml", POOL % ("z", "192.0.2.300") + "---\n" + POOL % ("a", "192.0.2.8/29")
    )
    assert main(["validate", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    # overlap: only the junior (no timestamps in files: by name) is left out, naming both
    assert out.splitlines() == [
        'IPAddressPool/ok: spec.addresses[0]: "192.0.2.0/28" overlaps "192.0.2.8/29" of '
        "IPAddressPool/a; IPAddressPool/a (bad.yaml#2)" + SERVING,
        'IPAddressPool/z: spec.addresses[0]: "192.0.2.300" is not an IP, CIDR or range',
    ]
    assert err.splitlines()[-1] == "2 error(s), 1 warning(s)"

    assert main(["validate", str(tmp_path / "ok.yaml")]) == 2
    assert main(["validate", str(tmp_path / "missing")]) == 2
    assert "not a directory" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["seed", "bgp", "metallb-crds", "moduleconfig", "deckhouse-v3"])
def test_valid_examples(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(EXAMPLES / name)]) == 0
    out, err = capsys.readouterr()
    assert out == "" and err == ""


def test_validate_names_the_broken_class_and_pool_with_their_paths(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["validate", str(EXAMPLES / "isolation")]) == 1
    assert capsys.readouterr().out.splitlines() == [
        'IPAddressPool/typo: spec.addresses[0]: "198.51.100.300/29" is not a valid CIDR',
        "L2Advertisement/on-typo: spec.ipAddressPools: names IPAddressPool/typo, which is "
        "invalid (left out)",
        'MetalLoadBalancerClass/broken: spec.addressPool[0]: "192.168.7.300" is not an IP, '
        "CIDR or range",
    ]


def test_invalid_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(EXAMPLES / "invalid")]) == 1
    out, _ = capsys.readouterr()
    assert out.splitlines() == [
        'BGPAdvertisement/tagged: spec.communities[0]: unknown community alias "no-such-alias"',
        "BGPPeer/bad-password: spec.password: contains a forbidden character (value hidden)",
        'BGPPeer/no-bfd: spec.bfdProfile: names BFDProfile "missing-profile", which does not exist',
        "BGPPeer/short-hold: spec.holdTime: hold time 2s must be 0 or at least 3s",
        'IPAddressPool/right: spec.addresses[0]: "203.0.113.100-203.0.113.200" overlaps '
        '"203.0.113.0/25" of IPAddressPool/left; IPAddressPool/left (pools.yaml#1)' + SERVING,
        'MetalLoadBalancerClass/badrange: spec.addressPool[1]: "192.168.7.300" is not an IP, '
        "CIDR or range",
    ]
    assert "top-secret" not in out


def test_seed_example_content() -> None:
    from orchestrator.core.parse import parse_snapshot

    s = parse_snapshot(load_directory(EXAMPLES / "seed").documents)
    cls = s.config.classes["ingress"]
    assert cls.is_default and cls.node_selector == {"node-role.kubernetes.io/frontend": ""}
    frontends = [n for n in s.nodes.values() if "node-role.kubernetes.io/frontend" in n.labels]
    assert len(frontends) == 3 and len(s.nodes) == 4
    (web,) = s.services
    assert web.key == "demo/web" and web.request.ips_count == 3
    assert {e.node_name for e in s.endpoints_of(web) if e.can_serve} == {
        "frontend-1",
        "frontend-2",
        "frontend-3",
    }


def test_names_with_control_characters_are_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A name with a newline (or a terminal escape) printed raw made one error span
    several lines, and could forge one."""
    bad = POOL % ('"a\\nIPAddressPool/forged: fine\\u001b[2J"', "192.0.2.0/28")
    write(tmp_path, "p.yaml", bad)
    assert main(["validate", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert len(out.splitlines()) == 1
    assert "\x1b" not in out and out.startswith("IPAddressPool/a\\nIPAddressPool/forged")
    assert "\\x1b[2J" in out
