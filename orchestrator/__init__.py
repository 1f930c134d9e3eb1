"""Bare-metal LoadBalancer for Kubernetes: allocation, L2 (ARP/NDP) and BGP (FRR, GoBGP).

``orchestrator.core`` is pure (no I/O); everything else is an adapter or a runtime around it.
"""

__version__ = "0.1.0"
