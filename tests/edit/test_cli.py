"""The command line as users and scripts meet it: output, exit codes, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.edit.helpers import make_repo

KUSTOMIZATION = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
images:
  - name: ghcr.io/acme/api
    newTag: 1.4.2 # CI bumps this
"""
DEPLOYMENT = """\
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


def updater(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "updater", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "NO_COLOR": "1"},
        check=False,
    )


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(
        tmp_path / "repo",
        {"overlays/prod/kustomization.yaml": KUSTOMIZATION, "base/deployment.yaml": DEPLOYMENT},
    )


def test_scan_json_fields(repo: Path) -> None:
    result = updater("scan", "--repo", str(repo), "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert {
        "file": "base/deployment.yaml",
        "line": 10,
        "kind": "manifest",
        "image": "ghcr.io/acme/api:1.4.2",
        "repository": "ghcr.io/acme/api",
        "tag": "1.4.2",
        "digest": None,
    }.items() <= rows[0].items()
    assert rows[1]["file"] == "overlays/prod/kustomization.yaml"
    assert rows[1]["kind"] == "kustomize"


def test_scan_table_is_aligned(repo: Path) -> None:
    result = updater("scan", "--repo", str(repo))
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["FILE:LINE", "KIND", "IMAGE"]
    assert len({line.index(line.split()[1]) for line in lines}) == 1
    assert "base/deployment.yaml:10" in result.stdout


def test_dry_run_prints_diff_and_writes_nothing(repo: Path) -> None:
    before = snapshot(repo)
    result = updater("set-image", "--repo", str(repo), "ghcr.io/acme/api:1.5.0")
    assert result.returncode == 0, result.stderr
    assert "-    newTag: 1.4.2 # CI bumps this\n+    newTag: 1.5.0 # CI bumps this" in result.stdout
    assert "+          image: ghcr.io/acme/api:1.5.0" in result.stdout
    assert "ghcr.io/acme/api: 1.4.2" not in result.stderr
    assert "ghcr.io/acme/api:1.4.2 -> ghcr.io/acme/api:1.5.0" in result.stderr
    assert snapshot(repo) == before


def test_write_then_rerun_is_a_no_op(repo: Path) -> None:
    first = updater("set-image", "--repo", str(repo), "--write", "ghcr.io/acme/api:1.5.0")
    assert first.returncode == 0, first.stderr
    after_first = snapshot(repo)
    assert after_first["base/deployment.yaml"] == DEPLOYMENT.replace("1.4.2", "1.5.0").encode()
    second = updater("set-image", "--repo", str(repo), "--write", "ghcr.io/acme/api:1.5.0")
    assert second.returncode == 0
    assert "already up to date" in second.stderr
    assert snapshot(repo) == after_first


def test_path_limits_the_edit(repo: Path) -> None:
    result = updater(
        "set-image", "--repo", str(repo), "--path", "overlays/prod", "--write", "ghcr.io/acme/api:2"
    )
    assert result.returncode == 0, result.stderr
    assert b"1.4.2" in (repo / "base/deployment.yaml").read_bytes()
    assert b"newTag: 2 #" not in (repo / "overlays/prod/kustomization.yaml").read_bytes()
    assert b'newTag: "2" #' in (repo / "overlays/prod/kustomization.yaml").read_bytes()


def test_json_report(repo: Path) -> None:
    result = updater("set-image", "--repo", str(repo), "--json", "ghcr.io/acme/api:1.5.0")
    report = json.loads(result.stdout)
    assert report["changed"] is True
    assert report["files"] == ["base/deployment.yaml", "overlays/prod/kustomization.yaml"]
    assert report["images"] == [
        {
            "repository": "ghcr.io/acme/api",
            "old_refs": ["ghcr.io/acme/api:1.4.2"],
            "new_ref": "ghcr.io/acme/api:1.5.0",
            "files": ["base/deployment.yaml", "overlays/prod/kustomization.yaml"],
        }
    ]
    assert report["changes"][1]["yaml_path"] == "images[0].newTag"
    assert report["delivery"]["mode"] == "dry-run"


def test_no_match_is_an_error_unless_allowed(repo: Path) -> None:
    result = updater("set-image", "--repo", str(repo), "ghcr.io/acme/web:1")
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1
    assert "ghcr.io/acme/web:1" in result.stderr and "updater scan" in result.stderr
    allowed = updater("set-image", "--repo", str(repo), "--allow-no-match", "ghcr.io/acme/web:1")
    assert allowed.returncode == 0


BAD_FILES = [
    ("malformed.yaml", b"image: ghcr.io/acme/api:1\n  bad: [\n", "malformed.yaml:"),
    (
        "dup.yaml",
        b"image: ghcr.io/acme/api:1\nimage: ghcr.io/acme/api:2\n",
        "dup.yaml:2: duplicate key 'image'",
    ),
    (
        "latin1.yaml",
        "image: ghcr.io/acme/api:1 # caf\xe9\n".encode("latin-1"),
        "latin1.yaml:1: not UTF-8",
    ),
]


@pytest.mark.parametrize(("name", "content", "message"), BAD_FILES)
def test_bad_candidate_file_fails_whole_plan(
    repo: Path, name: str, content: bytes, message: str
) -> None:
    (repo / "zz").mkdir()
    (repo / "zz" / name).write_bytes(content)
    before = snapshot(repo)
    result = updater("set-image", "--repo", str(repo), "--write", "ghcr.io/acme/api:1.5.0")
    assert result.returncode != 0
    assert message in result.stderr
    assert result.stderr.count("\n") == 1
    assert snapshot(repo) == before


@pytest.mark.parametrize(
    ("image", "message"),
    [
        ("ghcr.io/acme/api:1 2", "white space"),
        ("ghcr.io/acme/api:1\n", "white space"),
        ("ghcr.io/ACME/api:1", "lowercase"),
        ("ghcr.io/acme/api:" + "x" * 129, "longer than 128"),
        ("ghcr.io/acme/api@sha256:1234", "bad digest"),
        ("ghcr.io/acme/api", "give a tag or digest"),
    ],
)
def test_invalid_image_argument(repo: Path, image: str, message: str) -> None:
    before = snapshot(repo)
    result = updater("set-image", "--repo", str(repo), "--write", image)
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stderr.startswith("updater: error: invalid image")
    assert snapshot(repo) == before


def test_symlink_leaving_the_repo_is_refused(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text(DEPLOYMENT)
    (repo / "base" / "linked.yaml").symlink_to(outside)
    result = updater("set-image", "--repo", str(repo), "--write", "ghcr.io/acme/api:1.5.0")
    assert result.returncode != 0
    assert "base/linked.yaml: symlink leaves the repository" in result.stderr
    assert outside.read_text() == DEPLOYMENT
    assert b"1.4.2" in (repo / "base/deployment.yaml").read_bytes()


def test_symlink_inside_the_repo_is_edited_through_its_target_once(repo: Path) -> None:
    (repo / "base" / "alias.yaml").symlink_to(repo / "base" / "deployment.yaml")
    result = updater("set-image", "--repo", str(repo), "--write", "ghcr.io/acme/api:1.5.0")
    assert result.returncode == 0, result.stderr
    assert (repo / "base" / "alias.yaml").is_symlink()
    assert b"1.5.0" in (repo / "base/deployment.yaml").read_bytes()


def test_symlink_to_a_file_the_walk_reads_anyway_is_reported_once(repo: Path) -> None:
    (repo / "base" / "alias.yaml").symlink_to("deployment.yaml")
    (repo / "overlays" / "prod" / "linked.yaml").symlink_to("../../base/deployment.yaml")
    dry = updater("set-image", "--repo", str(repo), "--json", "ghcr.io/acme/api:1.5.0")
    report = json.loads(dry.stdout)
    assert report["files"] == ["base/deployment.yaml", "overlays/prod/kustomization.yaml"]
    assert [c["file"] for c in report["changes"]] == report["files"]
    scan = updater("scan", "--repo", str(repo), "--skipped")
    rows = [line.split(maxsplit=2) for line in scan.stdout.splitlines()[1:]]
    linked = ["skipped", "symlink to base/deployment.yaml, read there"]
    assert rows == [
        ["base/deployment.yaml:10", "manifest", "ghcr.io/acme/api:1.4.2"],
        ["overlays/prod/kustomization.yaml:4", "kustomize", "ghcr.io/acme/api:1.4.2"],
        ["base/alias.yaml", *linked],
        ["overlays/prod/linked.yaml", *linked],
    ]
    # Named on purpose, a symlink is read under its own name.
    named = updater("scan", "--repo", str(repo), "--path", "base/alias.yaml")
    assert "base/alias.yaml:10" in named.stdout


def test_unknown_option_and_help() -> None:
    assert updater("--help").returncode == 0
    result = updater("set-image", "--bogus", "x:1")
    assert result.returncode == 2 and "--bogus" in result.stderr


def test_missing_path(repo: Path) -> None:
    result = updater("set-image", "--repo", str(repo), "--path", "nope", "ghcr.io/acme/api:1")
    assert result.returncode == 2 and "--path nope" in result.stderr


# BEL, backspace and an OSC title sequence: click strips only CSI colour codes from
# output that is not a terminal, so these reach a pipe as they would reach a terminal.
HOSTILE = "\x07\x08\x1b]0;owned\x07"


def test_repo_text_is_escaped_in_the_scan_table_diff_and_summary(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path / "repo",
        {
            f"a{HOSTILE}.yaml": "image: ghcr.io/acme/api:1.4.2\n",
            "b.yaml": 'image: "ghcr.io/acme/api:1.4.2\\a\\e]0;x\\a"\n'
            'skip: {repository: "ghcr.io/acme/api\\b", tag: 1}\n',
        },
    )
    scan = updater("scan", "--repo", str(repo), "--skipped")
    dry = updater("set-image", "--repo", str(repo), "ghcr.io/acme/api:1.5.0")
    assert scan.returncode == 0 and dry.returncode == 0, scan.stderr + dry.stderr
    for out in (scan.stdout, dry.stdout, dry.stderr):
        assert not any(ch in out for ch in "\x07\x08\x1b"), repr(out)
    assert "a\\x07\\x08\\x1b]0;owned\\x07.yaml:1" in scan.stdout
    assert "ghcr.io/acme/api:1.4.2\\x07\\x1b]0;x\\x07" in scan.stdout
    assert "not an image name: ghcr.io/acme/api\\x08" in scan.stdout
    assert "+++ b/a\\x07\\x08\\x1b]0;owned\\x07.yaml" in dry.stdout
    assert "ghcr.io/acme/api:1.4.2\\x07\\x1b]0;x\\x07 -> ghcr.io/acme/api:1.5.0" in dry.stderr


def test_repo_text_is_escaped_in_an_error(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {f"a{HOSTILE}.yaml": "image: a\nimage: b\n"})
    result = updater("scan", "--repo", str(repo))
    assert result.returncode == 3
    shown = "a\\x07\\x08\\x1b]0;owned\\x07.yaml"
    assert result.stderr == f"updater: error: {shown}:2: duplicate key 'image'\n"


def test_dry_run_diff_splits_lines_as_git_does_and_applies(tmp_path: Path) -> None:
    """Lines end at \\n only, as in git: a CR-only file is one line, not one "No newline
    at end of file" per CR, and the printed diff applies to give what --write writes."""
    text = "kind: Pod\rapiVersion: v1\rspec:\r  containers:\r  - image: ghcr.io/acme/api:1.4.2\r"
    repo = make_repo(tmp_path / "repo", {"app.yaml": text})
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    dry = subprocess.run(
        [
            sys.executable,
            "-m",
            "updater",
            "set-image",
            "--repo",
            str(repo),
            "ghcr.io/acme/api:1.5.0",
        ],
        capture_output=True,
        check=False,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.count(b"\\ No newline at end of file") == 2
    subprocess.run(["git", "-C", str(repo), "apply", "-"], input=dry.stdout, check=True)
    applied = (repo / "app.yaml").read_bytes()
    (repo / "app.yaml").write_bytes(text.encode("utf-8"))
    assert (
        updater("set-image", "--repo", str(repo), "--write", "ghcr.io/acme/api:1.5.0").returncode
        == 0
    )
    assert applied == (repo / "app.yaml").read_bytes() == text.replace("1.4.2", "1.5.0").encode()


def test_a_host_spelled_in_capitals_is_the_same_registry(tmp_path: Path) -> None:
    """``GHCR.io/acme/api`` in a file is ``ghcr.io/acme/api``: it is set, and keeps its
    spelling."""
    pod = "kind: Pod\nspec:\n  containers:\n    - name: a\n      image: GHCR.io/acme/api:1.4.2\n"
    make_repo(tmp_path, {"pod.yaml": pod})
    result = updater("set-image", "--repo", str(tmp_path), "--write", "ghcr.io/acme/api:1.5.0")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "pod.yaml").read_text() == pod.replace("1.4.2", "1.5.0")


