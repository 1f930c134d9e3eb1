"""Test rigs shared across tiers; product code never imports them (an import-linter contract).

- ``prereq``: ``require_*``, a skip only where a prerequisite cannot exist, a failure under CI;
- ``polling``: bounded waits that fail with what they waited for;
- ``lan``: the L2 lan of two nodes and a client on a bridge, and a raw-socket prober in it;
- ``bgp_lab``: FRR routers and three speakers on either backend, the routers as judges;
- ``apiserver``: the Kubernetes API emulator the adapter's contract tests talk HTTP to.
"""
