"""Where the controller and the speakers read and write: files or a Kubernetes API.

Standalone: ``--source DIR --state STATE`` (manifests watched with watchdog, state in files).
In a cluster: ``--kubeconfig PATH`` or ``--in-cluster`` (informers on every kind we read;
Secrets, MetalLB's objects and the speakers' Leases only in ``--namespace``; Service status
through the status subresource; ``--settings-secret`` names the Secret holding the
ModuleConfig-style settings the Helm chart renders).
"""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from orchestrator.ports import Source, Store, Waker

if TYPE_CHECKING:
    from orchestrator.adapters.kube.client import KubeClient
    from orchestrator.adapters.kube.informer import Informers


def add_arguments(p: argparse.ArgumentParser) -> None:
    files = p.add_argument_group("standalone (files)")
    files.add_argument("--source", metavar="DIR", help="directory of manifests to watch")
    files.add_argument(
        "--state", metavar="STATE", help="state directory shared by controller and speakers"
    )
    kube = p.add_argument_group("in a cluster (Kubernetes API)")
    kube.add_argument("--kubeconfig", metavar="PATH", help="kubeconfig file to use")
    kube.add_argument("--in-cluster", action="store_true", help="use the pod's service account")
    kube.add_argument(
        "--namespace",
        default="metallb-system",
        help="our namespace: Leases, Secrets and MetalLB's objects (default metallb-system)",
    )
    kube.add_argument(
        "--settings-secret",
        metavar="NAME",
        help="Secret in --namespace whose key moduleconfig.yaml holds a ModuleConfig "
        "(what the Helm chart renders from its values)",
    )


@dataclass
class Where:
    source: Source
    store: Store
    waker: Waker
    #: in a cluster: the client, for Events and the per-node status objects
    client: KubeClient | None = None
    #: Service ``namespace/name`` -> its uid, from the informer cache (Events name it)
    uid_of: Callable[[str], str | None] = lambda key: None


def open_where(p: argparse.ArgumentParser, args: argparse.Namespace) -> Where:
    """The source, the store and the waker the arguments name (exits on a bad mix)."""
    standalone = args.source is not None or args.state is not None
    cluster = args.kubeconfig is not None or args.in_cluster
    if standalone == cluster or (standalone and not (args.source and args.state)):
        p.error("give either --source DIR --state STATE, or --kubeconfig PATH / --in-cluster")
    if standalone:
        from orchestrator.adapters.files.source import ManifestSource
        from orchestrator.adapters.files.store import StateDir
        from orchestrator.adapters.files.watch import Watcher

        state = StateDir(args.state)
        state.track()  # the watcher names what changed: reads touch only that
        waker = Watcher(Path(args.source), state.root, on_path=state.notice)
        return Where(ManifestSource(Path(args.source), state), state, waker)
    from orchestrator.adapters.kube.client import KubeClient
    from orchestrator.adapters.kube.leases import KubeLeases
    from orchestrator.adapters.kube.source import KubeSource
    from orchestrator.adapters.kube.status import KubeStatusWriter
    from orchestrator.adapters.kube.store import InformerWaker, KubeStore

    client = (
        KubeClient.in_cluster() if args.in_cluster else KubeClient.from_kubeconfig(args.kubeconfig)
    )
    informers = cluster_informers(client, args.namespace)
    leases = KubeLeases(client, namespace=args.namespace, cache=informers.by_kind["Lease"])
    store = KubeStore(KubeStatusWriter(client), leases)
    settings = f"{args.namespace}/{args.settings_secret}" if args.settings_secret else None
    services = informers.by_kind["Service"]

    def uid_of(key: str) -> str | None:
        obj = services.get(key)
        uid = (obj or {}).get("metadata", {}).get("uid")
        return str(uid) if uid else None

    source = KubeSource(informers, settings=settings)
    return Where(source, store, InformerWaker(informers), client=client, uid_of=uid_of)


def cluster_informers(client: KubeClient, namespace: str) -> Informers:
    """Every kind a snapshot needs plus the speakers' Leases, scoped as MetalLB scopes them."""
    from orchestrator.adapters.kube.informer import Informers
    from orchestrator.adapters.kube.leases import LABEL_SELECTOR
    from orchestrator.adapters.kube.resources import LEASE, NAMESPACED_CONFIG, SNAPSHOT_KINDS

    scoped = {r.kind: namespace for r in (*NAMESPACED_CONFIG, LEASE)}
    return Informers(
        client,
        (*SNAPSHOT_KINDS, LEASE),
        namespaces=scoped,
        selectors={LEASE.kind: LABEL_SELECTOR},
        quiet=frozenset({LEASE.kind}),
    )


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT: the long-running commands stop cleanly on it."""
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    return stop
