"""Edges around the pure core: where the cluster lives, standalone (``files``) or in a cluster
(``kube``), the two with the same shape; network namespaces and process groups (``netns``,
``procs``) for the lab, the FRR launcher and tests."""
