"""bench/bench_edit.py end to end on a tiny generated repo: it runs every case in a
fresh process, reports ratios to the baseline, and checks what the commands printed."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from tests.bench.conftest import run_script

pytestmark = pytest.mark.slow


def test_json_report_on_a_small_repo(tmp_path: Path, gen_repo: ModuleType) -> None:
    repo = tmp_path / "repo"
    gen_repo.generate(repo, apps=3)
    report = run_script("bench_edit", "--repo", str(repo), "--apps", "3", "--runs", "1", "--json")
    figures = {f["key"]: f for f in report["figures"]}
    assert set(figures) == {"baseline", "help", "set_image", "scan"}
    assert figures["baseline"]["ratio"] == 1.0
    assert figures["set_image"]["target"] == 2.0 and figures["scan"]["target"] == 4.0
    assert all(len(samples) == 1 for samples in report["samples"].values())
    assert not any(note.startswith("WARNING") for note in report["notes"]), report["notes"]
    # 3 apps x (3 containers + 6 overlay entries + 1 values block)
    assert "scan --json: 30 references" in report["notes"]


def test_image_is_the_next_patch_of_a_real_app(bench_edit: ModuleType) -> None:
    apps = bench_edit.gen_repo.make_apps(1250)
    app = bench_edit.pick_app(apps)
    assert app.name == "checkout-api"
    assert bench_edit.next_tag("1.12.4") == "1.12.5"
