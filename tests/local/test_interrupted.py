"""A run SIGKILLed half-way through writing (held at a fault-injection point, then
killed: no timing) leaves a journal; the next run finishes or undoes the plan first,
and the tree ends consistent. A failed --commit puts the files back."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.local.harness import API, WEB, HeldRun, leftovers, make_apps, run, tags
from tests.support.remotes import git
from updater.writing import JOURNAL_NAME

FILES = 200


def _kill_at(tmp_path: Path, root: Path, point: str, *args: str) -> None:
    held = HeldRun(tmp_path, point, ["set-image", "--repo", str(root), *args])
    try:
        held.wait_until_held()
        held.kill()
    finally:
        held.close()


@pytest.mark.parametrize(
    ("point", "after_kill"),
    [
        ("temp:50", {("1.0.0", "1.0.0")}),  # temps only: no file was touched yet
        ("ready", {("1.0.0", "1.0.0")}),  # decided, nothing renamed yet
        ("renamed:100", {("1.0.0", "1.0.0"), ("2.0.0", "1.0.0")}),  # half applied
    ],
)
def test_sigkill_during_write_then_a_rerun(
    tmp_path: Path, point: str, after_kill: set[tuple[str, str]]
) -> None:
    root = tmp_path / "repo"
    files = make_apps(root, FILES, commit=True)
    _kill_at(tmp_path, root, point, "--write", f"{API}:2.0.0")
    assert {tags(path) for path in files} == after_kill
    assert (root / ".git" / JOURNAL_NAME).exists()
    assert leftovers(root)  # the killed run's temp files
    # The next run, whatever it is asked, first finishes or undoes the killed one.
    rerun = run("set-image", "--repo", str(root), "--write", f"{WEB}:3.0.0")
    assert rerun.returncode == 0, rerun.stderr
    expected_api = "1.0.0" if point.startswith("temp:") else "2.0.0"
    assert {tags(path) for path in files} == {(expected_api, "3.0.0")}
    assert leftovers(root) == []
    assert not (root / ".git" / JOURNAL_NAME).exists()


def test_sigkill_before_the_commit_then_a_rerun_commits_it(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    files = make_apps(root, FILES, commit=True)
    _kill_at(tmp_path, root, "commit", "--commit", f"{API}:2.0.0")
    assert {tags(path) for path in files} == {("2.0.0", "1.0.0")}  # written, not committed
    assert len(git("log", "--format=%H", cwd=root).split()) == 1
    rerun = run("set-image", "--repo", str(root), "--commit", f"{API}:2.0.0")
    assert rerun.returncode == 0, rerun.stderr
    assert "finished an interrupted commit" in rerun.stderr
    assert "nothing to change" in rerun.stderr  # this run's own plan: all done already
    assert git("status", "--porcelain", cwd=root) == ""
    assert len(git("log", "--format=%H", cwd=root).split()) == 2
    assert API in git("log", "-1", "--format=%s", cwd=root)
    assert not (root / ".git" / JOURNAL_NAME).exists()


def test_sigkill_mid_rename_during_commit_then_a_rerun(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    files = make_apps(root, FILES, commit=True)
    _kill_at(tmp_path, root, "renamed:77", "--commit", f"{API}:2.0.0")
    rerun = run("set-image", "--repo", str(root), "--commit", f"{WEB}:3.0.0")
    assert rerun.returncode == 0, rerun.stderr
    assert {tags(path) for path in files} == {("2.0.0", "3.0.0")}
    assert git("status", "--porcelain", cwd=root) == ""
    subjects = git("log", "--format=%s", cwd=root).splitlines()
    assert len(subjects) == 3 and WEB in subjects[0] and API in subjects[1]
    changed = git("show", "--name-only", "--format=", "HEAD~1", cwd=root).split()
    assert len(changed) == FILES  # the finished commit holds every file of its plan
    assert leftovers(root) == []


def test_a_stale_index_lock_is_one_line_and_nothing_is_written(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    files = make_apps(root, 5, commit=True)
    (root / ".git" / "index.lock").write_text("")
    result = run("set-image", "--repo", str(root), "--commit", f"{API}:2.0.0")
    assert result.returncode == 5
    assert result.stderr.count("\n") == 1, result.stderr
    assert "index.lock exists" in result.stderr and "nothing written" in result.stderr
    assert {tags(path) for path in files} == {("1.0.0", "1.0.0")}
    assert git("status", "--porcelain", cwd=root) == ""


def test_a_commit_that_fails_puts_the_files_back_and_the_rerun_commits(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    files = make_apps(root, FILES, commit=True)
    held = HeldRun(
        tmp_path, "commit", ["set-image", "--repo", str(root), "--commit", f"{API}:2.0.0"]
    )
    try:
        held.wait_until_held()
        (root / ".git" / "index.lock").write_text("")  # git crashed meanwhile, say
        failed = held.resume()
    finally:
        held.close()
    assert failed.returncode == 5
    assert failed.stderr.count("\n") == 1, failed.stderr
    assert "index.lock exists" in failed.stderr and "the files were put back" in failed.stderr
    assert {tags(path) for path in files} == {("1.0.0", "1.0.0")}
    assert not (root / ".git" / JOURNAL_NAME).exists() and leftovers(root) == []
    (root / ".git" / "index.lock").unlink()
    rerun = run("set-image", "--repo", str(root), "--commit", f"{API}:2.0.0")
    assert rerun.returncode == 0, rerun.stderr
    assert "nothing to change" not in rerun.stderr
    assert {tags(path) for path in files} == {("2.0.0", "1.0.0")}
    assert git("status", "--porcelain", cwd=root) == ""
    assert len(git("log", "--format=%H", cwd=root).split()) == 2


def test_a_journal_whose_files_changed_since_stops_the_run(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    files = make_apps(root, 20, commit=True)
    _kill_at(tmp_path, root, "renamed:5", "--write", f"{API}:2.0.0")
    files[15].write_text(files[15].read_text() + "# someone edited this meanwhile\n")
    before = {path: path.read_bytes() for path in files}
    result = run("set-image", "--repo", str(root), "--write", f"{WEB}:3.0.0")
    assert result.returncode == 3
    assert result.stderr.count("\n") == 1, result.stderr
    assert "an interrupted run left" in result.stderr and "app-0015" in result.stderr
    assert {path: path.read_bytes() for path in files} == before


def test_a_non_git_directory_recovers_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    root = tmp_path / "plain"
    files = make_apps(root, 30)
    _kill_at(tmp_path, root, "renamed:10", "--write", f"{API}:2.0.0")
    assert list((tmp_path / "state" / "gitops-updater").glob(f"*/{JOURNAL_NAME}"))
    rerun = run("set-image", "--repo", str(root), "--dry-run", f"{WEB}:3.0.0")
    assert rerun.returncode == 0  # a dry run changes nothing, not even a journal
    rerun = run("set-image", "--repo", str(root), "--write", f"{WEB}:3.0.0")
    assert rerun.returncode == 0, rerun.stderr
    assert {tags(path) for path in files} == {("2.0.0", "3.0.0")}
    assert leftovers(root) == []
