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


BLOCK = """\
image:
  repository: ghcr.io/acme/foo # {"$imagepolicy": "ns:foo:name"}
  tag: 1.0.0 # {"$imagepolicy": "ns:foo:tag"}
"""


def test_scan_lists_a_marked_helm_block_once(tmp_path: Path) -> None:
    make_repo(tmp_path, {"values.yaml": BLOCK})
    status, output = run_cli("scan", "--repo", str(tmp_path), "--json")
    assert status == 0, output
    (found,) = json.loads(output)
    assert (found["line"], found["kind"], found["image"], found["policy"]) == (
        2, "helm", "ghcr.io/acme/foo:1.0.0", "ns:foo",
    )  # fmt: skip
    assert found["yaml_path"] == "image"
    status, output = run_cli("scan", "--repo", str(tmp_path))
    assert output.count("ghcr.io/acme/foo") == 1, output


def test_a_block_with_one_marked_part_is_listed_once(tmp_path: Path) -> None:
    make_repo(
        tmp_path,
        {
            "values.yaml": BLOCK.replace(' # {"$imagepolicy": "ns:foo:name"}', ""),
            "kustomization.yaml": (
                'images:\n- name: ghcr.io/acme/db\n  newTag: "3" # {"$imagepolicy": "ns:db:tag"}\n'
            ),
        },
    )
    status, output = run_cli("scan", "--repo", str(tmp_path), "--json")
    assert status == 0, output
    found = [(r["file"], r["kind"], r["image"], r["policy"]) for r in json.loads(output)]
    assert found == [
        ("kustomization.yaml", "kustomize", "ghcr.io/acme/db:3", "ns:db"),
        ("values.yaml", "helm", "ghcr.io/acme/foo:1.0.0", "ns:foo"),
    ]


def test_set_image_edits_a_marked_block_once(tmp_path: Path) -> None:
    make_repo(tmp_path, {"values.yaml": BLOCK})
    status, output = run_cli(
        "set-image", "--repo", str(tmp_path), "--write", "--json", "ghcr.io/acme/foo:1.1.0"
    )
    assert status == 0, output
    assert (tmp_path / "values.yaml").read_text() == BLOCK.replace("1.0.0", "1.1.0")
    (change,) = json.loads(output)["changes"]
    assert (change["line"], change["yaml_path"], change["new"]) == (3, "image.tag", "1.1.0")


def test_only_marked_writes_only_the_marked_part_of_a_block(tmp_path: Path) -> None:
    # The repository is not marked: a policy that now names another image moves the
    # tag only, as Flux would; an unaliased run by repository writes the block whole.
    before = BLOCK.replace(' # {"$imagepolicy": "ns:foo:name"}', "")
    make_repo(tmp_path, {"values.yaml": before})
    status, output = run_cli(
        "set-image", "--repo", str(tmp_path), "--write", "--only-marked", "--alias", "ns:foo",
        "ghcr.io/other/foo:2.0.0",
    )  # fmt: skip
    assert status == 0, output
    assert (tmp_path / "values.yaml").read_text() == before.replace("1.0.0", "2.0.0")
    status, output = run_cli(
        "set-image", "--repo", str(tmp_path), "--write", "ghcr.io/acme/foo=ghcr.io/new/foo:3.0.0"
    )
    assert status == 0, output
    assert (tmp_path / "values.yaml").read_text() == before.replace("1.0.0", "3.0.0").replace(
        "ghcr.io/acme/foo", "ghcr.io/new/foo"
    )
