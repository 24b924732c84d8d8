"""``updater poll`` end to end: a config repo, the real registry, every policy."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.support.poll import config_repo, deployment, poll, registries, report
from tests.support.registry import Registry
from updater.cli import cli

pytestmark = pytest.mark.registry
ROOT = Path(__file__).resolve().parents[2]


def test_semver_range_filter_ignore_and_report(
    anon: Registry, repo_name: str, tmp_path: Path
) -> None:
    image = f"{anon.host}/{repo_name}"
    anon.push_image(
        repo_name, ["1.0.0", "1.2.0", "v1.5.0", "1.5.1-debug", "1.6.0-rc.1", "2.0.0", "latest"]
    )
    repo = config_repo(
        tmp_path,
        {"deploy/app.yaml": deployment(f"{image}:1.0.0")},
        f"""\
        images:
          - name: {image}
            policy: semver
            range: ">=1.2.0 <2.0.0"
            ignore: ['*-debug']
        {registries(anon, 8)}""",
    )
    result = poll(repo, "--write", "--json")
    assert result.exit_code == 0, result.stderr
    assert (repo / "deploy/app.yaml").read_text() == deployment(f"{image}:v1.5.0")
    (entry,) = report(result)["images"]
    assert entry["chosen"] == "v1.5.0" and entry["current"] == [f"{image}:1.0.0"]
    assert entry["considered"] == ["v1.5.0", "1.2.0"]
    assert entry["rejected"] == {
        "ignored": ["1.5.1-debug"],
        "not a semantic version": ["latest"],
        "outside the range": ["1.0.0", "1.6.0-rc.1", "2.0.0"],
    } or sorted(entry["rejected"]["outside the range"]) == ["1.0.0", "1.6.0-rc.1", "2.0.0"]
    assert "highest version in '>=1.2.0 <2.0.0'" in entry["reason"]
    assert report(result)["plan"]["changes"][0]["new_ref"] == f"{image}:v1.5.0"


def test_numerical_with_filter_and_extract(anon: Registry, repo_name: str, tmp_path: Path) -> None:
    image = f"{anon.host}/{repo_name}"
    anon.push_image(
        repo_name, ["main-99-aaaaaaa", "main-250-bbbbbbb", "main-1000-ccccccc", "pr-5000-ddddddd"]
    )
    repo = config_repo(
        tmp_path,
        {"app.yaml": deployment(f"{image}:main-99-aaaaaaa")},
        f"""\
        images:
          - name: {image}
            policy: numerical
            filter: '^main-(?P<ts>\\d+)-[0-9a-f]{{7}}$'
            extract: '$ts'
        {registries(anon, 8)}""",
    )
    result = poll(repo, "--json")
    assert result.exit_code == 0, result.stderr
    (entry,) = report(result)["images"]
    assert entry["chosen"] == "main-1000-ccccccc"
    assert entry["rejected"] == {"filtered out": ["pr-5000-ddddddd"]}
    assert (repo / "app.yaml").read_text() == deployment(f"{image}:main-99-aaaaaaa")  # dry run


def test_alphabetical_order_means_what_flux_says(
    anon: Registry, repo_name: str, tmp_path: Path
) -> None:
    """asc (the default) selects the highest, desc the lowest (Flux's ImagePolicy)."""
    image = f"{anon.host}/{repo_name}"
    anon.push_image(repo_name, ["beta", "alpha", "gamma"])
    for order, current, expected in (("", "alpha", "gamma"), ("desc", "gamma", "alpha")):
        spelled = f"    order: {order}\n" if order else ""
        repo = config_repo(
            tmp_path / (order or "default"),
            {"app.yaml": deployment(f"{image}:{current}")},
            f"images:\n  - name: {image}\n    policy: alphabetical\n{spelled}{registries(anon)}",
        )
        result = poll(repo, "--write")
        assert result.exit_code == 0, result.stderr
        assert (repo / "app.yaml").read_text() == deployment(f"{image}:{expected}")


def test_newest_build_reads_the_platform_image(
    anon: Registry, repo_name: str, tmp_path: Path
) -> None:
    image = f"{anon.host}/{repo_name}"
    anon.push_image(repo_name, "jan", created="2024-01-01T00:00:00Z", salt="jan")
    anon.push_image(repo_name, "mar", created="2024-03-01T00:00:00Z", salt="mar")
    anon.push_index(
        repo_name,
        "multi",
        {"linux/amd64": "2024-02-01T00:00:00Z", "linux/arm64": "2024-04-01T00:00:00Z"},
    )
    files = {"app.yaml": deployment(f"{image}:jan")}
    for platform, expected in (("linux/amd64", "mar"), ("linux/arm64", "multi")):
        repo = config_repo(
            tmp_path / platform.replace("/", "-"),
            files,
            f"images:\n  - name: {image}\n    policy: newest-build\n    platform: {platform}\n"
            + registries(anon),
        )
        result = poll(repo, "--json")
        assert result.exit_code == 0, result.stderr
        assert report(result)["images"][0]["chosen"] == expected


def test_digest_policy_follows_a_mutable_tag(
    anon: Registry, repo_name: str, tmp_path: Path
) -> None:
    image = f"{anon.host}/{repo_name}"
    old = anon.push_image(repo_name, "latest", salt="one")
    repo = config_repo(
        tmp_path,
        {"app.yaml": deployment(f"{image}:latest@{old}")},
        f"images:\n  - name: {image}\n    policy: digest\n    tag: latest\n{registries(anon)}",
    )
    result = poll(repo, "--write")
    assert result.exit_code == 0 and "nothing to change" in result.stderr
    new = anon.push_image(repo_name, "latest", salt="two")
    result = poll(repo, "--write")
    assert result.exit_code == 0, result.stderr
    assert (repo / "app.yaml").read_text() == deployment(f"{image}:latest@{new}")


def test_pin_digest_and_stale_pins_are_resolved(
    anon: Registry, repo_name: str, tmp_path: Path
) -> None:
    image = f"{anon.host}/{repo_name}"
    first = anon.push_image(repo_name, "1.0.0", salt="1")
    second = anon.push_image(repo_name, "1.1.0", salt="2")
    repo = config_repo(
        tmp_path,
        {
            "pinned.yaml": deployment(f"{image}:1.0.0@{first}"),
            "plain.yaml": deployment(f"{image}:1.0.0"),
        },
        f"images:\n  - name: {image}\n    policy: semver\n{registries(anon)}",
    )
    result = poll(repo, "--write")
    assert result.exit_code == 0, result.stderr
    assert (repo / "pinned.yaml").read_text() == deployment(f"{image}:1.1.0@{second}")
    assert (repo / "plain.yaml").read_text() == deployment(f"{image}:1.1.0")
    config = repo / ".image-updater.yaml"
    config.write_text(
        config.read_text().replace("policy: semver", "policy: semver\n    pin-digest: true")
    )
    result = poll(repo, "--write")
    assert (repo / "plain.yaml").read_text() == deployment(f"{image}:1.1.0@{second}")


def test_min_age_skips_young_images(anon: Registry, repo_name: str, tmp_path: Path) -> None:
    image = f"{anon.host}/{repo_name}"
    now = datetime.now(timezone.utc)
    anon.push_image(repo_name, "1.0.0", created=(now - timedelta(days=3)).isoformat(), salt="a")
    anon.push_image(repo_name, "1.1.0", created=(now - timedelta(minutes=5)).isoformat(), salt="b")
    repo = config_repo(
        tmp_path,
        {"app.yaml": deployment(f"{image}:0.9.0")},
        f"images:\n  - name: {image}\n    policy: semver\n    min-age: 2h\n{registries(anon)}",
    )
    result = poll(repo, "--json")
    assert result.exit_code == 0, result.stderr
    (entry,) = report(result)["images"]
    assert entry["chosen"] == "1.0.0" and entry["rejected"] == {"younger than 2h": ["1.1.0"]}


def test_one_failed_lookup_fails_the_run_after_doing_the_rest(
    anon: Registry, repo_name: str, tmp_path: Path
) -> None:
    good = f"{anon.host}/{repo_name}"
    anon.push_image(repo_name, ["1.0.0", "1.1.0"])
    missing = f"{anon.host}/{repo_name}-missing"
    unmatched = f"{anon.host}/{repo_name}-other"
    anon.push_image(f"{repo_name}-other", ["1.0.0", "1.1.0"])
    repo = config_repo(
        tmp_path,
        {"a.yaml": deployment(f"{good}:1.0.0"), "b.yaml": deployment(f"{missing}:1.0.0", "b")},
        f"""\
        images:
          - name: {good}
            policy: semver
          - name: {missing}
            policy: semver
          - name: {unmatched}
            policy: semver
            range: ">=5"
        {registries(anon, 8)}""",
    )
    result = poll(repo, "--write")
    assert result.exit_code != 0
    assert f"{good}:1.1.0" in (repo / "a.yaml").read_text()
    errors = [line for line in result.stderr.splitlines() if line.startswith("updater: error:")]
    assert len(errors) == 2
    assert f"listing tags of {missing}: repository not found" in errors[0]
    assert "no tag matches policy semver '>=5': 2 tag(s) (2 outside the range)" in errors[1]


def test_image_referenced_nowhere_is_an_error(
    anon: Registry, repo_name: str, tmp_path: Path
) -> None:
    image = f"{anon.host}/{repo_name}"
    anon.push_image(repo_name, "1.0.0")
    repo = config_repo(
        tmp_path,
        {"a.yaml": deployment("nginx:1.25")},
        f"images:\n  - name: {image}\n    policy: semver\n{registries(anon)}",
    )
    result = poll(repo, "--json")
    assert result.exit_code == 4
    assert report(result)["images"][0]["error"] == f"{image}: image referenced nowhere"


def test_paths_restrict_and_groups_share_a_file(
    anon: Registry, repo_name: str, tmp_path: Path
) -> None:
    api, web = f"{anon.host}/{repo_name}-api", f"{anon.host}/{repo_name}-web"
    anon.push_image(f"{repo_name}-api", ["1.0.0", "2.0.0"])
    anon.push_image(f"{repo_name}-web", ["1.0.0", "3.0.0"])
    both = deployment(f"{api}:1.0.0", "api") + "---\n" + deployment(f"{web}:1.0.0", "web")
    repo = config_repo(
        tmp_path,
        {"deploy/prod/app.yaml": both, "deploy/dev/app.yaml": both},
        f"""\
        images:
          - name: {api}
            policy: semver
            paths: [deploy/prod]
          - name: {web}
            policy: semver
        {registries(anon, 8)}""",
    )
    result = poll(repo, "--write", "--json")
    assert result.exit_code == 0, result.stderr
    prod = (repo / "deploy/prod/app.yaml").read_text()
    dev = (repo / "deploy/dev/app.yaml").read_text()
    assert f"{api}:2.0.0" in prod and f"{web}:3.0.0" in prod
    assert f"{api}:1.0.0" in dev and f"{web}:3.0.0" in dev
    changed = sorted((c["file"], c["new_ref"]) for c in report(result)["plan"]["changes"])
    assert changed == [
        ("deploy/dev/app.yaml", f"{web}:3.0.0"),
        ("deploy/prod/app.yaml", f"{api}:2.0.0"),
        ("deploy/prod/app.yaml", f"{web}:3.0.0"),
    ]


def test_alias_updates_marked_fields(anon: Registry, repo_name: str, tmp_path: Path) -> None:
    image = f"{anon.host}/{repo_name}"
    anon.push_image(repo_name, ["1.0.0", "1.4.0"])
    values = 'app:\n  tag: 1.0.0 # {"$imagepolicy": "flux-system:api:tag"}\n'
    repo = config_repo(
        tmp_path,
        {"values.yaml": values},
        f"images:\n  - name: {image}\n    policy: semver\n    alias: flux-system:api\n"
        + registries(anon),
    )
    result = poll(repo, "--write")
    assert result.exit_code == 0, result.stderr
    assert (repo / "values.yaml").read_text() == values.replace("1.0.0", "1.4.0")


def test_config_mode_applies_only_with_deliver(
    anon: Registry, repo_name: str, tmp_path: Path
) -> None:
    image = f"{anon.host}/{repo_name}"
    anon.push_image(repo_name, ["1.0.0", "1.0.1"])
    repo = config_repo(
        tmp_path,
        {"app.yaml": deployment(f"{image}:1.0.0")},
        f"images:\n  - name: {image}\n    policy: semver\n"
        + registries(anon)
        + "delivery:\n  mode: write\n",
    )
    result = poll(repo, "--dry-run")
    assert result.exit_code == 0 and "+          image:" in result.stdout
    assert f"{image}:1.0.0" in (repo / "app.yaml").read_text()
    result = poll(repo)  # no flag: dry-run, whatever the config says
    assert result.exit_code == 0 and "+          image:" in result.stdout
    assert f"{image}:1.0.0" in (repo / "app.yaml").read_text()
    result = poll(repo, "--deliver")
    assert result.exit_code == 0
    assert f"{image}:1.0.1" in (repo / "app.yaml").read_text()


def test_bad_config_is_one_line_naming_file_and_line(tmp_path: Path) -> None:
    repo = config_repo(
        tmp_path,
        {},
        "images:\n  - name: ghcr.io/acme/api\n    policy: semver\n    range: '>=1.2 <<2'\n",
    )
    result = poll(repo)
    assert result.exit_code == 2
    assert result.stderr == (
        f"updater: error: {repo}/.image-updater.yaml:4: images[0].range: bad semver range:"
        " improper constraint: >=1.2 <<2\n"
    )


def test_url_repo_needs_a_config(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["poll", "--repo", "https://example.invalid/acme/config.git"])
    assert result.exit_code == 2 and "give --config FILE" in result.stderr


def test_the_real_entry_point(anon: Registry, repo_name: str, tmp_path: Path) -> None:
    image = f"{anon.host}/{repo_name}"
    anon.push_image(repo_name, ["1.0.0", "1.0.1"])
    repo = config_repo(tmp_path, {"app.yaml": deployment(f"{image}:1.0.0")}, "images: []\n")
    config = tmp_path / "poll.yaml"
    config.write_text(f"images:\n  - name: {image}\n    policy: semver\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "UPDATER_INSECURE_REGISTRIES": anon.host}
    done = subprocess.run(
        [sys.executable, "-m", "updater", "poll", "--config", str(config), "--repo", str(repo)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-2:] == [
        f"-          image: {image}:1.0.0",
        f"+          image: {image}:1.0.1",
    ]
