"""Argo CD Image Updater's own test table (../shared/peer-tables/argocd-image-updater.json)
against the product: its policies through ``updater choose`` (newest-build, which needs
a registry's creation times, through the same ``updater.policy.choose`` poll calls), its
write-back through ``updater set-image`` on ``.argocd-source-<app>.yaml``, values files
and a kustomization. A case this tool answers differently on purpose is listed in
DIFFERENCES with its reason (docs/design.md, "Differences from peers"), and the test
asserts what it does instead. Cases the table marks ``applies: false`` are skipped with
the table's own reason."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from ruamel.yaml import YAML

from tests.shared import SHARED, absent
from updater.cli import cli
from updater.policy import TagPolicy, choose
from updater.reference import parse

TABLE = SHARED / "peer-tables" / "argocd-image-updater.json"


@cache
def _cases() -> tuple[dict[str, Any], ...]:
    if not TABLE.is_file():
        return ()
    cases: list[dict[str, Any]] = json.loads(TABLE.read_text(encoding="utf-8"))["cases"]
    return tuple(cases)


SPELLING = (
    "an existing entry keeps the file's spelling of the repository (docker.io/library/nginx "
    "stays so): only the tag or digest changes; Argo re-writes the entry as the new "
    "reference is spelled"
)
BAD_REGEXP = (
    "an allow-tags regular expression that does not compile is refused (exit 2, as poll "
    "refuses the config); Argo treats it as matching no tag"
)
KEPT = (
    "parts left out of IMAGE are kept, not cleared: 'foo:123' on an entry that renames foo "
    "keeps the newName, 'bar=qux' keeps the newTag; kustomize (which Argo runs) replaces "
    "the whole entry"
)


def _written_name(ref: str) -> str:
    """The repository as the reference spells it (no tag, no digest)."""
    name = ref.partition("@")[0]
    head, _, tail = name.rpartition("/")
    return f"{head}/{tail.partition(':')[0]}" if head else tail.partition(":")[0]


def _difference(case: dict[str, Any]) -> str | None:
    """Why the product answers ``case`` differently on purpose, or None."""
    if case["kind"] == "allow" and case["allow_tags"].lower().startswith("regexp:"):
        try:
            re.compile(case["allow_tags"].partition(":")[2])
        except re.error:
            return BAD_REGEXP
    if case["kind"] == "kustomize_override" and case["existing"]:
        old, new = case["existing"][0], case["new"][0]
        same = _deployed(old)[0] == _deployed(new)[0]
        if same and _written_name(old) != _written_name(new):
            return SPELLING
    if case["kind"] == "kustomization":
        return KEPT
    return None


def _ids(kind: str) -> list[int]:
    """The indices of the table's ``kind`` cases ([-1]: one test that skips)."""
    return [i for i, case in enumerate(_cases()) if case["kind"] == kind] or [-1]


def _case(index: int, kind: str) -> dict[str, Any]:
    if index < 0:
        pytest.skip(absent("peer-tables/argocd-image-updater.json"))
    case = _cases()[index]
    assert case["kind"] == kind
    if case.get("applies") is False:
        pytest.skip(f"not applicable: {case['why']}")
    return case


def run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=False)
    return result.exit_code, result.stdout


def choose_cli(*flags: str, tags: list[str]) -> tuple[int, dict[str, Any]]:
    stdin = "".join(f"{tag}\n" for tag in tags)
    status, out = run("choose", "--json", *flags, "-", stdin=stdin)
    report: dict[str, Any] = json.loads(out) if out.strip() else {}
    return status, report


# --------------------------------------------------------------------------- policies

STRATEGIES = {"semver": "semver", "alphabetical": "alphabetical", "digest": "digest"}


