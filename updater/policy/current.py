"""The current tag against the policy's choice: no silent downgrades.

A scheduled poll (and a webhook, and a promotion) moves a reference only when the
policy ranks the new tag above the one deployed now. A range narrowed by mistake, a
``min-age`` cool-down or a tag deleted from the registry would otherwise roll
production back without a word. ``allow_downgrade`` permits it; a current tag the
policy cannot rank (``latest`` under semver, no tag at all) takes the policy's choice,
and the reason says so.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from updater.policy.semver import try_parse_version
from updater.policy.tags import TagPolicy, highest_first, tag_value

# The decisions, for programs reading the JSON report.
UPGRADE = "upgrade"  # the choice ranks above the current tag: move
NOT_COMPARABLE = "not-comparable"  # the current tag cannot be ranked: take the choice
FOLLOWS = "follows"  # the digest policy: the tag stays, its digest moves
NEWER = "newer"  # the current tag ranks above the choice: left alone
SAME_RANK = "same-rank"  # a different tag of equal rank: left alone (no churn)
DOWNGRADE_ALLOWED = "downgrade-allowed"  # ranks above, but allow-downgrade: move

_NUMBER_RE = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")

CreatedOf = Callable[[Sequence[str]], "dict[str, datetime | None]"]


@dataclass(frozen=True)
class Decision:
    """Whether to move a reference from ``current`` to ``chosen``, and why."""

    move: bool
    verdict: str  # one of the names above
    reason: str  # one line for people

    def as_json(self) -> dict[str, Any]:
        return {"move": self.move, "decision": self.verdict, "reason": self.reason}


def _unrankable(policy: TagPolicy) -> str:
    if policy.kind == "semver":
        return "not a version"
    if policy.kind == "numerical":
        return "not a number"
    if policy.kind == "newest-build":
        return "without a creation time"
    return "not ranked by the policy"


def _rank(policy: TagPolicy, current: str, chosen: str, created_of: CreatedOf | None) -> int | None:
    """> 0 when the policy ranks ``current`` above ``chosen``, 0 equal, < 0 below;
    None when ``current`` cannot be ranked."""
    if policy.kind == "newest-build":
        if created_of is None:
            return None
        created = created_of([current, chosen])
        mine, theirs = created.get(current), created.get(chosen)
        if mine is None or theirs is None:
            return None
        return (mine > theirs) - (mine < theirs)
    mine_value, theirs_value = tag_value(policy, current), tag_value(policy, chosen)
    if mine_value is None or theirs_value is None:
        return None
    if policy.kind == "semver":
        mine_v, theirs_v = try_parse_version(mine_value), try_parse_version(theirs_value)
        if mine_v is None or theirs_v is None:
            return None
        return mine_v.compare(theirs_v)
    a: Any
    b: Any
    if policy.kind == "numerical":
        if not (_NUMBER_RE.match(mine_value) and _NUMBER_RE.match(theirs_value)):
            return None
        a, b = Decimal(mine_value), Decimal(theirs_value)
    else:
        a, b = mine_value, theirs_value
    d = int(a > b) - int(a < b)
    return d if highest_first(policy) else -d


def decide(
    policy: TagPolicy,
    current: str | None,
    chosen: str,
    *,
    allow_downgrade: bool = False,
    created_of: CreatedOf | None = None,
) -> Decision:
    """The rule for every command that moves a reference to a policy's choice.

    ``current`` is the reference's tag now (None: it has none); ``created_of`` looks up
    image creation times, which only ``newest-build`` needs.
    """
    if policy.kind == "digest":
        return Decision(True, FOLLOWS, f"follows tag {chosen!r}")
    if current is None:
        return Decision(True, NOT_COMPARABLE, f"no current tag; took the policy's choice {chosen}")
    if current == chosen:
        return Decision(True, UPGRADE, f"already at {chosen}")
    order = _rank(policy, current, chosen, created_of)
    if order is None:
        what = _unrankable(policy)
        return Decision(
            True,
            NOT_COMPARABLE,
            f"current tag {current} is {what} under {policy.describe()};"
            f" took the policy's choice {chosen}",
        )
    if order < 0:
        return Decision(True, UPGRADE, f"{current} -> {chosen}")
    above = "newer than" if policy.kind in ("semver", "newest-build") else "ranked above"
    if order == 0:
        return Decision(
            False,
            SAME_RANK,
            f"current {current} ranks the same as the policy's best {chosen}; left alone",
        )
    if allow_downgrade:
        return Decision(
            True,
            DOWNGRADE_ALLOWED,
            f"current {current} is {above} the policy's best {chosen};"
            " moved back (allow-downgrade)",
        )
    return Decision(
        False, NEWER, f"current {current} is {above} the policy's best {chosen}; left alone"
    )
