"""The current tag against the policy's choice: no silent downgrades."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from updater.policy import TagPolicy, parse_constraint
from updater.policy.current import (
    DOWNGRADE_ALLOWED,
    FOLLOWS,
    NEWER,
    NOT_COMPARABLE,
    SAME_RANK,
    UPGRADE,
    decide,
)

SEMVER = TagPolicy("semver", range=parse_constraint("<2"))


def test_a_newer_current_tag_is_left_alone() -> None:
    decision = decide(SEMVER, "5.0.0", "v1.10.0")
    assert (decision.move, decision.verdict) == (False, NEWER)
    assert decision.reason == "current 5.0.0 is newer than the policy's best v1.10.0; left alone"


def test_allow_downgrade_moves_and_says_so() -> None:
    decision = decide(SEMVER, "5.0.0", "v1.10.0", allow_downgrade=True)
    assert (decision.move, decision.verdict) == (True, DOWNGRADE_ALLOWED)
    assert "moved back (allow-downgrade)" in decision.reason


def test_an_older_current_tag_moves() -> None:
    assert decide(SEMVER, "1.2.0", "v1.10.0").verdict == UPGRADE
    assert decide(SEMVER, "1.10.0-rc.1", "1.10.0").move


@pytest.mark.parametrize("current", ["latest", "main-abc", None])
def test_a_current_tag_that_is_not_a_version_takes_the_choice(current: str | None) -> None:
    decision = decide(SEMVER, current, "1.4.0")
    assert (decision.move, decision.verdict) == (True, NOT_COMPARABLE)
    if current is not None:
        assert f"current tag {current} is not a version" in decision.reason


def test_equal_rank_is_left_alone() -> None:
    decision = decide(TagPolicy("semver"), "v1.2.3", "1.2.3")
    assert (decision.move, decision.verdict) == (False, SAME_RANK)
    assert decide(TagPolicy("semver"), "1.2.3", "1.2.3").move  # the same tag: nothing to do


def test_numerical_and_alphabetical_follow_the_order() -> None:
    pattern = re.compile(r"^main-(?P<n>\d+)$")
    highest = TagPolicy("numerical", filter=pattern, extract="$n", order="asc")
    lowest = TagPolicy("numerical", filter=pattern, extract="$n", order="desc")
    assert not decide(highest, "main-20", "main-10").move
    assert decide(lowest, "main-20", "main-10").move
    assert decide(highest, "feature-1", "main-10").verdict == NOT_COMPARABLE
    decision = decide(TagPolicy("alphabetical"), "b", "a")
    assert decision.reason == "current b is ranked above the policy's best a; left alone"


def test_newest_build_compares_creation_times() -> None:
    times = {
        "new": datetime(2024, 5, 1, tzinfo=timezone.utc),
        "old": datetime(2024, 1, 1, tzinfo=timezone.utc),
        "gone": None,
    }

    def created_of(tags: object) -> dict[str, datetime | None]:
        return {t: times[t] for t in tags}  # type: ignore[attr-defined]

    policy = TagPolicy("newest-build")
    assert not decide(policy, "new", "old", created_of=created_of).move
    assert decide(policy, "old", "new", created_of=created_of).move
    assert decide(policy, "gone", "new", created_of=created_of).verdict == NOT_COMPARABLE


def test_the_digest_policy_always_follows_its_tag() -> None:
    assert decide(TagPolicy("digest", tag="stable"), "stable", "stable").verdict == FOLLOWS
