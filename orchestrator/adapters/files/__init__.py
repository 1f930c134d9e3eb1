"""The file adapter: the standalone twin of ``orchestrator.adapters.kube``, file for file.

- ``manifests``: every YAML document of a directory (``load_directory``), or of one text;
- ``source``: ``ManifestSource``, the manifests plus recorded status as a ``ClusterSnapshot``;
- ``status``: ``FileStatuses``, a ``StatusRecord`` per Service in the state directory;
- ``leases``: ``FileLeases``, this node's lease file and everyone's ``LeaseRecord``;
- ``store``: ``StateDir``, status + leases as the ``Store`` the loops get;
- ``watch``: ``Watcher``, filesystem events as the loop's ``Waker``;
- ``atomic``: the temporary-file-and-rename write every file here goes through.
"""
