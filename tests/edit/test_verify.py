"""The re-parse safety net: whatever the splicing layer produces, a file whose new text
reads back differently from the plan, or changes more than the image values, is refused
(exit 3) and nothing is written. The splice layer is made to misbehave on purpose."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.edit.helpers import make_repo
from updater.cli import cli
from updater.edit import document, kustomize, layout, planner

VALUES = "image:\n  repository: ghcr.io/acme/api\n  tag: 1.4.2  # the app\nreplicas: 3\n"
KUSTOMIZATION = "resources:\n- deployment.yaml\n"


def set_image(root: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli, ["set-image", "--repo", str(root), "--write", *args], catch_exceptions=False
    )
    return result.exit_code, result.output


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path, {"values.yaml": VALUES, "kustomization.yaml": KUSTOMIZATION})


def assert_refused(repo: Path, status: int, output: str, message: str) -> None:
    assert status == 3, output
    assert message in output
    assert (repo / "values.yaml").read_text() == VALUES
    assert (repo / "kustomization.yaml").read_text() == KUSTOMIZATION


def test_a_value_that_reads_back_as_another_type_is_refused(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A renderer that forgets to quote: "1.20" would read back as the number 1.2.
    monkeypatch.setattr(planner, "render_scalar", lambda node, value: value)
    status, output = set_image(repo, "ghcr.io/acme/api:1.20")
    assert_refused(repo, status, output, "values.yaml:3: new value reads back as '1.20'")


def test_a_splice_that_changes_another_value_is_refused(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = document.apply_splices

    def sloppy(text: str, splices: list[document.Splice]) -> str:
        return real(text, splices).replace("replicas: 3", "replicas: 4")

    monkeypatch.setattr(planner, "apply_splices", sloppy)
    status, output = set_image(repo, "ghcr.io/acme/api:1.5.0")
    assert_refused(repo, status, output, "would change more than the image values")


def test_a_splice_that_lands_in_the_wrong_place_is_refused(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def shifted(text: str, splices: list[document.Splice]) -> str:
        moved = [document.Splice(s.start + 2, s.end + 2, s.text) for s in splices]
        return document.apply_splices(text, moved)

    monkeypatch.setattr(planner, "apply_splices", shifted)
    status, output = set_image(repo, "ghcr.io/acme/api:1.5.0")
    assert status == 3, output
    assert (repo / "values.yaml").read_text() == VALUES


def test_a_splice_that_breaks_the_yaml_is_refused(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = document.apply_splices
    monkeypatch.setattr(planner, "apply_splices", lambda t, s: real(t, s) + "  bad: [\n")
    status, output = set_image(repo, "ghcr.io/acme/api:1.5.0")
    assert_refused(repo, status, output, "the edit would break the file, nothing written")


def test_inserted_entries_that_read_back_differently_are_refused(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = kustomize.new_entries

    def wrong(doc: document.Document, changes: object) -> kustomize.NewEntries:
        added = real(doc, changes)  # type: ignore[arg-type]
        return kustomize.NewEntries(
            added.start, added.end, added.text.replace("newTag: 1.5.0", "newTag: 1.5.1"),
            added.entries, added.column, added.adds_key,
        )  # fmt: skip

    monkeypatch.setattr(kustomize, "new_entries", wrong)
    status, output = set_image(repo, "--path", "kustomization.yaml", "ghcr.io/acme/api:1.5.0")
    assert_refused(repo, status, output, "would change more than the image values")


def test_a_removal_that_takes_another_key_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = "images:\n- name: app\n  newTag: v1\n  newName: ghcr.io/x/app\n"
    make_repo(tmp_path, {"kustomization.yaml": before})
    real = layout.pair_span

    def greedy(doc: document.Document, mapping: object, value: object) -> tuple[int, int]:
        start, _end = real(doc, mapping, value)  # type: ignore[arg-type]
        return start, len(doc.text)  # takes newName with it

    monkeypatch.setattr(layout, "pair_span", greedy)
    status, output = set_image(tmp_path, "app@sha256:" + "b" * 64)
    assert status == 3, output
    assert (tmp_path / "kustomization.yaml").read_text() == before
