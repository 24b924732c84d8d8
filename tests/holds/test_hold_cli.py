# ruff: noqa: E501 - the table reads best one case a line
"""``updater hold list|add|remove``: byte-minimal edits of .image-updater.yaml, checked
before anything is written, through the CLI on real git repos."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.support.cli import run
from tests.support.repos import git, make_repo
from updater.cli import cli
from updater.config import load_config

DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  template:
    spec:
      containers:
        - name: api
          image: ghcr.io/acme/api:1.4.2
"""
CONFIG = """\
# what the bot polls
images:
  - name: ghcr.io/acme/api   # keep this comment
    policy: semver
    range: '>=1.4 <2'
delivery: {mode: push}
"""
SINCE = re.compile(r'since: "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"')


def _repo(tmp_path: Path, config: str = CONFIG) -> Path:
    return make_repo(
        tmp_path / "repo", {"apps/api/prod/deploy.yaml": DEPLOY, ".image-updater.yaml": config}
    )


def _since(text: str) -> str:
    return SINCE.sub('since: "T"', text)


def test_add_appends_one_item_in_the_files_style_and_creates_the_key(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    result = run(
        "hold", "add", "--repo", str(repo), "ghcr.io/acme/api", "--path", "apps/api/prod",
        "--until", ">1.5.0", "--reason", "1.5.0 leaks memory (INC-42)", "--by", "alice",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    text = (repo / ".image-updater.yaml").read_text()
    assert _since(text) == CONFIG + (
        "holds:\n"
        "  - image: ghcr.io/acme/api\n"
        "    paths: [apps/api/prod]\n"
        "    at: 1.4.2\n"  # found in the files
        '    until: ">1.5.0"\n'
        '    reason: "1.5.0 leaks memory (INC-42)"\n'
        "    by: alice\n"
        '    since: "T"\n'
    )
    # a second one goes after the first, in the same indentation
    assert run("hold", "add", "--repo", str(repo), "nginx", "--at", "1.27").exit_code == 0
    after = (repo / ".image-updater.yaml").read_text()
    assert _since(after) == _since(text) + (
        '  - image: nginx\n    at: "1.27"\n    by: tester\n    since: "T"\n'
    )
    (api, nginx) = load_config(repo / ".image-updater.yaml").holds
    assert api.repository == "ghcr.io/acme/api" and api.paths == ("apps/api/prod",)
    assert str(api.until) == ">1.5.0" and api.line == 8
    assert nginx.repository == "docker.io/library/nginx" and nginx.at == "1.27"
    listed = run("hold", "list", "--repo", str(repo), "--json")
    assert [h["image"] for h in json.loads(listed.stdout)] == ["ghcr.io/acme/api", "nginx"]
    text_list = run("hold", "list", "--repo", str(repo), "nginx").stdout
    assert text_list.startswith(".image-updater.yaml:15: nginx everywhere: held at 1.27")


def test_add_under_an_existing_key_keeps_a_zero_indent_and_crlf(tmp_path: Path) -> None:
    config = "images:\r\n- name: nginx\r\n  policy: semver\r\nholds: []  # none yet\r\nregistries: []\r\n"
    repo = _repo(tmp_path, config)
    assert run("hold", "add", "--repo", str(repo), "nginx", "--by", "bob").exit_code == 0
    got = _since((repo / ".image-updater.yaml").read_bytes().decode())
    assert got == (
        "images:\r\n- name: nginx\r\n  policy: semver\r\nholds:  # none yet\r\n"
        '- image: nginx\r\n  by: bob\r\n  since: "T"\r\nregistries: []\r\n'
    )


def test_remove_takes_out_exactly_that_items_lines(tmp_path: Path) -> None:
    config = CONFIG + (
        "holds:\n"
        "  # kept: a comment of the list\n"
        "  - image: ghcr.io/acme/api\n"
        "    paths: [apps/api/prod]\n"
        "    # why: see INC-42\n"
        "    until: '>1.5.0'\n"
        "\n"
        "  - image: nginx\n"
        "registries: []\n"
    )
    repo = _repo(tmp_path, config)
    result = run("hold", "remove", "--repo", str(repo), "ghcr.io/acme/api", "--commit")
    assert result.exit_code == 0, result.output
    assert (repo / ".image-updater.yaml").read_text() == CONFIG + (
        "holds:\n  # kept: a comment of the list\n\n  - image: nginx\nregistries: []\n"
    )
    assert "hold removed (was line 9)" in result.stderr
    assert git(repo, "log", "-1", "--format=%s").strip() == "Release the hold of ghcr.io/acme/api"
    assert git(repo, "status", "--porcelain") == ""
    assert run("hold", "remove", "--repo", str(repo), "nginx").exit_code == 0
    assert (repo / ".image-updater.yaml").read_text() == CONFIG + (
        "holds:\n  # kept: a comment of the list\n\nregistries: []\n"
    )
    assert load_config(repo / ".image-updater.yaml").holds == ()


def test_dry_run_prints_the_diff_and_writes_nothing(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    result = run("hold", "add", "--repo", str(repo), "ghcr.io/acme/api", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "+holds:\n+  - image: ghcr.io/acme/api\n+    at: 1.4.2\n" in result.stdout
    assert (repo / ".image-updater.yaml").read_text() == CONFIG


BAD = [
    (["add", "ghcr.io/acme/api", "--until", ">>1.5"], "updater: error: --until '>>1.5': bad semver range: improper constraint: >>1.5"),
    (["add", "ghcr.io/acme/api:1.4.2"], "updater: error: IMAGE 'ghcr.io/acme/api:1.4.2': give the repository without tag or digest"),
    (["add", "ghcr.io/acme/api", "--path", "../x"], "updater: error: --path '../x': must be relative, inside the repo"),
    (["add", "ghcr.io/acme/api", "--pull-request"], "updater: error: --pull-request: hold takes --dry-run, --write, --commit or --push"),
    (["remove", "redis"], "updater: error: .image-updater.yaml: no hold of redis"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "message"), BAD)
def test_bad_input_is_one_line_and_writes_nothing(
    tmp_path: Path, args: list[str], message: str
) -> None:
    repo = _repo(tmp_path)
    command, *rest = args
    result = run("hold", command, "--repo", str(repo), *rest)
    assert result.exit_code in (2, 4), result.output
    assert result.stderr.strip() == message
    assert (repo / ".image-updater.yaml").read_text() == CONFIG


def test_a_second_hold_of_the_same_image_and_paths_is_refused(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    assert run("hold", "add", "--repo", str(repo), "ghcr.io/acme/api").exit_code == 0
    before = (repo / ".image-updater.yaml").read_text()
    result = run("hold", "add", "--repo", str(repo), "ghcr.io/acme/api", "--until", ">2")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "updater: error: .image-updater.yaml:8: ghcr.io/acme/api is already held there"
        " (updater hold remove it first)"
    )
    assert (repo / ".image-updater.yaml").read_text() == before


def test_a_broken_config_is_refused_before_any_edit(tmp_path: Path) -> None:
    config = CONFIG + "holds:\n  - image: nginx\n    until: '>=1 <<2'\n"
    repo = _repo(tmp_path, config)
    result = run("hold", "add", "--repo", str(repo), "redis")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "updater: error: .image-updater.yaml:9: holds[0].until: bad semver range:"
        " improper constraint: >=1 <<2"
    )
    assert (repo / ".image-updater.yaml").read_text() == config


def test_no_config_file_is_one_line(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"apps/api/prod/deploy.yaml": DEPLOY})
    result = run("hold", "add", "--repo", str(repo), "ghcr.io/acme/api")
    assert result.exit_code == 2
    assert result.stderr.startswith("updater: error: .image-updater.yaml: no such file")
    assert not (repo / ".image-updater.yaml").exists()


def test_add_with_push_finds_at_in_the_clone_and_pushes_one_commit(tmp_path: Path) -> None:
    work = _repo(tmp_path)
    bare = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(work), str(bare))
    git(work, "remote", "add", "origin", str(bare))
    git(work, "fetch", "-q", "origin")
    git(work, "branch", "-q", "--set-upstream-to=origin/main")
    result = run(
        "hold", "add", "--repo", str(work), "ghcr.io/acme/api", "--path", "apps/api/prod",
        "--reason", "INC-42", "--push",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    pushed = git(bare, "show", "main:.image-updater.yaml")
    assert "    paths: [apps/api/prod]\n    at: 1.4.2\n    reason: INC-42\n" in pushed
    assert git(bare, "log", "-1", "--format=%s", "main").strip() == (
        "Hold ghcr.io/acme/api in apps/api/prod: INC-42"
    )
    assert (work / ".image-updater.yaml").read_text() == CONFIG  # the checkout is left alone


def test_dry_run_json_is_the_whole_of_stdout(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    result = CliRunner().invoke(
        cli, ["hold", "add", "--repo", str(repo), "ghcr.io/acme/api", "--dry-run", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["hold"]["image"] == "ghcr.io/acme/api"
    assert report["delivery"]["mode"] == "dry-run"
    assert (repo / ".image-updater.yaml").read_text() == CONFIG


def _on_a_terminal(repo: Path, env: dict[str, str]) -> str:
    """stdout of a dry-run ``hold add`` whose stdout is a terminal (a pty; the diff is
    smaller than its buffer, so the child never blocks before it is read)."""
    main, secondary = pty.openpty()
    try:
        subprocess.run(
            [sys.executable, "-m", "updater", "hold", "add", "--repo", str(repo),
             "ghcr.io/acme/api", "--dry-run"],
            stdout=secondary, stderr=subprocess.PIPE, env=env, timeout=60, check=True,
        )  # fmt: skip
        os.close(secondary)
        secondary = -1
        chunks = []
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # the pty's other end is closed: all read
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks).decode()
    finally:
        os.close(main)
        if secondary != -1:
            os.close(secondary)


def test_dry_run_diff_is_coloured_on_a_terminal_unless_no_color(tmp_path: Path) -> None:
    """As set-image's and poll's diffs: the one renderer, colour only on a terminal."""
    repo = _repo(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    coloured = _on_a_terminal(repo, env)
    assert "\x1b[32m+" in coloured and "holds:" in coloured
    plain = _on_a_terminal(repo, {**env, "NO_COLOR": "1"})
    assert "\x1b" not in plain and "+holds:" in plain
