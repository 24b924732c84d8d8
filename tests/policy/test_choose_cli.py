"""``updater choose``: the policy's pick among given tags, offline, by poll's code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from updater.cli import cli

ROOT = Path(__file__).resolve().parents[2]
TAGS = ["1.0.0", "v1.10.0", "1.9.9", "2.0.0-rc.1", "latest"]


def choose(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["choose", *args], input=stdin, catch_exceptions=False)


def test_prints_the_pick_and_exits_0() -> None:
    result = choose("--policy", "semver", *TAGS)
    assert (result.exit_code, result.stdout) == (0, "v1.10.0\n")
    assert "highest version in '*': 'v1.10.0'" in result.stderr


def test_reads_stdin_one_tag_a_line() -> None:
    result = choose("--policy", "semver", "--range", "<1.5", "-", stdin="1.0.0\n\n1.4.2\r\n2.0.0\n")
    assert (result.exit_code, result.stdout) == (0, "1.4.2\n")


def test_json_lists_the_choice_and_every_rejected_tag_with_its_reason() -> None:
    result = choose("--policy", "semver", "--ignore", "1.9.*", "--json", *TAGS)
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["chosen"] == "v1.10.0" and report["policy"] == "semver '*'"
    assert report["source"] == "command line" and report["error"] is None
    assert report["rejected"] == [
        {"tag": "1.0.0", "reason": "ranked below v1.10.0"},
        {"tag": "1.9.9", "reason": "ignored"},
        {"tag": "2.0.0-rc.1", "reason": "prerelease"},
        {"tag": "latest", "reason": "not a semantic version"},
    ]


def test_no_matching_tag_is_exit_4() -> None:
    result = choose("--policy", "semver", "--range", "^3", "--json", *TAGS)
    assert result.exit_code == 4
    report = json.loads(result.stdout)
    assert report["chosen"] is None and len(report["rejected"]) == len(TAGS)
    assert "no tag matches policy semver '^3': 5 tag(s)" in report["error"]
    assert result.stderr.startswith("updater: error: the tags given: no tag matches")
    assert choose("--policy", "semver", "--range", "^3", *TAGS).exit_code == 4


def test_filter_extract_and_flux_order() -> None:
    tags = ["main-9-aa", "main-10-bb", "main-2-cc", "pr-99-dd"]
    base = ["--policy", "numerical", "--filter", r"^main-(?<ts>\d+)-\w+$", "--extract", "$ts"]
    assert choose(*base, *tags).stdout == "main-10-bb\n"
    assert choose(*base, "--order", "asc", *tags).stdout == "main-10-bb\n"
    assert choose(*base, "--order", "desc", *tags).stdout == "main-2-cc\n"
    letters = [chr(c) for c in range(ord("A"), ord("Z") + 1)]
    assert choose("--policy", "alphabetical", *letters).stdout == "Z\n"
    assert choose("--policy", "alphabetical", "--order", "desc", *letters).stdout == "A\n"


def test_digest_policy_follows_its_tag() -> None:
    assert choose("--policy", "digest", "--tag", "stable", "latest", "stable").stdout == "stable\n"
    assert choose("--policy", "digest", "--tag", "stable", "latest").exit_code == 4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--policy", "semver", "--range", ">=1.2 <<2"],
         "--range: bad semver range: improper constraint: >=1.2 <<2"),
        (["--policy", "semver", "--order", "asc"], "--order: does not apply to policy semver"),
        (["--policy", "numerical", "--range", "^1"], "--range: does not apply to policy numerical"),
        (["--policy", "numerical", "--order", "up"], "--order: expected asc or desc"),
        (["--policy", "semver", "--filter", "("], "--filter: bad regular expression: missing ),"),
        (["--policy", "semver", "--extract", "$v"], "--extract: needs a filter"),
        (["--policy", "semver", "--filter", "(?P<v>.*)", "--extract", "$w"],
         "--extract: $w is not a group of the filter"),
        (["--policy", "nope"], "--policy: unknown policy 'nope'"),
        (["--policy", "newest-build"], "which only a registry has; choose works offline"),
        (["--policy", "digest"], "--policy digest needs --tag"),
        (["--range", "^1"], "--range needs --policy P"),
        ([], "give --config FILE --image NAME, or --policy P"),
        (["--image", "x"], "--image needs --config FILE"),
        (["--config", "c.yaml", "--policy", "semver"], "not both"),
    ],
)  # fmt: skip
def test_bad_policy_flags_are_exit_2(args: list[str], message: str) -> None:
    result = choose(*args, "1.0.0")
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("updater: error: ") and message in result.stderr
    assert result.stderr.count("\n") == 1 and result.stdout == ""


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / ".image-updater.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_config_entry_policy(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        """\
        images:
          - name: ghcr.io/acme/web
            policy: semver
          - name: ghcr.io/acme/api
            policy: semver
            range: '<1.5'
            min-age: 2h
        """,
    )
    result = choose("--config", str(config), "--image", "ghcr.io/acme/api", "--json", *TAGS)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["chosen"] == "1.0.0" and report["source"] == f"{config}:4"
    assert report["image"] == "ghcr.io/acme/api"
    assert report["notes"] == ["min-age not applied: image creation times come from the registry"]
    missing = choose("--config", str(config), "--image", "ghcr.io/acme/db", "1.0.0")
    assert missing.exit_code == 2
    assert missing.stderr == (
        f"updater: error: {config}: no image ghcr.io/acme/db"
        " (it lists ghcr.io/acme/web, ghcr.io/acme/api)\n"
    )


def test_a_bad_config_gives_polls_message(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    config = _config(
        repo,
        "images:\n  - name: ghcr.io/acme/api\n    policy: semver\n    range: '>=1.2 <<2'\n",
    )
    polled = CliRunner().invoke(cli, ["poll", "--repo", str(repo), "--config", str(config)])
    chosen = choose("--config", str(config), "--image", "ghcr.io/acme/api", "1.0.0")
    assert polled.exit_code == chosen.exit_code == 2
    assert (
        chosen.stderr
        == polled.stderr
        == (
            f"updater: error: {config}:4: images[0].range: bad semver range:"
            " improper constraint: >=1.2 <<2\n"
        )
    )


def test_starts_without_the_registry_client_or_yaml() -> None:
    """choose --policy is a quick check: it must not pay for requests or ruamel."""
    code = textwrap.dedent(
        """\
        import runpy, sys
        sys.argv = ["updater", "choose", "--policy", "semver", "1.0.0", "1.2.0"]
        try:
            runpy.run_module("updater", run_name="__main__")
        except SystemExit as stop:
            assert stop.code in (0, None), stop.code
        heavy = [m for m in ("requests", "ruamel.yaml", "yaml", "urllib3") if m in sys.modules]
        print("heavy:", heavy, file=sys.stderr)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "1.2.0\n"
    assert "heavy: []" in done.stderr
