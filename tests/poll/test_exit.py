"""``poll``'s exit codes are the table's (docs/exit-codes.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.poll import config_repo, deployment, poll, registries, report
from tests.support.registry import Registry

pytestmark = pytest.mark.registry


def test_a_policy_matching_no_tag_is_exit_4(anon: Registry, repo_name: str, tmp_path: Path) -> None:
    image = f"{anon.host}/{repo_name}"
    anon.push_image(repo_name, ["1.0.0", "2.0.0", "latest"])
    repo = config_repo(
        tmp_path,
        {"app.yaml": deployment(f"{image}:1.0.0")},
        f"images:\n  - name: {image}\n    policy: semver\n    range: '^3'\n{registries(anon)}",
    )
    result = poll(repo, "--write", "--json")
    assert result.exit_code == 4
    assert report(result)["images"][0]["error"] == (
        f"{image}: no tag matches policy semver '^3': 3 tag(s)"
        " (2 outside the range, 1 not a semantic version)"
    )
    assert (repo / "app.yaml").read_text() == deployment(f"{image}:1.0.0")
