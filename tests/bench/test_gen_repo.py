"""bench/gen_repo.py: deterministic output, valid YAML, the promised size, and a git
history (made with git fast-import) that ends at exactly the generated tree."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from ruamel.yaml import YAML

from tests.bench.conftest import BENCH


def tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_default_size_matches_the_issue(gen_repo: ModuleType) -> None:
    apps = gen_repo.make_apps(gen_repo.DEFAULT_APPS)
    files = [text for app in apps for _, text in gen_repo.app_files(app)]
    size = sum(len(text.encode()) for text in files)
    assert len(files) == 8750
    assert 6_500_000 <= size <= 7_500_000
    assert len({app.name for app in apps}) == len(apps)
    assert len({app.repository for app in apps}) == len(apps)


def test_names_prefix_one_another(gen_repo: ModuleType) -> None:
    # The text pre-filter of set-image must meet names that contain other names.
    names = {app.name for app in gen_repo.make_apps(gen_repo.DEFAULT_APPS)}
    assert {"checkout-api", "checkout-api-gateway"} <= names


def test_same_bytes_every_time(gen_repo: ModuleType, tmp_path: Path) -> None:
    first = gen_repo.generate(tmp_path / "a", apps=12)
    gen_repo.generate(tmp_path / "b", apps=12)
    assert tree(tmp_path / "a") == tree(tmp_path / "b")
    assert first.files == 84
    assert len(tree(tmp_path / "a")) == 84 + 1  # and the README


def test_every_file_is_yaml_naming_its_image(gen_repo: ModuleType, tmp_path: Path) -> None:
    gen_repo.generate(tmp_path, apps=30)
    yaml = YAML(typ="safe")
    for app in gen_repo.make_apps(30):
        for path, _ in gen_repo.app_files(app):
            text = (tmp_path / path).read_text()
            assert list(yaml.load_all(text)), path
        for env in gen_repo.ENVIRONMENTS:
            overlay = yaml.load((tmp_path / app.overlay(env)).read_text())
            entry = overlay["images"][0]
            assert entry["name"] == app.repository
            assert entry["newTag"] == app.tags[env]
        deployment = (tmp_path / app.dir / "base/deployment.yaml").read_text()
        assert f"{app.repository}:{app.base_tag}" in deployment


def test_history_ends_at_the_generated_tree(gen_repo: ModuleType, tmp_path: Path) -> None:
    plain = gen_repo.generate(tmp_path / "plain", apps=4)
    one = gen_repo.generate(tmp_path / "one", apps=4, commits=40)
    two = gen_repo.generate(tmp_path / "two", apps=4, commits=40)
    assert plain.head is None
    assert one.head == two.head  # fixed dates and names: reproducible commit ids
    root = tmp_path / "one"
    assert git(root, "rev-list", "--count", "HEAD") == "40"
    assert git(root, "status", "--porcelain", "--untracked-files=all") == ""
    assert git(root, "branch", "--show-current") == "main"
    readme = "README.md"
    plain_tree, history_tree = tree(tmp_path / "plain"), tree(root)
    plain_tree.pop(readme), history_tree.pop(readme)  # it states the commit count
    assert plain_tree == history_tree
    # After the first commit, every commit bumps the tag in one overlay, by one line.
    changed = git(root, "log", "--format=", "--numstat", "HEAD~39..HEAD").splitlines()
    assert len(changed) == 39
    for line in changed:
        added, removed, path = line.split("\t")
        assert (added, removed) == ("1", "1")
        assert path.endswith("/kustomization.yaml") and "/overlays/" in path


def test_history_walks_pre_release_tags_up(gen_repo: ModuleType, tmp_path: Path) -> None:
    gen_repo.generate(tmp_path, apps=1, commits=10)  # 9 bumps over 3 overlays: 3 each
    app = gen_repo.make_app(0)
    log = git(tmp_path, "log", "--reverse", "--format=%s", "--", app.overlay("dev"))
    tags = [line.rsplit(" to ", 1)[1].split(" in ")[0] for line in log.splitlines()[1:]]
    assert tags == [f"{app.tags['dev']}-pre.1", f"{app.tags['dev']}-pre.2", app.tags["dev"]]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BENCH / "gen_repo.py"), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_cli_refuses_to_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "repo"
    assert run_cli(str(target), "--apps", "2").returncode == 0
    again = run_cli(str(target), "--apps", "2")
    assert again.returncode != 0 and "--force" in again.stderr
    assert run_cli(str(target), "--apps", "3", "--force").returncode == 0
    assert len(list(target.rglob("*.yaml"))) == 21


def test_cli_never_deletes_a_foreign_directory(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    result = run_cli(str(tmp_path), "--apps", "1", "--force")
    assert result.returncode != 0 and "not made by gen_repo.py" in result.stderr
    assert (tmp_path / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("bad", [["--apps", "0"], ["--commits", "-1"]])
def test_cli_rejects_bad_counts(tmp_path: Path, bad: list[str]) -> None:
    result = run_cli(str(tmp_path / "r"), *bad)
    assert result.returncode != 0 and result.stderr.strip()
