"""The command line's structured error: with ``--json`` a failure prints
``{"error": {"file", "line", "message"}}`` on stdout, besides its one line on stderr.
The CI wrappers read this instead of parsing the line."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.job_remote import ROOT
from updater.errors import EditError, UsageError


def updater(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "updater", *args],
        cwd=cwd,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(cwd)},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "values.yaml").write_text(
        "image:\n  repository: ghcr.io/acme/api\n  tag: 1.0.0\n  tag: 1.1.0\n"
    )
    return tmp_path


def test_an_edit_error_names_file_and_line(repo: Path) -> None:
    done = updater("set-image", "--json", "ghcr.io/acme/api:2.0.0", cwd=repo)
    assert done.returncode == 3
    assert json.loads(done.stdout) == {
        "error": {"file": "values.yaml", "line": 4, "message": "duplicate key 'tag'"}
    }
    assert done.stderr == "updater: error: values.yaml:4: duplicate key 'tag'\n"


def test_without_json_stdout_stays_empty(repo: Path) -> None:
    done = updater("set-image", "ghcr.io/acme/api:2.0.0", cwd=repo)
    assert done.returncode == 3
    assert done.stdout == ""
    assert done.stderr == "updater: error: values.yaml:4: duplicate key 'tag'\n"


def test_an_error_without_a_place_has_null_file_and_line(tmp_path: Path) -> None:
    done = updater("set-image", "--json", "not a reference!", cwd=tmp_path)
    assert done.returncode == 2
    error = json.loads(done.stdout)["error"]
    assert error["file"] is None and error["line"] is None
    assert done.stderr == f"updater: error: {error['message']}\n"


def test_a_config_error_names_its_line(tmp_path: Path) -> None:
    (tmp_path / ".image-updater.yaml").write_text("images:\n  - name: ghcr.io/a/b\n    bogus: 1\n")
    done = updater("poll", "--json", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    error = json.loads(done.stdout)["error"]
    assert error["file"] == ".image-updater.yaml"
    assert error["line"] == 3
    assert done.stderr.startswith(f"updater: error: .image-updater.yaml:3: {error['message']}")


def test_located_errors_keep_their_place_across_processes() -> None:
    error = pickle.loads(pickle.dumps(EditError("bad", file="a.yaml", line=3)))
    assert type(error) is EditError
    assert (str(error), error.file, error.line, error.message) == (
        "a.yaml:3: bad",
        "a.yaml",
        3,
        "bad",
    )
    assert str(UsageError("plain")) == "plain"
    assert UsageError("no line", file="f.yaml").as_json() == {
        "file": "f.yaml",
        "line": None,
        "message": "no line",
    }
