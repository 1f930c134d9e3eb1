"""The lab on a real control plane: ``mlb lab up --kube`` (root, FRR, ``make kube-bins``).

One lab for the module (``mlbe2k-``): etcd and kube-apiserver in the switch namespace, the
chart's CRDs and RBAC applied, the controller and speakers on their ServiceAccounts'
tokens over the lab LAN, and ``DIR/kubeconfig`` reaching the API from the root namespace
through the lab's forwarder. Matrix:

- what ``kubectl`` shows is what the wire does: the Service's EXTERNAL-IPs are the IPs the
  nodes answer ARP for, each from its home; ServiceL2Status names the announcing nodes,
  ServiceBGPStatus every node for the BGP Service, a Lease per speaker;
- an edit through the API (``kubectl annotate`` the IP count 3 -> 2) withdraws exactly the
  third IP, the other two stay on their nodes; back to 3 restores three homes;
- a killed node's IP moves to another node within the lease time plus margin, the others
  stay; the restarted node gets it back;
- ``mlb lab status`` prints the kubeconfig and what to try;
- ``mlb lab down`` leaves nothing (the conftest checks every recorded process, the
  forwarder included, and every namespace).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from orchestrator.core.model.cluster import Annotation
from orchestrator.lab import client, failover, kube, nodes, observe
from orchestrator.lab.config import LabConfig
from orchestrator.lab.controlplane import ControlPlaneError, find_bins
from tests.e2e.conftest import cli, converged, lab_for
from tests.harness.polling import poll
from tests.harness.prereq import require, require_frr

pytestmark = [pytest.mark.root, pytest.mark.e2e]

WEB = "lab/web"


@pytest.fixture(scope="module")
def lab(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LabConfig]:
    require_frr()
    try:
        find_bins()
    except ControlPlaneError as e:
        require(False, str(e))
    yield lab_for(request, tmp_path_factory, prefix="mlbe2k-", backend="frr", extra=("--kube",))


@pytest.fixture
def arp(lab: LabConfig) -> Iterator[client.Arp]:
    converged(lab)
    with client.Arp(lab) as a:
        yield a


def kubectl_json(lab: LabConfig, *args: str) -> Any:
    return json.loads(kube.kubectl(lab, *args, "-o", "json").stdout)


def web(lab: LabConfig) -> observe.Service:
    svc = observe.service(lab, WEB)
    assert svc is not None
    return svc


def test_kubectl_shows_what_the_wire_does(lab: LabConfig, arp: client.Arp) -> None:
    svc = kubectl_json(lab, "get", "svc", "-n", "lab", "web")
    ips = [i["ip"] for i in svc["status"]["loadBalancer"]["ingress"]]
    homes = json.loads(svc["metadata"]["annotations"][Annotation.HOMES.value])
    assert len(ips) == 3 and sorted(homes.values()) == ["n1", "n2", "n3"]
    for ip in ips:
        assert arp.nodes(ip) == [homes[ip]], ip
    l2 = kubectl_json(lab, "get", "servicel2statuses", "-n", kube.NAMESPACE)["items"]
    assert sorted(o["status"]["node"] for o in l2 if o["status"]["serviceName"] == "web") == [
        "n1",
        "n2",
        "n3",
    ]
    bgp = kubectl_json(lab, "get", "servicebgpstatuses", "-n", kube.NAMESPACE)["items"]
    assert sorted(o["status"]["node"] for o in bgp if o["status"]["serviceName"] == "api") == [
        "n1",
        "n2",
        "n3",
    ]
    assert observe.leases(lab) == ["n1", "n2", "n3"]


def test_edit_through_the_api(lab: LabConfig, arp: client.Arp) -> None:
    before = web(lab)
    keep, dropped = before.ips[:2], before.ips[2]
    owners = {ip: arp.nodes(ip) for ip in keep}
    count = Annotation.DH_IPS_COUNT.value
    t0 = time.monotonic()
    kube.kubectl(lab, "annotate", "svc", "-n", "lab", "web", f"{count}=2", "--overwrite")
    poll("the third IP withdrawn", lambda: not arp.who_has(dropped, wait=0.03), 3, since=t0)
    poll("two IPs recorded", lambda: web(lab).ips == keep, 3, since=t0)
    assert {ip: arp.nodes(ip) for ip in keep} == owners
    kube.kubectl(lab, "annotate", "svc", "-n", "lab", "web", f"{count}=3", "--overwrite")
    converged(lab)
    assert web(lab).ips[:2] == keep


def test_node_failover(lab: LabConfig, arp: client.Arp) -> None:
    svc = web(lab)
    victim = svc.homes[svc.ips[0]]
    result = failover.kill_and_measure(lab, ips=list(svc.ips), victim=victim)
    assert result.problems() == []
    assert result.moved == [svc.ips[0]]
    assert result.failover_ms is not None
    assert result.failover_ms < (lab.lease_duration + 2.0) * 1000
    nodes.start_node(lab, victim)
    converged(lab)
    assert arp.nodes(svc.ips[0]) == [victim]


def test_status_names_the_kubeconfig(lab: LabConfig) -> None:
    result = cli("lab", "status", "--dir", str(lab.directory))
    assert result.returncode == 0, result.stderr
    assert f"kubeconfig {lab.directory / 'kubeconfig'}" in result.stdout
    assert "get svc -A -o wide" in result.stdout
