"""One lock per checkout: concurrent --write and --commit runs over hundreds of files
(real CLI processes) lose no update, and every commit holds what its message says."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.local.harness import API, WEB, HeldRun, leftovers, make_apps, run, start, tags
from tests.support.remotes import git
from updater.errors import UsageError
from updater.lock import LOCK_NAME, checkout_lock, lock_timeout, state_dir

FILES = 300


def test_two_concurrent_writes_lose_no_update(tmp_path: Path) -> None:
    files = make_apps(tmp_path / "repo", FILES, commit=True)
    repo = str(tmp_path / "repo")
    first = start("set-image", "--repo", repo, "--write", f"{API}:2.0.0")
    second = start("set-image", "--repo", repo, "--write", f"{WEB}:3.0.0")
    for process in (first, second):
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    assert {tags(path) for path in files} == {("2.0.0", "3.0.0")}
    assert leftovers(tmp_path / "repo") == []


def test_two_concurrent_commits_match_their_messages(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    files = make_apps(root, FILES, commit=True)
    first = start("set-image", "--repo", str(root), "--commit", f"{API}:2.0.0")
    second = start("set-image", "--repo", str(root), "--commit", f"{WEB}:3.0.0")
    for process in (first, second):
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    assert {tags(path) for path in files} == {("2.0.0", "3.0.0")}
    assert git("status", "--porcelain", cwd=root) == ""
    commits = git("log", "--format=%H", "-2", cwd=root).split()
    seen = set()
    for sha in commits:
        subject = git("log", "-1", "--format=%s", sha, cwd=root)
        image = API if API in subject else WEB
        other = WEB if image == API else API
        assert other not in subject, subject
        added = [
            line
            for line in git("show", "--format=", "-U0", sha, cwd=root).splitlines()
            if line.startswith("+") and not line.startswith("+++")
        ]
        assert len(added) == FILES  # one newTag line per file, all of this image
        tag = "2.0.0" if image == API else "3.0.0"
        assert all(re.fullmatch(rf'\+    newTag: "{tag}"', line) for line in added), added[:3]
        seen.add(image)
    assert seen == {API, WEB}


def test_a_second_run_waits_a_bounded_time_then_fails_clearly(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    files = make_apps(root, 3, commit=True)
    with checkout_lock(root, timeout=0):
        for mode in ("--write", "--commit"):
            result = run(
                "set-image", "--repo", str(root), mode, f"{API}:2.0.0",
                env={"UPDATER_LOCK_TIMEOUT": "0"},
            )  # fmt: skip
            assert result.returncode == 5, result.stderr
            assert result.stderr.count("\n") == 1, result.stderr
            assert f"another updater run (pid {os.getpid()}) is writing this checkout" in (
                result.stderr
            )
            assert "UPDATER_LOCK_TIMEOUT" in result.stderr
    assert {tags(path) for path in files} == {("1.0.0", "1.0.0")}


def test_a_run_held_mid_write_keeps_the_other_out(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    files = make_apps(root, 20, commit=True)
    held = HeldRun(
        tmp_path, "renamed:10", ["set-image", "--repo", str(root), "--write", f"{API}:2.0.0"]
    )
    try:
        held.wait_until_held()
        other = run(
            "set-image", "--repo", str(root), "--write", f"{WEB}:3.0.0",
            env={"UPDATER_LOCK_TIMEOUT": "0"},
        )  # fmt: skip
        assert other.returncode == 5 and "is writing this checkout" in other.stderr
        finished = held.resume()
        assert finished.returncode == 0, finished.stderr
    finally:
        held.close()
    assert {tags(path) for path in files} == {("2.0.0", "1.0.0")}


def test_where_the_lock_lives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    checkout = tmp_path / "checkout"
    make_apps(checkout, 1, commit=True)
    assert state_dir(checkout / "apps") == checkout / ".git"
    linked = tmp_path / "linked"
    git("worktree", "add", "-q", str(linked), "-b", "other", cwd=checkout)
    assert state_dir(linked) == (checkout / ".git" / "worktrees" / "linked").resolve()
    with checkout_lock(linked, timeout=0) as directory:
        assert (directory / LOCK_NAME).exists()
        with checkout_lock(checkout, timeout=0):  # another work tree: another lock
            pass
    plain = tmp_path / "plain"
    plain.mkdir()
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    found = state_dir(plain)
    assert found.parent == tmp_path / "state" / "gitops-updater"
    assert state_dir(tmp_path / "plain" / ".." / "plain") == found
    assert list(plain.iterdir()) == []


def test_lock_timeout_values(monkeypatch: pytest.MonkeyPatch) -> None:
    assert lock_timeout({}) == 120
    assert lock_timeout({"UPDATER_LOCK_TIMEOUT": "2.5"}) == 2.5
    for bad in ("-1", "soon", "nan"):
        with pytest.raises(UsageError):
            lock_timeout({"UPDATER_LOCK_TIMEOUT": bad})
