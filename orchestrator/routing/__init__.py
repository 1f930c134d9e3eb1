"""The routing-backend contract: one port, one error vocabulary, one scheduler, one set of
metrics, for FRR and GoBGP alike.

- ``driver.RoutingDriver``: what a backend implements (``frr.driver``, ``gobgp.driver``):
  translate the intent, talk to the daemon, report; nothing about timing.
- ``errors``: invalid intent / rejected by the daemon / daemon unavailable / our bug.
- ``report``: ``ApplyReport``, ``DriftReport``, ``PeerStatus``, ``SessionState``, stages.
- ``scheduler.Scheduler``: when to apply, retry, repair, probe and read status (pure).
- ``worker.RoutingWorker``: the thread that runs a driver by those rules; it is the
  speaker's ``RoutingBackend`` port (``orchestrator.ports``).
- ``metrics.RoutingMetrics``: ``metallb_bgp_session_up`` and friends for both backends.

The CLI wires a driver into a worker (``mlb speaker --backend frr|gobgp``); the speaker
loop sees only the port. See docs/design.md §12.
"""
