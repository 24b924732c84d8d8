"""``poll`` never moves a reference to a tag its policy ranks below the current one,
unless told (``allow-downgrade: true``, ``--allow-downgrade``); decided per reference."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.poll import config_repo, deployment, poll, registries, report
from tests.support.registry import Registry

pytestmark = pytest.mark.registry

LEFT_ALONE = "current 5.0.0 is newer than the policy's best v1.10.0; left alone"


def _setup(anon: Registry, repo_name: str, tmp_path: Path, files: dict[str, str], extra: str = ""):  # type: ignore[no-untyped-def]
    image = f"{anon.host}/{repo_name}"
    anon.push_image(repo_name, ["1.0.0", "1.9.0", "v1.10.0", "5.0.0"])
    config = f"images:\n  - name: {image}\n    policy: semver\n    range: '<2'\n{extra}"
    repo = config_repo(
        tmp_path, {k: v.format(image=image) for k, v in files.items()}, config + registries(anon)
    )
    return image, repo


def test_a_newer_current_tag_is_left_alone_and_reported(
    anon: Registry, repo_name: str, tmp_path: Path
) -> None:
    image, repo = _setup(anon, repo_name, tmp_path, {"app.yaml": deployment("{image}:5.0.0")})
    result = poll(repo, "--write", "--json")
    assert result.exit_code == 0, result.stderr
    assert (repo / "app.yaml").read_text() == deployment(f"{image}:5.0.0")
    (entry,) = report(result)["images"]
    assert entry["chosen"] == "v1.10.0" and entry["error"] is None
    assert entry["decisions"] == [
        {
            "file": "app.yaml",
            "line": 10,
            "current": "5.0.0",
            "move": False,
            "decision": "newer",
            "reason": LEFT_ALONE,
        }
    ]
    assert report(result)["plan"]["changes"] == []
    text = poll(repo, "--write")
    assert text.exit_code == 0
    assert f"{image}: app.yaml:10: {LEFT_ALONE}" in text.stderr
    assert "nothing to change" in text.stderr


def test_allow_downgrade_in_the_config_or_on_the_command_line(
    anon: Registry, repo_name: str, tmp_path: Path
) -> None:
    files = {"app.yaml": deployment("{image}:5.0.0")}
    image, repo = _setup(anon, repo_name, tmp_path / "flag", files)
    result = poll(repo, "--write", "--allow-downgrade")
    assert result.exit_code == 0, result.stderr
    assert (repo / "app.yaml").read_text() == deployment(f"{image}:v1.10.0")
    assert "moved back (allow-downgrade)" in result.stderr
    image, repo = _setup(
        anon, repo_name, tmp_path / "config", files, extra="    allow-downgrade: true\n"
    )
    result = poll(repo, "--write", "--json")
    assert result.exit_code == 0, result.stderr
    assert (repo / "app.yaml").read_text() == deployment(f"{image}:v1.10.0")
    assert report(result)["images"][0]["decisions"][0]["decision"] == "downgrade-allowed"


def test_a_current_tag_that_is_not_a_version_takes_the_choice(
    anon: Registry, repo_name: str, tmp_path: Path
) -> None:
    image, repo = _setup(anon, repo_name, tmp_path, {"app.yaml": deployment("{image}:latest")})
    result = poll(repo, "--write")
    assert result.exit_code == 0, result.stderr
    assert (repo / "app.yaml").read_text() == deployment(f"{image}:v1.10.0")
    assert "current tag latest is not a version under semver '<2'" in result.stderr


def test_each_reference_is_judged_by_its_own_tag(
    anon: Registry, repo_name: str, tmp_path: Path
) -> None:
    files = {
        "prod/app.yaml": deployment("{image}:5.0.0"),
        "dev/app.yaml": deployment("{image}:1.0.0"),
        "qa/app.yaml": deployment("{image}:1.9.0"),
    }
    image, repo = _setup(anon, repo_name, tmp_path, files)
    result = poll(repo, "--write", "--json")
    assert result.exit_code == 0, result.stderr
    assert (repo / "prod/app.yaml").read_text() == deployment(f"{image}:5.0.0")
    assert (repo / "dev/app.yaml").read_text() == deployment(f"{image}:v1.10.0")
    assert (repo / "qa/app.yaml").read_text() == deployment(f"{image}:v1.10.0")
    decisions = {d["file"]: d["decision"] for d in report(result)["images"][0]["decisions"]}
    assert decisions == {
        "dev/app.yaml": "upgrade",
        "prod/app.yaml": "newer",
        "qa/app.yaml": "upgrade",
    }
    changed = sorted(c["file"] for c in report(result)["plan"]["changes"])
    assert changed == ["dev/app.yaml", "qa/app.yaml"]


def test_a_file_holding_a_newer_reference_is_left_alone_as_a_whole(
    anon: Registry, repo_name: str, tmp_path: Path
) -> None:
    both = deployment("{image}:5.0.0", "a") + "---\n" + deployment("{image}:1.0.0", "b")
    _, repo = _setup(anon, repo_name, tmp_path, {"both.yaml": both})
    before = (repo / "both.yaml").read_text()
    result = poll(repo, "--write", "--json")
    assert result.exit_code == 0, result.stderr
    assert (repo / "both.yaml").read_text() == before
    decisions = report(result)["images"][0]["decisions"]
    assert [d["decision"] for d in decisions] == ["newer", "same-file"]
    assert "both.yaml holds a reference left alone" in decisions[1]["reason"]


def test_min_age_never_rolls_back_a_fresh_release(
    anon: Registry, repo_name: str, tmp_path: Path
) -> None:
    """CI deployed 1.1.0 minutes ago; the cool-down must not put 1.0.0 back."""
    from datetime import datetime, timedelta, timezone

    image = f"{anon.host}/{repo_name}"
    now = datetime.now(timezone.utc)
    anon.push_image(repo_name, "1.0.0", created=(now - timedelta(days=3)).isoformat(), salt="a")
    anon.push_image(repo_name, "1.1.0", created=(now - timedelta(minutes=5)).isoformat(), salt="b")
    repo = config_repo(
        tmp_path,
        {"app.yaml": deployment(f"{image}:1.1.0")},
        f"images:\n  - name: {image}\n    policy: semver\n    min-age: 2h\n{registries(anon)}",
    )
    result = poll(repo, "--write")
    assert result.exit_code == 0, result.stderr
    assert (repo / "app.yaml").read_text() == deployment(f"{image}:1.1.0")
    assert "current 1.1.0 is newer than the policy's best 1.0.0; left alone" in result.stderr
