"""Community values carry their numbers (``Community.numbers``): the backends write what
the core computed and never parse community text themselves.

Matrix: standard A:B and every well-known name as one 32-bit number; large as three;
the numbers of a parsed value; equality and order still by (kind, text); a value that is
not in normalized form (out of range, wrong arity, trailing text) cannot be built.
"""

from __future__ import annotations

import pytest

from orchestrator.core.model.cluster import WELL_KNOWN_COMMUNITIES, Community, CommunityKind
from orchestrator.core.parse.communities import WELL_KNOWN, parse_value


def test_standard_and_large_numbers() -> None:
    assert Community(CommunityKind.STANDARD, "65000:100").numbers == (65000 << 16 | 100,)
    assert Community(CommunityKind.STANDARD, "no-export").numbers == (0xFFFFFF01,)
    assert Community(CommunityKind.LARGE, "4200000000:0:7").numbers == (4200000000, 0, 7)


def test_every_name_the_parser_normalizes_to_has_a_number() -> None:
    assert set(WELL_KNOWN.values()) == set(WELL_KNOWN_COMMUNITIES)
    assert parse_value("NO-EXPORT-SUBCONFED").numbers == (0xFFFFFF03,)
    assert parse_value("large:1:2:3").numbers == (1, 2, 3)


def test_numbers_take_no_part_in_equality_or_order() -> None:
    a = Community(CommunityKind.STANDARD, "65535:65281")
    b = Community(CommunityKind.STANDARD, "no-export")
    assert a.numbers == b.numbers and a != b  # same wire value, two spellings
    assert sorted([b, a]) == [a, b]


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        (CommunityKind.STANDARD, "65536:1"),
        (CommunityKind.STANDARD, "1:2:3"),
        (CommunityKind.STANDARD, "no-such-name"),
        (CommunityKind.LARGE, "4294967296:0:0"),
        (CommunityKind.LARGE, "1:2"),
        (CommunityKind.LARGE, "1:2:3 additive"),
    ],
)
def test_values_not_in_normalized_form_cannot_be_built(kind: CommunityKind, value: str) -> None:
    with pytest.raises(ValueError, match="community"):
        Community(kind, value)
