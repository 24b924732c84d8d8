"""The range rules of Masterminds/semver v3.4, case by case (its documented behaviour)."""

from __future__ import annotations

import itertools

import pytest

from updater.policy.semver import (
    InvalidConstraint,
    InvalidVersion,
    parse_constraint,
    parse_version,
)

CASES = [
    # plain comparators and wildcards
    ("=2.0.0", "1.2.3", False),
    ("=2.0.0", "2.0.0", True),
    ("=2.0", "2.0.1", True),
    ("4.1", "4.1.0", True),
    ("!=4.1.0", "4.1.0", False),
    ("!=4.1.0", "4.1.1", True),
    ("!=4.1", "4.1.1", False),
    ("!=4.1", "5.1.0-alpha.1", False),
    ("!=4.1-alpha", "4.1.0", True),
    ("!=4.1-alpha", "4.1.0-alpha", False),
    ("!=4.x", "5.1.0", True),
    ("!=4.x", "4.1.0", False),
    ("!=4.1.x", "4.2.0", True),
    ("!=4.2.x", "4.2.3", False),
    ("<11", "0.1.0", True),
    ("<11", "11.1.0", False),
    ("<1.1", "1.1.1", False),
    ("<1.x", "1.1.1", False),
    ("<1.x", "0.1.1", True),
    ("<1.1.x", "1.1.500", False),
    ("<1.1.x", "1.0.500", True),
    ("<=11", "11.2.3", True),
    ("<=11", "12.2.3", False),
    ("<=1.1", "1.1.1", True),
    ("<=1.1", "1.2.3", False),
    ("<=2.x", "3.0.0", False),
    ("<=1.1.x", "1.2.500", False),
    (">1.1", "1.1.0", False),
    (">1.1", "4.1.0", True),
    (">0", "0", False),
    (">0", "1", True),
    (">11", "11.1.0", False),
    (">11.1", "11.1.1", False),
    (">11.1", "11.2.1", True),
    (">=11.1", "11.0.2", False),
    (">=1.1", "4.1.0-beta", False),
    ("=0", "1", False),
    ("*", "4.5.6", True),
    ("*", "1.2.3-alpha.1", False),
    ("*-0", "1.2.3-alpha.1", True),
    ("2.*", "3.4.5", False),
    ("2.*", "2.1.1", True),
    ("2.1.*", "2.2.1", False),
    ("2", "2.1.1", True),
    ("2", "3.4.5", False),
    ("0.x.x", "1.2.3", False),
    ("0.0.0", "1.2.3", False),
    ("1.x", "1.4", True),
    # tilde
    ("~1.2.3", "1.2.4", True),
    ("~1.2.3", "1.3.4", False),
    ("~1.2.3", "1.2.2", False),
    ("~1.2", "1.2.4", True),
    ("~1", "1.2.4", True),
    ("~1", "2.3.4", False),
    ("~1.x", "1.3.5", True),
    ("~*", "2.1.1", True),
    ("~0.0.0", "1.2.3", True),
    ("~>1.2", "1.2.9", True),
    ("~1.1", "1.1.1-alpha", False),
    ("~1.1-alpha", "1.1.1-beta", True),
    ("~1.1.1-beta", "1.1.1-alpha", False),
    ("~1.2.3-beta.2", "1.2.4-beta.2", True),
    ("~1.2.3-beta.2", "1.3.4-beta.2", False),
    # caret
    ("^1.2.3", "1.8.9", True),
    ("^1.2.3", "2.8.9", False),
    ("^1.2.3", "1.2.1", False),
    ("^1.2.0", "1.2.1-alpha.1", False),
    ("^1.2.0-alpha.0", "1.2.1-alpha.1", True),
    ("^1.2.0-alpha.2", "1.2.0-alpha.1", False),
    ("^1.x", "1.1.1-beta1", False),
    ("^1.1.2-alpha", "1.2.1-beta1", True),
    ("^0.2.3", "0.2.5", True),
    ("^0.2.3", "0.5.6", False),
    ("^0.0.3", "0.0.3", True),
    ("^0.0.3", "0.0.4", False),
    ("^0.0", "0.0.3", True),
    ("^0.0", "0.1.4", False),
    ("^0", "0.2.3", True),
    ("^0", "1.1.4", False),
    ("^0.0.0", "1.2.3", False),
    ("^0.2.3-beta.2", "0.2.4-beta.2", True),
    ("^0.2.3-beta.2", "0.3.4-beta.2", False),
    # AND with spaces or commas, OR, hyphen ranges
    (">1.1, <2", "1.1.1", False),
    (">1.1, <2", "1.2.1", True),
    (">=1.1 <2 !=1.2.3", "1.2.3", False),
    (">= 1.1, <     2, !=1.2.3", "1.2.3", False),
    (">=1.1 <2 !=1.2.3 || > 3", "4.1.2", True),
    (">=1.1 <2 !=1.2.3 || > 3", "3.0.0", False),
    (">=1.1 <2 !=1.2.3 || >= 3", "3.0.0", True),
    ("1.1 - 2", "1.1.1", True),
    ("1.5.0 - 4.5", "3.7.0", True),
    ("1.1-3", "4.3.2", False),  # no spaces: 1.1.0 with prerelease "3"
    ("1.0.0 - 2.0.0 <=2.0.0", "1.5.0", True),
    ("1.0.0 - 2.0.0, <=2.0.0", "1.5.0", True),
    # prereleases: one comparator naming one opens the whole AND group (v3.4)
    (">1.0.0-beta.1 < 2", "1.5.0-beta", True),
    (">1.0.0-beta.1 < 2 || > 3", "3.5.0-beta", False),
    (">=1.2.0-0 <2.0.0", "1.9.0-rc.1", True),
    (">=1.2.0 <2.0.0", "1.9.0-rc.1", False),
    ("<0-z", "0.0.0-alpha", True),
    (">=0-0", "0.0.1-alpha", True),
    (">0-0", "0.0.1-alpha", False),
    (">0.0.0-0", "0.0.0-alpha", True),
    # the v prefix, loose versions, build metadata
    (">=v1.2", "v1.3", True),
    ("=1.2.3", "1.2.3+build.7", True),
    ("1.2.3+abc", "1.2.3", True),
    (">=1.2", "01.03", True),
]


