"""When is the lab "up"? A list of what is not yet true, polled until it is empty.

Converged means, for the nodes expected alive (all by default):

- every lab process is running (controller; each node's pod, routing daemon(s), speaker);
- every such node holds a lease;
- every LoadBalancer Service in the manifests has all the IPs it asked for recorded;
- each L2 IP is answered over ARP by exactly one node — its home when the home is alive —
  and serves HTTP 200 from that same node to the client;
- each BGP IP has an installed route at the router whose next hops are exactly the alive
  nodes, and serves HTTP 200 through the router.

``problems`` returns human-readable reasons (the last ones are printed when the bounded
wait gives up), so a lab that does not come up says why.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence

from orchestrator.lab import client, nodes, observe, procs, router
from orchestrator.lab.config import LabConfig


class NotConverged(RuntimeError):
    def __init__(self, seconds: float, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__(f"not converged after {seconds:.0f} s: " + "; ".join(self.problems[:6]))


def problems(
    config: LabConfig, arp: client.Arp, *, alive: Collection[str] | None = None
) -> list[str]:
    live = set(config.node_names if alive is None else alive)
    out: list[str] = []
    expected = [nodes.CONTROLLER, *nodes.control_plane_processes(config)]
    for n in sorted(live):
        expected += nodes.node_processes(config, n)
    out += [f"{name} not running" for name in expected if not procs.running(config.run_dir, name)]
    missing = live - set(observe.leases(config))
    out += [f"no lease for {n}" for n in sorted(missing)]
    if out:
        return out
    for svc in observe.services(config):
        if not svc.in_manifests:
            continue
        if len(svc.ips) < svc.requested:
            out.append(f"{svc.key}: {len(svc.ips)} of {svc.requested} IPs")
            continue
        for ip in svc.ips:
            out += _l2(config, arp, svc, ip, live) if svc.l2 else _bgp(config, svc, ip, live)
    return out


def _l2(
    config: LabConfig, arp: client.Arp, svc: observe.Service, ip: str, live: set[str]
) -> list[str]:
    home = svc.homes.get(ip)
    if home is None:
        return [f"{svc.key} {ip}: no home"]
    answering = arp.nodes(ip)
    if home in live and answering != [home]:
        return [f"{svc.key} {ip}: ARP answered by {answering or 'nobody'}, home {home}"]
    if home not in live and (len(answering) != 1 or answering[0] not in live):
        return [f"{svc.key} {ip}: ARP answered by {answering or 'nobody'} (home {home} down)"]
    answer = client.get(config.client, ip, timeout=1.0)
    if answer.node != answering[0]:
        return [f"{svc.key} {ip}: HTTP {answer.status or answer.error} from {answer.node}"]
    return []


def _bgp(config: LabConfig, svc: observe.Service, ip: str, live: set[str]) -> list[str]:
    hops = router.next_hop_nodes(config, f"{ip}/32")
    if set(hops) != live:
        return [f"{svc.key} {ip}: router next hops {hops or 'none'}, want {sorted(live)}"]
    answer = client.get(config.client, ip, timeout=1.0)
    if not answer.ok:
        return [f"{svc.key} {ip}: HTTP through the router: {answer.error or answer.status}"]
    return []


def wait(
    config: LabConfig,
    *,
    timeout: float = 60.0,
    alive: Collection[str] | None = None,
    interval: float = 0.2,
) -> float:
    """Poll until converged; seconds it took. ``NotConverged`` after ``timeout``."""
    start = time.monotonic()
    with client.Arp(config) as arp:
        while True:
            left = problems(config, arp, alive=alive)
            if not left:
                return time.monotonic() - start
            if time.monotonic() - start > timeout:
                raise NotConverged(timeout, left)
            time.sleep(interval)
