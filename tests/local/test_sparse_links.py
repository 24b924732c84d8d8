"""--push/--pull-request work in a sparse clone of --path: a symlink under the path
whose target lies elsewhere in the repo (a shared kustomization) is read and committed
through its target, as a full checkout would."""

from __future__ import annotations

import os

from tests.support.remotes import Remote, git, kustomization, run_updater

BASE = "apps/base/kustomization.yaml"
PROD = "apps/overlays/prod"


def _link_prod_to_base(remote: Remote) -> None:
    scratch = remote.scratch
    (scratch / BASE).write_text(kustomization("ghcr.io/acme/api", "1.0.0"))
    link = scratch / PROD / "kustomization.yaml"
    link.unlink()
    os.symlink("../../base/kustomization.yaml", link)
    git("add", "-A", cwd=scratch)
    git("commit", "-q", "-m", "prod shares the base kustomization", cwd=scratch)
    git("push", "-q", "bare", "HEAD:refs/heads/main", cwd=scratch)


def test_push_with_a_path_holding_a_symlinked_kustomization(remote: Remote) -> None:
    _link_prod_to_base(remote)
    for path in (PROD, f"{PROD}/kustomization.yaml"):
        tag = "1.1.0" if path == PROD else "1.2.0"
        result = run_updater(
            "set-image", "--repo", remote.url, "--path", path, "--push", f"ghcr.io/acme/api:{tag}"
        )
        assert result.returncode == 0, result.stderr
        assert f'newTag: "{tag}"' in remote.show(BASE)
        changed = git("show", "--name-only", "--format=", "main", cwd=remote.path).split()
        assert changed == [BASE]
        entry = git("ls-tree", "main", "--", f"{PROD}/kustomization.yaml", cwd=remote.path)
        assert entry.startswith("120000 ")  # still a symlink
