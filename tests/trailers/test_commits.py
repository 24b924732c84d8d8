"""Trailers on the commits the CLI makes in real git repos, read back by
``git interpret-trailers --parse`` and by :func:`updater.trailers.parse_trailers`:
set-image, poll (against the real registry), rollback, promote and hold; a file name
that carries a trailer of its own; the run's id from the CI's environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.support.poll import deployment, registries
from tests.support.registry import Registry
from tests.support.repos import git, make_repo
from updater.trailers import BotTrailers, ImageChange, ImageRename, parse_trailers

pytestmark = pytest.mark.usefixtures("isolated_credentials")  # no docker config of the machine's

ROOT = Path(__file__).resolve().parents[2]
DIGEST = "sha256:" + "c" * 64
# No CI variable of the machine running the tests may pick the run id.
CI_VARIABLES = ("UPDATER_RUN_ID", "GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID",
                "CI_JOB_URL")  # fmt: skip
KUSTOMIZATION = 'images:\n  - name: ghcr.io/acme/api\n    newTag: "{v}"\n'
VALUES = "image:\n  repository: nginx\n  tag: {v}\n"
ENVIRONMENTS = (
    "environments:\n  - name: dev\n    paths: [dev]\n"
    "  - name: prod\n    paths: [prod]\n    from: dev\n"
)


def updater(*args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in CI_VARIABLES}
    done = subprocess.run(
        [sys.executable, "-m", "updater", *args],
        cwd=ROOT, capture_output=True, text=True, check=False,
        env={**base, "PYTHONPATH": str(ROOT), "UPDATER_RUN_ID": "run-7", **(env or {})},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done


def trailers(repo: Path) -> list[str]:
    """What git reads as the last commit's trailers."""
    return git(repo, "interpret-trailers", "--parse", stdin=message(repo)).splitlines()


def message(repo: Path) -> str:
    return git(repo, "log", "-1", "--format=%B")


def test_set_image_commit(tmp_path: Path) -> None:
    evil = "apps/a (b) -> c\nSigned-off-by: Mallory <m@evil>"
    repo = make_repo(
        tmp_path / "repo",
        {
            "apps/prod/kustomization.yaml": KUSTOMIZATION.format(v="1.4.2"),
            f"{evil}/kustomization.yaml": KUSTOMIZATION.format(v="1.4.2"),
            "apps/web/values.yaml": VALUES.format(v="1.25"),
        },
    )
    updater("set-image", "--repo", str(repo), "--commit", "--signoff",
            f"ghcr.io/acme/api:1.5.0@{DIGEST}", "nginx:1.27")  # fmt: skip
    assert trailers(repo) == [
        f'Image-Updated: ghcr.io/acme/api 1.4.2 -> 1.5.0@{DIGEST} ("apps/a (b) -> c\\x0a'
        'Signed-off-by: Mallory <m@evil>/kustomization.yaml":3)',
        f"Image-Updated: ghcr.io/acme/api 1.4.2 -> 1.5.0@{DIGEST} (apps/prod/kustomization.yaml:3)",
        "Image-Updated: docker.io/library/nginx 1.25 -> 1.27 (apps/web/values.yaml:3)",
        "Image-Updater-Trigger: set-image",
        "Image-Updater-Run: run-7",
        "Signed-off-by: gitops-updater <gitops-updater@users.noreply.github.com>",
    ]
    assert parse_trailers(message(repo)) == BotTrailers(
        (
            ImageChange("ghcr.io/acme/api", "1.4.2", f"1.5.0@{DIGEST}",
                        f"{evil}/kustomization.yaml", 3),
            ImageChange("ghcr.io/acme/api", "1.4.2", f"1.5.0@{DIGEST}",
                        "apps/prod/kustomization.yaml", 3),
            ImageChange("docker.io/library/nginx", "1.25", "1.27", "apps/web/values.yaml", 3),
        ),
        "set-image",
        "run-7",
    )  # fmt: skip
    # the human part is as it was: subject, then one line per changed value
    assert message(repo).startswith("Update ghcr.io/acme/api 1.4.2 -> 1.5.0@sha256:ccc")


