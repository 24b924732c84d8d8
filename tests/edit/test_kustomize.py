"""The ``kustomize edit set image`` grammar, followed exactly inside kustomization
``images:`` entries: ``*`` parts, a digest that drops ``newTag``, ``OLD=`` matching an
entry's ``name`` only, and new entries written once, in the file's own style."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from tests.edit.checks import assert_only_values_changed
from tests.edit.helpers import edited, make_repo, plan_for
from updater.cli import cli
from updater.errors import EditError
from updater.reference import InvalidReference, parse_change

DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64


def no_lookup(repository: str, tag: str) -> str:
    raise AssertionError(f"unexpected registry lookup of {repository}:{tag}")


def kustomization(tmp_path: Path, before: str, *images: str) -> str:
    return edited(
        tmp_path, before, *images, name="kustomization.yaml", paths=("kustomization.yaml",)
    )


@pytest.mark.parametrize(
    ("text", "shown", "tag", "digest", "new_name", "keeps"),
    [
        ("app=*:v1", "app=*:v1", "v1", None, None, (False, False, True)),
        ("app=x.io/app:*", "app=x.io/app:*", None, None, "x.io/app", (True, False, False)),
        ("app=*@" + DIGEST_A, "app=*@" + DIGEST_A, None, DIGEST_A, None, (False, False, True)),
        ("app=x.io/app@*", "app=x.io/app@*", None, None, "x.io/app", (False, True, False)),
        ("app=*:*", "app=*:*", None, None, None, (True, False, True)),
        ("app=*:*@" + DIGEST_A, "app=*:*@" + DIGEST_A, None, DIGEST_A, None, (True, False, True)),
        ("app:*@" + DIGEST_A, "app:*@" + DIGEST_A, None, DIGEST_A, None, (True, False, False)),
        ("app:v2@*", "app:v2@*", "v2", None, None, (False, True, False)),
    ],
)  # fmt: skip
def test_keep_parts_parse(
    text: str,
    shown: str,
    tag: str | None,
    digest: str | None,
    new_name: str | None,
    keeps: tuple[bool, bool, bool],
) -> None:
    change = parse_change(text)
    assert (change.tag, change.digest, change.new_name) == (tag, digest, new_name)
    assert (change.keep_tag, change.keep_digest, change.keep_name) == keeps
    assert str(change) == shown


@pytest.mark.parametrize("text", ["*:v1", "app=*:", "app=@*", "app=**:v1", "app=x:v*", "*@*"])
def test_bad_keep_forms(text: str) -> None:
    with pytest.raises(InvalidReference):
        parse_change(text)


def test_two_new_images_write_one_images_key(tmp_path: Path) -> None:
    before = "resources:\n- deployment.yaml\n"
    after = kustomization(tmp_path, before, "ghcr.io/acme/api:1.5.0", f"redis@{DIGEST_A}")
    assert after == before + (
        f"images:\n- name: ghcr.io/acme/api\n  newTag: 1.5.0\n- digest: {DIGEST_A}\n  name: redis\n"
    )


def test_new_images_key_follows_the_files_indented_sequences(tmp_path: Path) -> None:
    before = "resources:\n    - deployment.yaml\n"
    after = kustomization(tmp_path, before, "api:1", "web:2")
    assert after == before + (
        "images:\n    - name: api\n      newTag: '1'\n    - name: web\n      newTag: '2'\n"
        .replace("'", '"')
    )  # fmt: skip


def test_new_entries_follow_the_existing_entries(tmp_path: Path) -> None:
    before = f"images:\n  - name: app\n    newTag: v1\n    digest: {DIGEST_A}\n"
    after = kustomization(tmp_path, before, f"web:v2@{DIGEST_B}", "db:7")
    assert after == before + (
        f'  - name: web\n    newTag: v2\n    digest: {DIGEST_B}\n  - name: db\n    newTag: "7"\n'
    )


def test_empty_images_list_counts_as_no_entries(tmp_path: Path) -> None:
    before = "resources: []\nimages: []  # filled in by CI\nnamePrefix: x-\n"
    after = kustomization(tmp_path, before, "api:v1", "web:v2")
    assert after == (
        "resources: []\nimages:  # filled in by CI\n- name: api\n  newTag: v1\n"
        "- name: web\n  newTag: v2\nnamePrefix: x-\n"
    )


@pytest.mark.parametrize(
    "images", ["images:", "images: ~", "images: null", "images:  # filled in by CI"]
)
def test_a_null_images_key_counts_as_no_entries(tmp_path: Path, images: str) -> None:
    """kustomize reads a null ``images:`` as no entries; it becomes the list, in place."""
    before = f"resources:\n  - d.yaml\n{images}\nnamePrefix: x-\n"
    after = kustomization(tmp_path, before, "api:v1", "web:v2")
    comment = "  # filled in by CI" if "#" in images else ""
    assert after == (
        f"resources:\n  - d.yaml\nimages:{comment}\n  - name: api\n    newTag: v1\n"
        "  - name: web\n    newTag: v2\nnamePrefix: x-\n"
    )
    alone = kustomization(tmp_path / "alone", f"{images}\n", "api:v1")
    assert alone == f"images:{comment}\n- name: api\n  newTag: v1\n"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (
            "images:\n- name: app\n  newTag: v1 # old\n  newName: ghcr.io/x/app\n",
            f"images:\n- name: app\n  newName: ghcr.io/x/app\n  digest: {DIGEST_B}\n",
        ),
        (
            f"images:\n- newTag: v1\n  name: app\n  digest: {DIGEST_A}\n",
            f"images:\n- name: app\n  digest: {DIGEST_B}\n",
        ),
        (
            "images:\n  - {name: app, newTag: v1}\n",
            f"images:\n  - {{name: app, digest: {DIGEST_B}}}\n",
        ),
        (
            "images:\n  - {newTag: v1, name: app}\n",
            f"images:\n  - {{name: app, digest: {DIGEST_B}}}\n",
        ),
    ],
)
def test_name_at_digest_drops_new_tag(tmp_path: Path, before: str, after: str) -> None:
    make_repo(tmp_path, {"kustomization.yaml": before})
    result = plan_for(tmp_path, f"app@{DIGEST_B}", resolve=no_lookup)
    (edit,) = result.edits
    assert edit.new_text == after
    if "{" not in before:  # the line checker reads block mappings
        assert_only_values_changed(edit)
    (removed,) = [r for r in edit.records if r.removed]
    assert (removed.yaml_path, removed.old, removed.new) == ("images[0].newTag", "v1", "")


def test_keep_tag_with_a_new_digest_keeps_new_tag(tmp_path: Path) -> None:
    before = "images:\n- name: app\n  newTag: v1\n"
    after = kustomization(tmp_path, before, f"app=*:*@{DIGEST_A}")
    assert after == before + f"  digest: {DIGEST_A}\n"


def test_a_digest_beside_a_tag_elsewhere_keeps_the_tag(tmp_path: Path) -> None:
    pod = "kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - image: app:v1\n"
    after = edited(tmp_path, pod, f"app@{DIGEST_A}", name="pod.yaml")
    assert after == pod.replace("app:v1", f"app:v1@{DIGEST_A}")


def test_old_equals_matches_the_entry_name_only(tmp_path: Path) -> None:
    before = "images:\n- name: foo\n  newName: app\n  newTag: v1\n"
    make_repo(tmp_path, {"kustomization.yaml": before})
    renamed = plan_for(tmp_path, "app=ghcr.io/x/app:v2")
    assert not renamed.edits and renamed.unmatched
    # The plain form still finds the entry that deploys app through newName.
    plain = edited(tmp_path, before, "app:v2", name="kustomization.yaml")
    assert plain == before.replace("v1", "v2")
    # Named with --path, the kustomization gains an entry for app, as kustomize does.
    added = kustomization(tmp_path, before, "app=ghcr.io/x/app:v2")
    assert added == before + "- name: app\n  newName: ghcr.io/x/app\n  newTag: v2\n"


def test_keep_forms_in_entries_and_manifests(tmp_path: Path) -> None:
    entry = f"images:\n- name: app\n  newName: ghcr.io/x/app\n  newTag: v1\n  digest: {DIGEST_A}\n"
    assert kustomization(tmp_path, entry, f"app=*:v2@{DIGEST_B}") == entry.replace(
        "v1", "v2"
    ).replace(DIGEST_A, DIGEST_B)
    # NAME@* keeps the digest: a rename with no registry lookup.
    make_repo(tmp_path, {"kustomization.yaml": entry})
    result = plan_for(tmp_path, "app=ghcr.io/y/app@*", resolve=no_lookup)
    assert result.edits[0].new_text == entry.replace("ghcr.io/x/app", "ghcr.io/y/app")
    pods = tmp_path / "pods"
    pod = "kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - image: app:v1\n"
    assert edited(pods, pod, "app=*:v2", name="pod.yaml") == pod.replace("app:v1", "app:v2")
    assert edited(pods, pod, "app=ghcr.io/x/app:*", name="pod.yaml") == pod.replace(
        "app:v1", "ghcr.io/x/app:v1"
    )
    # Keeping everything is "already up to date".
    same = plan_for(pods, "app=*:*")
    assert not same.edits and same.up_to_date


def test_dropping_a_tag_that_cannot_be_cut_out_is_refused(tmp_path: Path) -> None:
    before = "images:\n- newTag: v1\n  # the name\n  name: app\n"
    make_repo(tmp_path, {"kustomization.yaml": before})
    with pytest.raises(EditError, match=r"kustomization.yaml:2: cannot remove 'newTag'"):
        plan_for(tmp_path, f"app@{DIGEST_A}")


def test_new_entries_render_with_kustomize(tmp_path: Path) -> None:
    text = kustomization(tmp_path, "resources:\n  - a.yaml\n", "api:1", f"web@{DIGEST_A}")
    images = yaml.safe_load(text)["images"]
    assert images == [{"name": "api", "newTag": "1"}, {"name": "web", "digest": DIGEST_A}]


FLUX_KUSTOMIZATION = f"""\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: api
spec:
  path: ./deploy
  images:
    - name: ghcr.io/acme/api
      newTag: "1.4.2"   # CI
    - name: web
      newName: ghcr.io/acme/web
      digest: {DIGEST_A}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: api
