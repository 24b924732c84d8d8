"""``poll`` with Flux markers: ``alias`` writes the policy's result into the fields
marked for it, and ``only-marked: true`` leaves an unmarked reference of the same
repository where it is, as Flux does."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.poll import config_repo, poll, registries
from tests.support.registry import Registry

pytestmark = pytest.mark.registry


@pytest.mark.parametrize("only_marked", [True, False])
def test_poll_only_marked(
    anon: Registry, repo_name: str, tmp_path: Path, only_marked: bool
) -> None:
    image = f"{anon.host}/{repo_name}"
    anon.push_image(repo_name, ["1.0.0", "1.1.0"])
    values = (
        "app:\n"
        f'  repository: {image} # {{"$imagepolicy": "flux-system:app:name"}}\n'
        '  tag: 1.0.0 # {"$imagepolicy": "flux-system:app:tag"}\n'
        f"sidecarImage: {image}:1.0.0\n"
        f'other: {image}:1.0.0 # {{"$imagepolicy": "flux-system:other"}}\n'
    )
    option = "\n            only-marked: true" if only_marked else ""
    repo = config_repo(
        tmp_path,
        {"values.yaml": values},
        f"""\
        images:
          - name: {image}
            policy: semver
            alias: flux-system:app{option}
        {registries(anon, 8)}""",
    )
    done = poll(repo, "--write")
    assert done.exit_code == 0, done.output
    after = (repo / "values.yaml").read_text()
    assert '  tag: 1.1.0 # {"$imagepolicy": "flux-system:app:tag"}\n' in after
    assert f'  repository: {image} # {{"$imagepolicy": "flux-system:app:name"}}\n' in after
    # another policy's field is never touched; an unmarked one only without only-marked
    assert f'other: {image}:1.0.0 # {{"$imagepolicy": "flux-system:other"}}\n' in after
    unmarked = f"sidecarImage: {image}:1.0.0\n" if only_marked else f"sidecarImage: {image}:1.1.0\n"
    assert unmarked in after
