"""The container image, built from the Dockerfile offline and run as a user would run it.

Missing tools fail these tests (scripts/run-tests installs them); the build is shared by
every test and worker of a session and cached on its inputs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ship.artifacts import ROOT, TEST_VERSION, git
from tests.ship.image import BuiltImage, Containers
from tests.support.registry import Registry, start_registry

pytestmark = [pytest.mark.image, pytest.mark.registry, pytest.mark.slow]
USER = 10001


def run_image(
    image: BuiltImage,
    *args: str,
    network: str = "none",
    volumes: tuple[str, ...] = (),
    entrypoint: str | None = None,
    ok: bool = True,
) -> subprocess.CompletedProcess[str]:
    command = ["podman", "run", "--rm", "--network", network]
    for volume in volumes:
        command += ["--volume", volume]
    if entrypoint is not None:
        command += ["--entrypoint", entrypoint]
    done = subprocess.run(
        [*command, image.name, *args],
        env=image.store.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if ok:
        assert done.returncode == 0, f"{args} exited {done.returncode}: {done.stderr[-3000:]}"
    return done


def test_runs_the_bot_as_its_entry_point(image: BuiltImage) -> None:
    assert run_image(image, "--version").stdout.strip() == f"updater, version {TEST_VERSION}"
    assert "set-image" in run_image(image).stdout  # no arguments: the help


def test_labels_user_and_entry_point(image: BuiltImage) -> None:
    config = image.store.inspect(image.name)
    labels = config["Labels"]
    assert isinstance(labels, dict)
    assert labels["org.opencontainers.image.version"] == TEST_VERSION
    assert labels["org.opencontainers.image.revision"] == image.revision
    assert labels["org.opencontainers.image.licenses"] == "Apache-2.0"
    assert labels["org.opencontainers.image.source"].startswith("https://")
    assert labels["org.opencontainers.image.title"] == "gitops-updater"
    details = json.loads(image.store.podman("inspect", "--type", "image", image.name))[0]
    assert details["Config"]["User"] == f"{USER}:{USER}"
    assert details["Config"]["Entrypoint"] == ["updater"]


def test_no_installer_no_build_tools_no_caches(image: BuiltImage) -> None:
    script = textwrap.dedent(
        """\
        set -u
        id -u
        python -c 'import updater' && echo bot-importable
        python -m pip --version >/dev/null 2>&1 && echo pip-present
        python -c 'import setuptools' >/dev/null 2>&1 && echo setuptools-present
        ls /opt/gitops-updater/bin | grep -x 'pip.*' && echo pip-script-present
        for tool in gcc cc make; do command -v $tool >/dev/null && echo "$tool-present"; done
        for dir in /root/.cache/pip /home/updater/.cache /src /tmp/pip-*; do
          [ -e "$dir" ] && echo "leftover $dir"
        done
        ls /var/lib/apt/lists 2>/dev/null | grep -v -x -e lock -e partial -e auxfiles
        git --version >/dev/null && echo git-present
        exit 0
        """
    )
    out = run_image(image, "-c", script, entrypoint="sh").stdout.split("\n")
    assert [line for line in out if line] == [str(USER), "bot-importable", "git-present"]


def test_carries_the_serve_extra(image: BuiltImage) -> None:
    """examples/serve runs ``updater serve`` from this image: the web stack is in it."""
    script = "python -c 'import starlette, uvicorn, prometheus_client' && echo serve-stack"
    assert run_image(image, "-c", script, entrypoint="sh").stdout.split() == ["serve-stack"]
    done = run_image(image, "serve", "--status", "--state-dir", "/tmp/none", ok=False)
    assert done.returncode == 2
    assert "no events.sqlite here" in done.stderr


def test_scans_the_mounted_example_repo(image: BuiltImage) -> None:
    volume = f"{ROOT / 'examples' / 'config-repo'}:/repo:ro"
    done = run_image(image, "scan", "--repo", "/repo", "--json", volumes=(volume,))
    rows = json.loads(done.stdout)
    files = {row["file"] for row in rows if row["repository"] == "ghcr.io/acme/api"}
    assert {"apps/api/base/deployment.yaml", "apps/web/values.yaml"} <= files
    host = json.loads(
        subprocess.run(
            [
                str(Path(sys.executable).parent / "updater"),
                "scan",
                "--repo",
                str(ROOT / "examples" / "config-repo"),
                "--json",
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
    )
    assert rows == host


@pytest.fixture
def writable_repo(tmp_path: Path) -> Iterator[Path]:
    """A git copy of the example repo owned by the image's user, as a mounted volume is."""
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "examples" / "config-repo", repo)
    git("init", "-q", "-b", "main", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "seed", cwd=repo)
    for path in [repo, *repo.rglob("*")]:
        os.lchown(path, USER, USER)
    yield repo
    for path in [repo, *repo.rglob("*")]:
        os.lchown(path, 0, 0)


