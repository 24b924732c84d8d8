"""plan() takes the paths each change may touch (``Change.paths``): one plan serves
changes restricted to different paths, each file read and edited once for all of them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tests.edit.helpers import make_repo
from updater.edit.planner import plan
from updater.errors import EditError
from updater.reference import Change, parse_change

BOTH = "image: ghcr.io/acme/api:1.0.0\n---\nimage: ghcr.io/acme/web:1.0.0\n"
KUSTOMIZATION = "resources: [app.yaml]\n"


def change(image: str, *paths: str) -> Change:
    return replace(parse_change(image), paths=paths)


def test_each_change_touches_only_its_paths_and_shared_files_are_edited_once(
    tmp_path: Path,
) -> None:
    make_repo(tmp_path, {"prod/app.yaml": BOTH, "dev/app.yaml": BOTH})
    api, web = change("ghcr.io/acme/api:2.0.0", "prod"), change("ghcr.io/acme/web:3.0.0")
    result = plan(tmp_path, [api, web])
    assert [e.path for e in result.edits] == ["dev/app.yaml", "prod/app.yaml"]
    by_path = {e.path: e for e in result.edits}
    assert by_path["prod/app.yaml"].old_text == BOTH  # one edit from the file as it was
    assert by_path["prod/app.yaml"].new_text == BOTH.replace("api:1.0.0", "api:2.0.0").replace(
        "web:1.0.0", "web:3.0.0"
    )
    assert by_path["dev/app.yaml"].new_text == BOTH.replace("web:1.0.0", "web:3.0.0")
    assert result.unmatched == () and result.up_to_date == ()


def test_a_change_without_paths_takes_the_plans(tmp_path: Path) -> None:
    make_repo(tmp_path, {"prod/app.yaml": BOTH, "dev/app.yaml": BOTH})
    api, web = change("ghcr.io/acme/api:2.0.0", "dev"), change("ghcr.io/acme/web:3.0.0")
    result = plan(tmp_path, [api, web], paths=("prod",))
    files = sorted((r.file, r.new_ref) for r in result.records)
    assert files == [
        ("dev/app.yaml", "ghcr.io/acme/api:2.0.0"),
        ("prod/app.yaml", "ghcr.io/acme/web:3.0.0"),
    ]


def test_a_kustomization_named_by_one_change_gains_an_entry_for_that_change_only(
    tmp_path: Path,
) -> None:
    make_repo(tmp_path, {"prod/kustomization.yaml": KUSTOMIZATION, "prod/app.yaml": "a: 1\n"})
    named = change("ghcr.io/acme/api:2.0.0", "prod/kustomization.yaml")
    elsewhere = change("ghcr.io/acme/web:3.0.0", "prod/app.yaml")
    result = plan(tmp_path, [named, elsewhere])
    (edit,) = result.edits
    assert edit.path == "prod/kustomization.yaml"
    assert "ghcr.io/acme/api" in edit.new_text and "web" not in edit.new_text
    assert result.unmatched == (elsewhere,)


def test_two_changes_wanting_different_values_for_one_reference_are_refused(
    tmp_path: Path,
) -> None:
    # Two entries for one image whose paths overlap: the file cannot hold both tags.
    make_repo(tmp_path, {"prod/app.yaml": BOTH})
    first, second = change("ghcr.io/acme/api:2.0.0"), change("ghcr.io/acme/api:3.0.0", "prod")
    with pytest.raises(EditError, match=r"prod/app.yaml:1: conflicting new values"):
        plan(tmp_path, [first, second])
