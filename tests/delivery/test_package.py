"""The delivery package's shape: a mode loads only the code it runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import updater.deliver as delivery

_PROBE = """
import json, sys
from updater.cli import cli
try:
    cli.main(sys.argv[1:], prog_name="updater", standalone_mode=False)
except SystemExit:
    pass
loaded = sorted(m for m in sys.modules if m == "updater.git" or m.startswith("updater.forges")
                or m in ("updater.deliver.push", "updater.deliver.pull_request",
                         "updater.deliver.workspace", "git", "github", "gitlab"))
print("LOADED " + json.dumps(loaded))
"""


def _loaded(*argv: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv], capture_output=True, text=True, timeout=60
    )
    line = [x for x in done.stdout.splitlines() if x.startswith("LOADED ")]
    assert line, done.stdout + done.stderr
    loaded: list[str] = json.loads(line[-1].removeprefix("LOADED "))
    return loaded


def test_a_local_dry_run_loads_neither_git_nor_the_forges(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text("image: ghcr.io/acme/api:1.0.0\n")
    loaded = _loaded("set-image", "--repo", str(tmp_path), "--dry-run", "ghcr.io/acme/api:1.1.0")
    assert loaded == []
    assert (tmp_path / "app.yaml").read_text() == "image: ghcr.io/acme/api:1.0.0\n"


def test_a_local_write_loads_neither_git_nor_the_forges(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text("image: ghcr.io/acme/api:1.0.0\n")
    loaded = _loaded("set-image", "--repo", str(tmp_path), "--write", "ghcr.io/acme/api:1.1.0")
    assert loaded == []
    assert (tmp_path / "app.yaml").read_text() == "image: ghcr.io/acme/api:1.1.0\n"


def test_every_mode_has_a_runner() -> None:
    assert list(delivery.MODES) == ["dry-run", "write", "commit", "push", "pull-request"]
    for mode in delivery.MODES:
        assert callable(delivery._runner(mode))
