"""The pure core: model, parsing, allocation, L2 placement and wire decisions, BGP intent.

Nothing here touches sockets, files, subprocesses, clocks or a Kubernetes client; an
import-linter contract in pyproject.toml enforces it. Time and node names come in as arguments.

One subpackage per concept, each above the ones it uses (an import-linter layers contract):

- ``plan`` (the controller's whole decision) and ``status`` (what is recorded on a Service);
- ``alloc`` (which IPs a Service gets), ``l2`` (which node answers ARP/NDP for an IP, and how
  each frame is answered), ``bgp`` (what a node announces, to which peers, with which
  attributes);
- ``eligibility`` (may this node announce this Service's IPs: shared by L2 and BGP),
  ``liveness`` (speaker leases, the controller's leader), ``parse`` (raw documents into the
  model, every error with its field path);
- ``model`` (the validated cluster, its errors, addresses and selectors).
"""
