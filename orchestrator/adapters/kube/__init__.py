"""The Kubernetes adapter: the in-cluster twin of ``orchestrator.adapters.files``.

- ``client``: ``KubeClient``, raw JSON over the unmodified ``kubernetes`` client, with library
  exceptions translated into ours (``errors``);
- ``resources``: the kinds we read, with their API paths;
- ``informer``: list + watch per kind into a thread-safe cache, waking the reconcile loop;
- ``source``: ``KubeSource``, the caches as the same ``ClusterSnapshot`` the files give;
- ``status``: ``KubeStatusWriter``, a ``StatusRecord`` onto a Service;
- ``leases``: this node's ``coordination.k8s.io/v1`` Lease and everyone's ``LeaseRecord``;
- ``store``: ``KubeStore``, status + leases as the ``Store`` the loops get, and the
  informers' change event as their ``Waker``.
"""
