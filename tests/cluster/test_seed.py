"""The seed example on a real kube-apiserver, through what a user types.

The controller and three speakers run as the Helm release runs them (its ServiceAccounts'
tokens, its container args); the user's view is ``kubectl``. Matrix:

- ``kubectl apply -f examples/seed``: ``kubectl get svc -o wide`` shows three EXTERNAL-IPs,
  each homed on a different frontend node; ``kubectl describe svc`` shows the class
  binding and ``AllPublicIPsAssigned`` conditions and the ``IPAllocated`` / ``nodeAssigned``
  Events; one ServiceL2Status per announcing node, each speaker announcing exactly its
  home IP; one Lease per speaker (and the controller's leader Lease);
- a restarted controller moves no IP and writes nothing (the Service's resourceVersion
  stands);
- a speaker killed without releasing its Lease: once the Lease is older than its duration
  another node announces that IP (its ServiceL2Status appears), the other two stay;
- the Service turned into ClusterIP loses our annotations and our conditions; the user's
  stay. (The API server itself drops ``status.loadBalancer`` on that type change, so, as in
  MetalLB, there is nothing to release and no ``ClearAssignment`` Event: the emulator of the
  contract tier had kept the ingress and so expected one.)
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

from orchestrator.core.model.cluster import CLASS_CONDITION, Annotation
from tests.cluster.conftest import Runner
from tests.harness.cluster import NAMESPACE, ROOT, Cluster, Process
from tests.harness.polling import poll

SEED = ROOT / "examples" / "seed"
NODES = ("frontend-1", "frontend-2", "frontend-3")
FAST_LEASE = ("--lease-duration", "2", "--renew-interval", "0.5")


def service(cluster: Cluster) -> dict[str, Any]:
    return cluster.get("service", "web", "demo")


def ingress(cluster: Cluster) -> list[str]:
    lb = service(cluster).get("status", {}).get("loadBalancer", {})
    return [i["ip"] for i in lb.get("ingress") or []]


def _three(cluster: Cluster) -> list[str] | None:
    ips = ingress(cluster)
    return ips if len(ips) == 3 else None


def homes(cluster: Cluster) -> dict[str, str]:
    raw = service(cluster)["metadata"].get("annotations", {}).get(Annotation.HOMES.value)
    return dict(json.loads(raw)) if raw else {}


def l2_statuses(cluster: Cluster) -> dict[str, dict[str, Any]]:
    """node -> its ServiceL2Status for demo/web."""
    items = cluster.items("servicel2statuses", NAMESPACE, selector="metallb.io/service-name=web")
    return {o["status"]["node"]: o for o in items if o.get("status")}


def events(cluster: Cluster, reason: str) -> list[dict[str, Any]]:
    return [
        e
        for e in cluster.items("events", "demo")
        if e["reason"] == reason and e["involvedObject"]["name"] == "web"
    ]


def announced(proc: Process) -> set[str]:
    """The IPs a speaker announces now, by its log: assigned and not withdrawn since."""
    ips: set[str] = set()
    for line in proc.log(1000).splitlines():
        ip = re.search(r"\bip=(\S+)", line)
        if ip and "event=nodeAssigned" in line:
            ips.add(ip.group(1))
        elif ip and "event=withdrawn" in line:
            ips.discard(ip.group(1))
    return ips


def start_all(run: Runner) -> None:
    run.controller()
    for node in NODES:
        run.speaker(node, *FAST_LEASE)


def test_seed_example_through_kubectl(installed: Cluster, run: Runner, tmp_path: Path) -> None:
    installed.kubectl("apply", "-f", str(SEED))
    start_all(run)
    ips = poll("three EXTERNAL-IPs", lambda: _three(installed), 30)
    assert len(set(ips)) == 3
    assert sorted(homes(installed)) == sorted(ips)
    assert sorted(homes(installed).values()) == sorted(NODES)  # one IP per frontend node

    table = installed.kubectl("get", "svc", "-n", "demo", "web", "-o", "wide").stdout
    header, row = table.splitlines()[:2]
    external = row.split()[header.split().index("EXTERNAL-IP")]
    assert external.split(",") == ips

    svc = service(installed)
    conditions = {c["type"]: c for c in svc["status"].get("conditions", [])}
    assert conditions[CLASS_CONDITION]["reason"] == "LoadBalancerClassBound"
    assert conditions["AllPublicIPsAssigned"]["message"] == "3 of 3 public IPs were assigned"
    assert svc["metadata"]["annotations"][Annotation.ML_ALLOCATED_POOL.value] == "ingress"

    # every speaker reports its own IP: ServiceL2Status per node, nodeAssigned per node
    statuses = poll("a ServiceL2Status per node", lambda: len(l2_statuses(installed)) == 3, 30)
    assert statuses
    assert sorted(l2_statuses(installed)) == sorted(NODES)
    poll("nodeAssigned from every node", lambda: len(events(installed, "nodeAssigned")) >= 3, 30)
    # and each node announces exactly its home IP, from the status and the Leases
    speakers = {p.name: p for p in run.procs}
    for node in NODES:
        home = {ip for ip, n in homes(installed).items() if n == node}
        proc = speakers[f"speaker-{node}"]

        def exactly(p: Process = proc, h: set[str] = home) -> bool:
            return announced(p) == h

        poll(f"{node} announcing {home}", exactly, 10)
    described = installed.kubectl("describe", "svc", "-n", "demo", "web").stdout
    for word in ("IPAllocated", "nodeAssigned", *ips):
        assert word in described, f"{word} not in kubectl describe:\n{described}"

    leases = {o["metadata"]["name"] for o in installed.items("leases", NAMESPACE)}
    assert {f"mlb-{n}" for n in NODES} <= leases
    assert "mlb-controller" in leases


def test_restarted_controller_moves_nothing(installed: Cluster, run: Runner) -> None:
    installed.kubectl("apply", "-f", str(SEED))
    ctrl = run.controller()
    ips = poll("three IPs", lambda: _three(installed), 30)
    before = homes(installed)
    version = poll("a settled Service", lambda: _settled_version(installed), 20)
    stopping = time.monotonic()
    assert ctrl.stop() == 0
    assert time.monotonic() - stopping < 5, "SIGTERM must stop the controller promptly"
    again = run.controller("controller-1")
    # the stopped leader released its Lease: the new one leads at once (not after the
    # Lease's 15 s), restores from status and writes nothing
    poll("the new controller leads", lambda: "msg=leading" in again.log(200), 8)
    time.sleep(3)  # several passes
    assert ingress(installed) == ips
    assert homes(installed) == before
    assert service(installed)["metadata"]["resourceVersion"] == version
    assert "statusWritten" not in again.log(400)


def _settled_version(cluster: Cluster) -> str | None:
    """The Service's resourceVersion once it has stood still for a second."""
    first = service(cluster)["metadata"]["resourceVersion"]
    time.sleep(1.0)
    return first if service(cluster)["metadata"]["resourceVersion"] == first else None