def test_set_image_commits_in_a_mounted_repo(image: BuiltImage, writable_repo: Path) -> None:
    before = git("-c", "safe.directory=*", "rev-parse", "HEAD", cwd=writable_repo).strip()
    done = run_image(
        image,
        "set-image",
        "ghcr.io/acme/api:1.5.0",
        "--repo",
        "/repo",
        "--commit",
        volumes=(f"{writable_repo}:/repo",),
    )
    assert "1.5.0" in done.stdout + done.stderr
    log = git(
        "-c", "safe.directory=*", "log", "--format=%H %s", f"{before}..HEAD", cwd=writable_repo
    )
    assert len(log.splitlines()) == 1
    tree = git("-c", "safe.directory=*", "grep", "-l", "1.5.0", "HEAD", cwd=writable_repo)
    assert "apps/api" in tree
    assert git("-c", "safe.directory=*", "status", "--porcelain", cwd=writable_repo) == ""


def test_set_image_commits_in_a_checkout_owned_by_another_user(
    image: BuiltImage, tmp_path: Path
) -> None:
    """As a GitLab runner leaves it: owned by root, world-writable, the job the image's
    user. git's ownership check must not make it "not a git repository"."""
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "examples" / "config-repo", repo)
    git("init", "-q", "-b", "main", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "seed", cwd=repo)
    for path in [repo, *repo.rglob("*")]:
        path.chmod(0o777 if path.is_dir() else 0o666)
    run_image(
        image,
        "set-image",
        "ghcr.io/acme/api:1.5.0",
        "--repo",
        "/repo",
        "--commit",
        volumes=(f"{repo}:/repo",),
    )
    assert git("log", "--format=%s", "-1", cwd=repo).strip() != "seed"
    assert git("status", "--porcelain", cwd=repo) == ""


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    started = start_registry(tmp_path_factory.mktemp("image-registry"))
    yield started
    started.stop()


def test_push_pull_round_trip_then_poll_from_inside(
    image: BuiltImage, registry: Registry, tmp_path: Path
) -> None:
    """The image goes to a real registry and back; then, pulled, it polls that registry
    for its own newer tag."""
    remote = f"{registry.host}/gitops-updater"
    store = image.store
    store.podman("push", "--quiet", "--tls-verify=false", image.name, f"{remote}:{TEST_VERSION}")
    store.podman("push", "--quiet", "--tls-verify=false", image.name, f"{remote}:9.8.6")
    pulled = f"{remote}:{TEST_VERSION}"
    store.podman("pull", "--quiet", "--tls-verify=false", pulled)
    assert store.inspect(pulled)["Id"] == store.inspect(image.name)["Id"]

    repo = tmp_path / "config"
    (repo / "deploy").mkdir(parents=True)
    (repo / "deploy" / "bot.yaml").write_text(
        "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: bot\nspec:\n"
        "  schedule: '*/15 * * * *'\n  jobTemplate:\n    spec:\n      template:\n"
        f"        spec:\n          containers:\n            - name: bot\n"
        f"              image: {remote}:9.8.6\n",
        encoding="utf-8",
    )
    (repo / ".image-updater.yaml").write_text(
        f"images:\n  - name: {remote}\n    policy: semver\n"
        f"registries:\n  - host: {registry.host}\n    insecure: true\n",
        encoding="utf-8",
    )
    try:
        report = poll_from_inside(store, pulled, repo)
    finally:
        # The registry's names for the image go with the registry.
        store.podman("untag", image.name, pulled)

    text = json.dumps(report)
    assert f"{remote}:9.8.6" in text
    assert f'"new_ref": "{remote}:{TEST_VERSION}"' in text


def poll_from_inside(store: Containers, pulled: str, repo: Path) -> object:
    """``poll --json`` (dry run) in the pulled image, on the host's network."""
    done = subprocess.run(
        [
            "podman",
            "run",
            "--rm",
            "--network",
            "host",
            "--volume",
            f"{repo}:/repo:ro",
            pulled,
            "poll",
            "--repo",
            "/repo",
            "--json",
        ],
        env=store.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
