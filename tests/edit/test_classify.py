"""Which files are config files: what scan passes over, and that it says why."""

from __future__ import annotations

import json
from pathlib import Path

from tests.edit.helpers import make_repo, plan_for
from tests.edit.test_cli import updater
from updater.edit.walk import scan_repo

CHART = "apiVersion: v2\nname: app\nversion: 1.0.0\n"
VALUES = "image:\n  repository: ghcr.io/acme/api\n  tag: 1.4.2\n"
TEMPLATED_CRD = """\
{{- if .Values.crds.create }}
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  annotations:
    {{- toYaml .Values.crds.annotations | nindent 4 }}
spec:
  image: ghcr.io/acme/api:1.4.2
{{- end }}
"""
TEMPLATED_CONFIG = "server:\n  image: ghcr.io/acme/api:1.4.2\n  port: {{ .Values.port }}\n"


def test_go_templated_yaml_outside_templates_is_passed_over(tmp_path: Path) -> None:
    make_repo(
        tmp_path,
        {
            "chart/Chart.yaml": CHART,
            "chart/values.yaml": VALUES,
            "chart/templates/deployment.yaml": "image: {{ .Values.image.repository }}\n",
            "chart/conf/crds/crd.yaml": TEMPLATED_CRD,
            "chart/files/config.yaml": TEMPLATED_CONFIG,
            "loose/templates/x.yaml": TEMPLATED_CRD,
        },
    )
    result = scan_repo(tmp_path)
    assert [(r.file, r.image) for r in result.references] == [
        ("chart/values.yaml", "ghcr.io/acme/api:1.4.2")
    ]
    reasons = {(s.file, s.line): s.reason for s in result.skipped}
    assert reasons == {
        ("chart/templates/", 0): "Helm chart templates (Go templates, not YAML to edit)",
        ("chart/conf/crds/crd.yaml", 1): "Go template, not YAML to edit",
        ("chart/files/config.yaml", 3): "Go template, not YAML to edit",
        ("loose/templates/x.yaml", 1): "Go template, not YAML to edit",
    }
    edit = plan_for(tmp_path, "ghcr.io/acme/api:1.5.0")
    assert [e.path for e in edit.edits] == ["chart/values.yaml"]
    assert "chart/conf/crds/crd.yaml:1: Go template, not YAML to edit" in edit.skipped


def test_malformed_yaml_without_template_actions_is_still_an_error(tmp_path: Path) -> None:
    make_repo(tmp_path, {"values.yaml": VALUES, "bad.yaml": "image: [1\n"})
    result = updater("scan", "--repo", str(tmp_path))
    assert result.returncode == 3, result.stderr
    assert "bad.yaml:2: malformed YAML" in result.stderr


def test_ci_files_are_not_config_files_and_are_listed(tmp_path: Path) -> None:
    job = "build:\n  image: docker:27\n  services: [docker:27-dind]\n"
    make_repo(
        tmp_path,
        {
            ".gitlab-ci.yml": job,
            "examples/gitlab/build.gitlab-ci.yml": job,
            "ci/deploy.gitlab-ci.yaml": job,
            ".gitlab/ci/release.yml": job,
            ".github/workflows/ci.yml": "jobs:\n  a:\n    container: {image: alpine:3.20}\n",
            "node_modules/x/values.yaml": VALUES,
            ".git/config.yaml": VALUES,
            ".pre-commit-config.yaml": "repos: []\n",
            ".image-updater.yaml": "images: []\n",
            "app/values.yaml": VALUES,
        },
    )
    result = scan_repo(tmp_path)
    assert [r.file for r in result.references] == ["app/values.yaml"]
    ci = "CI file, not deployed configuration"
    assert {s.file: s.reason for s in result.skipped} == {
        ".github/": "GitHub settings and CI workflows, not deployed configuration",
        ".gitlab-ci.yml": ci,
        ".gitlab/ci/release.yml": ci,
        ".image-updater.yaml": "the updater's own configuration",
        ".pre-commit-config.yaml": "pre-commit configuration, not deployed configuration",
        "ci/deploy.gitlab-ci.yaml": ci,
        "examples/gitlab/build.gitlab-ci.yml": ci,
        "node_modules/": "npm packages, not deployed configuration",
    }
    assert all(s.line == 0 and s.value == "" for s in result.skipped)
    # Named explicitly, a file is read whatever its name.
    named = scan_repo(tmp_path, ["examples/gitlab/build.gitlab-ci.yml"])
    assert [r.image for r in named.references] == ["docker:27"]


