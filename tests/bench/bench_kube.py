"""What a controller and a speaker pay per Lease renewal and per Service edit in a cluster,
with N Services.

Every renewal (one per node per second) wakes every loop. The source returns its last parse
while no informer except Leases changed; the speaker computes its intent again only for a
new snapshot or live set, and the controller stops a pass that would plan the same as its
last (which wrote nothing). A real change (a Service edit) parses again, but only the
objects that changed: the documents are the informers' own objects and a ``ParseMemo``
reuses every unchanged Service and EndpointSlice.

Runs against the contract tier's API emulator (real HTTP, the unmodified ``kubernetes``
client): seeds the seed example's class (its pool widened to a /16) and Nodes plus N
LoadBalancer Services that already carry the status a controller gave them (a restored
cluster), starts the informers ``mlb speaker --kubeconfig`` starts, then measures, side by
side:

- ``KubeSource.load()`` after a Lease renewal (cached);
- a speaker's and the controller's pass after a Lease renewal, beside the same pass made to
  compute everything again (what each renewal cost before);
- ``KubeSource.load()`` after a Service edit (memo: only that Service parsed again), beside
  a full parse of the same objects by a fresh source, and beside the deep copy of every
  cached object that each load made before (``Informer.items()``): the old cost of a change
  was the sum of those two;
- the time from a Service edit on the server to the informers' cache having it.

Prints figures and exits 0; asserts no timing. Run: ``.venv/bin/python
tests/bench/bench_kube.py [--services N] [--rounds R]`` (``make bench-kube``).
"""

from __future__ import annotations

import argparse
import copy
import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from orchestrator.adapters.files.manifests import load_directory  # noqa: E402
from orchestrator.adapters.kube.client import KubeClient  # noqa: E402
from orchestrator.adapters.kube.leases import KubeLeases  # noqa: E402
from orchestrator.adapters.kube.resources import SNAPSHOT_KINDS  # noqa: E402
from orchestrator.adapters.kube.source import KubeSource  # noqa: E402
from orchestrator.adapters.kube.status import KubeStatusWriter  # noqa: E402
from orchestrator.adapters.kube.store import KubeStore  # noqa: E402
from orchestrator.cli._where import cluster_informers  # noqa: E402
from orchestrator.core.parse import parse_snapshot  # noqa: E402
from orchestrator.core.plan import plan  # noqa: E402
from orchestrator.core.status.records import desired_status  # noqa: E402
from orchestrator.log import Logger  # noqa: E402
from orchestrator.runtime.controller import Controller  # noqa: E402
from orchestrator.runtime.speaker import Speaker  # noqa: E402
from tests.harness.apiserver import ApiServer  # noqa: E402

PLURALS = {r.kind: r.plural for r in SNAPSHOT_KINDS}
NS = "metallb-system"


def service(i: int, template: dict[str, Any]) -> dict[str, Any]:
    svc = copy.deepcopy(template)
    svc["metadata"] = {"name": f"svc-{i}", "namespace": "demo", "annotations": {}}
    ip = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
    svc["spec"]["clusterIP"] = ip
    svc["spec"]["clusterIPs"] = [ip]
    return svc


def with_status(config: list[dict[str, Any]], services: list[dict[str, Any]]) -> None:
    """Give every Service the status and annotations the controller would write."""
    docs = [(f"c{i}", d) for i, d in enumerate(config)]
    docs += [(f"s{i}", d) for i, d in enumerate(services)]
    by_key = {r.service.key: r for r in plan(parse_snapshot(docs)).services}
    for svc in services:
        row = by_key[f"{svc['metadata']['namespace']}/{svc['metadata']['name']}"]
        record = desired_status(row.service, row.outcome, row.homes)
        if record is None:
            continue
        out: dict[str, Any] = record.to_dict()
        svc["metadata"]["annotations"].update(out["annotations"])
        svc["status"] = {
            "loadBalancer": {"ingress": [{"ip": ip} for ip in out["ingress"]]},
            "conditions": out["conditions"],
        }


def token(leases: KubeLeases, node: str) -> str | None:
    return next((r.token for r in leases.read() if r.node == node), None)


