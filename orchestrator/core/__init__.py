"""The pure core: model, parsing, allocation, placement, routing intent, L2 decisions.

Nothing here touches sockets, files, subprocesses, clocks or a Kubernetes client; an
import-linter contract in pyproject.toml enforces it. Time and node names come in as arguments.
"""
