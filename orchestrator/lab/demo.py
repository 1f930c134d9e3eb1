"""``mlb lab demo`` (``make demo``): the seed scenario end to end, then a node failure.

1. ``up`` (bounded wait for convergence);
2. what a user would see: the Service table (3 EXTERNAL-IPs, their home nodes, who answers
   ARP), ``curl`` of each IP from the client (the answering node's name), the router's ECMP
   route for the BGP Service (``vtysh ... show ip route ... json``) and which nodes served a
   dozen connections through it;
3. kill the node of one IP (``failover.kill_and_measure``), show that only that IP moved,
   the others answered from the same nodes all along, and the failover time; with
   ``--kills K`` restart the node, wait until everything is back home, and repeat, with the
   next IP's node each time; report median and worst;
4. ``down``, always, and then exactly one last line::

       demo: ok ips=3 nodes=3 http=3/3 ecmp=3 failover_ms=N moved=1 [kills=K worst_ms=W]
       demo: failed <reason>                                   (exit status 1)

With K > 1, ``failover_ms`` is the median.
"""

from __future__ import annotations

import json
import shlex
import statistics
import time
from collections.abc import Callable
from typing import Any

from orchestrator.lab import client, converge, failover, nodes, observe, router, table, topology
from orchestrator.lab.config import LabConfig
from orchestrator.lab.down import down
from orchestrator.lab.manifests import API, NAMESPACE, WEB
from orchestrator.lab.up import LabError, up

ECMP_PROBES = 12


class DemoFailed(RuntimeError):
    pass


def run(
    config: LabConfig,
    *,
    kills: int = 1,
    timeout: float = 90.0,
    out: Callable[[str], None] = print,
) -> int:
    if found := topology.existing(config.prefix):
        # someone's lab: never tear it down from here
        out(f"demo: failed a lab is running ({found[0]}...); `mlb lab down` first")
        return 1
    try:
        final = _demo(config, kills=kills, timeout=timeout, out=out)
        code = 0
    except (DemoFailed, LabError, converge.NotConverged) as e:
        final, code = f"demo: failed {e}", 1
    except Exception as e:  # the demo must end with its one line, whatever broke
        final, code = f"demo: failed {type(e).__name__}: {e}", 1
    finally:
        removed = down(config.directory, prefix=config.prefix)
        out(f"lab: down: {removed.summary()}")
    out(final)
    return code


def _demo(config: LabConfig, *, kills: int, timeout: float, out: Callable[[str], None]) -> str:
    out(f"== mlb lab demo: {config.nodes} nodes, backend {config.backend.value}")
    took = up(config, timeout=timeout, progress=lambda m: out(f"lab: {m}"))
    out(f"lab: converged in {took:.1f} s")
    web = _service(config, WEB)
    api = _service(config, API)
    homes = [web.homes[ip] for ip in web.ips]

    source = "from kube-apiserver" if config.kube else "from the lab's state dir"
    out(f"\n$ kubectl get svc -n lab   # {source}; ANNOUNCED-BY: ARP and router")
    with client.Arp(config) as arp:
        out(
            table.services(
                [web, api],
                l2_announcers=arp.nodes,
                bgp_next_hops=lambda ip: router.next_hop_nodes(config, f"{ip}/32"),
            )
        )
    out("")
    served = 0
    for ip in web.ips:
        answer = client.get(config.client, ip, timeout=2.0)
        out(f"client$ curl http://{ip}/   -> {answer.status or answer.error} {answer.node or ''}")
        served += answer.node == web.homes[ip]
    if served != len(web.ips):
        raise DemoFailed(f"http={served}/{len(web.ips)}")
    if len(set(homes)) != len(homes):
        raise DemoFailed(f"IPs share nodes: {homes}")

    vip = api.ips[0]
    prefix = f"{vip}/32"
    out(f"\n$ {shlex.join(router.route_command(config, prefix))}   # excerpt")
    out(_route_excerpt(router.route_json(config, prefix), prefix))
    ecmp = router.next_hop_nodes(config, prefix)
    seen: dict[str, int] = {}
    for _ in range(ECMP_PROBES):
        answer = client.get(config.client, vip, timeout=2.0)
        if answer.node:
            seen[answer.node] = seen.get(answer.node, 0) + 1
    spread = ", ".join(f"{n} x{c}" for n, c in sorted(seen.items()))
    out(f"client$ {ECMP_PROBES} x curl http://{vip}/ (through the router)  -> {spread}")
    if len(ecmp) != config.nodes:
        raise DemoFailed(f"ecmp={len(ecmp)} next hops, want {config.nodes}")

    times: list[float] = []
    moved_max = 0
    previous = ""
    for round_ in range(1, kills + 1):
        victim = homes[(round_) % len(homes)]  # round 1: the middle IP's node
        if round_ > 1:
            t = time.monotonic()
            nodes.start_node(config, previous)
            converge.wait(config, timeout=timeout)
            out(f"   {previous} restarted; everything back home in {time.monotonic() - t:.1f} s")
        result = failover.kill_and_measure(config, ips=list(web.ips), victim=victim)
        _report_round(config, result, round_, kills, out)
        if problems := result.problems():
            raise DemoFailed(f"round {round_}: " + "; ".join(problems))
        assert result.failover_ms is not None
        times.append(result.failover_ms)
        moved_max = max(moved_max, len(result.moved))
        if round_ == 1:
            _router_after_kill(config, prefix, result, out)
        previous = victim

    median = statistics.median(times)
    line = (
        f"demo: ok ips={len(web.ips)} nodes={config.nodes} http={served}/{len(web.ips)} "
        f"ecmp={len(ecmp)} failover_ms={median:.0f} moved={moved_max}"
    )
    if kills > 1:
        out(
            f"\nfailover over {kills} kills: median {median:.0f} ms, worst {max(times):.0f} ms, "
            f"best {min(times):.0f} ms  (all: {', '.join(f'{t:.0f}' for t in times)})"
        )
        line += f" kills={kills} worst_ms={max(times):.0f}"
    out("")
    return line


