"""Text from the config repo, end to end: a pushed commit's trailers are the bot's only,
and URL user-info never reaches the output. (The texts themselves: tests/test_report.py.)"""

from __future__ import annotations

from pathlib import Path

from tests.support.remotes import SEED, Remote, git, kustomization, run_updater
from updater.trailers import BotTrailers, ImageChange, parse_trailers


def test_a_forged_trailer_in_a_pushed_commit(tmp_path: Path) -> None:
    """End to end through git: a directory name that carries a trailer, a template from
    the command line that carries one; git reads only the bot's."""
    evil = "apps/x\nSigned-off-by: Mallory <m@evil>"
    files = dict(SEED)
    files[f"{evil}/kustomization.yaml"] = kustomization("ghcr.io/acme/api", "1.0.0")
    remote = Remote(tmp_path / "remotes" / "config.git", files)
    result = run_updater(
        "set-image", "--repo", remote.url, "--push", "--signoff",
        "--message", "{summary}\n\n{files}\nCo-authored-by: Eve <e@evil>",
        "ghcr.io/acme/api:1.1.0", env={"UPDATER_RUN_ID": "run-1"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    parsed = git("log", "-1", "--format=%(trailers:only,unfold)", cwd=remote.path).split("\n")
    parsed = [ln for ln in parsed if ln]
    assert parsed[:5] == [
        "Image-Updated: ghcr.io/acme/api 1.0.0 -> 1.1.0 (apps/base/deployment.yaml:10)",
        "Image-Updated: ghcr.io/acme/api 1.0.0 -> 1.1.0 (apps/overlays/prod/kustomization.yaml:7)",
        'Image-Updated: ghcr.io/acme/api 1.0.0 -> 1.1.0 ("apps/x\\x0aSigned-off-by: Mallory'
        ' <m@evil>/kustomization.yaml":7)',
        "Image-Updater-Trigger: set-image",
        "Image-Updater-Run: run-1",
    ]
    assert parsed[5].startswith("Signed-off-by: gitops-updater")
    assert len(parsed) == 6
    assert parse_trailers(remote.message()) == BotTrailers(
        (
            ImageChange("ghcr.io/acme/api", "1.0.0", "1.1.0", "apps/base/deployment.yaml", 10),
            ImageChange(
                "ghcr.io/acme/api", "1.0.0", "1.1.0", "apps/overlays/prod/kustomization.yaml", 7
            ),
            ImageChange("ghcr.io/acme/api", "1.0.0", "1.1.0", f"{evil}/kustomization.yaml", 7),
        ),
        "set-image",
        "run-1",
    )


def test_url_user_info_never_reaches_the_output(tmp_path: Path) -> None:
    for args in (
        ["scan", "--repo", "https://bot:hunter2-secret@example.invalid/x"],
        ["set-image", "--repo", "https://bot:hunter2-secret@127.0.0.1:9/x.git", "--push",
         "--json", "ghcr.io/acme/api:1.1.0"],
        ["set-image", "--repo", str(tmp_path), "--json",
         "ghcr.io/acme/api=https://u:hunter2-secret@x/y:1.0"],
    ):  # fmt: skip
        result = run_updater(*args, cwd=tmp_path)
        assert result.returncode != 0
        assert "hunter2-secret" not in result.stdout + result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
