"""Announcer counters: plain dicts on the hot path, Prometheus at scrape time.

The receive loop only does ``counter[key] += 1`` on dicts it alone writes; a
``prometheus_client`` collector copies them when scraped (``dict.copy`` runs without
releasing the GIL, so the copy is consistent) and converts packed addresses to text there,
not per frame.

Names follow MetalLB (``internal/layer2/stats.go``), labelled by ``ip``:

- ``metallb_layer2_requests_received``: requests for an IP we announce on that interface;
- ``metallb_layer2_responses_sent``: answers actually sent;
- ``metallb_layer2_gratuitous_sent``: gratuitous rounds, one per IP, interface and round
  (an ARP round is two frames, request and reply, as in MetalLB).

MetalLB's Go client exposes them under exactly these names, without the ``_total`` suffix
that ``prometheus_client`` forces on counters; to keep dashboards working they are exposed
untyped under the exact name (PromQL's ``rate`` does not look at the type). Our additions
are proper counters: ``mlb_layer2_dropped_total{iface,reason}`` for every frame left
unanswered, by ``DropReason``, and ``mlb_layer2_send_errors_total{iface}``.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, Metric

from orchestrator.core.l2.wire import DropReason

_METALLB = (
    ("requests_received", "Number of layer2 requests received for owned IPs"),
    ("responses_sent", "Number of layer2 responses sent for owned IPs"),
    ("gratuitous_sent", "Number of gratuitous layer2 packets sent for owned IPs"),
)


def ip_text(packed: bytes) -> str:
    return str(ipaddress.ip_address(packed))


class L2Stats:
    """Counters written by the announcer's loop thread only."""

    def __init__(self) -> None:
        self.requests_received: defaultdict[bytes, int] = defaultdict(int)
        self.responses_sent: defaultdict[bytes, int] = defaultdict(int)
        self.gratuitous_sent: defaultdict[bytes, int] = defaultdict(int)
        self.dropped: defaultdict[tuple[str, DropReason], int] = defaultdict(int)
        self.send_errors: defaultdict[str, int] = defaultdict(int)

    def summary(self) -> dict[str, Any]:
        """Totals for logs and the CLI's exit line: sums over IPs, drops by reason."""
        drops: dict[str, int] = {}
        for (_, reason), count in self.dropped.copy().items():
            drops[reason.value] = drops.get(reason.value, 0) + count
        return {
            "requests_received": sum(self.requests_received.copy().values()),
            "responses_sent": sum(self.responses_sent.copy().values()),
            "gratuitous_sent": sum(self.gratuitous_sent.copy().values()),
            "dropped": dict(sorted(drops.items())),
            "send_errors": sum(self.send_errors.copy().values()),
        }


class L2Collector:
    """A ``prometheus_client`` collector over one ``L2Stats`` (register it once)."""

    def __init__(self, stats: L2Stats) -> None:
        self._stats = stats

    def describe(self) -> list[Metric]:
        return []  # unchecked collector: names are fixed, no need to collect at register

    def collect(self) -> Iterator[Metric]:
        for attr, doc in _METALLB:
            name = f"metallb_layer2_{attr}"
            family = Metric(name, doc, "unknown")
            counts: dict[bytes, int] = getattr(self._stats, attr).copy()
            for packed, value in sorted(counts.items()):
                family.add_sample(name, {"ip": ip_text(packed)}, value)
            yield family
        dropped = CounterMetricFamily(
            "mlb_layer2_dropped",
            "Frames that reached the announcer and got no answer, by reason",
            labels=["iface", "reason"],
        )
        for (iface, reason), value in sorted(self._stats.dropped.copy().items()):
            dropped.add_metric([iface, reason.value], value)
        yield dropped
        errors = CounterMetricFamily(
            "mlb_layer2_send_errors", "Frames the kernel refused to send", labels=["iface"]
        )
        for iface, value in sorted(self._stats.send_errors.copy().items()):
            errors.add_metric([iface], value)
        yield errors
