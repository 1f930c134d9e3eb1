"""Typed reads from raw manifest mappings, each problem recorded at its field path.

YAML gives us ``Any``: a field that should be a bool may be the string ``"true"``, an ASN
may be a float, a list may be a scalar. ``Fields`` wraps one mapping and a path prefix; every
read checks the type, records a ``FieldError`` through the object's ``Errors`` on a mismatch
and returns ``None`` (or the default), so a parser reads every field it knows, keeps going,
and reports every mistake in one pass.

Conventions, matching the Kubernetes API server's treatment of optional fields:

* a key that is absent and a key whose value is ``null`` are the same thing;
* ``bool`` is never accepted where an integer is expected (Python's ``True == 1`` would
  otherwise let ``peerPort: true`` through);
* unknown keys of our own CRD specs get a warning, because a typo (``adresses``) would
  otherwise silently fall back to a default.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeGuard

from orchestrator.core.model.errors import Errors, quote


def join(base: str, key: str) -> str:
    """``spec`` + ``addresses`` -> ``spec.addresses``."""
    return f"{base}.{key}" if base else key


def index(base: str, i: int) -> str:
    return f"{base}[{i}]"


def type_name(value: object) -> str:
    """How YAML users call a type, for messages like "must be a string, not a list"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if is_mapping(value):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


def as_str(errs: Errors, path: str, value: object) -> str | None:
    if isinstance(value, str):
        return value
    hint = ""
    if isinstance(value, int | float):
        # YAML reads unquoted 80, true, 1.10 or even 65535:59 (base 60!) as non-strings
        hint = "; quote it in YAML"
    errs.add(path, f"must be a string, not {type_name(value)}{hint}")
    return None


def as_int(errs: Errors, path: str, value: object, *, lo: int, hi: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            errs.add(path, f"must be an integer, not {type_name(value)}")
            return None
    if not lo <= value <= hi:
        errs.add(path, f"{value} is out of range {lo}..{hi}")
        return None
    return value


def is_mapping(value: object) -> TypeGuard[Mapping[str, Any]]:
    """``isinstance(value, Mapping)`` with a fast path: YAML and JSON produce plain dicts, and
    an isinstance check against the ABC costs several times more (it adds up over 10,000s of
    Services)."""
    return type(value) is dict or isinstance(value, Mapping)


def as_fields(errs: Errors, path: str, value: object) -> Fields | None:
    if is_mapping(value):
        return Fields(errs, value, path)
    errs.add(path, f"must be an object, not {type_name(value)}")
    return None


class Fields:
    """One raw mapping plus the path it lives at, and the object's error accumulator."""

    __slots__ = ("base", "errs", "raw")

    def __init__(self, errs: Errors, raw: Mapping[str, Any], base: str = "") -> None:
        self.errs = errs
        self.raw = raw
        self.base = base

    def at(self, key: str) -> str:
        return join(self.base, key)

    def get(self, key: str) -> Any:
        return self.raw.get(key)

    def has(self, key: str) -> bool:
        return self.raw.get(key) is not None

    def _missing(self, key: str, required: bool) -> None:
        if required:
            self.errs.add(self.at(key), "is required")

    def obj(self, key: str, *, required: bool = False) -> Fields | None:
        value = self.get(key)
        if value is None:
            self._missing(key, required)
            return None
        return as_fields(self.errs, self.at(key), value)

    def text(self, key: str, *, required: bool = False) -> str | None:
        """A string; an empty string counts as absent (Go's zero value)."""
        value = self.get(key)
        if value is None or value == "":
            self._missing(key, required)
            return None
        return as_str(self.errs, self.at(key), value)

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.get(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        self.errs.add(self.at(key), f"must be true or false, not {type_name(value)}")
        return default

    def maybe_flag(self, key: str) -> bool | None:
        """A bool where absent (None) has its own meaning, e.g. EndpointSlice conditions."""
        if self.get(key) is None:
            return None
        return self.flag(key)

    def number(self, key: str, *, lo: int, hi: int, required: bool = False) -> int | None:
        value = self.get(key)
        if value is None:
            self._missing(key, required)
            return None
        return as_int(self.errs, self.at(key), value, lo=lo, hi=hi)

    def elements(self, key: str, *, required: bool = False) -> list[tuple[str, Any]]:
        """The items of a list, each with its path; ``[]`` when absent or not a list."""
        value = self.get(key)
        if value is None or (isinstance(value, list) and not value):
            if required:
                self.errs.add(self.at(key), "must not be empty")
            return []
        if not isinstance(value, list):
            self.errs.add(self.at(key), f"must be a list, not {type_name(value)}")
            return []
        base = self.at(key)
        return [(f"{base}[{i}]", item) for i, item in enumerate(value)]

    def texts(
        self, key: str, *, required: bool = False, unique: bool = True
    ) -> list[tuple[str, str]]:
        """A list of strings with their paths; duplicates are errors unless ``unique=False``."""
        out: list[tuple[str, str]] = []
        seen: set[str] = set()
        for path, item in self.elements(key, required=required):
            text = as_str(self.errs, path, item)
            if text is None:
                continue
            if unique and text in seen:
                self.errs.add(path, f"duplicate entry {quote(text)}")
                continue
            seen.add(text)
            out.append((path, text))
        return out

    def string_map(self, key: str) -> dict[str, str]:
        """A map of string to string (labels, nodeSelector)."""
        sub = self.obj(key)
        if sub is None:
            return {}
        out: dict[str, str] = {}
        for k, v in sub.raw.items():
            path = f"{sub.base}[{k}]"
            if not isinstance(k, str):
                self.errs.add(path, f"keys must be strings, not {type_name(k)}")
                continue
            text = as_str(self.errs, path, v)
            if text is not None:
                out[k] = text
        return out

    def only(self, known: Iterable[str]) -> None:
        """Warn about keys we do not read (typos, fields of newer API versions)."""
        allowed = set(known)
        for key in self.raw:
            if key not in allowed:
                self.errs.warn(self.at(str(key)), "unknown field, ignored")
