"""``mlb plan DIR``: what the controller would do, as a table or JSON.

The table reads like ``kubectl get svc -A`` plus where each L2 IP lives::

    NAMESPACE  NAME  TYPE          CLUSTER-IP  EXTERNAL-IP          PORT(S)  POOL     HOMES
    demo       web   LoadBalancer  192.0.2.80  192.168.2.100,...    80/TCP   ingress  frontend-2,...

HOMES lists the home node of each EXTERNAL-IP in the same order (``-`` for BGP-only IPs).
Services that are not LoadBalancers or not ours are left out. JSON (``--output json``)::

    {"services": [{"namespace", "name", "ips": [...], "pool", "class", "homes": {ip: node},
                   "reason"}]}

``reason`` is empty when the Service got every IP it asked for. The plan is what the
controller would do with these manifests: invalid objects are left out (isolation, as in
``core.parse.isolation``) and everything else is planned. Problems go to stderr, one line
each as ``mlb validate`` prints them (JSON also lists the errors under ``"errors"``).
Exit status: 0 when the manifests are valid (a Service without IPs is a result, not a
failure), 1 when there were errors (the plan is still printed), 2 when DIR is not a
directory.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from orchestrator.cli._load import load_isolated
from orchestrator.core.alloc.result import Reason
from orchestrator.core.plan import Plan, ServicePlan, plan

#: Services we do not handle are not shown (kubectl would show them, but with no pool,
#: no IP and no reason they only add noise).
_HIDDEN = {Reason.NOT_LOAD_BALANCER, Reason.NOT_OUR_CLASS}


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "plan", help="show the IPs and home nodes the controller would assign"
    )
    p.add_argument("directory", help="directory of *.yaml manifests (multi-document)")
    p.add_argument("--output", "-o", choices=("table", "json"), default="table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    loaded = load_isolated(args.directory, command="plan")
    if isinstance(loaded, int):
        return loaded
    snapshot, errors, code = loaded
    result = plan(snapshot)
    if args.output == "json":
        print(json.dumps({**to_json(result), "errors": errors}, indent=2))
    else:
        print(to_table(result))
    return code


def _shown(result: Plan) -> list[ServicePlan]:
    return [row for row in result.services if row.outcome.reason not in _HIDDEN]


def to_json(result: Plan) -> dict[str, Any]:
    services = []
    for row in _shown(result):
        a = row.assignment
        services.append(
            {
                "namespace": row.service.namespace,
                "name": row.service.name,
                "ips": [str(ip) for ip in a.ips] if a else [],
                "pool": a.pool if a else None,
                "class": a.class_name if a else None,
                "homes": {str(ip): node for ip, node in row.homes.items()},
                "reason": row.reason,
            }
        )
    return {"services": services}


def to_table(result: Plan) -> str:
    header = (
        "NAMESPACE",
        "NAME",
        "TYPE",
        "CLUSTER-IP",
        "EXTERNAL-IP",
        "PORT(S)",
        "POOL",
        "HOMES",
        "REASON",
    )
    rows = [header]
    for row in _shown(result):
        svc, a = row.service, row.assignment
        ips = a.ips if a else ()
        rows.append(
            (
                svc.namespace,
                svc.name,
                svc.type,
                ",".join(str(ip) for ip in svc.cluster_ips) or "<none>",
                ",".join(str(ip) for ip in ips) or "<pending>",
                ",".join(f"{p.port}/{p.protocol}" for p in svc.ports) or "<none>",
                a.pool if a else "<none>",
                ",".join(row.homes.get(ip, "-") for ip in ips) or "-",
                row.reason or "-",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )
