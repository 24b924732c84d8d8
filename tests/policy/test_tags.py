"""Choosing a tag: filter, extract, ignore, the ranking of each policy, min-age."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from updater.policy import NoTagMatches, TagPolicy, choose, expand, parse_constraint

REPO = "ghcr.io/acme/api"
T0 = datetime(2024, 6, 1, tzinfo=timezone.utc)


def pick(policy: TagPolicy, tags: list[str], **kwargs: object) -> str:
    return choose(policy, tags, repository=REPO, **kwargs).tag  # type: ignore[arg-type]


def test_semver_default_range_is_any_release() -> None:
    tags = ["1.2.3", "v1.10.0", "1.9.9", "2.0.0-rc.1", "latest", "sha-abc"]
    choice = choose(TagPolicy("semver"), tags, repository=REPO)
    assert choice.tag == "v1.10.0"
    assert choice.considered == ("v1.10.0", "1.9.9", "1.2.3")
    assert choice.rejected == {
        "not a semantic version": ("latest", "sha-abc"),
        "prerelease": ("2.0.0-rc.1",),
    }


def test_semver_prereleases_when_the_range_names_one() -> None:
    policy = TagPolicy("semver", range=parse_constraint(">=2.0.0-0"))
    assert pick(policy, ["1.9.0", "2.0.0-rc.1", "2.0.0-rc.2", "2.0.0-beta.9"]) == "2.0.0-rc.2"


def test_semver_equal_versions_tie_break_on_the_tag() -> None:
    assert pick(TagPolicy("semver"), ["1.2.3", "v1.2.3", "1.2.3+build.1"]) == "v1.2.3"


def test_numerical_with_extract_and_order() -> None:
    pattern = re.compile(r"^main-(?P<ts>\d+)-[0-9a-f]+$")
    tags = ["main-9-aa", "main-10-bb", "main-2-cc", "feature-99-dd", "main-x-ee"]
    highest = TagPolicy("numerical", filter=pattern, extract="$ts")
    choice = choose(highest, tags, repository=REPO)
    assert (choice.tag, choice.value) == ("main-10-bb", "10")
    assert choice.rejected == {"filtered out": ("feature-99-dd", "main-x-ee")}
    assert (
        pick(TagPolicy("numerical", filter=pattern, extract="$ts", order="desc"), tags)
        == "main-2-cc"
    )


def test_numerical_rejects_what_is_not_a_number() -> None:
    choice = choose(
        TagPolicy("numerical"), ["1.5", "10", "nan", "inf", "1e3", "-4"], repository=REPO
    )
    assert choice.tag == "1e3" and choice.rejected == {"not a number": ("nan", "inf")}


@pytest.mark.parametrize("kind", ["alphabetical", "numerical"])
def test_order_means_what_flux_says(kind: str) -> None:
    """Flux's ImagePolicy API: given the letters of the alphabet as tags, ascending
    order (the default) selects Z and descending order selects A."""
    tags = [chr(c) for c in range(ord("A"), ord("Z") + 1)]
    if kind == "numerical":
        tags = [str(n) for n in range(1, 27)]
    top, bottom = (tags[-1], tags[0])
    assert pick(TagPolicy(kind), tags) == top
    assert pick(TagPolicy(kind, order="asc"), tags) == top
    assert pick(TagPolicy(kind, order="desc"), tags) == bottom
    assert choose(TagPolicy(kind, order="desc"), tags, repository=REPO).reason.startswith(
        "first" if kind == "alphabetical" else "lowest"
    )


def test_alphabetical_is_byte_order() -> None:
    tags = ["RELEASE.2024-01-01", "RELEASE.2024-03-01", "RELEASE.2023-12-31", "release.zzz"]
    pattern = re.compile(r"^RELEASE\.(.*)$")
    assert pick(TagPolicy("alphabetical", filter=pattern), tags) == "RELEASE.2024-03-01"
    assert pick(TagPolicy("alphabetical", order="desc"), tags) == "RELEASE.2023-12-31"


def test_ignore_globs() -> None:
    policy = TagPolicy("semver", ignore=("*.sig", "*-debug", "9.*"))
    assert pick(policy, ["1.0.0", "1.1.0-debug", "sha256-abc.sig", "9.0.0"]) == "1.0.0"


def test_newest_build_and_min_age() -> None:
    created = {"a": T0 - timedelta(days=2), "b": T0 - timedelta(minutes=10), "c": None}
    asked: list[list[str]] = []

    def created_of(tags: object) -> dict[str, datetime | None]:
        asked.append(list(tags))  # type: ignore[call-overload]
        return {t: created[t] for t in tags}  # type: ignore[attr-defined]

    choice = choose(
        TagPolicy("newest-build"), ["a", "b", "c"], repository=REPO, created_of=created_of, now=T0
    )
    assert choice.tag == "b" and choice.rejected == {"no creation time": ("c",)}
    young = TagPolicy("newest-build", min_age=timedelta(hours=1))
    choice = choose(young, ["a", "b", "c"], repository=REPO, created_of=created_of, now=T0)
    assert choice.tag == "a" and choice.rejected["younger than 1h"] == ("b",)
    asked.clear()
    semver_aged = TagPolicy("semver", min_age=timedelta(hours=1))
    tags = ["1.0.0", "1.1.0", "1.2.0"]
    created.update({"1.2.0": T0, "1.1.0": T0 - timedelta(hours=2), "1.0.0": T0 - timedelta(days=9)})
    assert pick(semver_aged, tags, created_of=created_of, now=T0) == "1.1.0"
    assert asked == [["1.2.0"], ["1.1.0"]]  # only as far as needed, best first


def test_no_match_is_a_clear_error() -> None:
    policy = TagPolicy("semver", range=parse_constraint("^3"), ignore=("*-debug",))
    with pytest.raises(NoTagMatches) as caught:
        choose(policy, ["1.0.0", "2.0.0", "x", "3.0.0-debug"], repository=REPO)
    assert str(caught.value) == (
        "ghcr.io/acme/api: no tag matches policy semver '^3': 4 tag(s)"
        " (1 ignored, 2 outside the range, 1 not a semantic version)"
    )


def test_digest_policy_needs_the_tag() -> None:
    assert pick(TagPolicy("digest", tag="stable"), ["stable"]) == "stable"
    with pytest.raises(NoTagMatches, match="tag 'stable' does not exist"):
        pick(TagPolicy("digest", tag="stable"), ["latest"])


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("$ts", "123"),
        ("${ts}-x", "123-x"),
        ("$1", "123"),
        ("$2", "abc"),
        ("$$ts", "$ts"),
        ("$9", ""),
        ("$nope", ""),
        ("$tsx", ""),
    ],
)
def test_extract_templates_expand_like_go(template: str, expected: str) -> None:
    match = re.match(r"(?P<ts>\d+)-(\w+)", "123-abc")
    assert match is not None
    assert expand(template, match) == expected