def test_skipped_entries_in_scan_output(tmp_path: Path) -> None:
    make_repo(
        tmp_path,
        {"deploy.gitlab-ci.yml": "a:\n  image: docker:27\n", "values.yaml": VALUES},
    )
    table = updater("scan", "--repo", str(tmp_path), "--skipped")
    assert table.returncode == 0, table.stderr
    assert "deploy.gitlab-ci.yml  skipped  CI file, not deployed configuration" in table.stdout
    plain = updater("scan", "--repo", str(tmp_path))
    assert "deploy.gitlab-ci.yml" not in plain.stdout
    data = json.loads(updater("scan", "--repo", str(tmp_path), "--json", "--skipped").stdout)
    assert {
        "file": "deploy.gitlab-ci.yml",
        "line": 0,
        "skipped": "CI file, not deployed configuration",
        "value": "",
    } in data


def test_argo_values_in_a_block_scalar_are_listed(tmp_path: Path) -> None:
    app = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
spec:
  source:
    helm:
      values: |
        api:
          repository: ghcr.io/acme/api
          tag: 1.4.2
"""
    make_repo(tmp_path, {"app.yaml": app})
    result = scan_repo(tmp_path)
    assert result.references == []
    assert [(s.line, s.reason) for s in result.skipped] == [
        (6, "values in a block scalar (embedded YAML)")
    ]


HELM_RELEASE_TEXT_VALUES = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: api
spec:
  values: |
    image:
      repository: ghcr.io/acme/api
      tag: 1.4.2
"""
API = "ghcr.io/acme/api:1.4.2"
JOB = f"build:\n  image: {API}\n"


def test_scan_skipped_lists_every_file_left_alone_through_the_cli(tmp_path: Path) -> None:
    """CI files, the .github/ directory (also when --path names it), a Flux
    HelmRelease's values given as text, and Go templates in a templates/ without a
    Chart.yaml: each listed with its reason, none of them ever edited."""
    make_repo(
        tmp_path,
        {
            ".github/workflows/ci.yml": "jobs:\n  a:\n    container: {image: " + API + "}\n",
            ".github/dependabot.yml": JOB,
            ".gitlab-ci.yml": JOB,
            "ci/build.gitlab-ci.yml": JOB,
            ".gitlab/ci/release.yml": JOB,
            "flux/release.yaml": HELM_RELEASE_TEXT_VALUES,
            "loose/templates/deployment.yaml": "image: {{ .Values.image }}\n",
            "loose/templates/plain.yaml": VALUES,
        },
    )
    result = updater("scan", "--repo", str(tmp_path), "--skipped", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [(r["file"], r["image"]) for r in rows if "image" in r] == [
        ("loose/templates/plain.yaml", "ghcr.io/acme/api:1.4.2")
    ]
    ci = "CI file, not deployed configuration"
    assert [(r["file"], r["line"], r["skipped"], r["value"]) for r in rows if "skipped" in r] == [
        (".github/", 0, "GitHub settings and CI workflows, not deployed configuration", ""),
        (".gitlab-ci.yml", 0, ci, ""),
        (".gitlab/ci/release.yml", 0, ci, ""),
        ("ci/build.gitlab-ci.yml", 0, ci, ""),
        ("flux/release.yaml", 6, "values in a block scalar (embedded YAML)", ""),
        ("loose/templates/deployment.yaml", 1, "Go template, not YAML to edit", ""),
    ]
    table = updater("scan", "--repo", str(tmp_path), "--skipped").stdout
    lines = [line.split(None, 2) for line in table.splitlines()]
    assert ["flux/release.yaml:6", "skipped", "values in a block scalar (embedded YAML)"] in lines
    named = updater("scan", "--repo", str(tmp_path), "--path", ".github", "--skipped", "--json")
    assert json.loads(named.stdout) == [
        {
            "file": ".github/",
            "line": 0,
            "skipped": "GitHub settings and CI workflows, not deployed configuration",
            "value": "",
        }
    ]
    edit = updater("set-image", "--repo", str(tmp_path), "--write", "ghcr.io/acme/api:1.5.0")
    assert edit.returncode == 0, edit.stderr
    assert (tmp_path / "flux/release.yaml").read_text() == HELM_RELEASE_TEXT_VALUES
    assert (tmp_path / ".gitlab-ci.yml").read_text() == JOB
    assert (tmp_path / ".github/dependabot.yml").read_text() == JOB


def test_the_shipped_ci_examples_are_not_config(tmp_path: Path) -> None:
    """examples/gitlab/*.gitlab-ci.yml and examples/github/*.yml run images, they do not
    deploy them: scan of the examples lists none of their images (docker:27, alpine)."""
    import shutil

    examples = Path(__file__).resolve().parents[2] / "examples"
    copy = tmp_path / "examples"
    shutil.copytree(examples, copy)
    result = updater("scan", "--repo", str(copy), "--skipped", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    found = [r["file"] for r in rows if "image" in r]
    assert found and not [f for f in found if f.startswith(("gitlab/", "github/"))]
    skipped = {r["file"]: r["skipped"] for r in rows if "skipped" in r}
    gitlab = sorted(p.name for p in (copy / "gitlab").glob("*.gitlab-ci.yml"))
    assert gitlab
    for name in gitlab:
        assert skipped[f"gitlab/{name}"] == "CI file, not deployed configuration"
