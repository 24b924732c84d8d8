"""Flux setter markers: a policy's whole result goes into the fields marked for it, the
marker-only mode leaves unmarked references alone, and another policy's fields are
never written nor looked up; scan names a lone marked part's policy (and image)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.edit.helpers import edited, make_repo
from updater.cli import cli
from updater.config import ConfigError, parse_config
from updater.edit.planner import plan
from updater.reference import parse_change

DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64


def no_lookup(repository: str, tag: str) -> str:
    raise AssertionError(f"unexpected registry lookup of {repository}:{tag}")


def run_cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_alias_writes_the_whole_result_into_each_marked_field(tmp_path: Path) -> None:
    before = f"""\
image:
  repository: old.io/app # {{"$imagepolicy": "ns:app:name"}}
  tag: 1.0.0 # {{"$imagepolicy": "ns:app:tag"}}
  digest: {DIGEST_A} # {{"$imagepolicy": "ns:app:digest"}}
full: old.io/app:1.0.0 # {{"$imagepolicy": "ns:app"}}
"""
    after = edited(
        tmp_path, before, f"ghcr.io/new/app:2.0.0@{DIGEST_B}", aliases=("ns:app",),
        resolve=no_lookup,
    )  # fmt: skip
    assert after == (
        before.replace("old.io/app:1.0.0", f"ghcr.io/new/app:2.0.0@{DIGEST_B}")
        .replace("old.io/app # ", "ghcr.io/new/app # ")
        .replace("1.0.0 #", "2.0.0 #")
        .replace(DIGEST_A, DIGEST_B)
    )


def test_only_marked_leaves_unmarked_references_alone(tmp_path: Path) -> None:
    marked = 'app:\n  image: ghcr.io/acme/api:1.0.0 # {"$imagepolicy": "ns:api"}\n'
    other = 'app:\n  image: ghcr.io/acme/api:1.0.0 # {"$imagepolicy": "ns:other"}\n'
    unmarked = "app:\n  image: ghcr.io/acme/api:1.0.0\n"
    make_repo(tmp_path, {"marked.yaml": marked, "other.yaml": other, "plain.yaml": unmarked})
    change = parse_change("ghcr.io/acme/api:1.1.0", aliases=("ns:api",), only_marked=True)
    result = plan(tmp_path, [change])
    assert [e.path for e in result.edits] == ["marked.yaml"]
    # Without the mode, every reference of the repository moves except the field
    # another policy owns.
    loose = plan(tmp_path, [parse_change("ghcr.io/acme/api:1.1.0", aliases=("ns:api",))])
    assert [e.path for e in loose.edits] == ["marked.yaml", "plain.yaml"]


def test_another_policys_digest_marker_is_no_reason_for_a_lookup(tmp_path: Path) -> None:
    before = f"""\
image:
  repository: ghcr.io/acme/api
  tag: 1.0.0 # {{"$imagepolicy": "ns:api:tag"}}
  digest: {DIGEST_A} # {{"$imagepolicy": "ns:api-digest:digest"}}
"""
    after = edited(
        tmp_path, before, "ghcr.io/acme/api:1.1.0", aliases=("ns:api",), resolve=no_lookup
    )
    assert after == before.replace("1.0.0", "1.1.0")


def test_cli_only_marked_needs_an_alias(tmp_path: Path) -> None:
    make_repo(tmp_path, {"a.yaml": "image: ghcr.io/acme/api:1\n"})
    status, output = run_cli(
        "set-image", "--repo", str(tmp_path), "--only-marked", "ghcr.io/acme/api:2"
    )
    assert status == 2 and "--only-marked needs --alias" in output
    status, output = run_cli(
        "set-image", "--repo", str(tmp_path), "--alias", "nope", "ghcr.io/acme/api:2"
    )
    assert status == 2 and "expected NAMESPACE:NAME" in output


def test_cli_only_marked_writes_marked_fields(tmp_path: Path) -> None:
    files = {
        "a.yaml": 'v: 1.0.0 # {"$imagepolicy": "ns:api:tag"}\n',
        "b.yaml": "image: ghcr.io/acme/api:1.0.0\n",
    }
    make_repo(tmp_path, files)
    status, output = run_cli(
        "set-image", "--repo", str(tmp_path), "--write", "--only-marked", "--alias", "ns:api",
        "--json", "ghcr.io/acme/api:1.1.0",
    )  # fmt: skip
    assert status == 0, output
    assert (tmp_path / "a.yaml").read_text() == files["a.yaml"].replace("1.0.0", "1.1.0")
    assert (tmp_path / "b.yaml").read_text() == files["b.yaml"]
    (change,) = json.loads(output)["changes"]
    assert (change["line"], change["column"]) == (1, 4)


def test_scan_names_a_lone_parts_policy_and_image(tmp_path: Path) -> None:
    make_repo(
        tmp_path,
        {
            "lone.yaml": 'v: 1.4.2 # {"$imagepolicy": "flux-system:api:tag"}\n',
            "sibling.yaml": (
                'img: ghcr.io/acme/web:2.0 # {"$imagepolicy": "flux-system:web"}\n'
                'v: 2.0 # {"$imagepolicy": "flux-system:web:tag"}\n'
            ),
            "kustomization.yaml": (
                'images:\n- name: ghcr.io/acme/db\n  newTag: "3" # {"$imagepolicy": "ns:db:tag"}\n'
            ),
        },
    )
    status, output = run_cli("scan", "--repo", str(tmp_path))
    assert status == 0, output
    assert "(policy flux-system:api) tag 1.4.2" in output
    assert "ghcr.io/acme/web:2.0 (policy flux-system:web)" in output
    assert "ghcr.io/acme/db:3 (policy ns:db)" in output
    assert ":1.4.2" not in output.replace("tag 1.4.2", "")
    status, output = run_cli("scan", "--repo", str(tmp_path), "--json")
    lone = next(r for r in json.loads(output) if r["file"] == "lone.yaml")
    assert (lone["image"], lone["tag"], lone["policy"]) == (None, "1.4.2", "flux-system:api")


def test_poll_config_only_marked() -> None:
    text = (
        "images:\n  - name: ghcr.io/acme/api\n    policy: semver\n"
        "    alias: ns:api\n    only-marked: true\n"
    )
    (image,) = parse_config(text, "c.yaml").images
    assert image.only_marked and image.aliases == ("ns:api",)
    with pytest.raises(ConfigError, match=r"c.yaml:4: images\[0\].only-marked: needs 'alias'"):
        parse_config(
            "images:\n  - name: ghcr.io/acme/api\n    policy: semver\n    only-marked: true\n",
            "c.yaml",
        )