@pytest.mark.parametrize("index", _ids("latest"))
def test_latest(index: int) -> None:
    case = _case(index, "latest")
    expected = case["expected"]
    if case["strategy"] == "newest-build":
        assert case["dates"] == "index*5s"
        start = datetime(2020, 1, 1, tzinfo=UTC)
        dates = {tag: start + timedelta(seconds=5 * i) for i, tag in enumerate(case["tags"])}
        picked = choose(
            TagPolicy("newest-build"),
            case["tags"],
            repository=case["current_image"],
            created_of=lambda tags: {tag: dates[tag] for tag in tags},
        )
        assert picked.tag == expected["tag"]
        return
    flags = ["--policy", STRATEGIES[case["strategy"]]]
    if case["strategy"] == "digest":
        flags += ["--tag", case["constraint"]]
    elif case["constraint"]:
        flags += ["--range", case["constraint"]]
    status, report = choose_cli(*flags, tags=case["tags"])
    if expected.get("error"):
        assert status == 2, report  # a bad range, refused as poll refuses it
    elif expected["tag"] is None:
        assert status == 4, report  # no tag to move to: nothing changes
    else:
        assert (status, report["chosen"]) == (0, expected["tag"]), report


@pytest.mark.parametrize("index", _ids("sort"))
def test_sort(index: int) -> None:
    """Argo sorts the tags and takes the last; the product picks that same last one."""
    case = _case(index, "sort")
    tags, highest = case["tags"], case["expected_ascending"][-1]
    if case["strategy"] == "newest-build":
        start = datetime(2020, 1, 1, tzinfo=UTC)
        dates = {
            t: start + timedelta(seconds=s) for t, s in zip(tags, case["dates_unix"], strict=True)
        }
        picked = choose(
            TagPolicy("newest-build"),
            tags,
            repository="x",
            created_of=lambda wanted: {t: dates[t] for t in wanted},
        )
        assert picked.tag == highest
        return
    status, report = choose_cli("--policy", case["strategy"], tags=tags)
    assert (status, report["chosen"]) == (0, highest), report


@pytest.mark.parametrize("index", _ids("ignore"))
def test_ignore(index: int) -> None:
    case = _case(index, "ignore")
    flags = ["--policy", "alphabetical"]
    for pattern in case["ignore"]:
        flags += ["--ignore", pattern]
    _, report = choose_cli(*flags, tags=[case["tag"]])
    ignored = {"tag": case["tag"], "reason": "ignored"} in report["rejected"]
    assert ignored is case["ignored"], report


@pytest.mark.parametrize("index", _ids("allow"))
def test_allow(index: int) -> None:
    case = _case(index, "allow")
    spec: str = case["allow_tags"]
    flags = ["--policy", "alphabetical"]
    if spec.lower().startswith("regexp:"):
        flags += ["--filter", spec.partition(":")[2]]
    else:
        assert spec.lower() == "any", spec
    status, report = choose_cli(*flags, tags=[case["tag"]])
    if _difference(case) is BAD_REGEXP:
        assert status == 2, report
        return
    assert (report.get("chosen") == case["tag"]) is case["allowed"], report


# --------------------------------------------------------------------------- write-back


def _argocd_source(root: Path, images: list[str] | None) -> Path:
    path = root / ".argocd-source-app.yaml"
    body: dict[str, Any] = {"kustomize": {"images": images} if images is not None else {}}
    path.write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
    return path


def _set_image(root: Path, path: str, *images: str) -> tuple[int, str]:
    return run("set-image", "--repo", str(root), "--path", path, "--write", *images)


def _deployed(ref: str) -> tuple[str, str | None, str | None]:
    parsed = parse(ref)
    return parsed.repository, parsed.tag, parsed.digest


@pytest.mark.parametrize("index", _ids("kustomize_override"))
def test_kustomize_override(tmp_path: Path, index: int) -> None:
    case = _case(index, "kustomize_override")
    path = _argocd_source(tmp_path, case["existing"])
    before = path.read_text(encoding="utf-8")
    status, output = _set_image(tmp_path, path.name, *case["new"])
    assert status == 0, output
    after = yaml.safe_load(path.read_text(encoding="utf-8"))["kustomize"]["images"]
    if after == case["existing"]:
        assert path.read_text(encoding="utf-8") == before  # nothing to change
    # Argo sorts the list; the product appends a new entry: the same set deploys.
    if _difference(case) is SPELLING:
        assert [_deployed(i) for i in after] == [_deployed(i) for i in case["expected"]]
        assert after != case["expected"]  # the file's own spelling kept
    else:
        assert sorted(after) == sorted(case["expected"])


