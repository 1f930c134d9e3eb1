"""The files' validation step: whole files that cannot be read, then ``core`` isolation.

Two levels, because a file can fail in two ways:

- **the file** cannot be read (a dangling symlink, a symlink loop, no permission, not
  UTF-8) or has a YAML syntax error that hides the documents after it: every document of
  that file keeps the version of the last pass in which the file read cleanly, Services
  included, so a broken file never deletes a Service or frees its IPs. The file's error is
  reported, with a warning saying its last good documents stay in use;
- **an object** is invalid: ``core.parse.isolation.isolate`` decides, object by object,
  exactly as for the Kubernetes source (docs/design.md §16).

``overlay`` (the recorded status on each Service) is applied after the file level, so a
kept Service carries the status recorded now, not the one of its last good read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from orchestrator.adapters.files.manifests import Loaded as FilesLoaded
from orchestrator.core.model.cluster import ClusterSnapshot, ServiceState
from orchestrator.core.model.errors import FieldError, Severity
from orchestrator.core.parse.isolation import Document, isolate, origin
from orchestrator.core.parse.leaves import ParseMemo

Overlay = Callable[[Sequence[Document], Mapping[str, Mapping[str, Any]]], list[Document]]

KEPT_FILE = "cannot be read as a whole; its last good documents stay in use until it can"


def broken_files(problems: Sequence[FieldError]) -> set[str]:
    """Files with a problem of the file itself (their problems name the file, no ``#n``)."""
    return {p.obj for p in problems if p.severity is Severity.ERROR and "#" not in p.obj}


class FileIsolation:
    """Keeps the last good files and objects between passes; one call per parse."""

    def __init__(self, overlay: Overlay, *, memo: ParseMemo | None = None) -> None:
        self._overlay = overlay
        self._memo = memo  # unchanged documents are not parsed again
        self._files: dict[str, list[Document]] = {}  # file -> its documents, last clean read
        self._objects: dict[str, Document] = {}  # ``isolate``'s last good versions
        self._states: dict[str, ServiceState] = {}  # and the Services' last clean states

    def __call__(
        self, files: FilesLoaded, statuses: Mapping[str, Mapping[str, Any]]
    ) -> tuple[ClusterSnapshot, tuple[FieldError, ...], bool]:
        """The snapshot, every problem, and whether anything runs on a last good version."""
        broken = broken_files(files.problems)
        by_file: dict[str, list[Document]] = {}
        for doc in files.documents:
            by_file.setdefault(origin(doc[0]), []).append(doc)
        documents: list[Document] = []
        kept: list[FieldError] = []
        files_now: dict[str, list[Document]] = {}
        for name in sorted(set(by_file) | (broken & set(self._files))):
            if name in broken and name in self._files:
                documents.extend(self._files[name])
                files_now[name] = self._files[name]
                kept.append(FieldError(name, "", KEPT_FILE, Severity.WARNING))
            elif name not in broken:
                documents.extend(by_file[name])
                files_now[name] = by_file[name]
            else:
                documents.extend(by_file.get(name, ()))  # first read: what could be read
        self._files = files_now
        result = isolate(
            self._overlay(documents, statuses),
            self._objects,
            last_states=self._states,
            memo=self._memo,
        )
        self._objects, self._states = dict(result.last_good), dict(result.states)
        problems = (*files.problems, *kept, *result.snapshot.problems)
        return result.snapshot, problems, bool(result.held or kept)
