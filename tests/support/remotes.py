"""Real git remotes on disk and the CLI as a subprocess: what the delivery, local,
serve, history and promote tests build their config repos from."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
TOKEN = "ghp_TestToken0123456789abcdefSECRET"
TOKEN_VARIABLES = ("GITHUB_TOKEN", "GH_TOKEN", "GITLAB_TOKEN", "CI_JOB_TOKEN")


def kustomization(image: str, tag: str) -> str:
    return (
        "apiVersion: kustomize.config.k8s.io/v1beta1\n"
        "kind: Kustomization\n"
        "resources:\n"
        "  - ../../base\n"
        "images:\n"
        f"  - name: {image}\n"
        f'    newTag: "{tag}"\n'
    )


def git(
    *args: str, cwd: Path | None = None, check: bool = True, env: Mapping[str, str] | None = None
) -> str:
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    if check and result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {result.stderr}")
    return result.stdout


class Remote:
    """A bare repository on disk, seeded with a config repo, plus a scratch clone for
    making commits "from another pipeline"."""

    def __init__(self, path: Path, files: Mapping[str, str], branch: str = "main") -> None:
        self.path = path
        self.branch = branch
        seed = path.parent / (path.name + ".seed")
        seed.mkdir(parents=True)
        git("init", "-q", "-b", branch, cwd=seed)
        for name, text in files.items():
            target = seed / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8", newline="")
        git("add", "-A", cwd=seed)
        git("commit", "-q", "-m", "seed", cwd=seed)
        git("clone", "-q", "--bare", str(seed), str(path))
        git("config", "uploadpack.allowFilter", "true", cwd=path)
        git("config", "uploadpack.allowAnySHA1InWant", "true", cwd=path)
        self.scratch = seed
        git("remote", "add", "bare", str(path), cwd=seed)

    @property
    def url(self) -> str:
        return self.path.as_uri()

    def log(self, ref: str | None = None) -> list[str]:
        out = git("log", "--format=%H", ref or self.branch, cwd=self.path)
        return out.split()

    def message(self, ref: str | None = None) -> str:
        return git("log", "-1", "--format=%B", ref or self.branch, cwd=self.path)

    def show(self, path: str, ref: str | None = None) -> str:
        return git("show", f"{ref or self.branch}:{path}", cwd=self.path)

    def branches(self) -> dict[str, str]:
        out = git(
            "for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads", cwd=self.path
        )
        return dict(line.split() for line in out.splitlines())

    def commit(
        self, files: Mapping[str, str], message: str = "another pipeline", branch: str | None = None
    ) -> str:
        """Commit to the remote as someone else would (fetch, commit, push)."""
        branch = branch or self.branch
        start = branch if branch in self.branches() else self.branch
        git("fetch", "-q", "bare", start, cwd=self.scratch)
        git("checkout", "-q", "-B", branch, "FETCH_HEAD", cwd=self.scratch)
        for name, text in files.items():
            target = self.scratch / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8", newline="")
        git("add", "-A", cwd=self.scratch)
        git("commit", "-q", "-m", message, cwd=self.scratch)
        git("push", "-q", "bare", f"HEAD:refs/heads/{branch}", cwd=self.scratch)
        return git("rev-parse", "HEAD", cwd=self.scratch).strip()

    def hook(self, name: str, script: str) -> None:
        hook = self.path / "hooks" / name
        hook.write_text("#!/bin/sh\n" + script)
        hook.chmod(0o755)

    def linear(self, ref: str | None = None) -> bool:
        merges = git("rev-list", "--merges", ref or self.branch, cwd=self.path).split()
        return not merges


SEED = {
    "README.md": "config repo\n",
    "apps/base/deployment.yaml": (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n"
        "spec:\n  template:\n    spec:\n      containers:\n        - name: api\n"
        "          image: ghcr.io/acme/api:1.0.0\n"
    ),
    "apps/overlays/prod/kustomization.yaml": kustomization("ghcr.io/acme/api", "1.0.0"),
    "apps/overlays/staging/kustomization.yaml": kustomization("ghcr.io/acme/web", "2.0.0"),
}


def run_updater(
    *args: str, env: Mapping[str, str] | None = None, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``python -m updater ARGS`` as a subprocess (the real CLI, real exit codes)."""
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "updater", *args],
        cwd=cwd or REPO_ROOT,
        capture_output=True,
        text=True,
        env=environment,
        timeout=timeout,
    )
