"""The admission and conversion webhooks on a real kube-apiserver: the chart installed for
real with ``webhook.enabled``, the controller run as the chart runs it (its args, the
chart's ServiceAccount token), serving HTTPS on loopback.

The API server must reach the webhook, and there is no kubelet or kube-proxy here to run a
pod behind the chart's Service: the release is installed with ``webhook.url`` pointing at
``https://127.0.0.1:<port>`` (the documented out-of-cluster setting), and the controller
listens there (``--webhook-address``, the one flag swapped beside the harness's own). The
controller generates the certificate (for ``127.0.0.1``, the URL's host), stores it in the
Secret and writes the CA into the configuration and the BGPPeer CRD, as in a cluster.

Matrix: ``kubectl apply -f examples/invalid`` (file by file, in ``kubectl``'s order) refuses
every object ``mlb validate`` names except the first of the overlapping pair, each with
``mlb validate``'s line; a valid pool is admitted; an update that makes a stored pool
overlap another is refused; a ``v1beta1`` BGPPeer applies and reads back as ``v1beta2``
(and a ``v1beta2`` one as ``v1beta1``), through the controller's conversion webhook; with
the controller stopped, the failure policy (``Fail``) refuses a create.
"""

from __future__ import annotations

import json
import re
import ssl
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator.cli.validate import validate
from tests.cluster.conftest import VALUES, Runner
from tests.harness.cluster import (
    CHART,
    FULLNAME,
    NAMESPACE,
    RELEASE,
    Cluster,
    Process,
    free_port,
    ip_pool,
)
from tests.harness.polling import poll

INVALID = Path(__file__).resolve().parents[2] / "examples" / "invalid"
CRD = "bgppeers.metallb.io"
KINDS = "ipaddresspools,l2advertisements,bgpadvertisements,bgppeers,bfdprofiles,communities"


@pytest.fixture(scope="module")
def port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def installed(cluster: Cluster, port: int) -> Cluster:
    """The chart with its webhook on, the API server told to call loopback."""
    cluster.helm(
        "install",
        RELEASE,
        str(CHART),
        "-n",
        NAMESPACE,
        "--create-namespace",
        *VALUES,
        "--set",
        "webhook.enabled=true",
        "--set",
        f"webhook.url=https://127.0.0.1:{port}",
    )
    return cluster


def _ca(cluster: Cluster) -> str | None:
    vwc = cluster.get("validatingwebhookconfiguration", f"{FULLNAME}-webhook")
    bundles = {h["clientConfig"].get("caBundle") for h in vwc["webhooks"]}
    return bundles.pop() if len(bundles) == 1 else None


