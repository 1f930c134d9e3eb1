"""``kubectl get svc``-like tables for the lab, with where each IP lives and who answers.

Columns: NAMESPACE NAME TYPE EXTERNAL-IP PORT(S) POOL HOMES ANNOUNCED-BY. HOMES is the
controller's home node per EXTERNAL-IP (same order, ``-`` for BGP IPs); ANNOUNCED-BY is what
the network says: the node whose MAC answers ARP for each L2 IP (``a+b`` if two answer,
``none`` if nobody does), and ``bgp:`` plus the router's next-hop nodes for a BGP IP.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from orchestrator.lab.observe import Service

HEADER = ("NAMESPACE", "NAME", "TYPE", "EXTERNAL-IP", "PORT(S)", "POOL", "HOMES", "ANNOUNCED-BY")


def render(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def services(
    rows: Sequence[Service],
    *,
    l2_announcers: Callable[[str], Sequence[str]] | None = None,
    bgp_next_hops: Callable[[str], Sequence[str]] | None = None,
) -> str:
    table: list[Sequence[str]] = [HEADER]
    for svc in rows:
        announced: list[str] = []
        for ip in svc.ips:
            if svc.l2 and l2_announcers is not None:
                announced.append("+".join(l2_announcers(ip)) or "none")
            elif not svc.l2 and bgp_next_hops is not None:
                announced.append("bgp:" + ("+".join(bgp_next_hops(ip)) or "none"))
        table.append(
            (
                svc.namespace,
                svc.name if svc.in_manifests else f"{svc.name} (deleted)",
                svc.type,
                ",".join(svc.ips) or "<pending>",
                svc.ports or "-",
                svc.pool or "-",
                ",".join(svc.homes.get(ip, "-") for ip in svc.ips) or "-",
                ",".join(announced) or "-",
            )
        )
    return render(table)
