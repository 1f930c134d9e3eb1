"""The controller and speakers in a cluster, beyond the first slice: Events, the per-node
status objects, status cleared when a Service stops being a LoadBalancer, failover when a
speaker's Lease expires, and two running controller replicas. The runtime's loops run in
the test's process on the kube adapter, against a real kube-apiserver, each component with
a token of the chart's own ServiceAccount. Matrix:

- the controller posts ``IPAllocated`` on the Service (involvedObject with its uid), a
  ``deprecatedAnnotation`` warning for ``metallb.universe.tf/*``; the same event again
  bumps ``count`` on the existing Event instead of adding one;
- a Service turned into ClusterIP loses our annotations and our conditions (other writers'
  conditions stay). Its ingress the API server itself drops on that type change, so there
  is nothing left to release and no ``ClearAssignment`` Event (as in MetalLB; the
  emulator had kept the ingress and so expected one);
- ServiceBGPStatus follows the reported peers in place and goes with the Service;
- each speaker writes one ServiceL2Status for the Service it announces (status through the
  subresource: the API drops it on create), posts ``nodeAssigned``, removes objects a
  previous run left behind, and deletes its own when it stops;
- the Lease of a home node stops being renewed: once it is older than its duration, exactly
  one other speaker announces that IP, and the other two IPs stay where they were;
- two controller loops running against one API with leader election: their leading
  periods never overlap, each writes only while it leads, and when the leader dies without
  releasing, the other takes over and allocates a Service created meanwhile;
- every request the controller and the speakers made (each with its own token) is allowed
  by the ClusterRole/Role the Helm chart installed: the server enforces them, and its audit
  log shows no 403 for either.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import pytest

from orchestrator.adapters.files.manifests import load_directory
from orchestrator.adapters.kube.announced import KubeAnnounced
from orchestrator.adapters.kube.client import KubeClient
from orchestrator.adapters.kube.events import KubeEvents
from orchestrator.adapters.kube.informer import Informers
from orchestrator.adapters.kube.leader import KubeLeader
from orchestrator.adapters.kube.leases import KubeLeases
from orchestrator.adapters.kube.resources import (
    EVENT,
    LEASE,
    SERVICE,
    SERVICE_BGP_STATUS,
    SERVICE_L2_STATUS,
    SNAPSHOT_KINDS,
)
from orchestrator.adapters.kube.source import KubeSource
from orchestrator.adapters.kube.status import KubeStatusWriter
from orchestrator.adapters.kube.store import InformerWaker, KubeStore
from orchestrator.cli._where import cluster_informers
from orchestrator.core.model.cluster import IPAddress
from orchestrator.core.status.records import StatusRecord
from orchestrator.runtime.controller import Controller
from orchestrator.runtime.speaker import Speaker
from tests.cluster.conftest import Started
from tests.harness.cluster import NAMESPACE as NS
from tests.harness.cluster import ROOT
from tests.harness.polling import poll
from tests.harness.realapi import RealApi

SEED = ROOT / "examples" / "seed"
PLURALS = {r.kind: r.plural for r in SNAPSHOT_KINDS}
NODES = ("frontend-1", "frontend-2", "frontend-3")
#: another writer's condition on the Service (a full metav1.Condition, as they write it)
FOREIGN = {
    "type": "Someone/Else",
    "status": "True",
    "reason": "TheirReason",
    "message": "",
    "lastTransitionTime": "2026-01-01T00:00:00Z",
}


class Port:
    """The L2 port as the speaker sees it (what the Announcer would answer for)."""

    links = ("eth0",)

    def __init__(self) -> None:
        self.announced: dict[IPAddress, object] = {}

    def set_announced(self, announced: Mapping[IPAddress, Iterable[str] | None]) -> None:
        self.announced = dict(announced)


class Harness:
    """Seeds the server; hands out each component its own client (a token of its chart
    ServiceAccount) and informers (one set per simulated process); stops them all at the
    end. ``kube`` is the admin: the user, or another writer."""

    def __init__(self, api: RealApi, started: Started) -> None:
        self.api, self.kube, self.started = api, api.admin, started
        self.threads: list[tuple[threading.Thread, threading.Event]] = []

    def client(self, component: str) -> KubeClient:
        return self.api.client(component)

    def seed(self) -> None:
        for _, doc in load_directory(SEED).documents:
            self.api.apply(PLURALS[doc["kind"]], copy.deepcopy(dict(doc)))

    def informers(self, component: str) -> Informers:
        infs = cluster_informers(self.client(component), NS)
        for inf in infs.by_kind.values():
            inf.timeout_seconds = 2
        self.started(infs)
        assert infs.wait_synced(10)
        return infs

    def source(self, infs: Informers) -> KubeSource:
        src = KubeSource(infs)
        poll(
            "a snapshot with the Service",
            lambda: (s := src.load().snapshot) is not None and bool(s.services),
            10,
        )
        return src

    def store(self, infs: Informers, component: str) -> KubeStore:
        client = self.client(component)
        leases = KubeLeases(client, namespace=NS, cache=infs.by_kind["Lease"])
        return KubeStore(KubeStatusWriter(client), leases)

    def stop(self) -> None:
        for _, stop in self.threads:
            stop.set()
        for thread, _ in self.threads:
            thread.join(10)
        self.started.stop()

    def assert_rbac(self) -> None:
        """No request a component made was refused (403) by the chart's roles for it."""
        self.api.assert_rbac()


