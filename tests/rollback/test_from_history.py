# ruff: noqa: E501 - the table reads best one case a line
"""``updater rollback`` without ``--to``: the version before the last change (or
``--steps N`` changes ago) from the repo's history, in every file kind, on histories made
by the bot and by hand; an image without history is one line, nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import run
from tests.support.history import Repo, hours_ago
from tests.support.repos import KINDS, git

API = "ghcr.io/acme/api"


def history_of_three(repo: Repo, kind: str) -> tuple[str, str]:
    """1.4.0 by hand, 1.5.0 by the bot, 1.6.0 by hand: three changes."""
    name, template = KINDS[kind]
    repo.edit({name: template.format(v="1.4.0")}, "seed", when=hours_ago(30))
    repo.bot("set-image", f"{API}:1.5.0", when=hours_ago(20))
    repo.edit({name: template.format(v="1.6.0")}, "1.6.0 by hand", when=hours_ago(10))
    return name, template


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_rollback_goes_to_the_version_before_the_last_change(repo: Repo, kind: str) -> None:
    name, template = history_of_three(repo, kind)
    result = run("rollback", "--repo", str(repo.path), API, "--commit")
    assert result.exit_code == 0, result.output
    assert (repo.path / name).read_text() == template.format(v="1.5.0")  # web untouched
    subject = git(repo.path, "log", "-1", "--format=%s").strip()
    assert subject == "Roll back ghcr.io/acme/api 1.6.0 -> 1.5.0"
    # the rollback is history too: rolling back again returns to 1.6.0
    again = run("rollback", "--repo", str(repo.path), API, "--write")
    assert again.exit_code == 0, again.output
    assert (repo.path / name).read_text() == template.format(v="1.6.0")


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_steps_go_further_back(repo: Repo, kind: str) -> None:
    name, template = history_of_three(repo, kind)
    result = run("rollback", "--repo", str(repo.path), API, "--steps", "2", "--write")
    assert result.exit_code == 0, result.output
    assert (repo.path / name).read_text() == template.format(v="1.4.0")


def test_steps_past_the_history_and_an_image_without_history(repo: Repo) -> None:
    name, template = history_of_three(repo, "kustomize")
    head = repo.head()
    for args, message in [
        (["--steps", "3"], f"ghcr.io/acme/api: commit {git(repo.path, 'rev-list', '--max-parents=0', 'HEAD')[:12]} added it; there is no earlier version to roll back to (give --to)"),
        (["--steps", "4"], "ghcr.io/acme/api: --steps 4 goes back further than its history (3 changes)"),
        (["--path", "nowhere-else"], f"--path nowhere-else: no such file or directory in {repo.path}"),
    ]:  # fmt: skip
        result = run("rollback", "--repo", str(repo.path), API, *args, "--commit")
        assert result.exit_code == 2, result.output
        assert result.stderr == f"updater: error: {message}\n"
    web = run("rollback", "--repo", str(repo.path), "ghcr.io/acme/web", "--commit")
    assert web.exit_code == 2
    assert web.stderr.startswith("updater: error: ghcr.io/acme/web: commit ")
    assert "added it; there is no earlier version to roll back to" in web.stderr
    nowhere = run("rollback", "--repo", str(repo.path), "ghcr.io/acme/nope", "--commit")
    assert nowhere.exit_code == 2
    assert nowhere.stderr == (
        "updater: error: ghcr.io/acme/nope: no history: no commit changed its version\n"
    )
    assert repo.head() == head and git(repo.path, "status", "--porcelain") == ""
    assert (repo.path / name).read_text() == template.format(v="1.6.0")


def test_history_under_the_path_only(repo: Repo) -> None:
    dev, prod = "apps/api/overlays/dev/app.yaml", "apps/api/overlays/prod/app.yaml"
    image = "image: ghcr.io/acme/api:{v}\n"
    repo.edit({dev: image.format(v="1.0.0"), prod: image.format(v="1.0.0")}, "seed")
    repo.edit({prod: image.format(v="1.1.0")}, "prod 1.1.0")
    repo.edit({dev: image.format(v="2.0.0")}, "dev 2.0.0")
    result = run(
        "rollback", "--repo", str(repo.path), "--path", "apps/api/overlays/prod", API, "--write"
    )
    assert result.exit_code == 0, result.output
    assert (repo.path / prod).read_text() == image.format(v="1.0.0")
    assert (repo.path / dev).read_text() == image.format(v="2.0.0")
    both = run("rollback", "--repo", str(repo.path), API, "--steps", "2", "--write")
    assert both.exit_code == 0, both.output  # the prod change's 1.0.0, everywhere
    assert (repo.path / dev).read_text() == image.format(v="1.0.0")


def test_a_commit_from_several_versions_is_ambiguous(repo: Repo) -> None:
    dev, prod = "apps/dev/app.yaml", "apps/prod/app.yaml"
    image = "image: ghcr.io/acme/api:{v}\n"
    repo.edit({dev: image.format(v="1.0.0"), prod: image.format(v="0.9.0")}, "seed")
    both = repo.edit({dev: image.format(v="1.1.0"), prod: image.format(v="1.1.0")}, "both")
    result = run("rollback", "--repo", str(repo.path), API, "--commit")
    assert result.exit_code == 2
    assert result.stderr == (
        f"updater: error: ghcr.io/acme/api: commit {both[:12]} changed it from several"
        " versions (0.9.0, 1.0.0); narrow it with --path, or give --to\n"
    )


def test_rollback_push_deepens_the_shallow_clone(repo: Repo, tmp_path: Path) -> None:
    name, template = history_of_three(repo, "helm")
    for n in range(5):
        repo.edit({"README.md": f"{n}\n"}, f"docs {n}")
    bare = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo.path), str(bare))
    git(bare, "config", "uploadpack.allowFilter", "true")
    result = run("rollback", "--repo", bare.as_uri(), API, "--push", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["delivery"]["pushed"] is True
    pushed = git(bare, "show", f"main:{name}")
    assert pushed == template.format(v="1.5.0")
