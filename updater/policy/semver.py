"""Semantic versions and range constraints with the rules of Masterminds/semver v3.4.

This is what Flux's ``semver`` image policy and Helm use, so a range written for
them means the same here. The rules, in short (see the README for examples):

* versions are parsed loosely: ``v`` prefix, missing minor/patch (``1.2`` is
  ``1.2.0``) and leading zeros are accepted; four parts (``1.2.3.4``) are not;
* a range is OR groups split by ``||``; inside a group comparators are ANDed,
  separated by spaces or commas; ``A - B`` (spaces around the hyphen) means
  ``>= A, <= B``;
* operators ``= != > < >= => <= =< ~ ~> ^``, no operator means ``=``; ``x``,
  ``X`` and ``*`` are wildcards, and a missing part counts as a wildcard;
* a prerelease version only satisfies a group in which some comparator names a
  prerelease (``>=1.2.0-0``); the group then compares by semver precedence.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_UINT64_MAX = 2**64 - 1
_WS = r"[\t\n\f\r ]"  # Go's \s, not Python's Unicode-aware one
_VERSION_RE = re.compile(
    r"^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?"
    r"(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?"
    r"(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?$"
)
_ALLOWED = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-0123456789")

# A version inside a constraint: like a version, but any number part may be a
# wildcard. The character class keeps the upstream quirk of also admitting '|'.
_CV = (
    r"v?([0-9|xX*]+)(\.[0-9|xX*]+)?(\.[0-9|xX*]+)?"
    r"(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?"
    r"(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?"
)
# Longer operators after shorter ones on purpose: the regex engine backtracks
# into them, which is how the upstream grammar resolves ">=" and "~>".
_OPS = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^"
_ONE_RE = re.compile(rf"^{_WS}*({_OPS}){_WS}*({_CV}){_WS}*$")
_FIND_RE = re.compile(rf"({_OPS}){_WS}*({_CV})")
_GROUP_RE = re.compile(
    rf"^({_WS}*({_OPS}){_WS}*({_CV}){_WS}*)((?:{_WS}+|,{_WS}*)({_OPS}){_WS}*({_CV}){_WS}*)*$"
)
_HYPHEN_RE = re.compile(rf"{_WS}*({_CV}){_WS}+-{_WS}+({_CV}){_WS}*")


class InvalidVersion(ValueError):
    pass


class InvalidConstraint(ValueError):
    pass


def _uint(text: str) -> int:
    value = int(text)
    if value > _UINT64_MAX:
        raise InvalidVersion(f"version segment {text} is too large")
    return value


def _check_prerelease(pre: str) -> None:
    for part in pre.split("."):
        if part.isdigit() and part.isascii():
            if len(part) > 1 and part[0] == "0":
                raise InvalidVersion("prerelease number starts with 0")
        elif not set(part) <= _ALLOWED:
            raise InvalidVersion("invalid prerelease")


def _compare_pre_part(a: str, b: str) -> int:
    if a == b:
        return 0
    if not a:
        return -1
    if not b:
        return 1
    a_num = a.isascii() and a.isdigit()
    b_num = b.isascii() and b.isdigit()
    if a_num and b_num:
        return 1 if int(a) > int(b) else -1
    if a_num:
        return -1
    if b_num:
        return 1
    return 1 if a.encode() > b.encode() else -1


def compare_prerelease(a: str, b: str) -> int:
    a_parts, b_parts = a.split("."), b.split(".")
    for i in range(max(len(a_parts), len(b_parts))):
        d = _compare_pre_part(
            a_parts[i] if i < len(a_parts) else "", b_parts[i] if i < len(b_parts) else ""
        )
        if d:
            return d
    return 0


@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int
    pre: str = ""
    build: str = ""
    original: str = ""

    def compare(self, other: Version) -> int:
        """Semver precedence: build metadata ignored, a prerelease sorts before its release."""
        mine = (self.major, self.minor, self.patch)
        theirs = (other.major, other.minor, other.patch)
        if mine != theirs:
            return 1 if mine > theirs else -1
        if self.pre == other.pre:
            return 0
        if not self.pre:
            return 1
        if not other.pre:
            return -1
        return compare_prerelease(self.pre, other.pre)

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.pre:
            text += f"-{self.pre}"
        if self.build:
            text += f"+{self.build}"
        return text


def parse_version(text: str) -> Version:
    """Parse loosely, as ``NewVersion`` does with coercion on; raise InvalidVersion."""
    m = _VERSION_RE.match(text)
    if m is None:
        raise InvalidVersion(f"{text!r} is not a semantic version")
    pre, build = m.group(5) or "", m.group(8) or ""
    if pre:
        _check_prerelease(pre)
    return Version(
        major=_uint(m.group(1)),
        minor=_uint(m.group(2)[1:]) if m.group(2) else 0,
        patch=_uint(m.group(3)[1:]) if m.group(3) else 0,
        pre=pre,
        build=build,
        original=text,
    )


def try_parse_version(text: str) -> Version | None:
    try:
        return parse_version(text)
    except InvalidVersion:
        return None


def _is_wild(part: str) -> bool:
    return part in ("x", "X", "*")


@dataclass(frozen=True)
class Comparator:
    op: str  # normalised: "=", "!=", ">", "<", ">=", "<=", "~", "^"
    version: Version
    text: str  # as written, for messages
    dirty: bool = False  # some part was a wildcard or missing
    minor_dirty: bool = False  # the minor part (and so the patch) was
    patch_dirty: bool = False  # only the patch part was

    def matches(self, v: Version) -> bool:
        return _CHECKS[self.op](v, self)


_OP_ALIASES = {"": "=", "=": "=", "=>": ">=", "=<": "<=", "~>": "~"}


def _parse_comparator(text: str) -> Comparator:
    m = _ONE_RE.match(text)
    if m is None:
        raise InvalidConstraint(f"improper constraint: {text}")
    op = _OP_ALIASES.get(m.group(1), m.group(1))
    major, minor, patch, pre_part = m.group(3), m.group(4), m.group(5), m.group(6) or ""
    dirty = minor_dirty = patch_dirty = False
    spelled = m.group(2)
    if _is_wild(major):
        spelled, dirty = f"0.0.0{pre_part}", True
    elif minor is None or _is_wild(minor[1:]):
        spelled, dirty, minor_dirty = f"{major}.0.0{pre_part}", True, True
    elif patch is None or _is_wild(patch[1:]):
        spelled, dirty, patch_dirty = f"{major}{minor}.0{pre_part}", True, True
    try:
        version = parse_version(spelled)
    except InvalidVersion as error:
        raise InvalidConstraint(f"improper constraint: {text.strip()} ({error})") from None
    return Comparator(op, version, m.group(2), dirty, minor_dirty, patch_dirty)


def _not_equal(v: Version, c: Comparator) -> bool:
    con = c.version
    if c.dirty:
        if con.major != v.major:
            return True
        if con.minor != v.minor and not c.minor_dirty:
            return True
        if c.minor_dirty:
            return False
        if con.patch != v.patch and not c.patch_dirty:
            return True
        if c.patch_dirty:
            if v.pre or con.pre:
                return compare_prerelease(v.pre, con.pre) != 0
            return False
    return v.compare(con) != 0


def _greater(v: Version, c: Comparator) -> bool:
    con = c.version
    if not c.dirty:
        return v.compare(con) > 0
    if v.major != con.major:
        return v.major > con.major
    if c.minor_dirty:
        return False  # ">11" needs 12 or more
    if c.patch_dirty:
        return v.minor > con.minor  # ">11.1" needs 11.2 or more
    return v.compare(con) > 0


def _less(v: Version, c: Comparator) -> bool:
    return v.compare(c.version) < 0


def _greater_equal(v: Version, c: Comparator) -> bool:
    return v.compare(c.version) >= 0


def _less_equal(v: Version, c: Comparator) -> bool:
    con = c.version
    if not c.dirty:
        return v.compare(con) <= 0
    if v.major > con.major:
        return False
    return not (v.major == con.major and v.minor > con.minor and not c.minor_dirty)


def _tilde(v: Version, c: Comparator) -> bool:
    con = c.version
    if v.compare(con) < 0:
        return False
    if (con.major, con.minor, con.patch) == (0, 0, 0) and not (c.minor_dirty or c.patch_dirty):
        return True
    if v.major != con.major:
        return False
    return v.minor == con.minor or c.minor_dirty


def _equal(v: Version, c: Comparator) -> bool:
    if c.dirty:
        return _tilde(v, c)
    return v.compare(c.version) == 0


def _caret(v: Version, c: Comparator) -> bool:
    con = c.version
    if v.compare(con) < 0:
        return False
    if con.major > 0 or c.minor_dirty:
        return v.major == con.major
    if v.major > 0:
        return False
    if con.minor > 0 or c.patch_dirty:
        return v.minor == con.minor
    if v.minor > 0:
        return False
    return v.patch == con.patch


_CHECKS: dict[str, Callable[[Version, Comparator], bool]] = {
    "=": _equal,
    "!=": _not_equal,
    ">": _greater,
    "<": _less,
    ">=": _greater_equal,
    "<=": _less_equal,
    "~": _tilde,
    "^": _caret,
}


def _rewrite_hyphen_ranges(text: str) -> str:
    out = text
    for m in _HYPHEN_RE.finditer(text):
        out = out.replace(m.group(0), f">= {m.group(1)}, <= {m.group(11)} ", 1)
    return out


@dataclass(frozen=True)
class Group:
    comparators: tuple[Comparator, ...]
    allows_prerelease: bool

    def matches(self, v: Version, *, include_prerelease: bool = False) -> bool:
        if v.pre and not (self.allows_prerelease or include_prerelease):
            return False
        return all(c.matches(v) for c in self.comparators)


@dataclass(frozen=True)
class Constraint:
    text: str
    groups: tuple[Group, ...]

    def matches(self, v: Version, *, include_prerelease: bool = False) -> bool:
        return any(g.matches(v, include_prerelease=include_prerelease) for g in self.groups)

    def __str__(self) -> str:
        return self.text


def parse_constraint(text: str) -> Constraint:
    """Parse a range; raise InvalidConstraint naming the offending part."""
    groups = []
    for part in _rewrite_hyphen_ranges(text).split("||"):
        if not _GROUP_RE.match(part):
            raise InvalidConstraint(f"improper constraint: {part.strip() or repr(part)}")
        found = [m.group(0) for m in _FIND_RE.finditer(part)] or [part]
        comparators = tuple(_parse_comparator(c) for c in found)
        groups.append(Group(comparators, any(c.version.pre for c in comparators)))
    return Constraint(text, tuple(groups))
