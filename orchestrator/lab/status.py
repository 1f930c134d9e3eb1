"""``mlb lab status``: namespaces, processes, Services with where they live, router routes.

Read-only: it opens one ARP socket in the client namespace and runs ``vtysh`` show commands
against the router; it never changes the lab. Everything is read fresh, so status is also
how to watch a failover by hand (``watch -n1 mlb lab status``).
"""

from __future__ import annotations

from orchestrator.lab import client, observe, procs, router, table, topology
from orchestrator.lab.config import LabConfig


def report(config: LabConfig) -> str:
    lines = [
        f"lab {config.prefix} ({config.nodes} nodes, backend {config.backend.value}, "
        f"dir {config.directory})"
    ]
    present = set(topology.existing(config.prefix))
    if not present:
        return lines[0] + "\nno lab namespaces: the lab is down (`mlb lab up`)"
    lines.append(processes(config, present))
    if not config.state.is_dir():
        return "\n".join(lines)
    rows = observe.services(config)
    in_client = config.client in present
    with client.Arp(config) if in_client else _NoArp() as arp:
        lines.append("")
        lines.append(
            table.services(
                rows,
                l2_announcers=arp.nodes,
                bgp_next_hops=lambda ip: router.next_hop_nodes(config, f"{ip}/32"),
            )
        )
    for svc in rows:
        if svc.l2:
            continue
        for ip in svc.ips:
            hops = router.next_hops(config, f"{ip}/32")
            lines.append(f"router: {ip}/32 " + (f"via {', '.join(hops)}" if hops else "no route"))
    lines.append("leases: " + (", ".join(observe.leases(config)) or "none"))
    if config.kube:
        from orchestrator.lab import kube

        kc = kube.user_kubeconfig(config)
        lines += [
            f"kube-apiserver: {kube.CP_ADDRESS}:{kube.API_PORT} in {config.switch}; "
            f"kubeconfig {kc}",
            f"  kubectl --kubeconfig {kc} get svc -A -o wide",
            f"  kubectl --kubeconfig {kc} get servicel2statuses,servicebgpstatuses -A",
            f"  kubectl --kubeconfig {kc} get leases -n {kube.NAMESPACE}",
            f"  kubectl --kubeconfig {kc} describe svc -n lab web",
        ]
    return "\n".join(lines)


class _NoArp:
    def __enter__(self) -> _NoArp:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def nodes(self, ip: str) -> list[str]:
        return ["?"]


def processes(config: LabConfig, present: set[str]) -> str:
    by_ns: dict[str, list[str]] = {ns: [] for ns in config.namespaces}
    owner = {"controller": config.switch, "router": config.router, "cp": config.switch}
    for record in procs.read_all(config.run_dir):
        short, _, what = record.name.partition("-")
        ns = owner.get(short) or config.node_ns(short)
        state = "up" if procs.alive(record.pid, record.start) else "DEAD"
        by_ns.setdefault(ns, []).append(f"{what or short} {state}")
    rows = [("NAMESPACE", "STATE", "PROCESSES")]
    for ns, items in by_ns.items():
        rows.append((ns, "present" if ns in present else "MISSING", ", ".join(items) or "-"))
    return table.render(rows)
