"""The responder side of ``bench_l2_heap``: an in-process ``Announcer`` in a process that
also holds and keeps re-parsing a cluster-sized snapshot, as ``mlb speaker --kubeconfig``
did before its announcer moved to a child process (informer caches, parse and L2 thread in
one interpreter, one GIL); ``--elsewhere`` is the layout it has now.

Run by the bench inside the node's namespace:
``python tests/bench/heap_announcer.py --services N [--switch S] [--elsewhere] FIRST4
FIRST6 COUNT``: ``--switch`` sets the interpreter's switch interval; ``--elsewhere`` keeps
the snapshot work in a child process instead (the announcer alone in its own process,
beside the same CPU load); ``--priority`` gives the announcer's process the scheduling
priority ``mlb speaker --announcer-priority`` would (``orchestrator.l2.priority``).
Prints ``announcing`` when ready; on SIGTERM prints one JSON line to stderr with the full
(generation 2) garbage collections of the process that held the snapshot: how many, and
their durations.
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import signal
import subprocess
import sys
import threading
import time
from ipaddress import ip_address
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from orchestrator.adapters.files.manifests import load_directory  # noqa: E402
from orchestrator.core.parse import ParseMemo, parse_snapshot  # noqa: E402
from orchestrator.l2 import Announcer  # noqa: E402
from orchestrator.l2.priority import Priority, raise_priority  # noqa: E402

Docs = list[tuple[str, dict[str, Any]]]


def cluster(n: int) -> Docs:
    """The seed config plus ``n`` Services and their EndpointSlices, shaped like what an API
    server returns (managedFields, uid, status)."""
    docs: Docs = []
    service: dict[str, Any] = {}
    for _, raw in load_directory(ROOT / "examples" / "seed").documents:
        if raw["kind"] == "Service":
            service = copy.deepcopy(dict(raw))
        else:
            docs.append((f"{raw['kind']}/{raw['metadata']['name']}", copy.deepcopy(dict(raw))))
    for i in range(n):
        svc = copy.deepcopy(service)
        meta = svc["metadata"]
        meta.update(name=f"svc-{i}", uid=f"00000000-0000-0000-0000-{i:012d}")
        meta["resourceVersion"] = str(i + 1)
        meta["managedFields"] = [
            {
                "manager": "kubectl-client-side-apply",
                "operation": "Update",
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:spec": {"f:ports": {".": {}}, "f:type": {}}},
            }
        ]
        svc["status"] = {
            "loadBalancer": {"ingress": [{"ip": f"10.{i >> 16}.{i >> 8 & 255}.{i & 255}"}]}
        }
        docs.append((f"Service/demo/svc-{i}", svc))
        eps = {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": f"svc-{i}-x",
                "namespace": "demo",
                "labels": {"kubernetes.io/service-name": f"svc-{i}"},
            },
            "endpoints": [
                {"addresses": [f"10.244.{i >> 8 & 255}.{i & 255}"], "nodeName": "frontend-1"}
            ],
        }
        docs.append((f"EndpointSlice/demo/svc-{i}-x", eps))
    return docs


def churn(docs: Docs, stop: threading.Event) -> None:
    """What a busy speaker does: a Service edit every 100 ms (parsed through the memo), and
    a configuration change every 5 s (a full parse, as a new pool would cause)."""
    memo = ParseMemo()
    snapshot = parse_snapshot(docs, memo)
    rounds = 0
    while not stop.wait(0.1):
        rounds += 1
        i = 1 + (rounds * 7919) % (len(docs) - 1)
        source, raw = docs[i]
        docs[i] = (source, copy.deepcopy(raw))
        snapshot = parse_snapshot(docs, memo)
        if rounds % 50 == 0:
            snapshot = parse_snapshot(docs)
    del snapshot


class Collections:
    """Durations of this process's full (generation 2) garbage collections."""

    def __init__(self) -> None:
        self.pauses: list[float] = []
        self._started = 0.0
        gc.callbacks.append(self._timing)

    def _timing(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append(time.perf_counter() - self._started)

    def report(self) -> str:
        ms = [round(p * 1e3, 1) for p in self.pauses]
        return json.dumps({"gen2_collections": len(ms), "gen2_ms": ms})


def churn_only(services: int) -> int:
    """``--churn-only``: the snapshot work alone, until SIGTERM (the child of --elsewhere)."""
    collections = Collections()
    docs = cluster(services)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("ready", flush=True)
    churn(docs, stop)
    print(collections.report(), file=sys.stderr, flush=True)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--services", type=int, default=10_000)
    ap.add_argument("--switch", type=float, help="sys.setswitchinterval, seconds")
    ap.add_argument("--elsewhere", action="store_true", help="snapshot work in a child")
    ap.add_argument("--priority", default="none", help="rt, nice or none (as the speaker's)")
    ap.add_argument("--churn-only", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("first4", nargs="?")
    ap.add_argument("first6", nargs="?")
    ap.add_argument("count", type=int, nargs="?")
    args = ap.parse_args()
    if args.churn_only:
        return churn_only(args.services)
    if args.switch:
        sys.setswitchinterval(args.switch)
    collections = Collections()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    child: subprocess.Popen[str] | None = None
    worker: threading.Thread | None = None
    if args.elsewhere and args.services:
        child = subprocess.Popen(
            [sys.executable, __file__, "--churn-only", "--services", str(args.services)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        child.stdout.readline()  # "ready"
    elif args.services:
        worker = threading.Thread(target=churn, args=(cluster(args.services), stop), daemon=True)
    first4, first6 = ip_address(args.first4), ip_address(args.first6)
    got = raise_priority(Priority(args.priority))  # before the announcer's thread starts
    if got.value != args.priority:
        raise SystemExit(f"priority {args.priority} refused (got {got.value})")
    announcer = Announcer(interfaces=["eth0"])
    announcer.start()
    announcer.set_announced(
        {ip: None for k in range(args.count) for ip in (first4 + k, first6 + k)}
    )
    if worker is not None:
        worker.start()
    print("announcing", flush=True)
    stop.wait()
    announcer.stop()
    if worker is not None:
        worker.join(5)
    report = collections.report()
    if child is not None:
        child.send_signal(signal.SIGTERM)
        _, err = child.communicate(timeout=30)
        report = err.strip().splitlines()[-1] if err.strip() else report
    print(report, file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
