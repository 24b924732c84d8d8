# ruff: noqa: E501 - the table reads best one case a line
"""Local git repos built in the tests: ``git`` in a repo as a fixed identity, a repo
committed from a dict of files, and a file of every kind naming ``ghcr.io/acme/api``."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

# A config identity, so commits work without the git sandbox; GIT_AUTHOR_* still win.
IDENTITY = ("-c", "user.name=Dev", "-c", "user.email=dev@example.com")


def git(
    repo: Path, *args: str, env: Mapping[str, str] | None = None, stdin: str | None = None
) -> str:
    """``git ARGS`` in ``repo``; a failure fails the test with git's own message."""
    done = subprocess.run(
        ["git", *IDENTITY, *args],
        cwd=repo,
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout


def make_repo(root: Path, files: Mapping[str, str], message: str = "initial") -> Path:
    """A git repo on ``main`` holding ``files`` (written byte for byte), committed."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode())
    git(root, "add", "-A")
    git(root, "commit", "-qm", message)
    return root


# kind -> (file, template): ``{v}`` is the api's version; web stays at 1.5.0.
KINDS = {
    "kustomize": (
        "apps/api/overlays/prod/kustomization.yaml",
        'images:\n  # the API\n  - name: ghcr.io/acme/api\n    newTag: "{v}"   # bumped by CI\n'
        "  - name: ghcr.io/acme/web\n    newTag: 1.5.0\n",
    ),
    "helm": (
        "apps/api/values.yaml",
        "image:\n  registry: ghcr.io\n  repository: acme/api\n  tag: {v}   # the app\n"
        "web:\n  image: ghcr.io/acme/web:1.5.0\n",
    ),
    "manifest": (
        "apps/api/deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n"
        "    spec:\n      containers:\n        - name: api\n          image: ghcr.io/acme/api:{v}\n"
        "        - name: web\n          image: ghcr.io/acme/web:1.5.0\n",
    ),
    "argocd": (
        "apps/api/.argocd-source-api.yaml",
        "kustomize:\n  images:\n    - api=ghcr.io/acme/api:{v}\n    - ghcr.io/acme/web:1.5.0\n",
    ),
    "compose": (
        "docker-compose.yaml",
        "services:\n  api:\n    image: ghcr.io/acme/api:{v}\n  web:\n    image: ghcr.io/acme/web:1.5.0\n",
    ),
    "marker": (
        "apps/api/app.yaml",
        'image: ghcr.io/acme/api:{v} # {{"$imagepolicy": "flux-system:api"}}\n'
        'env:\n  VERSION: {v} # {{"$imagepolicy": "flux-system:api:tag"}}\n'
        "other: ghcr.io/acme/web:1.5.0\n",
    ),
}
