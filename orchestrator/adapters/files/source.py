"""The standalone snapshot source: manifests from a directory plus state from files.

Produces the same ``ClusterSnapshot`` as the Kubernetes adapter (``kube/source.py``),
under the same isolation rule (``isolation.py``, ``core.parse.isolation``): an invalid
object is left out, or runs on its last good version, and everything else keeps working,
at first start too; a file that cannot be read keeps its last good documents. The
snapshot is marked stale when anything runs on a last good version. Errors in a Service's
own fields touch nothing else: the parser keeps such a Service with its status IPs (the
allocator holds them).

A file saved in place is truncated first and written next. A read between the two sees an
empty file, which is a valid "no objects here", and the controller would delete that file's
Services and free their IPs. So an edit is applied only once the manifests have been quiet
for ``settle`` seconds (``ManifestSource``); until then the previous read stands and
``Loaded.retry_in`` tells the loop when to look again.

Every lease renewal wakes every process (``watch.py``), so the YAML is parsed again only
when a manifest file changed (``fingerprint``), and then only the files whose text changed
(``DirectoryReader``): inside the fingerprint's "racy" window every pass reads the text
again, but a text equal to the last one is not parsed again.

``overlay`` puts the recorded status and annotations (``status.py``) onto the Service
manifests before they are parsed, so the parser reads exactly what it would read from a
Kubernetes API object.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from orchestrator.adapters.files.isolation import FileIsolation
from orchestrator.adapters.files.manifests import DirectoryReader, manifest_files
from orchestrator.adapters.files.manifests import Loaded as FilesLoaded
from orchestrator.adapters.files.store import StateDir
from orchestrator.core.model.errors import FieldError
from orchestrator.core.parse.leaves import ParseMemo
from orchestrator.ports import Loaded

Document = tuple[str, Mapping[str, Any]]


#: A file changed less than this long ago may change again within the same timestamp tick
#: (the kernel's file clock is coarse): such a directory is always re-read ("racy git").
_RACY_NS = 2_000_000_000


def fingerprint(directory: Path) -> tuple[tuple[str, int, int, int, int], ...] | None:
    """Name, inode, size, mtime and ctime of every entry; None: re-read to be safe."""
    now = time.time_ns()
    entries = []
    try:
        with os.scandir(directory) as it:
            for entry in it:
                st = entry.stat()
                if now - max(st.st_mtime_ns, st.st_ctime_ns) < _RACY_NS:
                    return None
                entries.append((entry.name, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
        dir_st = directory.stat()
    except OSError:
        return None
    if now - dir_st.st_mtime_ns < _RACY_NS:
        return None
    return tuple(sorted(entries))


#: An edit is applied once the manifests have been quiet this long (seconds): long enough
#: for a writer preempted between truncating and writing a file on a loaded machine.
SETTLE = 0.25
#: A directory that never goes quiet is read anyway after this long (seconds).
SETTLE_MAX = 2.0


def newest_change(directory: Path) -> int | None:
    """The latest mtime (ns) of the directory and its manifest files; None if unreadable.

    The directory's own mtime covers files created, removed or renamed into place."""
    try:
        newest = directory.stat().st_mtime_ns
        for path in manifest_files(directory):
            newest = max(newest, path.stat().st_mtime_ns)
    except OSError:
        return None
    return newest


