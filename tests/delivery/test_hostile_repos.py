"""Controls that hold against hostile arguments and hostile remotes, pinned so they
keep holding: no ``ext::`` transport, no option-looking ``--repo``/``--branch`` values
reaching git as options, and no submodule of a cloned config repo ever fetched."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.remotes import SEED, Remote, git, run_updater


@pytest.mark.parametrize(
    "repo",
    [
        "ext::sh -c touch% {marker}",
        "--upload-pack=touch {marker}",
        "-uhttps://example.invalid/x",
    ],
)
def test_a_hostile_repo_value_runs_nothing(tmp_path: Path, repo: str) -> None:
    marker = tmp_path / "ran"
    result = run_updater(
        "set-image", f"--repo={repo.format(marker=marker)}", "--push", "ghcr.io/acme/api:1.1.0"
    )
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not marker.exists()


@pytest.mark.parametrize(
    "branch", ["--upload-pack=touch {marker}", "-oProxyCommand=touch {marker}"]
)
def test_a_hostile_branch_value_runs_nothing(tmp_path: Path, remote: Remote, branch: str) -> None:
    marker = tmp_path / "ran"
    before = remote.branches()
    result = run_updater(
        "set-image", "--repo", remote.url, f"--branch={branch.format(marker=marker)}",
        "--push", "ghcr.io/acme/api:1.1.0",
    )  # fmt: skip
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1
    assert not marker.exists()
    assert remote.branches() == before


def test_a_cloned_repo_s_submodules_are_never_fetched(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    inner = tmp_path / "inner"
    git("init", "-q", "-b", "main", str(inner))
    (inner / "secret.txt").write_text("from the submodule\n")
    git("add", "-A", cwd=inner)
    git("commit", "-q", "-m", "inner", cwd=inner)
    files = {
        **SEED,
        # A submodule that would run a command if updated, and one that would be cloned.
        ".gitmodules": (
            '[submodule "evil"]\n\tpath = evil\n\turl = ext::sh -c touch% ' + str(marker) + "\n"
            "\tupdate = !touch " + str(marker) + "\n"
            '[submodule "inner"]\n\tpath = apps/inner\n\turl = ' + inner.as_uri() + "\n"
        ),
    }
    remote = Remote(tmp_path / "remotes" / "hostile.git", files)
    head = git("rev-parse", "HEAD", cwd=inner).strip()
    for path in ("evil", "apps/inner"):
        git("update-index", "--add", "--cacheinfo", f"160000,{head},{path}", cwd=remote.scratch)
    git("commit", "-q", "-m", "submodules", cwd=remote.scratch)
    git("push", "-q", "bare", "HEAD:refs/heads/main", cwd=remote.scratch)
    result = run_updater(
        "set-image", "--repo", remote.url, "--push", "ghcr.io/acme/api:1.1.0",
        env={"TMPDIR": str(tmp_path)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert not marker.exists()
    assert "1.1.0" in remote.show("apps/overlays/prod/kustomization.yaml")
    # The bot's commit keeps the gitlinks exactly as they were.
    tree = git("ls-tree", "-r", "main", cwd=remote.path)
    assert f"160000 commit {head}\tapps/inner" in tree
    assert not list(tmp_path.glob("updater-*/repo/apps/inner/secret.txt"))
