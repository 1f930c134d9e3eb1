"""BGP intent: what one node announces, to which peers, with which attributes, and why
every other Service IP is withheld (``compute.bgp_intent``).

- ``reasons``: why an IP is withheld (``BGPReason``) and config problems (``Problem``);
- ``intent``: the answer, ``NodeBGPIntent``, the contract the FRR and GoBGP backends translate;
- ``peers``: the sessions a node opens;
- ``advertise``: advertisements that carry an IP, its prefix, and merged attributes;
- ``compute``: ``bgp_intent``, the per-IP checks that tie them together.
"""
