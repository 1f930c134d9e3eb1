"""What a real kube-apiserver says of our CRDs and examples.

- every CRD under ``charts/.../crds`` is accepted by ``helm install`` and Established
  (structural schema, ``x-kubernetes-*`` markers, printer columns and the status
  subresource all pass the server's own validation);
- every manifest in ``examples/`` passes ``kubectl apply --dry-run=server``: the server
  runs the full validation and admission chain for each object without storing it. The
  Namespaces the examples declare are created first (a dry run does not store them, so the
  objects inside would be refused as "namespace not found"). Left out, and why:
  ``examples/helm`` holds Helm values files, not manifests; ``ModuleConfig`` is
  Deckhouse's own CRD (``deckhouse.io``), which a plain cluster does not have: the chart
  takes the same settings as values, tested in ``tests/chart``; ``examples/invalid`` is
  about what *we* refuse, checked by ``mlb validate``;
- ``kubectl get -o wide`` shows the printer columns each CRD declares, over the examples'
  objects applied for real.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.harness.cluster import CHART, ROOT, Cluster

EXAMPLES = ROOT / "examples"
SKIP_DIRS = {"helm", "invalid"}
FOREIGN_KINDS = {"ModuleConfig"}  # Deckhouse's own CRD


def crds() -> list[dict[str, Any]]:
    return [yaml.safe_load(p.read_text()) for p in sorted((CHART / "crds").glob("*.yaml"))]


def example_dirs() -> list[Path]:
    return sorted(d for d in EXAMPLES.iterdir() if d.is_dir() and d.name not in SKIP_DIRS)


def documents(directory: Path) -> Iterator[dict[str, Any]]:
    for path in sorted(directory.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") not in FOREIGN_KINDS:
                yield doc


def test_every_crd_is_established(installed: Cluster) -> None:
    names = [c["metadata"]["name"] for c in crds()]
    assert names, "no CRDs under charts/"
    for name in names:
        crd = installed.get("crd", name)
        conditions = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
        assert conditions.get("Established") == "True", (name, conditions)
        assert conditions.get("NamesAccepted") == "True", (name, conditions)


@pytest.mark.parametrize("directory", example_dirs(), ids=lambda d: d.name)
def test_examples_pass_server_side_dry_run(installed: Cluster, directory: Path) -> None:
    docs = list(documents(directory))
    assert docs, f"no manifests in {directory}"
    namespaces = [d for d in docs if d["kind"] == "Namespace"]
    if namespaces:
        installed.apply(namespaces)
    result = installed.kubectl(
        "apply", "--dry-run=server", "-f", "-", stdin=yaml.safe_dump_all(docs), check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("(server dry run)") == len(docs), result.stdout


def test_printer_columns_show(installed: Cluster) -> None:
    for directory in example_dirs():
        docs = list(documents(directory))
        if namespaces := [d for d in docs if d["kind"] == "Namespace"]:
            installed.apply(namespaces)
        installed.apply(docs)
    shown = 0
    for crd in crds():
        plural = crd["spec"]["names"]["plural"]
        group = crd["spec"]["group"]
        for version in crd["spec"]["versions"]:
            columns = [c["name"] for c in version.get("additionalPrinterColumns") or []]
            # a served, not stored version (BGPPeer v1beta1) is read through the conversion
            # webhook, which this module does not run: test_admission.py reads it
            if not columns or not version.get("served") or not version.get("storage"):
                continue
            what = f"{plural}.{version['name']}.{group}"
            table = installed.kubectl("get", what, "-A", "-o", "wide").stdout
            if not table.strip():
                continue  # no example object of this kind
            header = table.splitlines()[0]
            for column in columns:
                assert column.upper() in header, (what, column, header)
            shown += 1
    assert shown >= 3, "the examples should show several of our kinds"
