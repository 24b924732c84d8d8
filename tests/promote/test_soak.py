"""``promote`` with ``soak:``: the time the source has run its version comes from
history, the committer date of the commit that set it (time-travelled here), and the
PR body and plan say how long it soaked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import run
from tests.support.history import Repo, hours_ago
from tests.support.repos import git

pytestmark = pytest.mark.usefixtures("git_sandbox")


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path / "config")


CONFIG = """\
environments:
  - name: dev
    paths: [apps/*/overlays/dev]
  - name: prod
    paths: [apps/*/overlays/prod, clusters/prod]
    from: dev
    soak: 2h
"""
DEV = "apps/api/overlays/dev/kustomization.yaml"
PROD = "apps/api/overlays/prod/kustomization.yaml"
VALUES = "clusters/prod/web-values.yaml"


def overlay(tag: str) -> str:
    return f"images:\n  - name: ghcr.io/acme/api\n    newTag: {tag}\n"


def values(tag: str) -> str:
    return (
        f'image:\n  repository: ghcr.io/acme/api\n  tag: {tag} # {{"$imagepolicy": "f:api:tag"}}\n'
    )


def seeded(repo: Repo) -> None:
    repo.edit(
        {".image-updater.yaml": CONFIG, DEV: overlay("1.4.0"), PROD: overlay("1.4.0")},
        "seed",
        when=hours_ago(100),
    )


def promote(repo: Repo, *args: str) -> dict[str, Any]:
    result = run("promote", "--repo", str(repo.path), "--to", "prod", "--all", "--json", *args)
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def test_a_version_soaked_long_enough_is_promoted(repo: Repo) -> None:
    seeded(repo)
    arrived = repo.bot(
        "set-image", "--path", "apps/api/overlays/dev", "ghcr.io/acme/api:1.5.0", when=hours_ago(3)
    )
    report = promote(repo, "--write")
    (note,) = report["promotions"]
    assert note["decision"] == "promoted"
    assert note["soaked"].startswith("3h0") and note["source_commit"] == arrived
    assert (repo.path / PROD).read_text() == overlay("1.5.0")
    text = run("promote", "--repo", str(repo.path), "--to", "prod", "--all")
    assert "up-to-date" in text.stderr  # already there now


def test_a_version_not_soaked_yet_is_left_alone(repo: Repo) -> None:
    seeded(repo)
    arrived = repo.edit({DEV: overlay("1.5.0")}, "dev by hand", when=hours_ago(1))
    report = promote(repo, "--write")
    (note,) = report["promotions"]
    assert note["decision"] == "not-soaked"
    assert note["reason"].startswith("dev has run 1.5.0 for 1h0")
    assert note["reason"].endswith(f"(since {arrived[:12]}), soak is 2h00m")
    assert (repo.path / PROD).read_text() == overlay("1.4.0")
    assert git(repo.path, "status", "--porcelain") == ""


def test_the_newest_arrival_counts(repo: Repo) -> None:
    """1.5.0 in dev for days, replaced, then back half an hour ago: not soaked."""
    seeded(repo)
    repo.edit({DEV: overlay("1.5.0")}, "1.5.0", when=hours_ago(50))
    repo.edit({DEV: overlay("1.6.0")}, "1.6.0", when=hours_ago(40))
    back = repo.edit({DEV: overlay("1.5.0")}, "back to 1.5.0", when=hours_ago(0.5))
    (note,) = promote(repo)["promotions"]
    assert note["decision"] == "not-soaked" and note["source_commit"] == back


def test_helm_target_and_the_pr_table_show_soaked_for(repo: Repo) -> None:
    repo.edit(
        {".image-updater.yaml": CONFIG, DEV: overlay("1.4.0"), VALUES: values("1.4.0")},
        "seed",
        when=hours_ago(100),
    )
    arrived = repo.edit({DEV: overlay("1.5.0")}, "dev", when=hours_ago(26))
    result = run("promote", "--repo", str(repo.path), "--to", "prod", "--all", "--commit")
    assert result.exit_code == 0, result.output
    assert "ghcr.io/acme/api: 1.4.0 -> 1.5.0 (from dev, soaked 26h0" in result.stderr
    assert (repo.path / VALUES).read_text() == values("1.5.0")
    assert arrived != repo.head()


def test_without_history_soak_is_refused_with_the_reason(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    for name, text in {
        ".image-updater.yaml": CONFIG,
        DEV: overlay("1.5.0"),
        PROD: overlay("1.4.0"),
    }.items():
        (plain / name).parent.mkdir(parents=True, exist_ok=True)
        (plain / name).write_text(text)
    result = run("promote", "--repo", str(plain), "--to", "prod", "--all", "--json", "--write")
    assert result.exit_code == 0, result.output
    (note,) = json.loads(result.stdout)["promotions"]
    assert note["decision"] == "not-soaked"
    assert (
        note["reason"]
        == f"soak 2h00m: --repo {plain}: not a git repository (history reads its commits)"
    )
    assert (plain / PROD).read_text() == overlay("1.4.0")


def test_a_merged_pull_request_counts_from_its_merge(repo: Repo) -> None:
    """The bot's branch was committed 30h ago but merged an hour ago: not soaked, and the
    source commit is the merge."""
    seeded(repo)
    git(repo.path, "checkout", "-q", "-b", "updater/dev")
    repo.edit({DEV: overlay("1.5.0")}, "on the bot branch", when=hours_ago(30))
    git(repo.path, "checkout", "-q", "main")
    repo.edit({"README.md": "x\n"}, "main moves on", when=hours_ago(20))
    when = hours_ago(1)
    env = {"GIT_COMMITTER_DATE": when, "GIT_AUTHOR_DATE": when}
    git(repo.path, "merge", "-q", "--no-ff", "-m", "Merge the PR", "updater/dev", env=env)
    merge = repo.head()
    (note,) = promote(repo)["promotions"]
    assert note["decision"] == "not-soaked" and note["source_commit"] == merge
    assert note["reason"].startswith("dev has run 1.5.0 for 1h0")
    fast = CONFIG.replace("soak: 2h", "soak: 30m")
    repo.edit({".image-updater.yaml": fast}, "shorter soak", when=hours_ago(0.5))
    (note,) = promote(repo)["promotions"]
    assert note["decision"] == "promoted" and note["source_commit"] == merge
