"""Pieces of a policy spelled as text, checked the same way wherever they come from
(the poll config file, ``choose``'s flags), so both give the same messages."""

from __future__ import annotations

import re

from updater.policy.tags import template_names


def compile_filter(pattern: str) -> re.Pattern[str]:
    """Compile a filter; Go/RE2's ``(?<name>…)`` is accepted as ``(?P<name>…)``.
    Raises ``re.error``."""
    return re.compile(re.sub(r"\(\?<(?=[A-Za-z_])", "(?P<", pattern))


def extract_problem(extract: str, pattern: re.Pattern[str] | None) -> str | None:
    """Why ``extract`` cannot be used with the filter ``pattern``, or None."""
    if pattern is None:
        return "needs a filter"
    for name in template_names(extract):
        known = name in pattern.groupindex or (name.isdigit() and int(name) <= pattern.groups)
        if not known:
            return f"${name} is not a group of the filter"
    return None


def applicable_keys(kind: str) -> set[str]:
    """The policy keys that apply to ``kind`` (besides where and how to write)."""
    if kind == "digest":
        return {"tag"}
    keys = {"filter", "extract", "ignore", "min-age"}
    if kind == "semver":
        keys.add("range")
    if kind in ("numerical", "alphabetical"):
        keys.add("order")
    return keys
