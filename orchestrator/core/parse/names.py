"""Strict patterns for every user string that can reach FRR config, vtysh or GoBGP.

FRR's configuration language is line- and word-based: a name with a space, a newline or a
``!`` could end a command early and start another one (config injection), and a password
with ``#`` or quotes would be cut or mangled. So every such string is checked against an
allow-list pattern when it is parsed, long before a backend renders it:

* object names (pools, advertisements, peers, BFD profiles, community aliases, classes):
  RFC 1123 subdomain, ``[a-z0-9]([-a-z0-9.]*[a-z0-9])?``; 63 characters where the name is
  used inside daemon config (peers, BFD profiles, community aliases), 253 elsewhere, as
  Kubernetes allows;
* interface and VRF names: Linux netdevice names, ``[A-Za-z0-9_.:-]{1,15}``, never ``.`` or
  ``..``;
* passwords: printable ASCII without whitespace, ``!``, ``#`` or quotes, 1..80 characters.
  Password errors never include the value.
"""

from __future__ import annotations

import re

from orchestrator.core.model.errors import Errors, quote

NAME_RE = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?")
INTERFACE_RE = re.compile(r"[A-Za-z0-9_.:-]{1,15}")
# Printable ASCII (0x21..0x7e) minus ! " # '
_PASSWORD_FORBIDDEN = frozenset("!\"#'")
PASSWORD_MAX = 80

#: Names that are used inside daemon config (FRR neighbor descriptions, profile names, aliases).
SHORT_NAME = 63
#: Kubernetes object names (RFC 1123 subdomain).
LONG_NAME = 253


def valid_name(value: str, limit: int = LONG_NAME) -> bool:
    return len(value) <= limit and NAME_RE.fullmatch(value) is not None


def check_name(errs: Errors, path: str, value: str, *, limit: int = LONG_NAME) -> bool:
    """Record an error unless ``value`` is an RFC 1123 name of at most ``limit`` characters."""
    if valid_name(value, limit):
        return True
    if len(value) > limit:
        errs.add(path, f"{quote(value)} is longer than {limit} characters")
    else:
        errs.add(
            path,
            f"{quote(value)} is not a valid name (lower-case letters, digits, '-' and '.', "
            "starting and ending with a letter or digit)",
        )
    return False


def check_interface(errs: Errors, path: str, value: str) -> bool:
    """Linux interface (or VRF device) name: 1..15 of ``[A-Za-z0-9_.:-]``, not ``.``/``..``."""
    if INTERFACE_RE.fullmatch(value) and value not in (".", ".."):
        return True
    errs.add(
        path,
        f"{quote(value)} is not a valid interface name (1-15 characters of letters, digits, "
        "'_', '.', ':' and '-')",
    )
    return False


def password_problem(value: str) -> str | None:
    """Why ``value`` cannot be a BGP password, or None. Never mentions the value itself."""
    if not value:
        return "must not be empty"
    if len(value) > PASSWORD_MAX:
        return f"is longer than {PASSWORD_MAX} characters (value hidden)"
    for ch in value:
        if not "\x21" <= ch <= "\x7e" or ch in _PASSWORD_FORBIDDEN:
            return "contains a forbidden character (value hidden)"
    return None


def check_password(errs: Errors, path: str, value: str) -> bool:
    problem = password_problem(value)
    if problem is None:
        return True
    errs.add(path, problem)
    return False
