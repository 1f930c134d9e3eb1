"""The lab: the whole system on one machine, in network namespaces (``mlb lab``).

One module per concept: ``config`` (names, addresses), ``topology`` (namespaces and
links), ``manifests`` (the lab's Services and config), ``procs`` (detached processes and
pidfiles), ``frrd`` (FRR daemons), ``nodes`` (what runs on a node, and the controller),
``pod`` (the HTTP stand-in for a pod), ``client`` and ``router`` (looking from the client
and at the router), ``observe``, ``converge``, ``table``, ``status``, ``up``, ``down``,
``failover`` and ``demo``. See docs/lab.md.

Kept free of imports: ``python -m orchestrator.lab.pod`` runs once per node.
"""
