"""bench/bench_history.py end to end on a tiny generated repo (figures not judged)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bench.conftest import run_script

pytestmark = pytest.mark.slow


def test_bench_history_reports_medians_and_the_ratios(tmp_path: Path) -> None:
    argv = [
        "--apps",
        "4",
        "--commits",
        "40",
        "--runs",
        "1",
        "--url",
        "--json",
        "--work",
        str(tmp_path),
    ]
    report = run_script("bench_history", *argv)
    assert set(report["median_seconds"]) == {
        "updater", "follow", "one-walk", "updater-url", "clone-walk"
    }  # fmt: skip
    assert report["ratio_url_to_clone_walk"] > 0
    assert report["repo"] == {"apps": 4, "files": 29, "commits": 40}
    assert report["changes"] > len(report["files"]) > 1  # adds, then the bumps
    assert report["ratio_updater_to_follow"] > 0 and report["target_ratio"] == 2.0
