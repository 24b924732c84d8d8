"""``history --repo URL`` over a smart-HTTP remote that demands a token: the clone,
the deepening and the one blob fetch all authenticate, and no output holds the token."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.gitserver import GitHttpServer
from tests.support.history import Repo
from tests.support.remotes import TOKEN, run_updater
from tests.support.repos import git

pytestmark = pytest.mark.git_http
API = "ghcr.io/acme/api"
DEV = "apps/api/overlays/dev/kustomization.yaml"


def overlay(tag: str) -> str:
    return f"images:\n  - name: ghcr.io/acme/api\n    newTag: {tag}\n"


def test_history_of_a_token_protected_remote(
    repo: Repo,
    git_http: GitHttpServer,
    tmp_path: Path,
) -> None:
    commits = [repo.edit({DEV: overlay(f"1.{n}.0")}, f"bump {n}") for n in range(4)]
    for n in range(3):
        repo.edit({"README.md": f"{n}\n"}, f"docs {n}")
    bare = git_http.root / "acme" / "config.git"
    bare.parent.mkdir(parents=True)
    git(tmp_path, "clone", "-q", "--bare", str(repo.path), str(bare))
    git(bare, "config", "uploadpack.allowFilter", "true")
    url = f"{git_http.url}/acme/config.git"
    args = ["history", "--repo", url, "--json", "--forge", "github", "--token-env", "GH_X", API]
    result = run_updater(*args, env={"GH_X": TOKEN})
    assert result.returncode == 0, result.stderr
    changes = json.loads(result.stdout)["changes"]
    assert [c["commit"] for c in changes] == commits[::-1]
    assert TOKEN not in result.stdout + result.stderr
    fetches = [r for r in git_http.requests if "upload-pack" in r.path and r.authorized]
    assert len(fetches) >= 3  # the clone, the deepening, the blobs
    assert all(TOKEN not in r.path + r.query for r in git_http.requests)

    wrong = run_updater(*args, env={"GH_X": "ghp_wrong0123456789SECRET"})
    assert wrong.returncode == 5
    assert wrong.stderr.count("\n") == 1 and "SECRET" not in wrong.stderr