@pytest.fixture
def h(api: RealApi, started: Started) -> Iterator[Harness]:
    harness = Harness(api, started)
    harness.seed()
    yield harness
    harness.stop()


def events_for(kube: KubeClient, service: str) -> list[dict[str, Any]]:
    namespace, name = service.split("/")
    items, _ = kube.list(EVENT, namespace)
    return [e for e in items if e["involvedObject"]["name"] == name]


def renew_all(h: Harness, nodes: Iterable[str]) -> dict[str, str]:
    """Renew the nodes' Leases as their speakers would; node -> the Lease's new version."""
    leases = KubeLeases(h.client("speaker"), namespace=NS)
    for n in nodes:
        leases.renew(n, duration=2.0)
    return {n: h.kube.get(LEASE, leases.name(n), NS)["metadata"]["resourceVersion"] for n in nodes}


def test_controller_events_and_clearing(h: Harness) -> None:
    svc = h.kube.get(SERVICE, "web", "demo")
    svc["metadata"]["annotations"]["metallb.universe.tf/allow-shared-ip"] = "k"
    svc["status"] = {"conditions": [FOREIGN]}
    h.api.apply("services", svc)
    renew_all(h, NODES)
    infs = h.informers("controller")
    events = KubeEvents(
        h.client("controller"), component="metallb-controller", uid_of=lambda k: uid
    )
    uid = h.kube.get(SERVICE, "web", "demo")["metadata"]["uid"]
    controller = Controller(h.source(infs), h.store(infs, "controller"), events=events)
    poll("a converged controller", lambda: controller.reconcile() == 0, 10)
    for item in list(events._queue.queue):
        assert item is not None
        events.post(item.service, item.reason, item.message, warning=item.warning)
    got = {e["reason"]: e for e in events_for(h.kube, "demo/web")}
    assert set(got) == {"IPAllocated", "deprecatedAnnotation"}
    allocated = got["IPAllocated"]
    assert (
        allocated["type"] == "Normal" and allocated["source"]["component"] == "metallb-controller"
    )
    assert allocated["involvedObject"] == {
        "apiVersion": "v1",
        "kind": "Service",
        "namespace": "demo",
        "name": "web",
        "uid": uid,
    }
    assert allocated["message"].startswith("Assigned IP [")
    deprecated = got["deprecatedAnnotation"]
    assert deprecated["type"] == "Warning"
    assert "metallb.io/allow-shared-ip" in deprecated["message"]
    # the same event again: one object, count 2
    events.post("demo/web", "IPAllocated", allocated["message"])
    (again,) = [e for e in events_for(h.kube, "demo/web") if e["reason"] == "IPAllocated"]
    assert again["count"] == 2 and again["metadata"]["name"] == allocated["metadata"]["name"]

    # the Service stops being a LoadBalancer (the user's edit carries no status): everything
    # we wrote goes, theirs stays
    svc = h.kube.get(SERVICE, "web", "demo")
    assert svc["status"]["loadBalancer"]["ingress"]
    svc["spec"]["type"] = "ClusterIP"
    del svc["status"]
    h.api.apply("services", svc)
    # the server itself dropped the ingress with the type change
    assert h.kube.get(SERVICE, "web", "demo")["status"].get("loadBalancer") == {}

    def ours() -> set[str]:
        annotations = h.kube.get(SERVICE, "web", "demo")["metadata"]["annotations"]
        return {k for k in annotations if "metallb" in k and "universe" not in k}

    poll("our annotations cleared", lambda: controller.reconcile() == 0 and not ours(), 10)
    svc = h.kube.get(SERVICE, "web", "demo")
    assert [c["type"] for c in svc["status"]["conditions"]] == ["Someone/Else"]
    # no ingress was left to release: no ClearAssignment (what MetalLB does too)
    reasons = [item.reason for item in list(events._queue.queue) if item is not None]
    assert "ClearAssignment" not in reasons, reasons
    h.assert_rbac()