@pytest.mark.parametrize(("constraint", "version", "expected"), CASES)
def test_constraint_check(constraint: str, version: str, expected: bool) -> None:
    assert parse_constraint(constraint).matches(parse_version(version)) is expected


@pytest.mark.parametrize(
    "text",
    ["", "foo", ">= bar", "BAR >= 1.2.3", "12.3.4.1234", "12.3.34~ 1.2.3", ">=1.2 <", "1.2 ||"],
)
def test_bad_constraints(text: str) -> None:
    with pytest.raises(InvalidConstraint):
        parse_constraint(text)


@pytest.mark.parametrize(
    ("text", "groups", "first"),
    [
        (">= 1.1", 1, 1),
        (">40.50.60, < 50.70", 1, 2),
        ("v2.3.5-20161202202307-sha.e8fc5e5", 1, 1),
        (">= 1.2.3 < 2.0 || => 3.0 < 4", 2, 2),
        ("3 - 4 || => 3.0, < 4", 2, 2),
        ("12.3.34 ~1.2.3", 1, 2),
        ("1.0.0 - 2.0.0, <=2.0.0", 1, 3),
    ],
)
def test_constraint_shape(text: str, groups: int, first: int) -> None:
    parsed = parse_constraint(text)
    assert len(parsed.groups) == groups
    assert len(parsed.groups[0].comparators) == first


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.2.3", "1.2.3"),
        ("v1.2", "1.2.0"),
        ("1", "1.0.0"),
        ("1.2.3-beta.1+build.5", "1.2.3-beta.1+build.5"),
        ("01.002.3", "1.2.3"),
    ],
)
def test_loose_versions(text: str, expected: str) -> None:
    assert str(parse_version(text)) == expected


@pytest.mark.parametrize(
    "text", ["1.2.3.4", "latest", "1.2.3-01", "V1.2.3", "1.2.3-", "18446744073709551616.0.0"]
)
def test_not_versions(text: str) -> None:
    with pytest.raises(InvalidVersion):
        parse_version(text)


def test_precedence() -> None:
    ordered = [
        "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
        "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.10.0", "2.0.0",
    ]  # fmt: skip
    versions = [parse_version(t) for t in ordered]
    for low, high in itertools.pairwise(versions):
        assert low.compare(high) == -1 and high.compare(low) == 1
