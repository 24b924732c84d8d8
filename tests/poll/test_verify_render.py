"""``updater poll --verify-render``: the registry's choice is rendered before it is
written; a chart that feeds the tag to more than images is refused."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.support.poll import config_repo, poll, registries
from tests.support.registry import Registry

pytestmark = pytest.mark.registry
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "render"


@pytest.fixture
def renderers(monkeypatch: pytest.MonkeyPatch) -> None:
    here = str(Path(sys.executable).parent)
    if not (shutil.which("helm", path=here) or shutil.which("helm")) or not (
        shutil.which("kubectl", path=here) or shutil.which("kubectl")
    ):
        pytest.skip("helm or kubectl not installed (scripts/run-tests installs both)")
    monkeypatch.setenv("PATH", os.pathsep.join([here, os.environ.get("PATH", "")]))


def test_poll_renders_the_chosen_tag(
    anon: Registry, repo_name: str, tmp_path: Path, renderers: None
) -> None:
    image = f"{anon.host}/{repo_name}"
    anon.push_image(repo_name, ["1.0.0", "1.1.0"])
    chart = (FIXTURES / "charts" / "envtag" / "templates" / "deployment.yaml").read_text()
    repo = config_repo(
        tmp_path,
        {
            "base/kustomization.yaml": "resources: [app.yaml]\n",
            "base/app.yaml": (FIXTURES / "kustomize/base/deployment.yaml")
            .read_text()
            .replace("ghcr.io/acme/api:1.4.2", f"{image}:1.0.0"),
            "chart/Chart.yaml": "apiVersion: v2\nname: api\nversion: 0.1.0\n",
            "chart/values.yaml": f"image:\n  repository: {image}\n  tag: 1.0.0\n",
            "chart/templates/deployment.yaml": chart,
        },
        f"""\
        images:
          - name: {image}
            policy: semver
            paths: [base]
        {registries(anon, 8)}""",
    )
    done = poll(repo, "--write", "--json", "--verify-render")
    assert done.exit_code == 0, done.output
    render = json.loads(done.stdout)["render"]
    assert render["summary"] == ["base: Deployment/api container api: 1.0.0 → 1.1.0"]
    assert "1.1.0" in (repo / "base/app.yaml").read_text()

    # the chart passes the tag to an env var too: refused, nothing written
    config = (repo / ".image-updater.yaml").read_text().replace("paths: [base]", "paths: [chart]")
    (repo / ".image-updater.yaml").write_text(config)
    refused = poll(repo, "--write", "--verify-render")
    assert refused.exit_code == 3
    assert "API_VERSION" in refused.stderr and "render check failed: chart:" in refused.stderr
    assert "tag: 1.0.0" in (repo / "chart/values.yaml").read_text()
