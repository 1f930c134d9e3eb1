"""The model the rest of the core works on, and the errors found while building it.

- ``cluster``: the parsed, validated cluster as frozen dataclasses (``ClusterSnapshot``);
- ``errors``: ``FieldError``, a problem with its object, field path and severity;
- ``addresses``: pool address entries (CIDRs, ``a-b`` ranges, single IPs);
- ``selectors``: Kubernetes label selectors.
"""