@pytest.mark.parametrize("index", _ids("kustomize_override_cycles"))
def test_kustomize_override_cycles(tmp_path: Path, index: int) -> None:
    case = _case(index, "kustomize_override_cycles")
    path = tmp_path / ".argocd-source-app.yaml"
    path.write_text(case["original"], encoding="utf-8")
    for _ in range(case["cycles"]):
        status, output = _set_image(tmp_path, path.name, case["new"])
        assert status == 0, output
    after = yaml.safe_load(path.read_text(encoding="utf-8"))
    expected = yaml.safe_load(case["expected"])
    assert len(after["kustomize"]["images"]) == len(expected["kustomize"]["images"]) == 1
    assert [_deployed(i) for i in after["kustomize"]["images"]] == [
        _deployed(i) for i in expected["kustomize"]["images"]
    ]


def _values_at(data: Any, dotted: str) -> Any:
    for key in dotted.split("."):
        data = data[key]
    return data


@pytest.mark.parametrize("index", _ids("helm_values"))
def test_helm_values(tmp_path: Path, index: int) -> None:
    case = _case(index, "helm_values")
    (tmp_path / "Chart.yaml").write_text("apiVersion: v2\nname: app\nversion: 0.1.0\n")
    values = tmp_path / "values.yaml"
    values.write_text(case["original"], encoding="utf-8")
    status, output = _set_image(tmp_path, "values.yaml", *case["set"])
    assert status == 0, output
    after = values.read_text(encoding="utf-8")
    if "expected_bytes" in case:
        assert after == case["expected_bytes"]
    for dotted, value in case.get("expected_values", {}).items():
        assert _values_at(yaml.safe_load(after), dotted) == value
    assert after.startswith(case.get("expected_prefix", ""))


@pytest.mark.parametrize("index", _ids("tag_roundtrip"))
def test_tag_roundtrip(tmp_path: Path, index: int) -> None:
    """A tag YAML would read as something else (1.20, 0755, yes, null) is written so
    that it reads back as the same string."""
    case = _case(index, "tag_roundtrip")
    (tmp_path / "Chart.yaml").write_text("apiVersion: v2\nname: app\nversion: 0.1.0\n")
    values = tmp_path / "values.yaml"
    values.write_text("image:\n  repository: acme/app\n  tag: v1\n", encoding="utf-8")
    status, output = _set_image(tmp_path, "values.yaml", f"acme/app:{case['tag']}")
    assert status == 0, output
    text = values.read_text(encoding="utf-8")
    assert yaml.safe_load(text)["image"]["tag"] == case["tag"]  # YAML 1.1 reading
    assert YAML(typ="safe").load(text)["image"]["tag"] == case["tag"]  # YAML 1.2


@pytest.mark.parametrize("index", _ids("kustomization"))
def test_kustomization(tmp_path: Path, index: int) -> None:
    case = _case(index, "kustomization")
    path = tmp_path / "kustomization.yaml"
    path.write_text(case["original"], encoding="utf-8")
    assert _difference(case) is KEPT
    first, second = case["steps"]
    status, output = _set_image(tmp_path, path.name, *first["args"])
    assert status == 0, output
    assert yaml.safe_load(path.read_text(encoding="utf-8")) == yaml.safe_load(
        first["expected_yaml"]
    )
    status, output = _set_image(tmp_path, path.name, *second["args"])
    assert status == 0, output
    wanted = yaml.safe_load(second["expected_yaml"])
    # What kustomize clears, this tool keeps: foo's newName bar, bar's newTag 123.
    wanted["images"][0]["newName"] = "bar"
    wanted["images"][1]["newTag"] = "123"
    assert yaml.safe_load(path.read_text(encoding="utf-8")) == wanted


@pytest.mark.parametrize("index", _ids("helm_key_path"))
def test_helm_key_path(index: int) -> None:
    """Every case of this kind is marked not applicable by the table: skipped with why."""
    case = _case(index, "helm_key_path")
    raise AssertionError(f"an applicable helm_key_path case needs a check: {case}")
