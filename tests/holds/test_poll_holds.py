"""``poll`` against the real registry leaves held references alone, says so (text and
--json decisions), and moves them again once a candidate satisfies the hold's until."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import run
from tests.support.poll import deployment, registries
from tests.support.registry import Registry
from tests.support.repos import make_repo

pytestmark = pytest.mark.registry


def _setup(anon: Registry, repo_name: str, tmp_path: Path, holds: str) -> tuple[str, Path]:
    image = f"{anon.host}/{repo_name}"
    anon.push_image(repo_name, ["1.4.2", "1.5.0"])
    config = (
        f"images:\n  - name: {image}\n    policy: semver\n    range: '<2'\n"
        + registries(anon)
        + holds.format(image=image)
    )
    files = {
        "prod/app.yaml": deployment(f"{image}:1.4.2"),
        "dev/app.yaml": deployment(f"{image}:1.4.2"),
        ".image-updater.yaml": config,
    }
    return image, make_repo(tmp_path / "repo", files)


HOLD = """\
holds:
  - image: {image}
    paths: [prod]
    at: 1.4.2
    until: ">1.5.0"
    reason: "1.5.0 leaks memory (INC-42)"
"""


def test_a_hold_is_respected_until_a_candidate_satisfies_until(
    anon: Registry, repo_name: str, tmp_path: Path
) -> None:
    image, repo = _setup(anon, repo_name, tmp_path, HOLD)
    result = run("poll", "--repo", str(repo), "--write", "--json")
    assert result.exit_code == 0, result.stderr
    assert (repo / "prod/app.yaml").read_text() == deployment(f"{image}:1.4.2")
    assert (repo / "dev/app.yaml").read_text() == deployment(f"{image}:1.5.0")
    decisions = {d["file"]: d for d in json.loads(result.stdout)["images"][0]["decisions"]}
    assert decisions["dev/app.yaml"]["decision"] == "upgrade"
    held = decisions["prod/app.yaml"]
    assert held["decision"] == "held" and held["move"] is False
    reason = (
        "held at 1.4.2 until '>1.5.0': 1.5.0 leaks memory (INC-42) (hold at line 9); left alone"
    )
    assert held["reason"] == reason
    text = run("poll", "--repo", str(repo), "--write")
    assert f"{image}: prod/app.yaml:10: {reason}" in text.stderr

    anon.push_image(repo_name, ["1.5.1"])  # the fix ships: the hold ends
    result = run("poll", "--repo", str(repo), "--write", "--json")
    assert result.exit_code == 0, result.stderr
    assert (repo / "prod/app.yaml").read_text() == deployment(f"{image}:1.5.1")
    decisions = {d["file"]: d for d in json.loads(result.stdout)["images"][0]["decisions"]}
    assert decisions["prod/app.yaml"]["decision"] == "hold-ended"
    assert decisions["prod/app.yaml"]["reason"] == (
        "hold at line 9 ended: 1.5.1 satisfies until '>1.5.0'; 1.4.2 -> 1.5.1"
    )


def test_a_hold_without_until_or_paths_holds_everywhere_until_removed(
    anon: Registry, repo_name: str, tmp_path: Path
) -> None:
    image, repo = _setup(anon, repo_name, tmp_path, "holds:\n  - image: {image}\n")
    result = run("poll", "--repo", str(repo), "--write")
    assert result.exit_code == 0, result.stderr
    assert "nothing to change" in result.stderr
    assert f"{image}: dev/app.yaml:10: held until removed (hold at line 9); left alone" in (
        result.stderr
    )
    assert run("hold", "remove", "--repo", str(repo), image).exit_code == 0
    assert run("poll", "--repo", str(repo), "--write").exit_code == 0
    assert (repo / "prod/app.yaml").read_text() == deployment(f"{image}:1.5.0")
