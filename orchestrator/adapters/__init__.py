"""Edges around the pure core: files, Kubernetes, netlink, raw sockets, network namespaces."""
