"""GoBGP backend: drive a local gobgpd through its gRPC API, sending only deltas.

What the speaker wires (``mlb speaker --backend gobgp``)::

    from gobgp import GobgpDriver
    from orchestrator.routing.worker import RoutingWorker

    driver = GobgpDriver("unix:///run/gobgpd.sock")      # or "127.0.0.1:50051"
    worker = RoutingWorker(driver, metrics=RoutingMetrics(registry))
    worker.start()
    worker.apply(bgp_intent(snapshot, assignments, node=NODE))   # on every change

    driver.apply_desired(desired)   # the GoBGP model directly (tests, benchmarks)

Modules, by role (the same file names as in ``frr/``): ``translate`` (intent -> model),
``model`` (the desired state), ``diff`` (pure diff and policy layout), ``client`` (gRPC with
deadlines and error translation; the daemon's identity), ``status`` (sessions), ``driver``
(the routing contract), ``daemon`` (starting a bare gobgpd), ``errors``; and GoBGP's own:
``messages`` (model <-> API messages). The API messages are generated at build time from
``gobgp/proto`` into ``gobgp._generated`` (see hatch_build.py).
"""

from gobgp.driver import GobgpDriver
from gobgp.errors import (
    ConfigRejected,
    GobgpBackendError,
    InvalidDesiredState,
    TransientBackendError,
)
from gobgp.model import (
    Community,
    Family,
    GobgpDesired,
    GobgpGlobal,
    GobgpPath,
    GobgpPeer,
    LargeCommunity,
    validate,
)

__all__ = [
    "Community",
    "ConfigRejected",
    "Family",
    "GobgpBackendError",
    "GobgpDesired",
    "GobgpDriver",
    "GobgpGlobal",
    "GobgpPath",
    "GobgpPeer",
    "InvalidDesiredState",
    "LargeCommunity",
    "TransientBackendError",
    "validate",
]