spec:
  values:
    replicas: 2
  postRenderers:
    - kustomize:
        images:
          - name: docker.io/acme/api-sidecar
            newName: ghcr.io/acme/api
            newTag: 1.4.2
"""


def test_flux_kustomization_and_helm_release_post_renderer_images_are_entries(
    tmp_path: Path,
) -> None:
    """Flux applies a Kustomization's ``spec.images`` and a HelmRelease's
    ``postRenderers[].kustomize.images`` as kustomize does its ``images:``."""
    make_repo(tmp_path, {"flux.yaml": FLUX_KUSTOMIZATION})
    result = CliRunner().invoke(
        cli,
        [
            "set-image",
            "--repo",
            str(tmp_path),
            "--write",
            "ghcr.io/acme/api:1.5.0",
            f"ghcr.io/acme/web@{DIGEST_B}",
        ],
    )
    assert result.exit_code == 0, result.output
    after = (tmp_path / "flux.yaml").read_text()
    assert after == FLUX_KUSTOMIZATION.replace("1.4.2", "1.5.0").replace(DIGEST_A, DIGEST_B)
    scan = CliRunner().invoke(cli, ["scan", "--repo", str(tmp_path), "--json"])
    found = [(r["kind"], r["yaml_path"]) for r in json.loads(scan.output)]
    assert found == [
        ("kustomize", "spec.images[0]"),
        ("kustomize", "spec.images[1]"),
        ("kustomize", "spec.postRenderers[0].kustomize.images[0]"),
    ]
