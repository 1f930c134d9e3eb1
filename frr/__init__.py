"""FRR backend: view model, render, incremental apply through vtysh, status parsing.

Public surface (what the speaker uses)::

    from frr import FrrBackend, FrrReconciler, Vtysh
    from orchestrator.core.bgp.compute import bgp_intent

    backend = FrrBackend(Vtysh(vty_socket="/var/run/frr"), metrics=FrrMetrics())
    reconciler = FrrReconciler(backend)      # one thread: serialize, coalesce, retry, drift
    reconciler.start()
    reconciler.submit(bgp_intent(snapshot, assignments, node=NODE))   # on every change
    backend.status()                         # per-peer PeerStatus, also as metrics
    backend.stages                           # conversion / apply / running: ok + message

    render_for_node(snapshot, assignments, NODE)   # complete frr.conf (mlb render frr)

Modules: ``names`` (owned names, tags, validation), ``model`` (the FRR objects),
``translate`` (intent -> model), ``owned`` (comparable model of what we own; running-config
parser), ``diff`` (model diff -> command batch), ``client`` (the vtysh runner), ``errors``,
``driver`` (apply / drift / status), ``reconciler`` (scheduling), ``status`` (JSON ->
status, metrics), ``render`` (jinja2), ``daemon`` (FRR in a network namespace, for tests,
benchmarks and the lab). See docs/bgp-frr.md.
"""

from frr.client import Vtysh
from frr.driver import ApplyResult, DriftReport, FrrBackend, Stage, StageStatus
from frr.errors import ConversionError, VtyshCommandError, VtyshError, VtyshUnavailable
from frr.model import FrrView
from frr.reconciler import Backoff, FrrReconciler, Scheduler
from frr.render import render_config, render_for_node
from frr.status import FrrMetrics, PeerStatus
from frr.translate import build_view

__all__ = [
    "ApplyResult",
    "Backoff",
    "ConversionError",
    "DriftReport",
    "FrrBackend",
    "FrrMetrics",
    "FrrReconciler",
    "FrrView",
    "PeerStatus",
    "Scheduler",
    "Stage",
    "StageStatus",
    "Vtysh",
    "VtyshCommandError",
    "VtyshError",
    "VtyshUnavailable",
    "build_view",
    "render_config",
    "render_for_node",
]
