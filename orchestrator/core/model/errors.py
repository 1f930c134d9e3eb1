"""Validation errors that name the object and the field at fault.

Parsing collects every problem it finds instead of stopping at the first one, so a user
fixes a manifest in one round. Each error renders as one line::

    MetalLoadBalancerClass/badrange: spec.addressPool[1]: "192.168.7.300" is not an IP, CIDR
    or range

(wrapped here; it is one line).

Every rendered line is ``printable``: a control character in a name (``metadata.name`` with
a newline, a terminal escape) is shown escaped, so one error is always one line and no
input can forge another.

Messages never contain secret values: callers pass ``redacted=True`` style strings themselves;
the helpers here only quote what they are given.

Which objects then run, are held at their last good version or are left out is decided by
``core.parse.isolation`` (docs/design.md §16), the one rule both sources apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class FieldError:
    """One problem in one field of one object.

    ``obj`` is ``Kind/name`` or ``Kind/namespace/name``; ``path`` is a JSON-path-like string
    such as ``spec.addressPool[1]``; empty when the whole object is at fault.
    """

    obj: str
    path: str
    message: str
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        where = f"{self.obj}: {self.path}" if self.path else self.obj
        prefix = "warning: " if self.severity is Severity.WARNING else ""
        return printable(f"{prefix}{where}: {self.message}")


_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
#: Characters that end or rewrite a line: C0 and C1 controls, DEL, the Unicode line and
#: paragraph separators and NEL.
_LINE_BREAKERS = frozenset(
    [chr(c) for c in range(32)] + [chr(c) for c in range(127, 160)] + ["\u2028", "\u2029"]
)


def printable(text: str) -> str:
    """``text`` with every control character escaped (``\\n``, ``\\x1b``, ``\\u2028``);
    the common case, nothing to escape, costs one scan."""
    if not any(c in _LINE_BREAKERS for c in text):
        return text
    out = []
    for c in text:
        if c not in _LINE_BREAKERS:
            out.append(c)
        elif c in _NAMED:
            out.append(_NAMED[c])
        elif ord(c) < 256:
            out.append(f"\\x{ord(c):02x}")
        else:
            out.append(f"\\u{ord(c):04x}")
    return "".join(out)


class ValidationError(Exception):
    """Raised by callers that need an exception; carries every error found."""

    def __init__(self, errors: list[FieldError] | tuple[FieldError, ...]) -> None:
        self.errors = tuple(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


class Errors:
    """Accumulator used while parsing one object: ``errs.add(path, message)``."""

    def __init__(self, obj: str, sink: list[FieldError]) -> None:
        self.obj = obj
        self._sink = sink
        self._count = 0

    def add(self, path: str, message: str) -> None:
        self._sink.append(FieldError(self.obj, path, message))
        self._count += 1

    def warn(self, path: str, message: str) -> None:
        self._sink.append(FieldError(self.obj, path, message, Severity.WARNING))

    @property
    def count(self) -> int:
        """Errors (not warnings) added through this accumulator."""
        return self._count


def quote(value: object, limit: int = 80) -> str:
    """Quote a user value for an error message, truncated so huge inputs stay readable."""
    text = str(value)
    if len(text) > limit:
        text = text[:limit] + "..."
    return '"' + printable(text.replace("\\", "\\\\").replace('"', '\\"')) + '"'
