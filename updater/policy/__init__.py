"""Tag policies: which of a repository's tags a scheduled poll moves to."""

from __future__ import annotations

from updater.policy.semver import (
    Constraint,
    InvalidConstraint,
    InvalidVersion,
    Version,
    parse_constraint,
    parse_version,
)
from updater.policy.tags import (
    ORDERS,
    POLICIES,
    Choice,
    CreatedLookup,
    NoTagMatches,
    TagPolicy,
    choose,
    expand,
    template_names,
)

__all__ = [
    "ORDERS",
    "POLICIES",
    "Choice",
    "Constraint",
    "CreatedLookup",
    "InvalidConstraint",
    "InvalidVersion",
    "NoTagMatches",
    "TagPolicy",
    "Version",
    "choose",
    "expand",
    "parse_constraint",
    "parse_version",
    "template_names",
]
