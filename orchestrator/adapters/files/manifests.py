"""Load manifests from a directory: every ``*.yaml`` / ``*.yml`` file, every document in it.

This is the file-side twin of the Kubernetes adapter: it produces the ``(source, mapping)``
pairs that ``orchestrator.core.parse.parse_snapshot`` consumes. A source is
``<file name>#<n>``, ``n`` counting the documents of the file from 1 (empty documents count,
so the number matches what an editor shows between ``---`` separators).

Files are read in name order, non-recursively (subdirectories are where the lab keeps its
state files), skipping hidden files (editor swap and backup files). The safe loader builds
only plain data, never Python objects; it is libyaml's (``CSafeLoader``, about ten times
faster: 2,000 documents were seconds of pure-Python parsing) when PyYAML has it.

``DirectoryReader`` keeps each file's text and documents, so reading the directory again
parses only the files whose text changed.

Nothing here raises on bad input: an unreadable file, a YAML syntax error or a document that
is not a mapping becomes a ``FieldError``. A symbolic link that leads nowhere (dangling, or a
loop) is such an error too, not skipped: skipped, its Services vanished from the plan. A
syntax error is reported with its line and column and the parser's description only, never
the offending text, because the broken line may be a Secret or a BGP password. Documents
before the error in the same file are kept.
"""

from __future__ import annotations

import errno
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from orchestrator.core.model.errors import FieldError, Severity

SUFFIXES = (".yaml", ".yml")
_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Loaded:
    """Documents read from a directory, and the problems met while reading."""

    documents: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)
    problems: list[FieldError] = field(default_factory=list)


def manifest_files(directory: Path) -> list[Path]:
    """Manifest files by name; symbolic links whatever they lead to (``load_file`` reports
    a dangling one or a loop), but not subdirectories."""
    return sorted(
        p
        for p in directory.iterdir()
        if p.suffix in SUFFIXES
        and not p.name.startswith(".")
        and (p.is_symlink() or p.is_file())
        and not p.is_dir()
    )


def _syntax_error(name: str, index: int, exc: yaml.YAMLError) -> FieldError:
    where = f"document {index}"
    problem = "YAML syntax error"
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark
        if mark is not None:
            where = f"line {mark.line + 1}, column {mark.column + 1}"
        details = [d for d in (exc.context, exc.problem) if d]
        if details:
            problem += ": " + ", ".join(details)
    return FieldError(name, where, problem)


def load_file(path: Path, name: str | None = None) -> Loaded:
    """Every document of one file; ``name`` is how sources refer to it (default: file name)."""
    name = name or path.name
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else type(e).__name__
        if isinstance(e, OSError) and e.errno == errno.ELOOP:
            reason = "a symbolic link loop"
        elif isinstance(e, OSError) and e.errno == errno.ENOENT and path.is_symlink():
            reason = "a dangling symbolic link (its target does not exist)"
        return Loaded(problems=[FieldError(name, "", f"cannot read the file: {reason}")])
    return load_text(text, name)


def load_text(text: str, name: str) -> Loaded:
    """Every document of one YAML text (a file, or a Secret's value); sources ``name#n``."""
    loaded = Loaded()
    index = 0
    try:
        for index, doc in enumerate(yaml.load_all(text, Loader=_SafeLoader), start=1):
            if doc is None:
                continue
            source = f"{name}#{index}"
            if not isinstance(doc, Mapping):
                kind = type(doc).__name__
                loaded.problems.append(
                    FieldError(source, "", f"document must be an object, not a {kind}")
                )
                continue
            loaded.documents.append((source, doc))
    except yaml.YAMLError as e:
        loaded.problems.append(_syntax_error(name, index + 1, e))
    return loaded


def load_directory(directory: Path | str) -> Loaded:
    """Every document of every manifest file in ``directory`` (not recursive)."""
    root = Path(directory)
    loaded = Loaded()
    try:
        files = manifest_files(root)
    except OSError as e:
        loaded.problems.append(FieldError(str(root), "", f"cannot list: {e.strerror or e}"))
        return loaded
    if not files:
        loaded.problems.append(
            FieldError(str(root), "", "no *.yaml or *.yml files", Severity.WARNING)
        )
    for path in files:
        one = load_file(path)
        loaded.documents.extend(one.documents)
        loaded.problems.extend(one.problems)
    return loaded


class DirectoryReader:
    """``load_directory`` that parses again only the files whose text changed since the
    last ``read``; the very same ``Loaded`` while no file's text changed."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        #: name -> (digest of its text, its documents): a digest, not the text, to keep
        #: memory to the documents (10,000 Services are megabytes of text)
        self._files: dict[str, tuple[bytes, Loaded]] = {}
        self._last: Loaded | None = None

    def read(self) -> Loaded:
        try:
            files = manifest_files(self.directory)
        except OSError:
            self._files, self._last = {}, None
            return load_directory(self.directory)  # the same problem, worded once
        if not files:
            self._files, self._last = {}, None
            return load_directory(self.directory)
        parts: dict[str, tuple[bytes, Loaded]] = {}
        same = self._last is not None and len(files) == len(self._files)
        for path in files:
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                same = False
                parts[path.name] = (b"", load_file(path))  # worded as load_file words it
                continue
            digest = hashlib.blake2b(text.encode(), digest_size=32).digest()
            cached = self._files.get(path.name)
            if cached is not None and cached[0] == digest:
                parts[path.name] = cached
            else:
                same = False
                parts[path.name] = (digest, load_text(text, path.name))
        if same and self._last is not None:
            return self._last
        loaded = Loaded()
        for _text, one in parts.values():
            loaded.documents.extend(one.documents)
            loaded.problems.extend(one.problems)
        self._files, self._last = parts, loaded
        return loaded
