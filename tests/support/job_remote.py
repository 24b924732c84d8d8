"""A config repo behind a bare remote on disk, as a CI job (a GitHub runner, a GitLab
job, the image) sees it: the files it starts with, and what the job pushed back."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT.parent / "shared" / "schemas"

CONFIG_FILES = {
    "apps/api/overlays/staging/kustomization.yaml": (
        "apiVersion: kustomize.config.k8s.io/v1beta1\n"
        "kind: Kustomization\n"
        "resources:\n"
        "  - ../../base\n"
        "images:\n"
        "  - name: ghcr.io/acme/api\n"
        '    newTag: "1.4.0"  # bumped by CI\n'
    ),
    "apps/api/base/kustomization.yaml": (
        "apiVersion: kustomize.config.k8s.io/v1beta1\n"
        "kind: Kustomization\n"
        "resources:\n"
        "  - deployment.yaml\n"
    ),
    "apps/api/base/deployment.yaml": (
        "apiVersion: apps/v1\n"
        "kind: Deployment\n"
        "metadata:\n"
        "  name: api\n"
        "spec:\n"
        "  template:\n"
        "    spec:\n"
        "      containers:\n"
        "        - name: api\n"
        "          image: ghcr.io/acme/api:1.4.0\n"
    ),
    "apps/worker/values.yaml": (
        "# worker chart values\nimage:\n  repository: ghcr.io/acme/worker\n  tag: 2.0.0\n"
    ),
}


def git(*args: str, cwd: Path) -> str:
    env = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "seed",
        "GIT_AUTHOR_EMAIL": "seed@example.invalid",
        "GIT_COMMITTER_NAME": "seed",
        "GIT_COMMITTER_EMAIL": "seed@example.invalid",
    }
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


@dataclass(frozen=True)
class Remote:
    path: Path

    @property
    def url(self) -> str:
        return self.path.as_uri()

    def head(self, branch: str = "main") -> str:
        return git("rev-parse", f"refs/heads/{branch}", cwd=self.path).strip()

    def show(self, file: str, ref: str = "main") -> str:
        return git("show", f"{ref}:{file}", cwd=self.path)

    def log(self, ref: str = "main") -> str:
        return git("log", "--format=%H%n%an <%ae>%n%B", ref, cwd=self.path)

    def branches(self) -> list[str]:
        return git("for-each-ref", "--format=%(refname:short)", "refs/heads", cwd=self.path).split()


def make_remote(base: Path, files: Mapping[str, str]) -> Remote:
    seed = base / "seed"
    for name, text in files.items():
        path = seed / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
    git("init", "-q", "-b", "main", cwd=seed)
    git("add", "-A", cwd=seed)
    git("commit", "-q", "-m", "seed", cwd=seed)
    bare = base / "config.git"
    git("clone", "-q", "--bare", str(seed), str(bare), cwd=base)
    return Remote(bare)
