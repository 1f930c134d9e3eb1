"""BGP community values and the ``Community`` CR that names them.

A community in a BGPAdvertisement (or a ModuleConfig ``bgpCommunities`` value) is written as

* ``A:B`` with two 16-bit decimal numbers: a standard (RFC 1997) community;
* a well-known name: ``no-export``, ``no-advertise``, ``local-as`` (also spelled
  ``no-export-subconfed``), ``no-peer``, ``blackhole``, ``graceful-shutdown``,
  ``accept-own``; case-insensitive, stored lower-case (``local-as`` for both spellings);
* ``large:A:B:C`` with three 32-bit decimal numbers: a large (RFC 8092) community;
* otherwise, an alias: the ``name`` of an entry in some ``Community`` CR
  (``spec.communities[] {name, value}``). Aliases are resolved here, at parse time, so the
  model only holds values. Alias names reach no daemon, but they are checked like every
  other name so that a message quoting one stays one line.

MetalLB reads a string with a colon that fails to parse as a community as an error, and a
string without a colon as an alias; we do the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from orchestrator.core.model.cluster import Community, CommunityKind
from orchestrator.core.model.errors import Errors, quote
from orchestrator.core.parse.fields import Fields, as_fields
from orchestrator.core.parse.names import SHORT_NAME, valid_name

MAX_PER_ADVERTISEMENT = 63

WELL_KNOWN: dict[str, str] = {
    "no-export": "no-export",
    "no-advertise": "no-advertise",
    "local-as": "local-as",
    "no-export-subconfed": "local-as",
    "no-peer": "no-peer",
    "blackhole": "blackhole",
    "graceful-shutdown": "graceful-shutdown",
    "accept-own": "accept-own",
}


class CommunityError(ValueError):
    pass


def _number(part: str, bits: int, text: str) -> int:
    if not part.isdigit() or not part.isascii():
        raise CommunityError(
            f"{quote(text)} is not a valid community: {quote(part)} is not a number"
        )
    value = int(part)
    if value >= 1 << bits:
        raise CommunityError(
            f"{quote(text)} is not a valid community: {value} does not fit in {bits} bits"
        )
    return value


def parse_value(text: str) -> Community:
    """A literal community (standard, well-known or large). Raises ``CommunityError``."""
    lowered = text.lower()
    if lowered in WELL_KNOWN:
        return Community(CommunityKind.STANDARD, WELL_KNOWN[lowered])
    parts = text.split(":")
    if len(parts) == 2:
        a, b = (_number(p, 16, text) for p in parts)
        return Community(CommunityKind.STANDARD, f"{a}:{b}")
    if len(parts) == 4 and parts[0] == "large":
        a, b, c = (_number(p, 32, text) for p in parts[1:])
        return Community(CommunityKind.LARGE, f"{a}:{b}:{c}")
    raise CommunityError(
        f"{quote(text)} is not a valid community (A:B, large:A:B:C or a well-known name)"
    )


def is_literal(text: str) -> bool:
    """A string that must parse as a community rather than name an alias."""
    return ":" in text or text.lower() in WELL_KNOWN


@dataclass
class Aliases:
    """Community aliases from every Community CR (and ModuleConfig ``bgpCommunities``)."""

    values: dict[str, Community] = field(default_factory=dict)
    #: alias -> who defined it, for "duplicate alias" messages
    owners: dict[str, str] = field(default_factory=dict)
    #: aliases whose definition is invalid: referencing them is an error, not "unknown"
    broken: dict[str, str] = field(default_factory=dict)

    def resolve(self, errs: Errors, path: str, text: str) -> Community | None:
        """A community from a literal or an alias; errors recorded at ``path``."""
        if is_literal(text):
            try:
                return parse_value(text)
            except CommunityError as e:
                errs.add(path, str(e))
                return None
        if text in self.values:
            return self.values[text]
        if text in self.broken:
            errs.add(path, f"community alias {quote(text)} is invalid (see {self.broken[text]})")
        else:
            errs.add(path, f"unknown community alias {quote(text)}")
        return None


def resolve_list(fields: Fields, key: str, aliases: Aliases) -> tuple[Community, ...]:
    """The ``communities`` list of an advertisement: resolved, de-duplicated, sorted."""
    items = fields.texts(key)
    if len(items) > MAX_PER_ADVERTISEMENT:
        fields.errs.add(
            fields.at(key), f"has {len(items)} communities; at most {MAX_PER_ADVERTISEMENT} allowed"
        )
    found: set[Community] = set()
    for path, text in items:
        community = aliases.resolve(fields.errs, path, text)
        if community is None:
            continue
        if community in found:
            fields.errs.add(path, f"duplicate community {quote(str(community))}")
            continue
        found.add(community)
    return tuple(sorted(found))


def define_alias(
    aliases: Aliases, errs: Errors, path: str, name: str, value: str, *, owner: str
) -> None:
    """Register one alias; invalid names or values and duplicates are errors at ``path``."""
    if is_literal(name) or not valid_name(name, SHORT_NAME):
        errs.add(
            path,
            f"alias {quote(name)} is not a valid name (lower-case letters, digits, '-' and '.',"
            f" at most {SHORT_NAME} characters, not a community value)",
        )
        return
    if name in aliases.owners:
        errs.add(path, f"duplicate community alias {quote(name)} (also in {aliases.owners[name]})")
        aliases.values.pop(name, None)
        aliases.broken[name] = f"{aliases.owners[name]} and {owner}"
        return
    aliases.owners[name] = owner
    try:
        aliases.values[name] = parse_value(value)
    except CommunityError as e:
        errs.add(path, str(e))
        aliases.broken[name] = owner


def parse_community_cr(fields: Fields, aliases: Aliases, owner: str) -> None:
    """``Community`` CR: ``spec.communities[] {name, value}``."""
    fields.only(("communities",))
    for path, item in fields.elements("communities", required=True):
        entry = as_fields(fields.errs, path, item)
        if entry is None:
            continue
        entry.only(("name", "value"))
        name = entry.text("name", required=True)
        value = entry.text("value", required=True)
        if name is not None and value is not None:
            define_alias(aliases, fields.errs, path, name, value, owner=owner)
