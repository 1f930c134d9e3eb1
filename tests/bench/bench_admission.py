"""Admission benchmark: how long one ``decide`` takes on a large cluster.

A cluster of ``--pools`` IPAddressPools (each a /28 of 198.18.0.0/15, the benchmarking
range), as many L2Advertisements and ``--services`` LoadBalancer Services.
Figures, each beside its reference measured in the same run:

- ``decide`` of one new pool (the webhook's work per ``kubectl apply``), against
  ``parse_snapshot`` of the same documents, Services included (what a decision would cost if
  it did not leave the Services out: they never bear on a config object's validity);
- ``review`` of one AdmissionReview body (JSON shape in, JSON shape out) against ``decide``.

It prints figures and exits 0; it asserts no timing, it is not a test.
Run: ``.venv/bin/python tests/bench/bench_admission.py [--pools N] [--services N]``.
"""

from __future__ import annotations

import argparse
import ipaddress
import time
from collections.abc import Callable
from typing import Any

from orchestrator.adapters.kube.admission import Allowed, decide, review, source_of
from orchestrator.core.parse import parse_snapshot

NS = "metallb-system"


def _pool(i: int) -> dict[str, Any]:
    base = ipaddress.ip_network("198.18.0.0/15")
    cidr = ipaddress.ip_network((int(base.network_address) + 16 * i, 28))
    return {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "IPAddressPool",
        "metadata": {"name": f"p{i}", "namespace": NS},
        "spec": {"addresses": [str(cidr)]},
    }


def _docs(pools: int, services: int) -> list[tuple[str, dict[str, Any]]]:
    out = [_pool(i) for i in range(pools)]
    out += [
        {
            "apiVersion": "metallb.io/v1beta1",
            "kind": "L2Advertisement",
            "metadata": {"name": f"a{i}", "namespace": NS},
            "spec": {"ipAddressPools": [f"p{i}"]},
        }
        for i in range(pools)
    ]
    out += [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": f"s{i}", "namespace": "apps"},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
        }
        for i in range(services)
    ]
    return [(source_of(d), d) for d in out]


def _best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pools", type=int, default=500)
    ap.add_argument("--services", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    docs = _docs(a.pools, a.services)
    new = _pool(a.pools)
    assert isinstance(decide(docs, new, "CREATE", namespace=NS), Allowed)
    body = {"request": {"uid": "u", "operation": "CREATE", "object": new}}
    t_decide = _best(lambda: decide(docs, new, "CREATE", namespace=NS), a.repeat)
    t_all = _best(lambda: parse_snapshot([*docs, (source_of(new), new)]), a.repeat)
    t_review = _best(lambda: review(body, docs, namespace=NS), a.repeat)
    print(f"cluster: {a.pools} pools, {a.pools} L2Advertisements, {a.services} Services")
    print(f"decide (one new pool):              {t_decide * 1000:8.1f} ms")
    print(f"  reference, parse of everything:   {t_all * 1000:8.1f} ms")
    print(f"review (AdmissionReview in/out):    {t_review * 1000:8.1f} ms")
    print(f"  reference, decide:                {t_decide * 1000:8.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
