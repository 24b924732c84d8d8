"""The command line's own refusals (click's: an unknown option, a value out of range, two
mode flags) keep the ``--json`` promise of docs/exit-codes.md: the error object on
stdout, as for every other failure."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.support.remotes import run_updater


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["set-image", "--write", "--commit"], "--write and --commit: give one mode flag"),
        (["set-image", "--max-retries", "-1"], "'--max-retries': -1 is not in the range x>=0"),
        (["set-image", "--no-such-flag"], "No such option '--no-such-flag'"),
        (["poll", "--workers", "0"], "'--workers': 0 is not in the range 1<=x<=64"),
        (["scan", "--timeout", "x"], "'--timeout': 'x' is not a valid float range"),
        (["history", "--max-count", "many"], "'--max-count'"),
    ],
)
def test_a_usage_error_with_json_prints_the_error_object(
    tmp_path: Path, args: list[str], message: str
) -> None:
    (tmp_path / "app.yaml").write_text("image: ghcr.io/acme/api:1.0.0\n")
    image = ["ghcr.io/acme/api:1.1.0"] if args[0] == "set-image" else []
    result = run_updater(*args, "--json", "--repo", str(tmp_path), *image)
    assert result.returncode == 2, result.stderr
    error = json.loads(result.stdout)["error"]
    assert error["file"] is None and error["line"] is None
    assert message in error["message"], error
    assert message in result.stderr
    assert (tmp_path / "app.yaml").read_text() == "image: ghcr.io/acme/api:1.0.0\n"


def test_a_usage_error_without_json_prints_no_json(tmp_path: Path) -> None:
    result = run_updater("set-image", "--write", "--commit", "--repo", str(tmp_path), "a:1")
    assert result.returncode == 2 and result.stdout == ""
    assert "--write and --commit: give one mode flag" in result.stderr


def test_json_after_the_end_of_options_is_an_argument(tmp_path: Path) -> None:
    result = run_updater("choose", "--policy", "semver", "--bogus", "--", "--json")
    assert result.returncode == 2 and result.stdout == ""


def test_a_refused_value_shows_no_url_user_info() -> None:
    result = run_updater("scan", "--json", "--timeout", "https://deploy:SECRET@git.example/x")
    assert result.returncode == 2
    assert "SECRET" not in result.stdout + result.stderr
    assert "https://***@git.example/x" in json.loads(result.stdout)["error"]["message"]


def option_help(command: list[str], option: str) -> str:
    """The help text of ``option`` in ``command --help``, on one line."""
    text = run_updater(*command, "--help").stdout
    entries = re.split(r"\n  (?=-)", text)
    entry = next(e for e in entries if e.split()[0].rstrip(",") == option)
    return " ".join(entry.split()[1:])


@pytest.mark.parametrize(
    ("command", "default"),
    [
        (["set-image"], "--dry-run"),
        (["poll"], "--dry-run"),
        (["rollback"], "--dry-run"),
        (["promote"], "--dry-run"),
        (["hold", "add"], "--write"),
        (["hold", "remove"], "--write"),
        (["serve"], None),  # the config's delivery.mode, else dry-run: the text says so
    ],
)
def test_the_help_marks_the_mode_the_command_defaults_to(
    command: list[str], default: str | None
) -> None:
    for mode in ("--dry-run", "--write", "--commit", "--push", "--pull-request"):
        marked = "(default)" in option_help(command, mode)
        assert marked == (mode == default), (command, mode)


def test_deliver_s_help_names_the_command_it_is_on() -> None:
    assert "poll only" not in option_help(["promote"], "--deliver")
    assert "delivery.mode" in option_help(["promote"], "--deliver")
