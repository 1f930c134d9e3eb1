"""What the lab's router has: its installed route for a BGP VIP and that route's next hops.

Asked with ``vtysh -N <p>router -c 'show ip route <prefix> json'`` (zebra's view: what is in
the router's kernel and actually forwards), the same command the demo prints for the user.
An ECMP route is one installed entry with several active next hops. An unreachable router
reads as "no route", never as an exception: callers poll.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

from orchestrator.lab.config import LabConfig, node_ip


def route_command(config: LabConfig, prefix: str) -> list[str]:
    return ["vtysh", "-N", config.router, "-c", f"show ip route {prefix} json"]


def route_json(config: LabConfig, prefix: str) -> dict[str, Any]:
    try:
        proc = subprocess.run(
            route_command(config, prefix), capture_output=True, text=True, check=False, timeout=10
        )
        data = json.loads(proc.stdout) if proc.returncode == 0 and proc.stdout.strip() else {}
    except (subprocess.TimeoutExpired, OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def next_hops(config: LabConfig, prefix: str) -> list[str]:
    """Active next-hop addresses of the installed BGP route for ``prefix`` (sorted)."""
    hops: set[str] = set()
    for route in route_json(config, prefix).get(prefix, []):
        if route.get("protocol") != "bgp" or not route.get("installed"):
            continue
        for nh in route.get("nexthops", []):
            if nh.get("active") and nh.get("ip"):
                hops.add(str(nh["ip"]))
    return sorted(hops, key=lambda ip: tuple(int(x) for x in ip.split(".")))


def next_hop_nodes(config: LabConfig, prefix: str) -> list[str]:
    by_ip = {str(node_ip(n)): n for n in config.node_names}
    return [by_ip.get(ip, ip) for ip in next_hops(config, prefix)]
