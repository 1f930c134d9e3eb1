"""The controller and a speaker on the Kubernetes API (the runtime's ports over the kube
adapter), against the API emulator with the unmodified client. Matrix:

- the controller writes 3 IPs, the pool, home nodes and the Deckhouse conditions to the
  seed Service through the status subresource and a metadata patch;
- a new controller process (fresh informers and allocator) restores from that status and
  writes nothing: the Service's resourceVersion does not change;
- a speaker announces exactly its home IP, from the status the controller wrote and the
  Leases the speakers renewed.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import pytest

from orchestrator.adapters.files.manifests import load_directory
from orchestrator.adapters.kube.client import KubeClient
from orchestrator.adapters.kube.informer import Informers
from orchestrator.adapters.kube.leases import KubeLeases
from orchestrator.adapters.kube.resources import SERVICE, SNAPSHOT_KINDS
from orchestrator.adapters.kube.source import KubeSource
from orchestrator.adapters.kube.status import KubeStatusWriter
from orchestrator.adapters.kube.store import KubeStore
from orchestrator.core.model.cluster import IPAddress
from orchestrator.runtime.controller import Controller
from orchestrator.runtime.speaker import Speaker
from tests.contract.conftest import stop_informers, wait_for
from tests.harness.apiserver import ApiServer

SEED = Path(__file__).resolve().parents[2] / "examples" / "seed"
PLURALS = {r.kind: r.plural for r in SNAPSHOT_KINDS}
NODES = ("frontend-1", "frontend-2", "frontend-3")


class Recorder:
    def __init__(self) -> None:
        self.announced: dict[IPAddress, object] = {}

    def set_announced(self, announced: Mapping[IPAddress, Iterable[str] | None]) -> None:
        self.announced = dict(announced)


@pytest.fixture
def cluster(api: ApiServer, kube: KubeClient) -> Iterator[list[Informers]]:
    for _, doc in load_directory(SEED).documents:
        api.apply(PLURALS[doc["kind"]], copy.deepcopy(dict(doc)))
    started: list[Informers] = []
    yield started
    stop_informers(api, started)


def source(kube: KubeClient, started: list[Informers]) -> KubeSource:
    infs = Informers(kube, SNAPSHOT_KINDS, timeout_seconds=2)
    started.append(infs)
    infs.start()
    assert infs.wait_synced(5)
    src = KubeSource(infs)
    wait_for(lambda: src.load().snapshot is not None, what="first snapshot")
    return src


def test_controller_and_speaker_over_the_api(
    api: ApiServer, kube: KubeClient, cluster: list[Informers]
) -> None:
    leases = KubeLeases(kube, namespace="metallb-system")
    for n in NODES:
        leases.renew(n, duration=2.0)
    store = KubeStore(KubeStatusWriter(kube), leases)

    assert Controller(source(kube, cluster), store).reconcile(now=0.0) == 1
    svc = kube.get(SERVICE, "web", "demo")
    ips = [i["ip"] for i in svc["status"]["loadBalancer"]["ingress"]]
    assert len(ips) == 3
    annotations = svc["metadata"]["annotations"]
    assert annotations["metallb.io/ip-allocated-from-pool"] == "ingress"
    homes = json.loads(annotations["metallb-orchestrator.io/l2-homes"])
    assert sorted(homes.values()) == sorted(NODES)
    conditions = {c["type"]: c for c in svc["status"]["conditions"]}
    assert conditions["AllPublicIPsAssigned"]["message"] == "3 of 3 public IPs were assigned"

    # a restarted controller: new informers, new allocator; it must write nothing
    version = svc["metadata"]["resourceVersion"]
    src = source(kube, cluster)
    wait_for(
        lambda: any(
            d["metadata"].get("resourceVersion") == version
            for _, d in src.documents()
            if d["kind"] == "Service"
        ),
        what="the written status in the new cache",
    )
    assert Controller(src, store).reconcile(now=0.0) == 0
    assert kube.get(SERVICE, "web", "demo")["metadata"]["resourceVersion"] == version

    port = Recorder()
    Speaker("frontend-1", src, store, l2=port).reconcile(now=0.5)
    assert [str(ip) for ip in port.announced] == [
        ip for ip, node in homes.items() if node == "frontend-1"
    ]
