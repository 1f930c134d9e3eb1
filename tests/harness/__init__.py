"""Test rigs shared across tiers; product code never imports them (an import-linter contract).

- ``prereq``: ``require_*``, a skip only where a prerequisite cannot exist, a failure under CI;
- ``polling``: bounded waits that fail with what they waited for;
- ``lan``: the L2 lan of two nodes and a client on a bridge, and a raw-socket prober in it;
- ``bgp_lab``: FRR routers and three speakers on either backend, the routers as judges;
- ``cluster``: a real etcd + kube-apiserver, the chart installed by Helm, our processes run
  as the chart runs them (the cluster tier);
- ``audit``: that server's audit log read back: who asked for what, what it answered;
- ``realapi``: the emulator's test-facing calls (apply, remove, get, kubeconfig per
  component) on the real server;
- ``apiserver``: the Kubernetes API emulator, for what a real server cannot do on demand
  (fail one chosen request): the contract tier, and the kube benchmark.
"""
