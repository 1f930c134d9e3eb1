"""Load manifests from a directory: every ``*.yaml`` / ``*.yml`` file, every document in it.

This is the file-side twin of the Kubernetes adapter: it produces the ``(source, mapping)``
pairs that ``orchestrator.core.parse.parse_snapshot`` consumes. A source is
``<file name>#<n>``, ``n`` counting the documents of the file from 1 (empty documents count,
so the number matches what an editor shows between ``---`` separators).

Files are read in name order, non-recursively (subdirectories are where the lab keeps its
state files), skipping hidden files (editor swap and backup files). ``yaml.safe_load_all``
builds only plain data, never Python objects.

Nothing here raises on bad input: an unreadable file, a YAML syntax error or a document that
is not a mapping becomes a ``FieldError``. A symbolic link that leads nowhere (dangling, or a
loop) is such an error too, not skipped: skipped, its Services vanished from the plan. A
syntax error is reported with its line and column and the parser's description only, never
the offending text, because the broken line may be a Secret or a BGP password. Documents
before the error in the same file are kept.
"""

from __future__ import annotations

import errno
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from orchestrator.core.model.errors import FieldError, Severity

SUFFIXES = (".yaml", ".yml")


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
        for index, doc in enumerate(yaml.safe_load_all(text), start=1):
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
