"""Prometheus metrics with MetalLB's names, so dashboards and Deckhouse alerts keep working.

Controller: ``metallb_allocator_addresses_total`` / ``..._in_use_total`` and the per-family
``metallb_allocator_ipv{4,6}_addresses[_in_use]_total`` per pool; both processes:
``metallb_k8s_client_config_loaded_bool`` and ``metallb_k8s_client_config_stale_bool``
(the names MetalLB uses for "configuration parsed" and "running on the last good config",
which the Deckhouse alerts D8MetalLBConfigNotLoaded / ConfigStale read). Speaker:
``metallb_speaker_announced{service,protocol,node,ip}`` = 1 for what the node announces;
the L2 announcer's and the FRR backend's own collectors sit in the same registry.

Each process owns one registry (tests make their own); ``serve`` exposes it over HTTP on
``HOST:PORT``, localhost by default.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from prometheus_client import CollectorRegistry, Gauge, start_http_server

from orchestrator.core.alloc.result import PoolStats


def serve(address: str, registry: CollectorRegistry) -> None:
    """Start the HTTP endpoint in a daemon thread. ``address`` is ``HOST:PORT``."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"metrics address must be HOST:PORT, got {address!r}")
    start_http_server(int(port), addr=host.strip("[]") or "127.0.0.1", registry=registry)


class ConfigMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.loaded = Gauge(
            "metallb_k8s_client_config_loaded_bool",
            "1 if the configuration has been loaded at least once",
            registry=registry,
        )
        self.stale = Gauge(
            "metallb_k8s_client_config_stale_bool",
            "1 if running on a stale configuration because the latest one has errors",
            registry=registry,
        )

    def observe(self, *, loaded: bool, stale: bool) -> None:
        self.loaded.set(1 if loaded else 0)
        self.stale.set(1 if stale else 0)


class AllocatorMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        def gauge(name: str, doc: str) -> Gauge:
            return Gauge(name, doc, ["pool"], registry=registry)

        self.total = gauge("metallb_allocator_addresses_total", "Usable addresses per pool")
        self.in_use = gauge("metallb_allocator_addresses_in_use_total", "Addresses in use")
        self.v4_total = gauge("metallb_allocator_ipv4_addresses_total", "Usable IPv4 addresses")
        self.v6_total = gauge("metallb_allocator_ipv6_addresses_total", "Usable IPv6 addresses")
        self.v4_in_use = gauge("metallb_allocator_ipv4_addresses_in_use_total", "IPv4 in use")
        self.v6_in_use = gauge("metallb_allocator_ipv6_addresses_in_use_total", "IPv6 in use")
        self._pools: set[str] = set()

    def publish(self, pools: Mapping[str, PoolStats]) -> None:
        for name, s in pools.items():
            self.total.labels(pool=name).set(s.total)
            self.in_use.labels(pool=name).set(s.in_use)
            self.v4_total.labels(pool=name).set(s.ipv4_total)
            self.v6_total.labels(pool=name).set(s.ipv6_total)
            self.v4_in_use.labels(pool=name).set(s.ipv4_in_use)
            self.v6_in_use.labels(pool=name).set(s.ipv6_in_use)
        for gone in self._pools - pools.keys():
            for g in (
                self.total,
                self.in_use,
                self.v4_total,
                self.v6_total,
                self.v4_in_use,
                self.v6_in_use,
            ):
                g.remove(gone)
        self._pools = set(pools)


class SpeakerMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.announced = Gauge(
            "metallb_speaker_announced",
            "Service IPs this node announces (1), by protocol",
            ["service", "protocol", "node", "ip"],
            registry=registry,
        )
        self._current: set[tuple[str, str, str, str]] = set()

    def publish(self, announced: Iterable[tuple[str, str, str, str]]) -> None:
        wanted = set(announced)
        for labels in wanted - self._current:
            self.announced.labels(*labels).set(1)
        for labels in self._current - wanted:
            self.announced.remove(*labels)
        self._current = wanted
