"""A broken pool shows on the objects, through what a user types, while the others allocate.

(The controller and a speaker each write their ConfigurationState.)

The chart installed for real, the controller run as the chart runs it (its args, its
ServiceAccount token: every write below is allowed by the chart's RBAC or fails the test).
This module's release has no admission webhook (``VALUES``: nothing serves it here), which
is how a broken object gets stored at all: with ``webhook.failurePolicy: Ignore`` and the
controller down, or objects stored before the webhook existed.

Matrix: a valid pool and a Service: the Service gets an IP of it, ``ConfigurationState``
``controller`` says ``Valid``, ``kubectl get ipaddresspools`` shows 1 assigned and 15
available. Then a broken pool (``198.51.100.300/29``): ``ConfigurationState`` says
``Invalid`` with ``mlb validate``'s line, ``kubectl describe ipaddresspool broken`` shows the
Warning Event with that line, and a second Service still gets an IP of the valid pool, whose
counters go to 2 assigned and 14 available.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.cluster.conftest import Runner
from tests.harness.audit import user_of
from tests.harness.cluster import CONTROLLER_SA, NAMESPACE, Cluster, ip_pool
from tests.harness.polling import poll

BROKEN_LINE = 'IPAddressPool/broken: spec.addresses[0]: "198.51.100.300/29" is not a valid CIDR'


def _service(name: str, ns: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
    }


def _ingress(cluster: Cluster, name: str, ns: str) -> list[str]:
    lb = cluster.get("service", name, ns).get("status", {}).get("loadBalancer", {})
    return [i["ip"] for i in lb.get("ingress") or []]


def _state(cluster: Cluster, name: str = "controller") -> dict[str, Any]:
    r = cluster.kubectl(
        "get", "configurationstate", name, "-n", NAMESPACE, "-o", "json", check=False
    )
    if r.returncode != 0:
        return {}
    obj = json.loads(r.stdout)
    status: dict[str, Any] = obj.get("status") or {}
    return {**status, "labels": obj["metadata"].get("labels", {})} if status else {}


def _row(cluster: Cluster, pool: str) -> dict[str, str]:
    """``kubectl get ipaddresspools``'s row of ``pool``: column title -> cell (the titles
    hold single spaces, columns are two or more apart, so cells are cut at the titles)."""
    lines = cluster.kubectl("get", "ipaddresspools", "-n", NAMESPACE).stdout.splitlines()
    titles = [(m.start(), m.group()) for m in re.finditer(r"\S+(?: \S+)*", lines[0])]
    for line in lines[1:]:
        cells = {
            title: line[start : titles[i + 1][0] if i + 1 < len(titles) else None].strip()
            for i, (start, title) in enumerate(titles)
        }
        if cells["NAME"] == pool:
            return cells
    return {}


def _counts(cluster: Cluster, pool: str) -> tuple[str, str]:
    row = _row(cluster, pool)
    return row.get("ASSIGNED IPV4", ""), row.get("AVAILABLE IPV4", "")


@pytest.fixture
def cleanup(installed: Cluster) -> Iterator[None]:
    yield
    installed.kubectl("delete", "ipaddresspools", "--all", "-n", NAMESPACE, "--wait=false")
    installed.kubectl("delete", "configurationstates", "--all", "-n", NAMESPACE, "--wait=false")


@pytest.mark.usefixtures("cleanup")
def test_a_broken_pool_shows_on_the_objects_and_the_others_allocate(
    installed: Cluster, run: Runner, ns: str
) -> None:
    installed.apply([ip_pool("good", "192.0.2.0/28"), _service("web1", ns)])
    run.controller()
    run.speaker("node-1")
    (ip1,) = poll("web1's IP", lambda: _ingress(installed, "web1", ns), 30)
    assert ip1.startswith("192.0.2.")
    poll("ConfigurationState Valid", lambda: _state(installed).get("result") == "Valid", 20)
    speaker = poll("the speaker's", lambda: _state(installed, "speaker-node-1"), 20)
    assert speaker["result"] == "Valid"
    assert speaker["labels"] == {
        "metallb.io/component-type": "speaker",
        "metallb.io/node-name": "node-1",
    }
    poll("good: 1 assigned, 15 available", lambda: _counts(installed, "good") == ("1", "15"), 20)

    installed.apply([ip_pool("broken", "198.51.100.300/29")])

    def invalid() -> dict[str, Any]:
        status = _state(installed)
        return status if status.get("result") == "Invalid" else {}

    state = poll("ConfigurationState Invalid", invalid, 20)
    assert state["errorSummary"] == BROKEN_LINE
    assert state["conditions"][0]["status"] == "False"
    assert state["conditions"][0]["message"] == BROKEN_LINE
    poll(
        "the speaker's Invalid",
        lambda: _state(installed, "speaker-node-1").get("errorSummary") == BROKEN_LINE,
        20,
    )

    def described() -> str:
        out = installed.kubectl("describe", "ipaddresspool", "broken", "-n", NAMESPACE).stdout
        return out if "InvalidConfiguration" in out else ""

    out = poll("the Warning Event in kubectl describe", described, 20)
    assert "Warning" in out and BROKEN_LINE in out, out

    # the other pool keeps allocating
    installed.apply([_service("web2", ns)])
    (ip2,) = poll("web2's IP", lambda: _ingress(installed, "web2", ns), 30)
    assert ip2.startswith("192.0.2.") and ip2 != ip1
    poll("good: 2 assigned, 14 available", lambda: _counts(installed, "good") == ("2", "14"), 20)
    assert "assignedIPv4" not in (
        installed.get("ipaddresspool", "broken", NAMESPACE).get("status") or {}
    )
    # nothing the controller asked for was refused (the chart's RBAC covers every write)
    refused = [
        r for r in installed.audit.requests(user_of(CONTROLLER_SA, NAMESPACE)) if r.code == 403
    ]
    assert refused == []
