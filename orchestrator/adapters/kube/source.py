"""``KubeSource``: the informers' caches as a ``ClusterSnapshot``, like ``ManifestSource``.

Same interface and the same rules as the standalone source (``files/source.py``): ``load``
returns a ``Loaded``; every cached object becomes one ``(source, dict)`` document, source
``Kind/namespace/name`` (or ``Kind/name``); ``core.parse.isolation.isolate`` does all the
validation under the one isolation rule (docs/design.md §16): an invalid object is left out,
or runs on its last good version, and everything else keeps working, at first start too.
The result is marked stale when anything runs on a last good version.

Differences from the files: Services already carry their real ``status`` and annotations,
so no overlay is needed; ``statuses`` is read back from them in ``StatusRecord.to_dict``
shape (only what the controller writes: ingress IPs, our annotations and conditions) so the
controller can skip unchanged writes. Until every informer has listed once, a snapshot
would be partial (a Service without its pool, hence "no pool"): ``load`` then returns the
last good snapshot, or nothing.

**Settings Secret** (``settings``: ``namespace/name``): the Helm chart puts the values that
mirror Deckhouse's ModuleConfig ``metallb`` settings into a Secret (a Secret because BGP
passwords are among them), key ``moduleconfig.yaml``, a whole ModuleConfig document. It is
read like a manifest file (source ``Secret/<ns>/<name>:moduleconfig.yaml#1``); a YAML error
there keeps the last good documents of that Secret (``unreadable``). With the Secret
present, a ModuleConfig ``metallb`` in the cluster (Deckhouse's own module) is ignored with
a warning: two would be "defined again".

**Parse cache**: Lease renewals wake the loop every second but change no configuration;
while the informers' ``generation`` (every kind but Leases) stands still, ``load`` returns
its last result without parsing again. When something did change, the documents are the
informers' own objects (``Informer.shared``, no copy) and a ``ParseMemo`` reuses the parse
of every Service and EndpointSlice that is still the same object: a change costs the config
kinds plus the objects that changed, not the whole cluster.

Only configuration objects ever run on a last good version; Services, EndpointSlices,
Nodes and Namespaces are always the current ones: a typo in a pool must not stop failover
or endpoint tracking.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from orchestrator.adapters.files.manifests import load_text
from orchestrator.adapters.kube.informer import Informers
from orchestrator.adapters.kube.resources import (
    LEASE,
    MODULE_CONFIG,
    SECRET,
    SERVICE,
    key_of,
)
from orchestrator.adapters.kube.status import OUR_CONDITIONS
from orchestrator.core.model.cluster import Annotation
from orchestrator.core.model.errors import FieldError, Severity
from orchestrator.core.parse import ParseMemo
from orchestrator.core.parse.isolation import Isolated, isolate
from orchestrator.core.parse.moduleconfig import MODULE
from orchestrator.ports import Loaded

Document = tuple[str, Mapping[str, Any]]

#: What the controller writes on a Service (``core.status.records.desired_status``).
OUR_ANNOTATIONS = (
    Annotation.ML_ALLOCATED_POOL.value,
    Annotation.HOMES.value,
    Annotation.CLASS.value,
)
#: Informers that are not configuration (read by the Store, not parsed into the snapshot).
MEMBERSHIP_KINDS = frozenset({LEASE.kind})
SETTINGS_KEY = "moduleconfig.yaml"


class KubeSource:
    def __init__(self, informers: Informers, *, settings: str | None = None) -> None:
        self.informers = informers
        self.settings = settings  # "namespace/name" of the settings Secret
        self._last_good: dict[str, Document] = {}
        self._isolated: Isolated | None = None
        self._cached: tuple[int, Loaded] | None = None
        self.memo = ParseMemo()
        self.statuses = RecordedStatuses()

    def documents(self) -> list[Document]:
        """Every cached object as ``(Kind/ns/name, object)``, in a deterministic order."""
        return self._documents()[0]

    def _documents(self) -> tuple[list[Document], list[FieldError], frozenset[str]]:
        """The documents, the problems met reading them, and the unreadable origins."""
        out: list[Document] = []
        problems: list[FieldError] = []
        unreadable: set[str] = set()
        settings: list[Document] = []
        for inf in self.informers.by_kind.values():
            if inf.resource.kind in MEMBERSHIP_KINDS:
                continue
            for o in inf.shared():
                ref = inf.resource.ref(o)
                out.append((ref, o))
                if inf.resource is SECRET and self.settings and key_of(o) == self.settings:
                    docs, errs = settings_documents(ref, o)
                    settings.extend(docs)
                    problems.extend(errs)
                    if any(e.severity is Severity.ERROR for e in errs):
                        # its last good documents stand in (isolation), not the cluster's
                        unreadable.add(f"{ref}:{SETTINGS_KEY}")
        if settings or unreadable:
            # The settings Secret is what this installation was told to use: a ModuleConfig
            # `metallb` in the cluster (Deckhouse's own module) is left to Deckhouse.
            for ref, doc in out:
                if doc.get("kind") == MODULE_CONFIG.kind and _named(doc, MODULE):
                    problems.append(
                        FieldError(
                            ref,
                            "",
                            f"ignored: the settings Secret {self.settings} is used instead",
                            Severity.WARNING,
                        )
                    )
            out = [
                d
                for d in out
                if not (d[1].get("kind") == MODULE_CONFIG.kind and _named(d[1], MODULE))
            ]
            out.extend(settings)
        return out, problems, frozenset(unreadable)

    def load(self) -> Loaded:
        generation = self.informers.generation
        if self._cached is not None and self._cached[0] == generation:
            return self._cached[1]
        loaded = self._load()
        if self.informers.synced():
            self._cached = (generation, loaded)
        return loaded

    def _load(self) -> Loaded:
        if not self.informers.synced():
            # a partial snapshot would read as "no pool" for every Service: keep the last
            if self._isolated is None:
                return Loaded(None, (), stale=True)
            return Loaded(self._isolated.snapshot, self._isolated.snapshot.problems, stale=True)
        documents, read_problems, unreadable = self._documents()
        isolated = isolate(
            documents,
            self._last_good,
            unreadable=unreadable,
            memo=self.memo,
            last_states=self._isolated.states if self._isolated is not None else None,
        )
        self._last_good = dict(isolated.last_good)
        self._isolated = isolated
        problems = (*read_problems, *isolated.snapshot.problems)
        return Loaded(
            isolated.snapshot,
            problems,
            stale=bool(isolated.held),
            statuses=self.statuses(documents),
        )


def _named(doc: Mapping[str, Any], name: str) -> bool:
    return (doc.get("metadata") or {}).get("name") == name


def settings_documents(
    ref: str, secret: Mapping[str, Any]
) -> tuple[list[Document], list[FieldError]]:
    """The ModuleConfig inside the settings Secret, read as a manifest file would be."""
    name = f"{ref}:{SETTINGS_KEY}"
    raw = (secret.get("data") or {}).get(SETTINGS_KEY)
    if raw is None:
        text = (secret.get("stringData") or {}).get(SETTINGS_KEY)  # only in manifests
        if not isinstance(text, str):
            return [], [FieldError(ref, f"data.{SETTINGS_KEY}", "is missing")]
    else:
        try:
            text = base64.b64decode(str(raw), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return [], [FieldError(ref, f"data.{SETTINGS_KEY}", "is not base64 of UTF-8 text")]
    loaded = load_text(text, name)
    return list(loaded.documents), list(loaded.problems)


class RecordedStatuses:
    """``namespace/name`` -> what is recorded on the Service, in ``StatusRecord.to_dict``
    shape; Services with nothing of ours recorded are left out.

    Kept per object and reused while the informer hands back the very same object, as
    ``ParseMemo`` does for the parse: reading 10,000 Services again took ~60 ms of every
    change."""

    def __init__(self) -> None:
        self._last: dict[str, tuple[Mapping[str, Any], str, dict[str, Any] | None]] = {}

    def __call__(self, documents: list[Document]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        seen: dict[str, tuple[Mapping[str, Any], str, dict[str, Any] | None]] = {}
        for ref, doc in documents:
            if doc.get("kind") != SERVICE.kind:
                continue
            hit = self._last.get(ref)
            if hit is None or hit[0] is not doc:
                hit = (doc, _service_key(doc), recorded_status(doc))
            seen[ref] = hit
            if hit[2] is not None:
                out[hit[1]] = hit[2]
        self._last = seen
        return out


def _service_key(doc: Mapping[str, Any]) -> str:
    key = key_of(doc)
    return key if "/" in key else f"default/{key}"


def recorded_status(doc: Mapping[str, Any]) -> dict[str, Any] | None:
    """What the controller recorded on one Service; None if nothing of ours is there."""
    meta = doc.get("metadata") or {}
    status = doc.get("status") or {}
    ingress = [
        str(i["ip"])
        for i in (status.get("loadBalancer") or {}).get("ingress") or []
        if isinstance(i, Mapping) and i.get("ip")
    ]
    annotations = {
        k: v for k, v in sorted((meta.get("annotations") or {}).items()) if k in OUR_ANNOTATIONS
    }
    conditions = [
        {k: str(c.get(k, "")) for k in ("type", "status", "reason", "message")}
        for c in status.get("conditions") or []
        if isinstance(c, Mapping) and c.get("type") in OUR_CONDITIONS
    ]
    if ingress or annotations or conditions:
        return {"ingress": ingress, "annotations": annotations, "conditions": conditions}
    return None
