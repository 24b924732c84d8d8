"""Choose a tag from a registry's list: filter, extract, ignore, then rank by policy.

Policies rank the *value* of a tag: the tag itself, or what ``extract`` pulls out of
it with the ``filter`` regex (``$name``, ``${name}``, ``$1``, ``$$`` as in Go's
``Regexp.Expand``, which Flux uses). The best candidate wins; ``min-age`` then skips
candidates whose image is younger than the cool-down.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cmp_to_key
from types import MappingProxyType
from typing import Any

from updater.errors import NoMatchError
from updater.policy.semver import Constraint, Version, try_parse_version

POLICIES = ("semver", "numerical", "alphabetical", "newest-build", "digest")
ORDERS = ("asc", "desc")

_NUMBER_RE = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_TEMPLATE_RE = re.compile(r"\$(?:\$|\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))")

# Looks up image creation times for tags; None for a tag whose image has none.
CreatedLookup = Callable[[Sequence[str]], dict[str, datetime | None]]


class NoTagMatches(NoMatchError):
    """A policy that matches none of a repository's tags (exit 4, like an image
    referenced nowhere: nothing to move to). ``rejected``: reason -> tags."""

    rejected: Mapping[str, tuple[str, ...]] = MappingProxyType({})


@dataclass(frozen=True)
class TagPolicy:
    kind: str  # one of POLICIES
    range: Constraint | None = None  # semver
    order: str = "asc"  # numerical, alphabetical: asc selects the highest (Flux)
    filter: re.Pattern[str] | None = None
    extract: str | None = None
    ignore: tuple[str, ...] = ()
    tag: str | None = None  # digest: the mutable tag followed
    min_age: timedelta | None = None

    def describe(self) -> str:
        if self.kind == "semver":
            return f"semver {str(self.range) if self.range else '*'!r}"
        if self.kind in ("numerical", "alphabetical"):
            return f"{self.kind} {self.order}"
        if self.kind == "digest":
            return f"digest of tag {self.tag!r}"
        return self.kind


@dataclass(frozen=True)
class Choice:
    tag: str
    value: str  # what was ranked: the tag, the extracted text, or a creation time
    reason: str
    considered: tuple[str, ...]  # candidates, best first
    rejected: dict[str, tuple[str, ...]] = field(default_factory=dict)  # reason -> tags
    created: datetime | None = None


def expand(template: str, match: re.Match[str]) -> str:
    """Go's ``Regexp.Expand``: unknown or unmatched groups expand to ''."""

    def one(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        if name is None:
            return "$"
        try:
            value = match.group(int(name) if name.isdigit() else name)
        except IndexError:
            return ""
        return value or ""

    return _TEMPLATE_RE.sub(one, template)


def template_names(template: str) -> list[str]:
    return [m.group(1) or m.group(2) for m in _TEMPLATE_RE.finditer(template) if m.group(0) != "$$"]


@dataclass
class _Sieve:
    rejected: dict[str, list[str]] = field(default_factory=dict)

    def reject(self, reason: str, tag: str) -> None:
        self.rejected.setdefault(reason, []).append(tag)

    def frozen(self) -> dict[str, tuple[str, ...]]:
        return {k: tuple(v) for k, v in self.rejected.items()}


def highest_first(policy: TagPolicy) -> bool:
    """Whether the policy picks the highest value (else the lowest): the one place
    that says what ``order`` means. As in Flux's ImagePolicy API, ``asc`` (the default)
    selects the highest and ``desc`` the lowest: the letters of the alphabet as tags
    give Z ascending and A descending."""
    if policy.kind in ("numerical", "alphabetical"):
        return policy.order != "desc"
    return True


def tag_value(policy: TagPolicy, tag: str) -> str | None:
    """What the policy ranks for ``tag`` (the tag, or what ``extract`` takes out of it);
    None when the filter does not match it. ``ignore`` is not applied: it decides what
    may be chosen, not how a tag ranks."""
    if policy.filter is None:
        return tag
    m = policy.filter.search(tag)
    if m is None:
        return None
    return expand(policy.extract, m) if policy.extract is not None else tag


def _values(policy: TagPolicy, tags: Iterable[str], sieve: _Sieve) -> list[tuple[str, str]]:
    """(tag, value) for tags that pass ignore and filter, in registry order."""
    out = []
    for tag in tags:
        if any(fnmatch.fnmatchcase(tag, pattern) for pattern in policy.ignore):
            sieve.reject("ignored", tag)
            continue
        value = tag_value(policy, tag)
        if value is None:
            sieve.reject("filtered out", tag)
            continue
        out.append((tag, value))
    return out


def _by_value_then_tag(
    items: list[tuple[str, Any]], compare: Callable[[Any, Any], int], descending: bool
) -> list[tuple[str, Any]]:
    def cmp(a: tuple[str, Any], b: tuple[str, Any]) -> int:
        d = compare(a[1], b[1])
        if d == 0:  # equal values: the tag text decides, so runs are repeatable
            d = (a[0] > b[0]) - (a[0] < b[0])
        return -d if descending else d

    return sorted(items, key=cmp_to_key(cmp))


def _plain(a: Any, b: Any) -> int:
    return int(a > b) - int(a < b)


def _rank_semver(policy: TagPolicy, pairs: list[tuple[str, str]], sieve: _Sieve) -> list[str]:
    parsed: list[tuple[str, Version]] = []
    for tag, value in pairs:
        version = try_parse_version(value)
        if version is None:
            sieve.reject("not a semantic version", tag)
        elif policy.range is not None and not policy.range.matches(version):
            sieve.reject("outside the range", tag)
        elif policy.range is None and version.pre:
            sieve.reject("prerelease", tag)
        else:
            parsed.append((tag, version))
    ranked = _by_value_then_tag(parsed, lambda a, b: a.compare(b), descending=True)
    return [tag for tag, _ in ranked]


def _rank_numerical(policy: TagPolicy, pairs: list[tuple[str, str]], sieve: _Sieve) -> list[str]:
    numbers: list[tuple[str, Decimal]] = []
    for tag, value in pairs:
        if _NUMBER_RE.match(value):
            numbers.append((tag, Decimal(value)))
        else:
            sieve.reject("not a number", tag)
    ranked = _by_value_then_tag(numbers, _plain, descending=highest_first(policy))
    return [tag for tag, _ in ranked]


def _rank_alphabetical(policy: TagPolicy, pairs: list[tuple[str, str]]) -> list[str]:
    ranked = _by_value_then_tag(pairs, _plain, descending=highest_first(policy))
    return [tag for tag, _ in ranked]


def _rank_newest(
    pairs: list[tuple[str, str]], created: dict[str, datetime | None], sieve: _Sieve
) -> list[str]:
    dated: list[tuple[str, datetime]] = []
    for tag, _ in pairs:
        when = created.get(tag)
        if when is None:
            sieve.reject("no creation time", tag)
        else:
            dated.append((tag, when))
    ranked = _by_value_then_tag(dated, _plain, descending=True)
    return [tag for tag, _ in ranked]


def _age(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def choose(
    policy: TagPolicy,
    tags: Sequence[str],
    *,
    repository: str,
    created_of: CreatedLookup | None = None,
    now: datetime | None = None,
) -> Choice:
    """Pick the best tag; raise NoTagMatches with the reasons tags were left out."""
    if policy.kind == "digest":
        if policy.tag not in tags:
            raise NoTagMatches(f"{repository}: tag {policy.tag!r} does not exist")
        assert policy.tag is not None
        return Choice(policy.tag, policy.tag, f"follows tag {policy.tag!r}", (policy.tag,))
    sieve = _Sieve()
    pairs = _values(policy, tags, sieve)
    values = dict(pairs)
    created: dict[str, datetime | None] = {}
    if policy.kind == "semver":
        ranked = _rank_semver(policy, pairs, sieve)
    elif policy.kind == "numerical":
        ranked = _rank_numerical(policy, pairs, sieve)
    elif policy.kind == "alphabetical":
        ranked = _rank_alphabetical(policy, pairs)
    elif policy.kind == "newest-build":
        if created_of is None:
            raise NoTagMatches(f"{repository}: newest-build needs image creation times")
        created = created_of([tag for tag, _ in pairs])
        ranked = _rank_newest(pairs, created, sieve)
    else:
        raise NoTagMatches(f"{repository}: unknown policy {policy.kind!r}")
    chosen = _apply_min_age(policy, ranked, created, created_of, now, sieve, repository)
    if chosen is None:
        error = NoTagMatches(_no_match_message(policy, repository, len(tags), sieve))
        error.rejected = sieve.frozen()
        raise error
    tag = chosen
    when = created.get(tag)
    value = when.isoformat() if policy.kind == "newest-build" and when else values[tag]
    return Choice(
        tag=tag,
        value=value,
        reason=_reason(policy, tag, value, len(ranked), len(tags)),
        considered=tuple(ranked),
        rejected=sieve.frozen(),
        created=when,
    )


def _apply_min_age(
    policy: TagPolicy,
    ranked: list[str],
    created: dict[str, datetime | None],
    created_of: CreatedLookup | None,
    now: datetime | None,
    sieve: _Sieve,
    repository: str,
) -> str | None:
    if policy.min_age is None:
        return ranked[0] if ranked else None
    if created_of is None or now is None:
        raise NoTagMatches(f"{repository}: min-age needs image creation times")
    for tag in ranked:  # best first; most runs stop at the first
        if tag not in created:
            created.update(created_of([tag]))
        when = created.get(tag)
        if when is None:
            sieve.reject("no creation time", tag)
        elif now - when < policy.min_age:
            sieve.reject(f"younger than {_age(policy.min_age)}", tag)
        else:
            return tag
    return None


def _reason(policy: TagPolicy, tag: str, value: str, candidates: int, total: int) -> str:
    among = f"among {candidates} candidate(s) of {total} tag(s)"
    shown = f"{tag!r}" if value == tag else f"{tag!r} (value {value!r})"
    if policy.kind == "semver":
        return (
            f"highest version in {str(policy.range) if policy.range else '*'!r}: {shown}, {among}"
        )
    if policy.kind == "newest-build":
        return f"newest image: {tag!r} built {value}, {among}"
    word = "highest" if highest_first(policy) else "lowest"
    if policy.kind == "alphabetical":
        word = "last" if highest_first(policy) else "first"
    return f"{word} {policy.kind} value: {shown}, {among}"


def _no_match_message(policy: TagPolicy, repository: str, total: int, sieve: _Sieve) -> str:
    counts = ", ".join(f"{len(tags)} {reason}" for reason, tags in sieve.rejected.items())
    detail = f" ({counts})" if counts else ""
    return f"{repository}: no tag matches policy {policy.describe()}: {total} tag(s){detail}"