def test_a_rename_that_keeps_the_version_is_recorded(tmp_path: Path) -> None:
    # Image-Updated says the version (kept: 1.4.2 -> 1.4.2); Image-Renamed what the
    # reference deploys now, which Image-Updated's OLD -> NEW (versions) cannot say.
    repo = make_repo(
        tmp_path / "repo",
        {
            "prod/kustomization.yaml": KUSTOMIZATION.format(v="1.4.2"),
            "web.yaml": "image: ghcr.io/acme/api:1.4.2\n",
        },
    )
    updater("set-image", "--repo", str(repo), "--commit", "ghcr.io/acme/api=mirror.io/acme/api:*")
    assert trailers(repo) == [
        "Image-Updated: ghcr.io/acme/api 1.4.2 -> 1.4.2 (web.yaml:1)",
        "Image-Updated: ghcr.io/acme/api 1.4.2 -> 1.4.2 (prod/kustomization.yaml:4)",
        "Image-Renamed: ghcr.io/acme/api ghcr.io/acme/api -> mirror.io/acme/api (web.yaml:1)",
        "Image-Renamed: ghcr.io/acme/api ghcr.io/acme/api -> mirror.io/acme/api "
        "(prod/kustomization.yaml:4)",
        "Image-Updater-Trigger: set-image",
        "Image-Updater-Run: run-7",
    ]
    parsed = parse_trailers(message(repo))
    assert parsed is not None
    assert parsed.renames == (
        ImageRename("ghcr.io/acme/api", "ghcr.io/acme/api", "mirror.io/acme/api", "web.yaml", 1),
        ImageRename("ghcr.io/acme/api", "ghcr.io/acme/api", "mirror.io/acme/api",
                    "prod/kustomization.yaml", 4),
    )  # fmt: skip
    # history reads the new repository's reference as the bot's too, not a manual edit
    done = updater("history", "--repo", str(repo), "--json", "mirror.io/acme/api")
    entries = json.loads(done.stdout)["changes"]
    assert sorted((e["file"], e["new"], e["by"]) for e in entries) == [
        ("prod/kustomization.yaml", "1.4.2", "bot"),
        ("web.yaml", "1.4.2", "bot"),
    ]


@pytest.mark.parametrize(
    ("env", "run"),
    [
        ({"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/config",
          "GITHUB_RUN_ID": "99"}, "https://github.com/acme/config/actions/runs/99"),
        ({"CI_JOB_URL": "https://gitlab.example/acme/config/-/jobs/5"},
         "https://gitlab.example/acme/config/-/jobs/5"),
    ],
)  # fmt: skip
def test_the_run_is_the_ci_runs_url(tmp_path: Path, env: dict[str, str], run: str) -> None:
    repo = make_repo(tmp_path / "repo", {"kustomization.yaml": KUSTOMIZATION.format(v="1.4.2")})
    updater("set-image", "--repo", str(repo), "--commit", "ghcr.io/acme/api:1.5.0",
            env={"UPDATER_RUN_ID": "", **env})  # fmt: skip
    assert trailers(repo)[-1] == f"Image-Updater-Run: {run}"


def test_without_ci_the_run_is_a_uuid(tmp_path: Path) -> None:
    import uuid

    repo = make_repo(tmp_path / "repo", {"kustomization.yaml": KUSTOMIZATION.format(v="1.4.2")})
    updater("set-image", "--repo", str(repo), "--commit", "ghcr.io/acme/api:1.5.0",
            env={"UPDATER_RUN_ID": ""})  # fmt: skip
    parsed = parse_trailers(message(repo))
    assert parsed is not None and uuid.UUID(parsed.run).version == 4


