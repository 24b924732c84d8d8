"""docs/install.md covers every way in, names only files that exist, and every place
that names the bot's image (docs, GitLab template and component, Kubernetes example)
names the same version of it."""

from __future__ import annotations

import re

from tests.ship.artifacts import ROOT

INSTALL = ROOT / "docs" / "install.md"
IMAGE = "ghcr.io/gitops-updater/gitops-updater"
PINNED = [
    ROOT / "docs" / "install.md",
    ROOT / "docs" / "ci.md",
    ROOT / ".gitlab-ci-template.yml",
    ROOT / "templates" / "gitops-updater.yml",
]


def test_covers_every_way_in() -> None:
    text = INSTALL.read_text(encoding="utf-8")
    headings = re.findall(r"^#+ (.+)$", text, re.M)
    for heading in (
        "pip and pipx",
        "The container image",
        "GitHub Action",
        "GitLab CI",
        "Kubernetes CronJob",
        "Releases",
    ):
        assert heading in headings
    for phrase in ("pipx install", "pip install", "docker://", "component:", "kubectl apply -k"):
        assert phrase in text, phrase


def test_names_only_files_that_exist() -> None:
    text = INSTALL.read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:examples|tests|scripts|templates|\.github|docs)/[^`\s]+)`", text))
    named |= {f"docs/{link}" for link in re.findall(r"\]\(([\w-]+\.md)(?:#[\w-]+)?\)", text)}
    assert len(named) >= 5
    for name in sorted(named):
        assert (ROOT / name).exists(), name


def test_every_pinned_image_is_the_same_version() -> None:
    versions = {
        path.name: set(re.findall(rf"{re.escape(IMAGE)}:([0-9][\w.-]*)", path.read_text("utf-8")))
        for path in PINNED
    }
    kustomization = (ROOT / "examples" / "kubernetes" / "kustomization.yaml").read_text("utf-8")
    versions["kustomization.yaml"] = set(re.findall(r"newTag: ([0-9][\w.-]*)", kustomization))
    assert all(len(found) == 1 for found in versions.values()), versions
    assert len(set.union(*versions.values())) == 1, versions
