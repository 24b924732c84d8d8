"""The peers' own policy test tables (../shared/peer-tables): Masterminds/semver's
tables against the range and version code, and Flux image-reflector-controller's
policy tables through ``updater choose`` (poll's policy code and checks). A case this
tool answers differently on purpose is listed in a DIFFERENCES table with its reason
(docs/design.md, "Differences from peers"), and the test asserts what it does instead.
Cases a table itself marks ``applies: false`` (Go internals with no counterpart) are
skipped with the table's own reason."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest
from click.testing import CliRunner

from tests.shared import SHARED, absent
from updater.cli import cli
from updater.policy.build import compile_filter
from updater.policy.semver import (
    InvalidConstraint,
    InvalidVersion,
    parse_constraint,
    parse_version,
)
from updater.policy.tags import TagPolicy, tag_value

TABLES = SHARED / "peer-tables"


@cache
def _cases(name: str) -> tuple[dict[str, Any], ...]:
    path = TABLES / name
    if not path.is_file():
        return ()
    cases: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["cases"]
    return tuple(cases)


def _ids(name: str) -> list[int]:
    return list(range(len(_cases(name)))) or [-1]  # -1: one test that skips


def _case(name: str, index: int) -> dict[str, Any]:
    if index < 0:
        pytest.skip(absent(f"peer-tables/{name}"))
    case = _cases(name)[index]
    if case.get("applies") is False:
        pytest.skip(f"not applicable: {case['why']}")
    return case


# ------------------------------------------------------------------ Masterminds/semver


def _masterminds(case: dict[str, Any]) -> bool:
    """Whether the product answers the case as Masterminds does."""
    kind = case["kind"]
    if kind in ("parse_comparator", "new_constraint"):
        try:
            constraint = parse_constraint(case["input"])
        except InvalidConstraint:
            return bool(case["error"])
        if case["error"]:
            return False
        if kind == "new_constraint":
            counts = (len(constraint.groups), len(constraint.groups[0].comparators))
            return counts == (case["ors"], case["count"])
        (comparator,) = constraint.groups[0].comparators
        return (comparator.op, str(comparator.version)) == (case["op"], case["version"])
    if kind in ("check", "check_single"):
        matches = parse_constraint(case["constraint"]).matches(
            parse_version(case["version"]),
            include_prerelease=bool(case.get("include_prerelease", False)),
        )
        return matches is case["expected"]
    if kind == "version_parse":
        try:
            parse_version(case["version"])
        except InvalidVersion:
            return bool(case["error"])
        return not case["error"]
    version = parse_version(case.get("version", case.get("v1", "")))
    if kind == "version_string":
        return str(version) == case["expected"]
    if kind == "version_original":
        return version.original == case["version"]
    if kind == "version_parts":
        parts = (version.major, version.minor, version.patch, version.pre, version.build)
        return parts == tuple(case[k] for k in ("major", "minor", "patch", "pre", "build"))
    order = version.compare(parse_version(case["v2"]))
    if kind == "compare":
        return order == case["expected"]
    if kind == "compare_op":
        by_op = {"<": order < 0, ">": order > 0, "=": order == 0, "==": order == 0}
        by_op |= {"<=": order <= 0, ">=": order >= 0}
        return by_op[case["op"]] is case["expected"]
    raise AssertionError(f"unknown Masterminds case kind {kind!r}")


@pytest.mark.parametrize("index", _ids("masterminds-semver.json"))
def test_masterminds_semver(index: int) -> None:
    case = _case("masterminds-semver.json", index)
    assert _masterminds(case), case


# --------------------------------------------------------------------------- Flux policies

NOT_A_NUMBER = (
    "a tag that is not a number is left out of a numerical policy with its reason "
    "(choose --json lists it), where Flux fails the whole policy: a registry lists "
    "'latest' and branch tags beside the numbered ones"
)
# Case number (1-based, in the table's order) -> why this tool differs.
FLUX_DIFFERENCES = {
    number: NOT_A_NUMBER
    for number, case in enumerate(_cases("flux-policy.json"), 1)
    if case["kind"] == "latest"
    and case["policy"] == "numerical"
    and case.get("expected_error")
    and case["versions"]  # an empty list fails here too
}


def choose(*flags: str, tags: list[str]) -> tuple[int, dict[str, Any]]:
    """``updater choose --json FLAGS -`` with the tags on stdin, one a line (an empty
    list, and tags like ``-62``, that arguments cannot carry)."""
    stdin = "".join(f"{tag}\n" for tag in tags)
    command = ["choose", "--json", *flags, "-"]
    result = CliRunner().invoke(cli, command, input=stdin, catch_exceptions=False)
    report: dict[str, Any] = json.loads(result.stdout) if result.stdout.strip() else {}
    return result.exit_code, report


def _policy_flags(case: dict[str, Any]) -> list[str]:
    flags = ["--policy", case["policy"]]
    if case.get("range") is not None:
        flags += ["--range", case["range"]]
    if case.get("order") is not None:
        flags += ["--order", case["order"]]
    return flags


@pytest.mark.parametrize("index", _ids("flux-policy.json"))
def test_flux_policy(index: int) -> None:
    case = _case("flux-policy.json", index)
    kind = case["kind"]
    if kind in ("semver_range", "order_valid"):
        flags = _policy_flags(case if kind == "order_valid" else {**case, "policy": "semver"})
        status, _ = choose(*flags, tags=["1.0.0"])
        assert (status in (0, 4)) is case["valid"], status  # 2: refused as poll refuses it
        return
    if kind == "filter":
        flags = ["--policy", "alphabetical"]
        if case["pattern"]:
            flags += ["--filter", case["pattern"]]
        if case["extract"]:
            flags += ["--extract", case["extract"]]
        status, report = choose(*flags, tags=case["tags"])
        assert status == 0, report
        ranked = [r["tag"] for r in report["rejected"] if r["reason"].startswith("ranked below")]
        policy = TagPolicy(
            "alphabetical",
            filter=compile_filter(case["pattern"]) if case["pattern"] else None,
            extract=case["extract"] or None,
        )
        values = {tag_value(policy, tag) for tag in [report["chosen"], *ranked]}
        assert values == set(case["expected_values"])
        return
    assert kind == "latest", kind
    status, report = choose(*_policy_flags(case), tags=case["versions"])
    if index + 1 in FLUX_DIFFERENCES:
        numbers = [t for t in case["versions"] if t.lstrip("-").replace(".", "", 1).isdigit()]
        assert status == 0 and report["chosen"] == max(numbers, key=float)
        assert {"tag": "1a", "reason": "not a number"} in report["rejected"]
    elif case.get("expected_error"):
        assert status == 4, report
    else:
        assert (status, report["chosen"]) == (0, case["expected"]), report
