"""``updater rollback`` through the CLI on real git repos: every file kind, --to, --hold
in the same commit, other images never moved, bad input one line with nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import run
from tests.support.repos import KINDS, git, make_repo
from updater.config import load_config

API = "ghcr.io/acme/api"
DIGEST = "sha256:" + "a" * 64
CONFIG = "images:\n  - name: ghcr.io/acme/api\n    policy: semver\n"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_rollback_to_a_version_in_each_file_kind_moves_only_that_image(
    tmp_path: Path, kind: str
) -> None:
    name, template = KINDS[kind]
    repo = make_repo(tmp_path / "repo", {name: template.format(v="1.5.0")})
    result = run("rollback", "--repo", str(repo), API, "--to", "1.4.2", "--commit")
    assert result.exit_code == 0, result.output
    assert (repo / name).read_text() == template.format(v="1.4.2")  # web stays at 1.5.0
    assert (
        git(repo, "log", "-1", "--format=%s").strip() == "Roll back ghcr.io/acme/api 1.5.0 -> 1.4.2"
    )
    assert git(repo, "status", "--porcelain") == ""


def test_rollback_to_a_tag_and_digest(tmp_path: Path) -> None:
    name, template = KINDS["manifest"]
    repo = make_repo(tmp_path / "repo", {name: template.format(v="1.5.0")})
    result = run("rollback", "--repo", str(repo), API, "--to", f"1.4.2@{DIGEST}", "--write")
    assert result.exit_code == 0, result.output
    assert (repo / name).read_text() == template.format(v=f"1.4.2@{DIGEST}")


def test_dry_run_is_the_default(tmp_path: Path) -> None:
    name, template = KINDS["compose"]
    repo = make_repo(tmp_path / "repo", {name: template.format(v="1.5.0")})
    result = run("rollback", "--repo", str(repo), API, "--to", "1.4.2")
    assert result.exit_code == 0, result.output
    assert (
        "-    image: ghcr.io/acme/api:1.5.0\n+    image: ghcr.io/acme/api:1.4.2\n" in result.stdout
    )
    assert (repo / name).read_text() == template.format(v="1.5.0")


def test_hold_is_written_in_the_same_commit(tmp_path: Path) -> None:
    name, template = KINDS["kustomize"]
    repo = make_repo(
        tmp_path / "repo", {name: template.format(v="1.5.0"), ".image-updater.yaml": CONFIG}
    )
    result = run(
        "rollback", "--repo", str(repo), "--path", "apps/api/overlays/prod", API,
        "--to", "1.4.2", "--hold", "--until", ">1.5.0", "--reason", "1.5.0 leaks memory (INC-42)",
        "--by", "alice", "--commit",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (repo / name).read_text() == template.format(v="1.4.2")
    changed = git(repo, "show", "--name-only", "--format=", "HEAD").split()
    assert sorted(changed) == [".image-updater.yaml", name]
    subject = git(repo, "log", "-1", "--format=%s").strip()
    assert subject == "Roll back ghcr.io/acme/api 1.5.0 -> 1.4.2: 1.5.0 leaks memory (INC-42)"
    (hold,) = load_config(repo / ".image-updater.yaml").holds
    assert (hold.repository, hold.paths, hold.at, str(hold.until), hold.by) == (
        API,
        ("apps/api/overlays/prod",),
        "1.4.2",
        ">1.5.0",
        "alice",
    )
    assert hold.reason == "1.5.0 leaks memory (INC-42)"
    assert "held at 1.4.2 until '>1.5.0'" in result.stderr
    assert git(repo, "status", "--porcelain") == ""


HOSTILE_REASONS = [
    ("two\nlines", "two\\x0alines"),
    ("typed a \\n", "typed a \\x0a"),
    ("braces {summary} {0} {", "braces {summary} {0} {"),
    ("Signed-off-by: x\n\nImage-Updated: evil 1 -> 2 (f:1)", None),
]


@pytest.mark.parametrize(("reason", "shown"), HOSTILE_REASONS)
@pytest.mark.parametrize("command", ["rollback", "hold"])
def test_a_reason_stays_one_line_of_the_subject(
    tmp_path: Path, command: str, reason: str, shown: str | None
) -> None:
    name, template = KINDS["kustomize"]
    repo = make_repo(
        tmp_path / "repo", {name: template.format(v="1.5.0"), ".image-updater.yaml": CONFIG}
    )
    if command == "rollback":
        args = ["rollback", "--repo", str(repo), API, "--to", "1.4.2", "--hold"]
    else:
        args = ["hold", "add", "--repo", str(repo), API]
    result = run(*args, "--reason", reason, "--commit")
    assert result.exit_code == 0, result.output
    message = git(repo, "log", "-1", "--format=%B")
    subject, _, rest = message.partition("\n")
    if shown is not None:
        assert subject.endswith(f": {shown}"), subject
    for line in ("lines", "Signed-off-by: x", "Image-Updated: evil 1 -> 2 (f:1)"):
        assert line not in rest.splitlines()
    trailers = git(repo, "log", "-1", "--format=%(trailers:only,unfold)").splitlines()
    assert not [t for t in trailers if "evil" in t]
    (hold,) = load_config(repo / ".image-updater.yaml").holds
    assert hold.reason is not None


BAD = [
    (["--to", "1.4 2"], "--to '1.4 2': not a tag or digest"),
    (["--to", "sha256:abc"], "--to 'sha256:abc': not a tag or digest"),
    (["--to", "1.4.2", "--steps", "2"], "--to and --steps: give one"),
    (["--to", "1.4.2", "--until", ">1.5.0"], "--until needs --hold"),
    (["--to", "1.4.2", "--hold", "--until", ">>1.5.0"], "--until '>>1.5.0': bad semver range"),
    (["--to", "1.4.2", "--hold"], ".image-updater.yaml: no such file"),
    (["--to", "1.4.2", "--path", "nowhere"], "--path nowhere: no such file or directory"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "message"), BAD)
def test_bad_input_is_one_line_with_nothing_written(
    tmp_path: Path, args: list[str], message: str
) -> None:
    name, template = KINDS["compose"]
    repo = make_repo(tmp_path / "repo", {name: template.format(v="1.5.0")})
    result = run("rollback", "--repo", str(repo), API, *args, "--commit")
    assert result.exit_code in (2, 4), result.output
    assert result.stderr.startswith(f"updater: error: {message}")
    assert result.stderr.count("\n") == 1
    assert git(repo, "status", "--porcelain") == ""
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "1"


def test_an_image_referenced_nowhere_is_exit_4(tmp_path: Path) -> None:
    name, template = KINDS["compose"]
    repo = make_repo(tmp_path / "repo", {name: template.format(v="1.5.0")})
    result = run("rollback", "--repo", str(repo), "ghcr.io/acme/gone", "--to", "1.0.0", "--write")
    assert result.exit_code == 4
    assert result.stderr.startswith(
        "updater: error: ghcr.io/acme/gone:1.0.0: image referenced nowhere"
    )
    assert git(repo, "status", "--porcelain") == ""


def test_push_with_a_hold_on_a_sparse_clone_carries_the_config(tmp_path: Path) -> None:
    name, template = KINDS["kustomize"]
    work = make_repo(
        tmp_path / "work", {name: template.format(v="1.5.0"), ".image-updater.yaml": CONFIG}
    )
    bare = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(work), str(bare))
    git(work, "remote", "add", "origin", str(bare))
    git(work, "fetch", "-q", "origin")
    git(work, "branch", "-q", "--set-upstream-to=origin/main")
    result = run(
        "rollback", "--repo", str(work), "--path", "apps/api/overlays/prod", API,
        "--to", "1.4.2", "--hold", "--push",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    shown = git(bare, "show", f"main:{name}")
    assert shown == template.format(v="1.4.2")
    config = git(bare, "show", "main:.image-updater.yaml")
    assert config.startswith(CONFIG + "holds:\n  - image: ghcr.io/acme/api\n")
    assert git(bare, "rev-list", "--count", "main").strip() == "2"


def test_an_image_referenced_nowhere_suggests_only_what_rollback_takes(tmp_path: Path) -> None:
    """set-image's advice ('or pass --allow-no-match') names an option rollback has not."""
    name, template = KINDS["manifest"]
    repo = make_repo(tmp_path / "repo", {name: template.format(v="1.5.0")})
    result = run("rollback", "--repo", str(repo), "ghcr.io/acme/gone", "--to", "1.4.2", "--write")
    assert result.exit_code == 4, result.output
    assert "ghcr.io/acme/gone:1.4.2: image referenced nowhere" in result.stderr
    assert "--allow-no-match" not in result.stderr
    assert "updater scan" in result.stderr
    assert (repo / name).read_text() == template.format(v="1.5.0")
