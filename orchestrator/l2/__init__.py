"""Layer-2 wire adapter: AF_PACKET sockets with BPF filters (``bpf``), interface discovery
and netlink watching (``interfaces``), the open links (``ports``), solicited-node
memberships (``mcast``), gratuitous timers (``garp``), counters (``stats``) and the
announcer loop that ties them to the pure decision in ``orchestrator.core.l2.wire``
(``announcer``). ``probe`` is a raw-socket ARP/NDP client for tests, benchmarks and
engineers."""

from orchestrator.l2.announcer import Announcer
from orchestrator.l2.garp import GarpTiming
from orchestrator.l2.stats import L2Collector, L2Stats

__all__ = ["Announcer", "GarpTiming", "L2Collector", "L2Stats"]
