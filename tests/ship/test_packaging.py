"""The release artifacts: the version comes from the git tag alone, and the wheel built
from a tagged tree installs into a clean venv with complete modules and entry points."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.ship.artifacts import (
    ROOT,
    TEST_VERSION,
    dependency_wheelhouse,
    git,
    project_wheel,
    run,
    tagged_snapshot,
)

pytestmark = pytest.mark.slow


def scm_version(tree: Path) -> str:
    return run([sys.executable, "-m", "setuptools_scm"], cwd=tree).strip()


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean venv with the wheel and its dependencies, from wheels alone."""
    venv = tmp_path_factory.mktemp("clean") / "venv"
    # Without pip of its own, filled by this pip: ensurepip and byte-compiling are most of
    # the time an install takes, and neither is under test.
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "--quiet",
            "--no-index",
            "--no-compile",
            "--disable-pip-version-check",
            "--find-links",
            str(dependency_wheelhouse()),
            str(project_wheel()),
        ]
    )
    return venv


def clean_env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}


def test_wheel_is_named_by_the_tag() -> None:
    wheel = project_wheel()
    assert wheel.name == f"gitops_updater-{TEST_VERSION}-py3-none-any.whl"
    (sdist,) = wheel.parent.glob("gitops_updater-*.tar.gz")
    assert sdist.name == f"gitops_updater-{TEST_VERSION}.tar.gz"


def test_installed_wheel_reports_the_tag(installed: Path) -> None:
    out = run([str(installed / "bin" / "updater"), "--version"], cwd=installed, env=clean_env())
    assert out.strip() == f"updater, version {TEST_VERSION}"
    version = run(
        [
            str(installed / "bin" / "python"),
            "-c",
            "import importlib.metadata, updater; "
            "print(updater.__version__, importlib.metadata.version('gitops-updater'))",
        ],
        cwd=installed,
        env=clean_env(),
    )
    assert version.split() == [TEST_VERSION, TEST_VERSION]


SERVE_EXTRA = {"starlette", "uvicorn", "prometheus_client"}


def test_installed_wheel_imports_every_module(installed: Path) -> None:
    """Every module of the source tree is in the wheel and imports with the declared
    dependencies alone (a missing dependency or a module left out fails here)."""
    source = sorted(
        ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for path in (ROOT / "updater").rglob("*.py")
        if path.name != "_version.py"
    )
    with zipfile.ZipFile(project_wheel()) as wheel:
        shipped = {
            ".".join(Path(name).with_suffix("").parts)
            for name in wheel.namelist()
            if name.endswith(".py")
        }
    assert set(source) - shipped == set()
    assert "updater._version" in shipped
    # Without the serve extra only updater.serve's server modules may fail, and only
    # for want of that extra's packages.
    script = (
        "import importlib, sys\n"
        "for name in sys.argv[1:]:\n"
        "    try:\n"
        "        importlib.import_module(name.removesuffix('.__init__'))\n"
        "    except ModuleNotFoundError as error:\n"
        "        print(name, error.name)\n"
    )
    missing = run(
        [str(installed / "bin" / "python"), "-c", script, *source], cwd=installed, env=clean_env()
    )
    for line in missing.splitlines():
        module, needed = line.split()
        assert module.startswith("updater.serve."), line
        assert needed.partition(".")[0] in SERVE_EXTRA, line
    (installed / ".image-updater.yaml").write_text(
        "images:\n  - name: ghcr.io/acme/api\n    policy: semver\n", encoding="utf-8"
    )
    refused = subprocess.run(
        [
            *(str(installed / "bin" / "updater"), "serve", "--repo", str(installed)),
            *("--config", ".image-updater.yaml", "--listen", "127.0.0.1:0"),
        ],
        cwd=installed,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 2, refused.stderr
    assert "pip install 'gitops-updater[serve]'" in refused.stderr
    assert "Traceback" not in refused.stderr
    helped = run([str(installed / "bin" / "updater"), "--help"], cwd=installed, env=clean_env())
    assert "set-image" in helped


def test_twine_accepts_the_artifacts() -> None:
    dist = project_wheel().parent
    out = run(
        [
            sys.executable,
            "-m",
            "twine",
            "check",
            "--strict",
            *sorted(str(path) for path in dist.iterdir()),
        ]
    )
    assert out.count("PASSED") == 2


def test_sdist_builds_without_git(tmp_path: Path) -> None:
    """The sdist carries its version: unpacked far from any repo it still says the tag."""
    (sdist,) = project_wheel().parent.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp_path, filter="data")
    assert scm_version(tmp_path / f"gitops_updater-{TEST_VERSION}") == TEST_VERSION


def test_commits_after_a_tag_are_a_dev_version(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git("clone", "-q", str(tagged_snapshot()), str(clone), cwd=tmp_path)
    (clone / "CHANGELOG.md").write_text("more\n", encoding="utf-8")
    git("commit", "-q", "-am", "after the release", cwd=clone)
    sha = git("rev-parse", "--short=7", "HEAD", cwd=clone).strip()
    assert re.fullmatch(rf"9\.8\.8\.dev1\+g{sha}[0-9a-f]*", scm_version(clone))


def test_a_clone_without_tags_still_has_a_version(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git("clone", "-q", "--no-tags", str(tagged_snapshot()), str(clone), cwd=tmp_path)
    assert git("tag", cwd=clone) == ""
    assert re.fullmatch(r"0\.0\.1\.dev1\+g[0-9a-f]{7,}", scm_version(clone))


def test_git_archive_of_a_tag_knows_its_version(tmp_path: Path) -> None:
    """GitHub's source tarballs are `git archive`: .git_archival.txt carries the tag."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", f"v{TEST_VERSION}"],
        cwd=tagged_snapshot(),
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    (tmp_path / "src.tar").write_bytes(archive)
    with tarfile.open(tmp_path / "src.tar") as tar:
        tar.extractall(tmp_path / "src", filter="data")
    assert scm_version(tmp_path / "src") == TEST_VERSION


def test_a_tree_without_any_version_says_so(tmp_path: Path) -> None:
    """Run from a bare source tree (PYTHONPATH, nothing installed): no release claimed."""
    tree = tmp_path / "src" / "updater"
    tree.parent.mkdir()
    run(["cp", "-r", str(ROOT / "updater"), str(tree)])
    (tree / "_version.py").unlink(missing_ok=True)
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    out = run(
        [str(venv / "bin" / "python"), "-c", "import updater; print(updater.__version__)"],
        cwd=tmp_path,
        env={**clean_env(), "PYTHONPATH": str(tree.parent)},
    )
    assert out.strip() == "0.0.0+unknown"
