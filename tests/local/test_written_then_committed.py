"""``--write`` and then ``--commit`` of the same change: the second run commits what the
first wrote, rather than saying "nothing to change" while the files differ from HEAD;
but it never commits edits of anyone else."""

from __future__ import annotations

from pathlib import Path

from tests.local.harness import API, WEB, make_apps, run, tags
from tests.support.remotes import git


def _commits(root: Path) -> list[str]:
    return git("log", "--format=%H", cwd=root).split()


def test_a_written_change_is_committed_by_the_next_commit_run(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    files = make_apps(root, 5, commit=True)
    first = run("set-image", "--repo", str(root), "--write", f"{API}:2.0.0")
    assert first.returncode == 0, first.stderr
    second = run("set-image", "--repo", str(root), "--commit", f"{API}:2.0.0")
    assert second.returncode == 0, second.stderr
    assert "nothing to change" not in second.stderr
    assert len(_commits(root)) == 2
    assert git("status", "--porcelain", cwd=root) == ""
    shown = git("show", "--stat", "--format=%B", "HEAD", cwd=root)
    assert "2.0.0" in shown
    assert all(path.relative_to(root).as_posix() in shown for path in files)
    assert not any(p.name.startswith("head") for p in Path(root, ".git", "worktrees").glob("*"))
    # And now it is truly done.
    third = run("set-image", "--repo", str(root), "--commit", f"{API}:2.0.0")
    assert third.returncode == 0 and "nothing to change" in third.stderr
    assert len(_commits(root)) == 2


def test_other_edits_in_the_file_are_never_committed(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    files = make_apps(root, 3, commit=True)
    run("set-image", "--repo", str(root), "--write", f"{API}:2.0.0")
    edited = files[0]
    edited.write_text(edited.read_text() + "# someone's note\n")
    rerun = run("set-image", "--repo", str(root), "--commit", f"{API}:2.0.0")
    assert rerun.returncode == 0, rerun.stderr
    assert "nothing to change" in rerun.stderr
    assert len(_commits(root)) == 1
    assert "someone's note" in edited.read_text()


def test_a_written_change_of_another_image_is_not_committed(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    files = make_apps(root, 3, commit=True)
    run("set-image", "--repo", str(root), "--write", f"{WEB}:2.0.0")
    rerun = run("set-image", "--repo", str(root), "--commit", f"{API}:1.0.0")
    assert rerun.returncode == 0, rerun.stderr
    assert "nothing to change" in rerun.stderr
    assert len(_commits(root)) == 1
    assert {tags(path) for path in files} == {("1.0.0", "2.0.0")}
