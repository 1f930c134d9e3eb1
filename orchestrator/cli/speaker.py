"""``mlb speaker --node NAME``: one node's speaker, standalone (``--source DIR --state
STATE``) or in a cluster (``--kubeconfig PATH`` / ``--in-cluster``).

Renews the node's lease in STATE every second, decides locally what the node announces,
answers ARP/NDP for its L2 IPs (unless ``--no-l2``) and drives a BGP backend:

- ``--backend frr`` with ``--frr-socket-dir DIR`` (vty sockets of a daemon set, e.g. a
  sidecar) or ``--frr-pathspace NAME`` (daemons started with ``-N NAME``);
- ``--backend gobgp`` with ``--gobgp-api HOST:PORT`` or ``unix:///path`` (a bare gobgpd
  started with only ``--api-hosts``);
- ``--backend none`` (default): L2 only.

SIGTERM/SIGINT: withdraw L2 answers, release the lease (peers take over at once), exit 0.
"""

from __future__ import annotations

import argparse
import ipaddress
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry

from orchestrator.cli._where import add_arguments, open_where, stop_on_signals
from orchestrator.log import Logger
from orchestrator.ports import L2Port, RoutingBackend
from orchestrator.routing.driver import RoutingDriver
from orchestrator.routing.metrics import RoutingMetrics
from orchestrator.routing.worker import RoutingWorker
from orchestrator.runtime.metrics import serve
from orchestrator.runtime.speaker import Speaker

#: ``orchestrator.l2.priority.MODES``, spelled here so that parsing the command line does not
#: import the L2 stack (a unit test keeps the two equal).
PRIORITIES = ("rt", "nice", "none")


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "speaker", help="announce this node's service IPs over L2 and BGP (standalone: files)"
    )
    p.add_argument("--node", required=True, help="this node's name (as in the Node object)")
    add_arguments(p)
    p.add_argument(
        "--backend",
        choices=("none", "frr", "gobgp"),
        default="none",
        help="BGP backend (default: none, L2 only)",
    )
    p.add_argument("--frr-socket-dir", metavar="DIR", help="FRR vty socket directory")
    p.add_argument("--frr-pathspace", metavar="NAME", help="FRR pathspace (daemons run -N NAME)")
    p.add_argument(
        "--gobgp-api",
        metavar="ADDR",
        default="127.0.0.1:50051",
        help="gobgpd gRPC API: HOST:PORT or unix:///path (default 127.0.0.1:50051)",
    )
    p.add_argument(
        "--router-id",
        type=ipaddress.IPv4Address,
        metavar="IP",
        help="GoBGP router ID when no BGPPeer sets one (default: from node name)",
    )
    p.add_argument("--no-l2", action="store_true", help="do not answer ARP/NDP")
    p.add_argument(
        "--interface",
        "-i",
        action="append",
        default=None,
        metavar="IFACE",
        help="answer ARP/NDP only on these interfaces (repeatable; default: every "
        "eligible interface minus MetalLB's exclusion list)",
    )
    p.add_argument(
        "--lease-duration",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="others treat this node as dead this long after its last renewal (default 2)",
    )
    p.add_argument(
        "--renew-interval",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="lease renewal period (default 1)",
    )
    p.add_argument(
        "--gratuitous-refresh",
        type=float,
        default=None,
        metavar="SECONDS",
        help="re-send gratuitous ARP/NA for every announced IP this often (default: off)",
    )
    p.add_argument(
        "--announcer-priority",
        choices=PRIORITIES,
        default="rt",
        help="scheduling priority of the ARP/NDP announcer process: rt (SCHED_RR), nice, "
        "none (default rt; needs CAP_SYS_NICE, falls back to a weaker mode without it)",
    )
    p.add_argument(
        "--metrics-address",
        default="127.0.0.1:7474",
        metavar="HOST:PORT",
        help="serve Prometheus metrics here (default 127.0.0.1:7474; '' disables)",
    )
    p.set_defaults(func=run, parser=p)


def _routing(
    args: argparse.Namespace, registry: CollectorRegistry
) -> tuple[RoutingBackend | None, list[Callable[[], object]]]:
    """The backend (a driver run by the routing worker) and what to call on exit."""
    driver: RoutingDriver
    if args.backend == "frr":
        from frr.client import Vtysh
        from frr.driver import FrrDriver

        driver = FrrDriver(Vtysh(pathspace=args.frr_pathspace, vty_socket=args.frr_socket_dir))
    elif args.backend == "gobgp":
        from gobgp.driver import GobgpDriver

        driver = GobgpDriver(args.gobgp_api, router_id=args.router_id)
    else:
        return None, []
    worker = RoutingWorker(driver, metrics=RoutingMetrics(registry))
    worker.start()
    return worker, [worker.stop, driver.close]


def run(args: argparse.Namespace) -> int:
    where = open_where(args.parser, args)  # first: a bad mix exits at once
    source, store, waker = where.source, where.store, where.waker
    log = Logger(f"speaker/{args.node}")
    events, announced = None, None
    if where.client is not None:
        from orchestrator.adapters.kube.announced import KubeAnnounced
        from orchestrator.adapters.kube.events import KubeEvents

        events = KubeEvents(
            where.client,
            component="metallb-speaker",
            host=args.node,
            uid_of=where.uid_of,
            on_error=lambda msg: log("eventsFailed", level="warning", msg=msg),
        )
        announced = KubeAnnounced(
            where.client,
            namespace=args.namespace,
            node=args.node,
            on_error=lambda msg: log("statusFailed", level="warning", msg=msg),
        )
        events.start()
        announced.start()
    registry = CollectorRegistry()
    l2: L2Port | None = None
    announcer = None
    if not args.no_l2:
        from orchestrator.l2 import L2Collector
        from orchestrator.l2.priority import Priority
        from orchestrator.l2.process import AnnouncerProcess

        # its own process: the GIL and the garbage collections of the caches stay here
        announcer = AnnouncerProcess(
            interfaces=args.interface,
            refresh=args.gratuitous_refresh,
            quiet_after=args.lease_duration,
            priority=Priority(args.announcer_priority),
        )
        announcer.start()
        registry.register(L2Collector(announcer.stats))
        l2 = announcer
    bgp, to_stop = _routing(args, registry)
    state = None
    if where.client is not None:
        from orchestrator.cli._config_state import StatusObjects

        # its ConfigurationState speaker-<node>, from the loop's own loads
        state = StatusObjects(where, args.namespace, log, node=args.node)
    speaker = Speaker(
        args.node,
        state.recording if state is not None else source,
        store,
        l2=l2,
        bgp=bgp,
        lease_duration=args.lease_duration,
        renew_interval=args.renew_interval,
        log=log,
        registry=registry,
        events=events,
        announced=announced,
    )
    stop = stop_on_signals()
    if args.metrics_address:
        serve(args.metrics_address, registry)
    if state is not None:
        state.start()
    try:
        speaker.run(stop, waker)
    finally:
        if state is not None:
            state.stop()
        if announcer is not None:
            announcer.stop()
        for close in to_stop:
            close()
        if announced is not None:
            announced.stop()  # this node announces nothing now: its status objects go
        if events is not None:
            events.stop()
    return 0
