"""The API emulator's test-facing calls (``tests/harness/apiserver.py``) on a real
kube-apiserver: what the cluster tier's tests use to play "another client" and to hand each
component its own credentials.

- ``apply(plural, obj)`` creates the object or replaces what is there, whatever version
  ``obj`` was read at (the stored ``resourceVersion`` is sent, as the emulator's ``apply``
  overwrote its store); its Namespace is created first when missing (a real server
  refuses an object in a Namespace that does not exist). An object that carries
  ``status`` gets it written through the status subresource when the write dropped it:
  the server ignores ``status`` on a create and on a replace of the main resource,
  exactly as in a cluster.
- ``remove(group, plural, key)`` deletes (gone already is fine); ``get`` reads, or None.
- ``kubeconfig(path, token=component)`` and ``client(component)``: ``controller`` and
  ``speaker`` get real tokens of the chart's ServiceAccounts (TokenRequest), so a test's
  own clients run with exactly the RBAC the chart grants; ``admin`` is the cluster admin
  (``system:masters``), for setup and for playing the user.
- ``requests(component)`` / ``forbidden(component)``: what that component asked for since
  the test began, from the server's audit log (``tests/harness/audit.py``), fenced so the
  last request is in. ``assert_rbac()``: no component that made a request got a 403.
- ``cleanup()`` after each test: the module's tests share one control plane, so every
  object of the kinds the tests and our components write goes again (Services, slices,
  Events, Leases, Nodes, our CRDs' objects; Secrets only those ``apply`` created), except
  the server's own (the ``kubernetes`` Service, the ``kube-*`` namespaces) and the Helm
  release's (labelled ``app.kubernetes.io/managed-by: Helm``: its metrics Services).
  Namespaces stay: with no namespace controller here a deleted Namespace would stay
  Terminating for good.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from orchestrator.adapters.kube import resources as r
from orchestrator.adapters.kube.client import KubeClient
from orchestrator.adapters.kube.errors import KubeConflict, KubeNotFound, KubeTransient
from orchestrator.adapters.kube.resources import Resource
from tests.harness.audit import Request, user_of
from tests.harness.cluster import CONTROLLER_SA, NAMESPACE, SPEAKER_SA, Cluster

Obj = dict[str, Any]

#: the chart's ServiceAccount of each component the tests play
ACCOUNTS = {"controller": CONTROLLER_SA, "speaker": SPEAKER_SA}
ADMIN = "admin"

KNOWN: tuple[Resource, ...] = (
    *r.SNAPSHOT_KINDS,
    r.LEASE,
    r.EVENT,
    r.SERVICE_L2_STATUS,
    r.SERVICE_BGP_STATUS,
)
#: what ``cleanup`` sweeps: every kind the tests and our components write (Secrets apart:
#: only those ``apply`` created; Namespaces stay)
SWEPT: tuple[Resource, ...] = tuple(res for res in KNOWN if res not in (r.SECRET, r.NAMESPACE))
SYSTEM_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease"})
KEPT = frozenset({"Service/default/kubernetes"})
MANAGED_BY = "app.kubernetes.io/managed-by"


class RealApi:
    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.admin = KubeClient.from_kubeconfig(str(cluster.kubeconfig), timeout=10)
        self._resources = {(res.group, res.plural): res for res in KNOWN}
        self._clients: dict[str, KubeClient] = {ADMIN: self.admin}
        self._tokens: dict[str, str] = {}
        self._namespaces: set[str] = set()
        self._secrets: set[tuple[str, str]] = set()
        self.since = cluster.audit.mark()

    # -- kinds
    def register(self, resource: Resource) -> Resource:
        """Make a kind of the test's own (a CRD it installs) known to ``apply``."""
        self._resources[(resource.group, resource.plural)] = resource
        return resource

    def install_crd(self, resource: Resource) -> Resource:
        """A CRD for ``resource`` with an open schema (a stand-in for someone else's kind,
        Deckhouse's ModuleConfig say), once it serves lists; registered for ``apply``.
        It stays for the module: CRDs are not swept."""
        kind = resource.kind
        name = f"{resource.plural}.{resource.group}"
        crd: Obj = {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": name},
            "spec": {
                "group": resource.group,
                "names": {"kind": kind, "listKind": f"{kind}List", "plural": resource.plural},
                "scope": "Namespaced" if resource.namespaced else "Cluster",
                "versions": [
                    {
                        "name": resource.version,
                        "served": True,
                        "storage": True,
                        "schema": {
                            "openAPIV3Schema": {
                                "type": "object",
                                "x-kubernetes-preserve-unknown-fields": True,
                            }
                        },
                    }
                ],
            },
        }
        self.cluster.apply([crd])
        self.cluster.kubectl("wait", "--for=condition=Established", f"crd/{name}")
        deadline = time.monotonic() + 10
        while True:  # Established, and its storage ready (lists answer 404/429 until then)
            try:
                self.admin.list(resource)
                break
            except (KubeNotFound, KubeTransient):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        return self.register(resource)

    def resource(self, group: str, plural: str) -> Resource:
        try:
            return self._resources[(group, plural)]
        except KeyError:
            raise AssertionError(f"no Resource for {group or 'core'}/{plural}") from None

    # -- the emulator's store calls
    def apply(self, plural: str, obj: Mapping[str, Any]) -> Obj:
        res = self.resource(str(obj.get("apiVersion", "")).rpartition("/")[0], plural)
        meta = dict(obj.get("metadata") or {})
        meta.pop("resourceVersion", None)
        namespace = meta.get("namespace") if res.namespaced else None
        if namespace:
            self._ensure_namespace(namespace)
        body = {k: v for k, v in res.stamp(obj).items() if k != "status"}
        try:
            current: Obj | None = self.admin.get(res, meta["name"], namespace)
        except KubeNotFound:
            current = None
        if current is None:
            out = self.admin.create(res, {**body, "metadata": meta})
            if res is r.SECRET:
                self._secrets.add((str(namespace), meta["name"]))
        else:
            meta["resourceVersion"] = current["metadata"]["resourceVersion"]
            out = self.admin.replace(res, {**body, "metadata": meta})
        if "status" in obj and out.get("status") != obj["status"]:
            out = self.admin.replace(res, {**out, "status": obj["status"]}, subresource="status")
        return res.stamp(out)

    def remove(self, group: str, plural: str, key: str) -> None:
        res = self.resource(group, plural)
        namespace, _, name = key.rpartition("/")
        with contextlib.suppress(KubeNotFound):
            self.admin.delete(res, name, namespace or None)

    def get(self, group: str, plural: str, key: str) -> Obj | None:
        res = self.resource(group, plural)
        namespace, _, name = key.rpartition("/")
        try:
            return self.admin.get(res, name, namespace or None)
        except KubeNotFound:
            return None

    def _ensure_namespace(self, name: str) -> None:
        if name in self._namespaces:
            return
        with contextlib.suppress(KubeConflict):  # 409 AlreadyExists
            self.admin.create(r.NAMESPACE, {"metadata": {"name": name}})
        self._namespaces.add(name)

    # -- credentials
    def token(self, component: str) -> str:
        if component not in self._tokens:
            if component == ADMIN:
                self._tokens[component] = self.cluster.cp.admin_token
            else:
                self._tokens[component] = self.cluster.token(ACCOUNTS[component])
        return self._tokens[component]

    def kubeconfig(self, path: Path, *, token: str = ADMIN) -> Path:
        """A kubeconfig for ``token``: a component's name (``controller``, ``speaker``)
        or ``admin``."""
        return self.cluster.cp.write_kubeconfig(path, user=token, token=self.token(token))

    def client(self, component: str = ADMIN) -> KubeClient:
        """A client with the component's own token, one per component (shared by the
        module's tests: the token is valid for two hours)."""
        if component not in self._clients:
            path = self.kubeconfig(
                self.cluster.directory / f"{component}.kubeconfig", token=component
            )
            self._clients[component] = KubeClient.from_kubeconfig(str(path), timeout=10)
        return self._clients[component]

    # -- the server's record
    def user(self, component: str) -> str:
        return user_of(ACCOUNTS[component], NAMESPACE)

    def mark(self) -> int:
        """Now, in the audit log: ``requests(component, since=mark)`` is what came after."""
        return self.cluster.audit.mark()

    def requests(self, component: str, *, since: int | None = None) -> list[Request]:
        """What ``component`` asked for since the test began (or since ``since``), in
        order, from the audit log."""
        self.cluster.audit.fence(self.client(component))
        start = self.since if since is None else since
        return self.cluster.audit.requests(self.user(component), since=start)

    def forbidden(self, component: str) -> list[str]:
        return [str(q) for q in self.requests(component) if q.code == 403]

    def assert_rbac(self) -> None:
        """No request of any component the test ran got a 403 from the server."""
        for component in sorted(set(self._clients) - {ADMIN}):
            assert self.forbidden(component) == [], component

    # -- between tests
    def begin(self) -> None:
        self.since = self.cluster.audit.mark()

    def cleanup(self) -> None:
        for res in SWEPT:
            try:
                items = self._list(res)
            except KubeNotFound:  # a CRD this module never installed
                continue
            for obj in items:
                meta = obj["metadata"]
                if (
                    meta.get("namespace") in SYSTEM_NAMESPACES
                    or res.ref(obj) in KEPT
                    or (meta.get("labels") or {}).get(MANAGED_BY) == "Helm"  # the release's
                ):
                    continue
                with contextlib.suppress(KubeNotFound):
                    self.admin.delete(res, meta["name"], meta.get("namespace"))
        for namespace, name in sorted(self._secrets):
            with contextlib.suppress(KubeNotFound):
                self.admin.delete(r.SECRET, name, namespace)
        self._secrets.clear()

    def _list(self, res: Resource) -> list[Obj]:
        """List, through the 429 "storage is (re)initializing" a CRD answers for a moment
        after it became Established (bounded)."""
        deadline = time.monotonic() + 10
        while True:
            try:
                return self.admin.list(res)[0]
            except KubeTransient:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