@pytest.mark.parametrize(
    ("name", "text", "note"),
    [
        ("kustomization.yaml", "images:\n  - name: ghcr.io/acme/api\n    newTag:\n      a: b\n",
         "kustomization.yaml:4: newTag is a mapping: ghcr.io/acme/api"),
        ("pod.yaml", "kind: Pod\nspec:\n  containers:\n    - name: a\n      image: >-\n"
         "        ghcr.io/acme/api:1.0\n", "pod.yaml:5: block scalar: ghcr.io/acme/api:1.0"),
    ],
)  # fmt: skip
def test_referenced_nowhere_says_what_was_left_alone(
    tmp_path: Path, name: str, text: str, note: str
) -> None:
    """A reference passed over is named in the error, so "nowhere" is not the whole
    story; a newTag that is a mapping is left alone, not given a second newTag."""
    make_repo(tmp_path, {name: text})
    result = updater("set-image", "--repo", str(tmp_path), "--write", "ghcr.io/acme/api:1.5.0")
    assert result.returncode == 4, result.stderr
    assert f"referenced nowhere; left alone: {note} (run" in result.stderr
    assert (tmp_path / name).read_text() == text
    scan = updater("scan", "--repo", str(tmp_path), "--skipped")
    assert note.split(": ", 1)[1] in scan.stdout


def test_left_alone_names_only_that_image(tmp_path: Path) -> None:
    """A skipped ``ghcr.io/acme/api-worker`` is not a reference to ``ghcr.io/acme/api``."""
    pod = "kind: Pod\nspec:\n  containers:\n    - name: a\n      image: >-\n"
    make_repo(tmp_path, {"pod.yaml": pod + "        ghcr.io/acme/api-worker:1.0\n"})
    result = updater("set-image", "--repo", str(tmp_path), "--write", "ghcr.io/acme/api:1.5.0")
    assert result.returncode == 4, result.stderr
    assert "left alone" not in result.stderr
