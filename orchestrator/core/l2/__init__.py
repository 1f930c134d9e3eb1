"""L2: which node answers ARP/NDP for each IP, and how each frame on the wire is answered.

- ``scope``: where an L2 IP may live and which of those nodes are eligible now;
- ``placement``: the sticky home node of every L2 IP, decided by the controller;
- ``announce``: who announces an IP right now, decided the same way on every node;
- ``intent``: what one node announces, and why it does not announce the rest;
- ``wire``: the answer-or-drop decision for every received frame, and the frames themselves.
"""