def test_dead_speaker_fails_over_by_lease(installed: Cluster, run: Runner) -> None:
    installed.kubectl("apply", "-f", str(SEED))
    run.controller()
    speakers = {
        n: run.speaker(n, "--lease-duration", "2", "--renew-interval", "0.5") for n in NODES
    }
    poll("three homes", lambda: len(homes(installed)) == 3, 30)
    poll("three announcers", lambda: len(l2_statuses(installed)) == 3, 30)
    ip_of = {node: ip for ip, node in homes(installed).items()}
    victim, survivors = NODES[0], NODES[1:]
    # while the speakers started one by one, an early one answered for nodes not yet live
    # and handed over when they came: only what is logged after the kill counts
    before = {n: len(speakers[n].log(10_000).splitlines()) for n in survivors}
    speakers[victim].kill()  # no release: its Lease lingers until it expires
    killed = time.monotonic()

    def since_kill(node: str) -> str:
        return "\n".join(speakers[node].log(10_000).splitlines()[before[node] :])

    def taker() -> str | None:
        """The survivor whose speaker logged that it now announces the victim's IP."""
        for node in survivors:
            for line in since_kill(node).splitlines():
                if "event=nodeAssigned" in line and f"ip={ip_of[victim]} " in line + " ":
                    return node
        return None

    assert poll("the dead node's IP announced elsewhere", taker, 20) in survivors
    assert time.monotonic() - killed < 15
    # exactly one survivor took it, and each survivor still announces its own IP only once
    takers = [n for n in survivors if f"ip={ip_of[victim]}" in since_kill(n)]
    assert len(takers) == 1, takers
    for node in survivors:
        assert speakers[node].log(400).count(f"ip={ip_of[node]}") >= 1
    # the homes stand: the controller re-homes only when a node is gone for good
    assert {ip_of[n]: n for n in NODES} == homes(installed)


def test_clusterip_service_loses_its_status(installed: Cluster, run: Runner) -> None:
    installed.kubectl("apply", "-f", str(SEED))
    run.controller()
    poll("three IPs", lambda: len(ingress(installed)) == 3, 30)
    installed.kubectl(
        "patch",
        "svc",
        "web",
        "-n",
        "demo",
        "--type=merge",
        "-p",
        json.dumps({"spec": {"type": "ClusterIP"}}),
    )
    ours = {a.value for a in (Annotation.HOMES, Annotation.ML_ALLOCATED_POOL, Annotation.CLASS)}

    def cleared() -> bool:
        svc = service(installed)
        return not ingress(installed) and not ours & set(svc["metadata"].get("annotations", {}))

    poll("ingress and our annotations cleared", cleared, 20)
    svc = service(installed)
    assert svc["metadata"]["annotations"][Annotation.DH_IPS_COUNT.value] == "3"  # the user's
    types = {c["type"] for c in svc.get("status", {}).get("conditions", [])}
    assert not types & {CLASS_CONDITION, "AllPublicIPsAssigned"}
    # back to LoadBalancer for the next test of the module
    installed.kubectl(
        "patch",
        "svc",
        "web",
        "-n",
        "demo",
        "--type=merge",
        "-p",
        json.dumps({"spec": {"type": "LoadBalancer"}}),
    )
