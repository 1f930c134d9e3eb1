"""GoBGP backend: drive a local gobgpd through its gRPC API, sending only deltas.

Public surface (what the speaker uses)::

    from gobgp import GobgpBackend, GobgpDesired, GobgpGlobal, GobgpPeer, GobgpPath

    backend = GobgpBackend("unix:///run/gobgpd.sock")   # or "127.0.0.1:50051"
    report = backend.apply(desired)                     # ApplyReport
    status = backend.status()                           # sessions + announced counts

Modules: ``model`` (desired state), ``translate`` (intent -> model), ``diff`` (pure diff
and policy layout), ``messages`` (model <-> API messages), ``client`` (gRPC with deadlines
and error translation), ``driver`` (apply/status), ``daemon`` (starting a bare gobgpd),
``errors``. The API messages are
generated at build time from ``gobgp/proto`` into ``gobgp._generated`` (see hatch_build.py).
"""

from gobgp.diff import SessionState
from gobgp.driver import ApplyReport, GobgpBackend, GobgpStatus, PeerStatus
from gobgp.errors import ConfigRejected, GobgpBackendError, TransientBackendError
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
    "ApplyReport",
    "Community",
    "ConfigRejected",
    "Family",
    "GobgpBackend",
    "GobgpBackendError",
    "GobgpDesired",
    "GobgpGlobal",
    "GobgpPath",
    "GobgpPeer",
    "GobgpStatus",
    "LargeCommunity",
    "PeerStatus",
    "SessionState",
    "TransientBackendError",
    "validate",
]