def test_speakers_status_objects_events_and_lease_failover(h: Harness) -> None:
    renew_all(h, NODES)
    infs = h.informers("controller")
    controller = Controller(h.source(infs), h.store(infs, "controller"))
    assert controller.reconcile() == 1
    homes = json.loads(
        h.kube.get(SERVICE, "web", "demo")["metadata"]["annotations"][
            "metallb-orchestrator.io/l2-homes"
        ]
    )
    # a ServiceL2Status left behind by an earlier run of frontend-1's speaker
    h.kube.create(
        SERVICE_L2_STATUS,
        {
            "metadata": {
                "name": "l2-stale",
                "namespace": NS,
                "labels": {
                    "metallb.io/node": "frontend-1",
                    "metallb.io/service-name": "gone",
                    "metallb.io/service-namespace": "demo",
                },
            },
            "spec": {},
        },
    )
    speakers: dict[str, tuple[Speaker, Port, KubeAnnounced, KubeEvents]] = {}
    for node in NODES:
        node_infs = h.informers("speaker")
        port = Port()
        announced = KubeAnnounced(h.client("speaker"), namespace=NS, node=node)
        events = KubeEvents(h.client("speaker"), component="metallb-speaker", host=node)
        speaker = Speaker(
            node,
            h.source(node_infs),
            h.store(node_infs, "speaker"),
            l2=port,
            announced=announced,
            events=events,
        )
        speakers[node] = (speaker, port, announced, events)
    poll(
        "every speaker sees three Leases",
        lambda: all(len(s[0].state.read_leases()) == 3 for s in speakers.values()),
        10,
    )
    for speaker, _, announced, events in speakers.values():
        speaker.reconcile(now=0.0)
        assert announced.sync()
        for item in list(events._queue.queue):
            assert item is not None
            events.post(item.service, item.reason, item.message)
    for node, (_, port, _, _) in speakers.items():
        assert [str(ip) for ip in port.announced] == [ip for ip, n in homes.items() if n == node]

    items, _ = h.kube.list(SERVICE_L2_STATUS, NS)
    assert sorted(o["status"]["node"] for o in items) == sorted(NODES)  # the stale one is gone
    for o in items:
        assert o["metadata"]["name"].startswith("l2-")
        assert o["metadata"]["labels"]["metallb.io/node"] == o["status"]["node"]
        assert o["status"]["serviceName"] == "web" and o["status"]["serviceNamespace"] == "demo"
        assert o["status"]["interfaces"] == [{"name": "eth0"}]
    assigned = [e for e in events_for(h.kube, "demo/web") if e["reason"] == "nodeAssigned"]
    assert sorted(e["source"]["host"] for e in assigned) == sorted(NODES)
    assert all("with protocol 'layer2'" in e["message"] for e in assigned)

    # frontend-1's Lease is no longer renewed; the others keep renewing
    others = [n for n in NODES if n != "frontend-1"]
    dead_ip = next(ip for ip, n in homes.items() if n == "frontend-1")
    before = {n: set(map(str, speakers[n][1].announced)) for n in others}
    for now in (1.0, 1.5, 2.0, 2.6):
        versions = renew_all(h, others)

        def seen(versions: dict[str, str] = versions) -> bool:
            return all(
                {r.node: r.token for r in speakers[n][0].state.read_leases()}.items()
                >= versions.items()
                for n in others
            )

        poll("every speaker's cache has the renewals", seen, 10)
        for n in others:
            speakers[n][0].reconcile(now=now)
        holders = [n for n in others if dead_ip in map(str, speakers[n][1].announced)]
        if now < 2.0:
            assert holders == [], now  # still within frontend-1's lease
    assert len(holders) == 1, holders  # exactly one takes it over
    for n in others:
        assert before[n] <= set(map(str, speakers[n][1].announced))  # nothing else moved

    # a speaker that stops removes its own status objects
    _, _, announced, _ = speakers["frontend-2"]
    announced.report({}, {})
    assert announced.sync()
    items, _ = h.kube.list(SERVICE_L2_STATUS, NS)
    assert "frontend-2" not in {o["status"]["node"] for o in items}
    speakers["frontend-3"][0].state.release_lease("frontend-3")
    h.assert_rbac()