def timed(fn: Any) -> float:
    """Seconds ``fn`` takes, after a full garbage collection: with millions of cached objects
    a collection costs hundreds of ms and would land on whichever step triggers it."""
    gc.collect()
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def wait(predicate: Any, timeout: float = 120.0) -> float:
    start = time.perf_counter()
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit("timed out")
        time.sleep(0.001)
    return time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--services", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    for var in ("no_proxy", "NO_PROXY"):
        os.environ[var] = "127.0.0.1,localhost"
    api = ApiServer().start()
    template: dict[str, Any] = {}
    config: list[dict[str, Any]] = []
    for _, doc in load_directory(ROOT / "examples" / "seed").documents:
        if doc["kind"] == "Service":
            template = copy.deepcopy(dict(doc))
        else:
            config.append(copy.deepcopy(dict(doc)))
    for doc in config:
        if doc["kind"] == "MetalLoadBalancerClass":
            doc["spec"]["addressPool"] = ["10.0.0.0/16"]  # room for every Service's 3 IPs
        api.apply(PLURALS[doc["kind"]], doc)
    services = [service(i, template) for i in range(args.services)]
    with_status(config, services)
    for svc in services:
        api.apply("services", svc)
    nodes = [d["metadata"]["name"] for d in config if d["kind"] == "Node"]
    with tempfile.TemporaryDirectory() as tmp:
        kube = KubeClient.from_kubeconfig(str(api.kubeconfig(Path(tmp) / "kc")), timeout=30)
        infs = cluster_informers(kube, NS)
        started = time.perf_counter()
        infs.start()
        infs.wait_synced(120)
        source = KubeSource(infs)
        wait(lambda: len((source.load().snapshot or _Empty).services) >= args.services)
        print(
            f"services={args.services}: first full snapshot {time.perf_counter() - started:.2f} s"
        )
        leases = KubeLeases(kube, namespace=NS, cache=infs.by_kind["Lease"])
        store = KubeStore(KubeStatusWriter(kube), leases)
        quiet = Logger("bench", stream=open(os.devnull, "w"))  # noqa: SIM115
        controller = Controller(source, store, log=quiet)
        speaker = Speaker(nodes[0], source, store, log=quiet)
        for n in nodes:
            leases.renew(n, duration=30)
        wait(lambda: len(leases.read()) == len(nodes))
        writes = controller.reconcile()
        speaker.reconcile()
        print(f"controller restored {args.services} Services from status, {writes} written")
        cached, parsed, full, copied, propagate = [], [], [], [], []
        reparsed: list[int] = []
        spk, spk_before, ctl, ctl_before = [], [], [], []
        for r in range(args.rounds):
            speaker.reconcile()  # take in the last round's edit
            controller.reconcile()
            before = token(leases, nodes[0])
            leases.renew(nodes[0], duration=30)
            wait(lambda b=before: token(leases, nodes[0]) != b)  # the renewal is cached
            cached.append(timed(source.load))
            spk.append(timed(speaker.reconcile))
            ctl.append(timed(controller.reconcile))
            speaker._computed = None  # forget: what every renewal cost before
            spk_before.append(timed(speaker.reconcile))
            controller._settled = None
            ctl_before.append(timed(controller.reconcile))
            generation = infs.generation
            edited = copy.deepcopy(services[r])
            edited["metadata"]["labels"] = {"round": str(r)}
            api.apply("services", edited)
            propagate.append(wait(lambda g=generation: infs.generation != g))
            misses = source.memo.misses
            parsed.append(timed(source.load))
            reparsed.append(source.memo.misses - misses)
            full.append(timed(KubeSource(infs).load))  # an empty memo: everything parsed
            copied.append(timed(lambda: [inf.items() for inf in infs.by_kind.values()]))
        for what, values, unit in (
            ("load() after a Lease renewal", cached, 1e3),
            ("speaker pass after a Lease renewal", spk, 1e3),
            ("  the same, intent computed again (before)", spk_before, 1e3),
            ("controller pass after a Lease renewal", ctl, 1e3),
            ("  the same, planned again (before)", ctl_before, 1e3),
            ("load() after a Service edit (memo)", parsed, 1e3),
            ("  the same, full parse (fresh source)", full, 1e3),
            ("  deep copy of the caches (each load did before)", copied, 1e3),
            ("Service edit on the server -> informer cache", propagate, 1e3),
        ):
            print(f"{what:<52} median {statistics.median(values) * unit:10.3f} ms")
        print(f"Services parsed again per edit (memo misses): {reparsed}")
        infs.stop(timeout=0.1)
        api.end_watches()
        kube.close()
    api.stop()
    return 0


class _Empty:
    services: tuple[object, ...] = ()


if __name__ == "__main__":
    sys.exit(main())
