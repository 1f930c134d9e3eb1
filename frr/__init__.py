"""FRR backend: intent -> FRR model, render, incremental apply through vtysh, status.

What the speaker wires (``mlb speaker --backend frr``)::

    from frr import FrrDriver, Vtysh
    from orchestrator.routing.worker import RoutingWorker

    driver = FrrDriver(Vtysh(vty_socket="/var/run/frr"))   # or Vtysh(pathspace="NAME")
    worker = RoutingWorker(driver, metrics=RoutingMetrics(registry))
    worker.start()
    worker.apply(bgp_intent(snapshot, assignments, node=NODE))   # on every change

    render_for_node(snapshot, assignments, NODE)   # complete frr.conf (mlb render frr)

Modules, by role (the same file names as in ``gobgp/``): ``translate`` (intent -> model),
``model`` (the FRR objects), ``diff`` (model diff -> command batch), ``client`` (the vtysh
runner and the daemons' identity), ``status`` (JSON -> session status), ``driver`` (the
routing contract), ``daemon`` (starting FRR's daemons: tests, lab, sidecar), ``errors``;
and FRR's own: ``names`` (owned names, tags, validation), ``owned`` (comparable model of
what we own; running-config parser), ``render`` (jinja2). See docs/bgp-frr.md.
"""

from frr.client import Vtysh
from frr.driver import FrrDriver
from frr.errors import ConversionError, VtyshCommandError, VtyshError, VtyshUnavailable
from frr.model import FrrView
from frr.render import render_config, render_for_node
from frr.translate import build_view

__all__ = [
    "ConversionError",
    "FrrDriver",
    "FrrView",
    "Vtysh",
    "VtyshCommandError",
    "VtyshError",
    "VtyshUnavailable",
    "build_view",
    "render_config",
    "render_for_node",
]
