"""Every reference scan reports in the real-world corpus can be set to a new value with
zero collateral bytes, and values that must be left alone are never touched."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.corpus import CORPUS, lay_out, listed_files
from tests.edit.checks import assert_only_values_changed
from tests.shared import needs
from updater.edit.model import Reference
from updater.edit.planner import plan
from updater.edit.walk import scan_repo
from updater.reference import Change

pytestmark = needs("corpus")

NEW_DIGEST = "sha256:" + "ab" * 32


@pytest.fixture(scope="module")
def corpus_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    lay_out(root)
    return root


def change_for(site: Reference) -> Change:
    repository = site.repository
    if repository is None or site.kind == "marker":
        assert site.policy is not None, f"{site.file}:{site.line}: site with no repository"
        return Change(
            repository=repository or "example.invalid/unknown",
            spelled=site.name or "unknown",
            tag="9.9.9-test",
            digest=NEW_DIGEST,
            aliases=(site.policy,),
        )
    return Change(
        repository=repository,
        spelled=site.name,
        tag="9.9.9-test",
        digest=NEW_DIGEST if site.digest else None,
    )


def sites() -> list[tuple[str, int]]:
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        lay_out(Path(directory))
        return [(s.file, s.line) for s in scan_repo(Path(directory)).references]


def test_every_file_sources_lists_is_there() -> None:
    # Only the corpus as a whole may be absent (then this module is skipped).
    assert (CORPUS / "SOURCES.md").is_file()
    missing = [relative for source, relative in listed_files() if not source.is_file()]
    assert missing == []
    assert len(listed_files()) == 69


def test_corpus_is_laid_out_and_scanned(corpus_repo: Path) -> None:
    result = scan_repo(corpus_repo)
    kinds = {s.kind for s in result.references}
    assert kinds == {"kustomize", "helm", "manifest", "argocd", "compose", "marker"}
    # Pinned: coverage that shrinks (or grows) must be looked at, not let through.
    # (Flux's setter test data marks a kustomization entry's newName/newTag/digest: each
    # entry is one reference, listed with its policy, not one per marker plus the entry.)
    assert len(result.references) == 176
    reasons = Counter(s.reason for s in result.skipped)
    assert reasons == {
        "environment placeholder": 26,
        "commented out": 15,
        "helm parameter without a repository": 2,
        "Go template, not YAML to edit": 1,  # flux's debug_helmrelease test data
        "values in a block scalar (embedded YAML)": 1,
    }


@pytest.mark.parametrize(("file", "line"), sites())
def test_every_reference_edits_with_zero_collateral_bytes(
    corpus_repo: Path, file: str, line: int
) -> None:
    site = next(
        s for s in scan_repo(corpus_repo, [file]).references if s.line == line and s.file == file
    )
    change = change_for(site)
    result = plan(corpus_repo, [change], paths=[file])
    assert change not in result.unmatched
    edit = next(e for e in result.edits if e.path == file)
    assert_only_values_changed(edit)
    assert edit.old_text.startswith("\ufeff") == edit.new_text.startswith("\ufeff")
    assert ("\r\n" in edit.old_text) == ("\r\n" in edit.new_text)


def test_wildcard_patterns_are_never_rewritten(corpus_repo: Path) -> None:
    policy = "fluxcd__flux2-multi-tenancy/infrastructure/kyverno-policies/verify-flux-images.yaml"
    change = Change(
        repository="ghcr.io/fluxcd/image-reflector-controller",
        spelled="ghcr.io/fluxcd/image-reflector-controller",
        tag="v9",
    )
    result = plan(corpus_repo, [change], paths=[policy])
    assert not result.edits


def test_env_placeholders_are_never_rewritten(corpus_repo: Path) -> None:
    compose = "temporalio__docker-compose/docker-compose.yml"
    change = Change(repository="docker.io/library/postgres", spelled="postgres", tag="17")
    result = plan(corpus_repo, [change], paths=[compose])
    assert not result.edits


def test_parallel_scan_finds_the_same_in_the_same_order(
    corpus_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from updater.edit import walk

    monkeypatch.setattr(walk, "PARALLEL_MIN_FILES", 10)
    one = scan_repo(corpus_repo)
    two = scan_repo(corpus_repo, workers=2)
    assert two == one