def _healthy(port: int, ca_b64: str) -> bool:
    import base64

    ctx = ssl.create_default_context(cadata=base64.b64decode(ca_b64).decode())
    try:
        with urllib.request.urlopen(f"https://127.0.0.1:{port}/healthz", context=ctx, timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def controller(
    installed: Cluster, port: int, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Process]:
    runner = Runner(installed, tmp_path_factory.mktemp("admission"))
    proc = runner.controller("controller-0", "--webhook-address", f"127.0.0.1:{port}")
    try:
        ca = poll("the controller to write the caBundle", lambda: _ca(installed), timeout=60)
        poll("the webhook to answer", lambda: _healthy(port, ca), timeout=30)
        crd = installed.get("crd", CRD)
        client = crd["spec"]["conversion"]["webhook"]["clientConfig"]
        assert client["url"] == f"https://127.0.0.1:{port}/convert", client
        assert client["caBundle"] == ca
        yield proc
    except BaseException:
        print(runner.logs())
        raise
    finally:
        runner.stop()


@pytest.fixture
def clean(installed: Cluster) -> Iterator[None]:
    yield
    installed.kubectl("delete", KINDS, "--all", "-n", NAMESPACE, "--wait=false")
    installed.kubectl("delete", "metalloadbalancerclasses", "--all", "--wait=false")


def _sourceless(text: str) -> str:
    return re.sub(r" \([^()]*\) keeps serving", " keeps serving", text)


def _validate_lines() -> dict[str, list[str]]:
    """``mlb validate examples/invalid``'s error lines, by object name."""
    out: dict[str, list[str]] = {}
    for p in validate(INVALID):
        out.setdefault(p.obj.rsplit("/", 1)[-1], []).append(str(p))
    return out


@pytest.mark.usefixtures("controller", "clean")
def test_apply_of_examples_invalid_is_refused_with_the_validate_lines(installed: Cluster) -> None:
    lines = _validate_lines()
    outputs = ""
    for f in sorted(INVALID.glob("*.yaml")):
        r = installed.kubectl("apply", "-f", str(f), check=False)
        outputs += r.stdout + r.stderr
    stored = {o["metadata"]["name"] for o in installed.items(KINDS, NAMESPACE)}
    stored |= {o["metadata"]["name"] for o in installed.items("metalloadbalancerclasses")}
    # the overlapping pair: the first applied is valid alone and admitted; the second is not
    assert stored == {"left"}, outputs
    for name, expected in lines.items():
        if name == "left":
            continue
        # the senior's origin is a file and line there, the object's kind and name here
        assert any(_sourceless(line) in _sourceless(outputs) for line in expected), (
            f"{name}: {expected}\n{outputs}"
        )
    assert "denied the request" in outputs
    assert "top-secret" not in outputs  # the password is never echoed back


@pytest.mark.usefixtures("controller", "clean")
def test_valid_objects_are_admitted_and_an_overlapping_update_is_refused(
    installed: Cluster,
) -> None:
    pools = [ip_pool("a", "192.0.2.0/28"), ip_pool("b", "192.0.2.16/28")]
    installed.apply(pools)
    assert {p["metadata"]["name"] for p in installed.items("ipaddresspools", NAMESPACE)} == {
        "a",
        "b",
    }
    r = installed.kubectl(
        "apply", "-f", "-", stdin=yaml.safe_dump(ip_pool("b", "192.0.2.8/29")), check=False
    )
    assert r.returncode != 0
    assert (
        'IPAddressPool/b: spec.addresses[0]: "192.0.2.8/29" overlaps "192.0.2.0/28" of '
        "IPAddressPool/a" in r.stderr
    ), r.stderr
    stored = installed.get("ipaddresspool", "b", NAMESPACE)
    assert stored["spec"]["addresses"] == ["192.0.2.16/28"]


def _peer(name: str, version: str) -> dict[str, Any]:
    return {
        "apiVersion": f"metallb.io/{version}",
        "kind": "BGPPeer",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "myASN": 64512,
            "peerASN": 64513,
            "peerAddress": "198.51.100.1" if version == "v1beta1" else "198.51.100.2",
            "holdTime": "9s",
            "nodeSelectors": [
                {"matchExpressions": [{"key": "rack", "operator": "In", "values": ["r1"]}]}
            ],
        },
    }


def _read(cluster: Cluster, name: str, version: str) -> dict[str, Any]:
    out = cluster.kubectl(
        "get", f"bgppeers.{version}.metallb.io", name, "-n", NAMESPACE, "-o", "json"
    )
    obj: dict[str, Any] = json.loads(out.stdout)
    return obj


@pytest.mark.usefixtures("controller", "clean")
def test_bgppeer_v1beta1_applies_and_reads_back_as_v1beta2_and_back(installed: Cluster) -> None:
    old = _peer("old-style", "v1beta1")
    r = installed.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(old))
    assert "deprecated" in r.stderr  # the CRD's deprecationWarning, printed by kubectl
    as_v2 = _read(installed, "old-style", "v1beta2")
    assert as_v2["apiVersion"] == "metallb.io/v1beta2"
    assert {k: as_v2["spec"][k] for k in old["spec"]} == old["spec"]
    installed.apply([_peer("new-style", "v1beta2")])
    as_v1 = _read(installed, "new-style", "v1beta1")
    assert as_v1["apiVersion"] == "metallb.io/v1beta1"
    assert as_v1["spec"]["nodeSelectors"] == _peer("x", "v1beta2")["spec"]["nodeSelectors"]
    # a v1beta1 object is checked by the same rules: a 2s hold time is refused
    bad = _peer("bad-hold", "v1beta1")
    bad["spec"]["holdTime"] = "2s"
    r = installed.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(bad), check=False)
    assert "BGPPeer/bad-hold: spec.holdTime: hold time 2s must be 0 or at least 3s" in r.stderr


@pytest.mark.usefixtures("clean")
def test_with_the_controller_stopped_the_failure_policy_refuses(
    installed: Cluster, controller: Process
) -> None:
    """Last in the module: it stops the module's controller."""
    controller.stop()
    r = installed.kubectl(
        "apply", "-f", "-", stdin=yaml.safe_dump(ip_pool("c", "203.0.113.0/28")), check=False
    )
    assert r.returncode != 0 and "failed calling webhook" in r.stderr, r.stderr
    assert installed.items("ipaddresspools", NAMESPACE) == []
