"""bench/bench_push.py end to end on a tiny generated remote."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.bench.conftest import run_script

pytestmark = pytest.mark.slow


def test_bench_push_reports_medians_and_the_ratio(tmp_path: Path) -> None:
    argv = [
        "--apps",
        "4",
        "--commits",
        "30",
        "--runs",
        "1",
        "--full",
        "--json",
        "--work",
        str(tmp_path),
    ]
    report = run_script("bench_push", *argv)
    assert set(report["median_seconds"]) == {"updater", "plain-git", "full-clone"}
    assert report["repo"] == {"apps": 4, "files": 29, "commits": 30}
    assert report["target_ratio"] == 2.0 and report["ratio_updater_to_plain_git"] > 0
    remote = tmp_path / "push-remote-4x30.git"
    count = subprocess.run(
        ["git", "rev-list", "--count", "main"],
        cwd=remote,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert count == "30"  # put back on its tip after the runs