def test_two_controller_loops_never_both_allocate(h: Harness) -> None:
    renew_all(h, NODES)
    log: list[tuple[str, str, float]] = []  # (replica, "lead"/"write", time)
    lock = threading.Lock()

    def replica(name: str) -> tuple[threading.Thread, threading.Event]:
        infs = h.informers("controller")
        store = h.store(infs, "controller")
        writes = store.write_status

        def write_status(key: str, record: StatusRecord) -> None:
            with lock:
                log.append((name, "write", time.monotonic()))
            writes(key, record)

        store.write_status = write_status  # type: ignore[method-assign]
        elector = KubeLeader(h.client("controller"), namespace=NS, identity=name, duration=2.0)

        def leading(now: float) -> bool:
            lead = elector.leading(now)
            if lead:
                with lock:
                    log.append((name, "lead", now))
            return lead

        controller = Controller(h.source(infs), store)
        stop = threading.Event()
        t = threading.Thread(
            target=controller.run,
            args=(stop, InformerWaker(infs)),
            kwargs={"tick": 0.1, "leader": leading},
            daemon=True,
        )
        t.start()
        h.threads.append((t, stop))
        return t, stop

    _a_thread, a_stop = replica("a")
    poll("the first allocation", lambda: any(e[1] == "write" for e in log), 10)
    _b_thread, b_stop = replica("b")
    time.sleep(1.0)
    (first,) = {name for name, what, _ in log if what == "write"}
    leader_stop = a_stop if first == "a" else b_stop
    other = "b" if first == "a" else "a"
    # the leader dies without releasing its Lease (its loop stops, nothing else runs)
    leader_stop.set()
    died = time.monotonic()
    (svc,) = [
        copy.deepcopy(dict(d)) for _, d in load_directory(SEED).documents if d["kind"] == "Service"
    ]
    new = {**svc, "metadata": {"name": "api", "namespace": "demo", "annotations": {}}}
    new["spec"] = {**svc["spec"], "clusterIP": "192.0.2.81", "clusterIPs": ["192.0.2.81"]}
    h.api.apply("services", new)
    poll(
        f"replica {other} allocating after the leader died",
        lambda: bool((h.kube.get(SERVICE, "api", "demo").get("status") or {}).get("loadBalancer")),
        10,
    )
    takeover = time.monotonic() - died
    assert takeover >= 1.0, takeover  # not before the old leader's Lease could expire
    with lock:
        entries = list(log)
    leads = {n: [t for m, w, t in entries if m == n and w == "lead"] for n in ("a", "b")}
    # never both: the other replica's first leading moment is after the leader's last
    assert leads[other] and min(leads[other]) > max(leads[first]), leads
    for name, what, t in entries:
        if what == "write":
            assert leads[name] and min(leads[name]) <= t, (name, t)
    h.assert_rbac()


def test_events_queue_is_bounded_and_memory_too(h: Harness) -> None:
    """A flood of events never blocks the caller: past the queue's capacity they are
    dropped and counted; what is remembered for aggregation stays bounded."""
    events = KubeEvents(
        h.client("controller"), component="metallb-controller", capacity=3, remember=4
    )
    for i in range(5):
        events.event("demo/web", "IPAllocated", f"Assigned IP [{i}]")
    assert events.dropped == 2  # no thread running: the queue is full after 3
    events.start()
    assert events.flush(5)
    for i in range(20):
        events.post("demo/web", "IPAllocated", f"again {i}")
    assert len(events._seen) <= 2 * 4
    events.stop()
    posted = [e for e in events_for(h.kube, "demo/web") if e["reason"] == "IPAllocated"]
    assert len(posted) == 23
    h.assert_rbac()


def test_bgp_status_objects_follow_the_reported_peers(h: Harness) -> None:
    """ServiceBGPStatus: one per announced Service with its peers; a peer change rewrites
    the status in place (same object), a withdrawn Service's object goes."""
    announced = KubeAnnounced(h.client("speaker"), namespace=NS, node="worker-1")
    announced.report({}, {"demo/web": ("edge-a", "edge-b"), "demo/api": ("edge-a",)})
    assert announced.sync()
    items, _ = h.kube.list(SERVICE_BGP_STATUS, NS)
    by_service = {o["status"]["serviceName"]: o for o in items}
    assert set(by_service) == {"web", "api"}
    assert by_service["web"]["status"]["peers"] == ["edge-a", "edge-b"]
    assert all(o["metadata"]["name"].startswith("bgp-") for o in items)
    name = by_service["web"]["metadata"]["name"]

    announced.report({}, {"demo/web": ("edge-b",)})
    assert announced.sync()
    (only,) = h.kube.list(SERVICE_BGP_STATUS, NS)[0]
    assert only["metadata"]["name"] == name and only["status"]["peers"] == ["edge-b"]
    assert h.kube.list(SERVICE_L2_STATUS, NS)[0] == []
    h.assert_rbac()