def _service(config: LabConfig, name: str) -> observe.Service:
    svc = observe.service(config, f"{NAMESPACE}/{name}")
    if svc is None or not svc.ips:
        raise DemoFailed(f"Service {NAMESPACE}/{name} has no IP")
    return svc


def _route_excerpt(data: dict[str, Any], prefix: str) -> str:
    """The route's JSON cut down to what matters, one next hop per line."""
    lines = [f'{{"{prefix}": [']
    for r in data.get(prefix, []):
        head = {k: r.get(k) for k in ("protocol", "selected", "installed")}
        lines.append("  " + json.dumps(head)[:-1] + ', "nexthops": [')
        hops = [
            "    " + json.dumps({k: nh.get(k) for k in ("ip", "interfaceName", "active")})
            for nh in r.get("nexthops", [])
        ]
        lines.append(",\n".join(hops))
        lines.append("  ]}")
    lines.append("]}")
    return "\n".join(lines)


def _report_round(
    config: LabConfig,
    result: failover.Result,
    round_: int,
    kills: int,
    out: Callable[[str], None],
) -> None:
    tag = f"[{round_}/{kills}] " if kills > 1 else ""
    if round_ == 1:
        killed = ", ".join(p.split("-", 1)[1] for p in nodes.node_processes(config, result.victim))
        out(
            f"\n{tag}kill {result.victim} (home of {result.ip}): SIGKILL to all its processes "
            f"({killed}), LAN link down"
        )
    ms = f"{result.failover_ms:.0f} ms" if result.failover_ms is not None else "never"
    if round_ == 1:
        out(f"   {result.ip}: {result.victim} -> {result.new_node}, answering again after {ms}")
        for w in result.watches:
            out(
                f"   {w.ip}: stayed on {w.node}, {w.good}/{len(w.answers)} probes answered "
                f"by {w.node} during the failover"
            )
        out(
            "   ARP owners before: "
            + ", ".join(f"{ip}={n}" for ip, n in result.before.items())
            + "\n   ARP owners after:  "
            + ", ".join(f"{ip}={n}" for ip, n in result.after.items())
            + f"   (moved: {len(result.moved)})"
        )
    else:
        others = ", ".join(f"{w.ip} {w.good}/{len(w.answers)}" for w in result.watches)
        out(
            f"{tag}kill {result.victim}: {result.ip} -> {result.new_node} in {ms}; "
            f"others stayed ({others}); moved {len(result.moved)}"
        )


def _router_after_kill(
    config: LabConfig, prefix: str, result: failover.Result, out: Callable[[str], None]
) -> None:
    """The router drops the dead node's next hop when its BGP hold time (3 s) runs out."""
    hops = router.next_hop_nodes(config, prefix)
    while result.victim in hops and time.monotonic() - result.t0 < 15:
        time.sleep(0.1)
        hops = router.next_hop_nodes(config, prefix)
    if result.victim in hops:
        raise DemoFailed(f"router still sends {prefix} to the dead {result.victim}")
    out(
        f"   router: {prefix} via {', '.join(hops)} ({result.victim} dropped "
        f"{time.monotonic() - result.t0:.1f} s after the kill: BGP hold time 3 s)"
    )
