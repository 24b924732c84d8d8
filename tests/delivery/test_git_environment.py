"""The environment a CI job or a git hook runs the bot in: git's own repository
variables (``GIT_DIR``, ``GIT_WORK_TREE``, ``GIT_INDEX_FILE``, ...; git sets them for
its hooks) must not send the bot's git processes to another repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.remotes import Remote, git, run_updater


@pytest.fixture
def other(tmp_path: Path) -> Path:
    """The repository the inherited variables point at: nothing may touch it."""
    path = tmp_path / "other"
    path.mkdir()
    git("init", "-q", cwd=path)
    (path / "x").write_text("x\n")
    git("add", "x", cwd=path)
    git("commit", "-q", "-m", "other", cwd=path)
    return path


def inherited(other: Path) -> dict[str, str]:
    return {
        "GIT_DIR": str(other / ".git"),
        "GIT_WORK_TREE": str(other),
        "GIT_INDEX_FILE": str(other / ".git" / "index"),
    }


def test_commit_goes_to_the_repo_named_not_to_git_dir(
    tmp_path: Path, remote: Remote, other: Path
) -> None:
    checkout = tmp_path / "checkout"
    git("clone", "-q", remote.url, str(checkout))
    before = git("rev-parse", "HEAD", cwd=other)
    result = run_updater(
        "set-image", "--repo", str(checkout), "--commit", "ghcr.io/acme/api:1.1.0",
        env=inherited(other), cwd=other,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert git("rev-parse", "HEAD", cwd=other) == before
    assert git("status", "--porcelain", cwd=other) == ""
    assert "Update ghcr.io/acme/api 1.0.0 -> 1.1.0" in git("log", "-1", "--format=%s", cwd=checkout)
    assert git("status", "--porcelain", cwd=checkout) == ""


def test_push_clones_the_remote_named_not_git_dir(remote: Remote, other: Path) -> None:
    result = run_updater(
        "set-image", "--repo", remote.url, "--push", "ghcr.io/acme/api:1.1.0",
        env=inherited(other), cwd=other,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert 'newTag: "1.1.0"' in remote.show("apps/overlays/prod/kustomization.yaml")
    assert git("status", "--porcelain", cwd=other) == ""
    assert len(git("log", "--format=%H", cwd=other).split()) == 1


@pytest.fixture
def failing_hooks(tmp_path: Path, git_sandbox: Path) -> Path:
    """The user's own hooks (a global core.hooksPath): each logs that it ran and fails."""
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    log = tmp_path / "hooks.log"
    for name in ("post-checkout", "pre-push", "reference-transaction", "post-commit"):
        hook = hooks / name
        hook.write_text(f"#!/bin/sh\necho {name} >> '{log}'\nexit 1\n")
        hook.chmod(0o755)
    git("config", "--global", "core.hooksPath", str(hooks))
    return log


def test_the_user_s_hooks_run_in_no_git_process_of_the_bot(
    tmp_path: Path, remote: Remote, failing_hooks: Path
) -> None:
    # The remote is the server: its receive-pack would read the global config too.
    git("config", "core.hooksPath", str(remote.path / "hooks"), cwd=remote.path)
    pushed = run_updater("set-image", "--repo", remote.url, "--push", "ghcr.io/acme/api:1.1.0")
    assert pushed.returncode == 0, pushed.stderr
    assert 'newTag: "1.1.0"' in remote.show("apps/overlays/prod/kustomization.yaml")
    checkout = tmp_path / "checkout"
    git("-c", "core.hooksPath=/dev/null", "clone", "-q", remote.url, str(checkout))
    committed = run_updater(
        "set-image", "--repo", str(checkout), "--commit", "ghcr.io/acme/api:1.2.0"
    )
    assert committed.returncode == 0, committed.stderr
    assert git("status", "--porcelain", cwd=checkout) == ""
    assert not failing_hooks.exists()
