"""A bad delivery value is refused naming where it came from: the config file's line
(``.image-updater.yaml:N: delivery.KEY``) when the file set it, the flag when the
command line did; and nothing is committed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.poll import deployment, poll, registries
from tests.support.registry import Registry
from tests.support.repos import git, make_repo

pytestmark = pytest.mark.registry


def git_repo(tmp_path: Path, image: str, delivery: str, anon: Registry) -> Path:
    config = f"images:\n  - name: {image}\n    policy: semver\n{registries(anon)}{delivery}"
    files = {"app.yaml": deployment(f"{image}:1.0.0"), ".image-updater.yaml": config}
    return make_repo(tmp_path / "config-repo", files, "seed")


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD")


@pytest.mark.parametrize(
    ("delivery", "flags", "named"),
    [
        ("delivery:\n  message: '{nope}'\n", (), ".image-updater.yaml:8: delivery.message:"),
        ("", ("--message", "{nope}"), "--message:"),
        ("delivery:\n  message: '{nope}'\n", ("--message", "{also}"), "--message:"),
        ("delivery:\n  author: nobody\n", (), ".image-updater.yaml:8: delivery.author:"),
        ("", ("--author", "nobody"), "--author:"),
    ],
    ids=["file-message", "flag-message", "flag-wins", "file-author", "flag-author"],
)
def test_a_bad_value_names_its_source(
    anon: Registry,
    repo_name: str,
    tmp_path: Path,
    delivery: str,
    flags: tuple[str, ...],
    named: str,
) -> None:
    image = f"{anon.host}/{repo_name}"
    anon.push_image(repo_name, ["1.0.0", "1.0.1"])
    repo = git_repo(tmp_path, image, delivery, anon)
    before = head(repo)
    result = poll(repo, "--commit", *flags)
    assert result.exit_code == 2, result.output
    error = result.stderr.splitlines()[-1]
    assert error.startswith("updater: error: ") and f"{named} " in error, error
    shown = error.removeprefix("updater: error: ").partition(named)[0]
    assert shown in ("", str(repo / ".image-updater.yaml")[: -len(".image-updater.yaml")]), error
    assert head(repo) == before
    assert (repo / "app.yaml").read_text() == deployment(f"{image}:1.0.0")
