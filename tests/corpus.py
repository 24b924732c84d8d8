"""The shared corpus laid out at its original paths (file names matter: kustomization.yaml)."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.shared import SHARED

CORPUS = SHARED / "corpus"


def corpus_files() -> list[tuple[Path, str]]:
    """(file in the corpus, its original repo-relative path prefixed by owner__repo)."""
    return [(source, relative) for source, relative in listed_files() if source.exists()]


def listed_files() -> list[tuple[Path, str]]:
    """Every file SOURCES.md lists, present or not (a test fails on a missing one)."""
    rows: list[tuple[Path, str]] = []
    if not CORPUS.is_dir():
        return rows  # the tests that need it are marked needs("corpus")
    for line in (CORPUS / "SOURCES.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 5 or "/" not in cells[1] or cells[0] in ("category", "---"):
            continue
        category, repo, path = cells[0], cells[1], cells[2]
        flat = f"{repo.replace('/', '__')}__{path.replace('/', '__')}"
        rows.append((CORPUS / category / flat, f"{repo.replace('/', '__')}/{path}"))
    return rows


def lay_out(target: Path) -> list[str]:
    relatives = []
    for source, relative in corpus_files():
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)
        relatives.append(relative)
    return relatives