class ManifestSource:
    """Reads the manifests on every ``load``, but parses the YAML again only when a file
    changed (``fingerprint``): every lease renewal wakes every process, and parsing
    unchanged YAML was ~90 % of a reconcile (~18 ms of ~20 ms for the lab's few files).

    A change younger than ``settle`` is not read yet (see the module docstring): the
    previous read is used, or, before the first read, nothing (``snapshot=None``).
    ``clock`` gives wall-clock ns, the clock file times are in."""

    def __init__(
        self,
        directory: Path | str,
        state: StateDir,
        *,
        settle: float = SETTLE,
        settle_max: float = SETTLE_MAX,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.directory = Path(directory)
        self.state = state
        self.settle = settle
        self.settle_max = settle_max
        self._clock = clock
        self._damaged: tuple[FieldError, ...] = ()
        self._files: FilesLoaded | None = None
        self._reader = DirectoryReader(self.directory)
        self._memo = ParseMemo()  # unchanged documents are not parsed again
        self._overlaid: dict[str, tuple[object, object, Document]] = {}
        self._isolation = FileIsolation(self._overlay, memo=self._memo)
        self._files_key: object = None
        self._held_since: float | None = None
        self._loaded: tuple[FilesLoaded, Mapping[str, Any], Loaded] | None = None

    def _settling(self) -> float | None:
        """Seconds until the manifests have been quiet for ``settle``; None: read them now."""
        newest = newest_change(self.directory)
        if newest is None or self.settle <= 0:
            return None
        remaining = self.settle - (self._clock() - newest) / 1e9
        if remaining <= 0:
            self._held_since = None
            return None
        held_since = time.monotonic() if self._held_since is None else self._held_since
        self._held_since = held_since
        if time.monotonic() - held_since >= self.settle_max:
            return None  # never quiet (or a clock gone backwards): read what is there
        return min(remaining, self.settle)

    def _read(self) -> FilesLoaded:
        key = fingerprint(self.directory)
        if key is None or key != self._files_key or self._files is None:
            self._files = self._reader.read()
            self._files_key = key
        return self._files

    def load(self) -> Loaded:
        retry_in = self._settling()
        statuses = self.state.statuses()
        if retry_in is not None and self._files is None:
            return Loaded(None, statuses=statuses, retry_in=retry_in)
        # while an edit settles, the previous read stands
        files = self._files if retry_in is not None and self._files is not None else self._read()
        damaged = self.state.status_problems()  # records kept at their last good version
        if (
            self._loaded is not None
            and self._loaded[0] is files
            and (self._loaded[1] is statuses or self._loaded[1] == statuses)
            and self._damaged == damaged
        ):
            # nothing read changed: the same result, so consumers may skip their work too
            return replace(self._loaded[2], retry_in=retry_in)
        loaded = self._parse(files, statuses, retry_in)
        loaded = replace(loaded, problems=(*loaded.problems, *damaged))
        self._loaded, self._damaged = (files, statuses, loaded), damaged
        return loaded

    def _overlay(
        self, documents: Iterable[Document], statuses: Mapping[str, Mapping[str, Any]]
    ) -> list[Document]:
        return overlay(documents, statuses, self._overlaid)

    def _parse(
        self, files: FilesLoaded, statuses: Mapping[str, Mapping[str, Any]], retry_in: float | None
    ) -> Loaded:
        snapshot, problems, stale = self._isolation(files, statuses)
        return Loaded(snapshot, problems, stale=stale, statuses=statuses, retry_in=retry_in)


def overlay(
    documents: Iterable[Document],
    statuses: Mapping[str, Mapping[str, Any]],
    memo: dict[str, tuple[object, object, Document]] | None = None,
) -> list[Document]:
    """Service documents with their recorded status and annotations filled in.

    With ``memo``, a document whose manifest and record are the very objects of the last
    call is the very merged object of the last call: the parser's ``ParseMemo`` then
    reuses its parse (the reader keeps unchanged files' documents, the state directory
    unchanged records). Without it, every Service is copied and parsed again per change."""
    out: list[Document] = []
    seen: dict[str, tuple[object, object, Document]] = {}
    for source, doc in documents:
        if doc.get("kind") == "Service" and isinstance(doc.get("metadata"), Mapping):
            meta = doc["metadata"]
            key = f"{meta.get('namespace') or 'default'}/{meta.get('name')}"
            record = statuses.get(key)
            if record is not None:
                cached = memo.get(source) if memo is not None else None
                if cached is not None and cached[0] is doc and cached[1] is record:
                    merged = cached[2]
                else:
                    merged = (source, _apply(doc, record))
                seen[source] = (doc, record, merged)
                out.append(merged)
                continue
        out.append((source, doc))
    if memo is not None:
        memo.clear()
        memo.update(seen)
    return out


def _apply(doc: Mapping[str, Any], record: Mapping[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(dict(doc))
    meta = merged.setdefault("metadata", {})
    annotations = dict(meta.get("annotations") or {})
    annotations.update(record.get("annotations") or {})
    meta["annotations"] = annotations
    status = dict(merged.get("status") or {})
    status["loadBalancer"] = {"ingress": [{"ip": ip} for ip in record.get("ingress") or []]}
    conditions = record.get("conditions")
    if conditions:
        status["conditions"] = list(conditions)
    merged["status"] = status
    return merged
