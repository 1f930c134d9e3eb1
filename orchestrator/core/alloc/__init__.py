"""Allocation: which IPs each Service gets, from which pool, and why not when it gets none.

``allocator.Allocator`` runs one whole snapshot through the steps its docstring lists:
``classes`` picks a MetalLoadBalancerClass, ``restore`` gives back what the status shows,
``new`` fills what is missing, over the per-pool bookkeeping of ``pool`` and ``state``, the
sharing rules of ``sharing`` and the pool order of ``pool_choice``; ``result`` is what it
hands back (one ``Outcome`` per Service, with reasons).
"""