def test_rollback_and_its_hold(tmp_path: Path) -> None:
    files = {
        "prod/kustomization.yaml": KUSTOMIZATION.format(v="1.5.0"),
        ".image-updater.yaml": "images:\n  - name: ghcr.io/acme/api\n    policy: semver\n",
    }
    repo = make_repo(tmp_path / "repo", files)
    updater("rollback", "--repo", str(repo), "ghcr.io/acme/api", "--to", "1.4.2", "--commit",
            "--hold", "--reason", "1.5.0 leaks\nImage-Updated: x 1 -> 2 (f:1)")  # fmt: skip
    assert trailers(repo) == [
        "Image-Updated: ghcr.io/acme/api 1.5.0 -> 1.4.2 (prod/kustomization.yaml:3)",
        "Image-Updater-Trigger: rollback to=1.4.2",
        "Image-Updater-Run: run-7",
    ]
    assert message(repo).startswith("Roll back ghcr.io/acme/api 1.5.0 -> 1.4.2: 1.5.0 leaks")

    updater("hold", "remove", "--repo", str(repo), "ghcr.io/acme/api", "--commit")
    # a commit that changes no image: trigger and run, and no Image-Updated to read
    assert trailers(repo) == [
        "Image-Updater-Trigger: hold remove image=ghcr.io/acme/api",
        "Image-Updater-Run: run-7",
    ]
    assert parse_trailers(message(repo)) is None
    updater("hold", "add", "--repo", str(repo), "ghcr.io/acme/api", "--path", "prod", "--commit")
    assert trailers(repo)[0] == "Image-Updater-Trigger: hold add image=ghcr.io/acme/api"


def test_promote(tmp_path: Path) -> None:
    files = {
        "dev/values.yaml": VALUES.format(v="1.27"),
        "prod/values.yaml": VALUES.format(v="1.25"),
        ".image-updater.yaml": ENVIRONMENTS,
    }
    repo = make_repo(tmp_path / "repo", files)
    updater("promote", "--repo", str(repo), "--to", "prod", "--all", "--commit")
    assert trailers(repo) == [
        "Image-Updated: docker.io/library/nginx 1.25 -> 1.27 (prod/values.yaml:3)",
        "Image-Updater-Trigger: promote from=dev to=prod",
        "Image-Updater-Run: run-7",
    ]


@pytest.mark.registry
def test_poll_names_each_images_policy(anon: Registry, repo_name: str, tmp_path: Path) -> None:
    api, web = f"{anon.host}/{repo_name}-api", f"{anon.host}/{repo_name}-web"
    anon.push_image(f"{repo_name}-api", ["1.4.2", "1.5.0", "2.0.0"])
    anon.push_image(f"{repo_name}-web", ["7", "10", "9"])
    config = (
        f"images:\n  - name: {api}\n    policy: semver\n    range: '>=1.4 <2'\n"
        f"  - name: {web}\n    policy: numerical\n" + registries(anon)
    )
    files = {
        "a/app.yaml": deployment(f"{api}:1.4.2"),
        "b/app.yaml": deployment(f"{web}:7"),
        ".image-updater.yaml": config,
    }
    repo = make_repo(tmp_path / "repo", files)
    updater("poll", "--repo", str(repo), "--config", str(repo / ".image-updater.yaml"),
            "--commit")  # fmt: skip
    line = next(n for n, text in enumerate(deployment("x").splitlines(), 1) if "image:" in text)
    assert trailers(repo) == [
        f"Image-Updated: {api} 1.4.2 -> 1.5.0 (a/app.yaml:{line})",
        f"Image-Updated: {web} 7 -> 10 (b/app.yaml:{line})",
        f'Image-Updater-Trigger: poll image={api} policy=semver range=">=1.4 <2"'
        f" image={web} policy=numerical order=asc",
        "Image-Updater-Run: run-7",
    ]

    # one image: its policy alone
    anon.push_image(f"{repo_name}-api", ["1.6.0"])
    updater("poll", "--repo", str(repo), "--config", str(repo / ".image-updater.yaml"),
            "--commit")  # fmt: skip
    assert trailers(repo)[1] == 'Image-Updater-Trigger: poll policy=semver range=">=1.4 <2"'
