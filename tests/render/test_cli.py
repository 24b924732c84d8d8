"""``set-image --verify-render`` end to end: the CLI as a subprocess, real helm and
kubectl, the fixture charts and overlays copied into a scratch repo."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from tests.render.conftest import bin_dir, run_cli, snapshot

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "config-repo"


def test_labels_checksums_and_arguments_that_follow_the_tag_pass(
    fixture_repo: Callable[..., Path], renderers_path: str
) -> None:
    root = fixture_repo("charts/labels", "argo")
    done = run_cli(
        [
            "set-image",
            "--repo",
            str(root),
            "--write",
            "--verify-render",
            "--json",
            "ghcr.io/acme/web:4.1.0",
        ],
        path=renderers_path,
    )
    assert done.returncode == 0, done.stderr
    render = json.loads(done.stdout)["render"]
    assert render["status"] == "verified"
    assert "charts/labels: Deployment/labels-web container web: 4.0.0 → 4.1.0" in render["summary"]
    (plain,) = [r for r in render["roots"] if r["via"] is None]
    assert {d["field"] for d in plain["derived"]} == {
        "metadata.labels.app.kubernetes.io/version",
        "spec.template.metadata.labels.app.kubernetes.io/version",
        "spec.template.metadata.annotations.checksum/config",
        "spec.template.spec.initContainers[0].args[0]",
        "data.worker-image",
    }
    assert "4.1.0" in (root / "charts/labels/values.yaml").read_text()


def test_a_tag_that_feeds_more_than_images_is_refused_and_nothing_written(
    fixture_repo: Callable[..., Path], renderers_path: str
) -> None:
    root = fixture_repo("charts/envtag")
    before = snapshot(root)
    done = run_cli(
        ["set-image", "--repo", str(root), "--write", "--verify-render", "ghcr.io/acme/api:1.5.0"],
        path=renderers_path,
    )
    assert done.returncode == 3
    assert snapshot(root) == before
    # the rendered diff, then the one-line reason
    assert "-          value: 1.4.2\n+          value: 1.5.0\n" in done.stderr
    assert done.stderr.splitlines()[-1] == (
        "updater: error: render check failed: charts/envtag: rendered change that is not an"
        " image update: Deployment/api spec.template.spec.containers[0].env[0].value: changed:"
        " 1.4.2 → 1.5.0 (not an image the change asked for); nothing was written"
    )
    # without the check the same run writes (what the check protects against)
    plain = run_cli(
        ["set-image", "--repo", str(root), "--write", "ghcr.io/acme/api:1.5.0"], path=renderers_path
    )
    assert plain.returncode == 0 and snapshot(root) != before


def test_an_image_left_to_the_charts_default_is_named_in_the_refusal(
    fixture_repo: Callable[..., Path], renderers_path: str
) -> None:
    """traefik's shape: repository and tag empty, the templates default both. The only
    reference found is a key no template reads, so the check refuses, and says which
    values line the deployed image really comes from."""
    root = fixture_repo("charts/defaultimage")
    before = snapshot(root)
    done = run_cli(
        ["set-image", "--repo", str(root), "--write", "--verify-render", "acme/proxy:2.0.0"],
        path=renderers_path,
    )
    assert done.returncode == 3, done.stderr
    assert snapshot(root) == before
    assert done.stderr.splitlines()[-1] == (
        "updater: error: render check failed: acme/proxy:2.0.0: the edit of"
        " charts/defaultimage/values.yaml:7 (example.image) changes no image that"
        " charts/defaultimage renders; charts/defaultimage/values.yaml:3 leaves the image to"
        " the chart's default: set it there; nothing was written"
    )


def test_a_change_in_a_component_renders_the_overlays_that_use_it(
    fixture_repo: Callable[..., Path], renderers_path: str
) -> None:
    root = fixture_repo("kustomize")
    done = run_cli(
        [
            "set-image",
            "--repo",
            str(root),
            "--write",
            "--verify-render",
            "--json",
            "--path",
            "kustomize/components",
            "envoyproxy/envoy:v1.30.0",
        ],
        path=renderers_path,
    )
    assert done.returncode == 0, done.stderr
    render = json.loads(done.stdout)["render"]
    assert render["summary"] == [
        "kustomize/overlays/prod: Deployment/api container envoy: v1.29.2 → v1.30.0"
    ]
    assert [r["root"] for r in render["roots"]] == ["kustomize/overlays/prod"]


def test_a_remote_base_is_not_verified_unless_strict(
    fixture_repo: Callable[..., Path], renderers_path: str
) -> None:
    root = fixture_repo("kustomize")
    args = ["set-image", "--repo", str(root), "--write", "--path", "kustomize/overlays/remote"]
    done = run_cli([*args, "--verify-render", "ghcr.io/acme/api:1.5.0"], path=renderers_path)
    assert done.returncode == 0, done.stderr
    assert (
        "not verified: kustomize/overlays/remote: kustomize/overlays/remote/kustomization.yaml"
        " has a remote resource https://github.com/acme/platform//deploy/base?ref=v1.0.0"
        " (needs the network)"
    ) in done.stderr.splitlines()
    before = snapshot(root)
    strict = run_cli(
        [*args, "--verify-render=strict", "ghcr.io/acme/api:1.6.0"], path=renderers_path
    )
    assert strict.returncode == 3
    assert snapshot(root) == before
    assert "not verified (strict)" in strict.stderr.splitlines()[-1]


def test_unvendored_chart_dependencies_are_not_verified(
    fixture_repo: Callable[..., Path], renderers_path: str
) -> None:
    root = fixture_repo("charts/deps")
    done = run_cli(
        [
            "set-image",
            "--repo",
            str(root),
            "--dry-run",
            "--verify-render",
            "ghcr.io/acme/api:1.5.0",
        ],
        path=renderers_path,
    )
    assert done.returncode == 0, done.stderr
    assert (
        "not verified: charts/deps: charts/deps: chart dependencies not vendored in charts/:"
        " redis (oci://registry-1.docker.io/bitnamicharts) (helm dependency build needs the"
        " network)"
    ) in done.stderr.splitlines()


def test_missing_renderers(fixture_repo: Callable[..., Path], kubectl: str, tmp_path: Path) -> None:
    root = fixture_repo("charts/envtag", "kustomize")
    only_kubectl = bin_dir(tmp_path / "bin", {"kubectl": kubectl})
    args = ["set-image", "--repo", str(root), "--dry-run", "ghcr.io/acme/api:1.5.0"]
    done = run_cli([*args, "--path", "charts", "--verify-render"], path=only_kubectl)
    assert done.returncode == 0, done.stderr
    assert "not verified: charts/envtag: no helm on PATH (name one with --helm-bin)" in done.stderr
    strict = run_cli([*args, "--path", "charts", "--verify-render=strict"], path=only_kubectl)
    assert strict.returncode == 3
    named = run_cli(
        [*args, "--verify-render", "--helm-bin", str(tmp_path / "nope")], path=only_kubectl
    )
    assert named.returncode == 2
    assert f"--helm-bin {tmp_path / 'nope'}: not an executable program" in named.stderr
    # a renderer named by --kustomize-bin is used though PATH has none
    empty = bin_dir(tmp_path / "none", {})
    kustomize = run_cli(
        [*args, "--path", "kustomize/base", "--verify-render", "--kustomize-bin", kubectl],
        path=empty,
    )
    assert kustomize.returncode == 0, kustomize.stderr
    assert "rendered kustomize/base: Deployment/api container api: 1.4.2 → 1.5.0" in (
        kustomize.stderr
    )


def test_flux_helm_release_values_are_rendered_with_the_chart(
    fixture_repo: Callable[..., Path], renderers_path: str
) -> None:
    root = fixture_repo("charts/appversion", "flux")
    done = run_cli(
        [
            "set-image",
            "--repo",
            str(root),
            "--write",
            "--path",
            "flux",
            "--json",
            "--verify-render",
            "acme/proxy:2.0.0",
        ],
        path=renderers_path,
    )
    assert done.returncode == 0, done.stderr
    render = json.loads(done.stdout)["render"]
    assert render["summary"] == [
        "charts/appversion (via HelmRelease proxy in flux/api.yaml): Deployment/proxy-proxy"
        " container proxy: 1.0.0 → 2.0.0"
    ]


def test_the_example_repo(tmp_path: Path, renderers_path: str) -> None:
    root = tmp_path / "config-repo"
    shutil.copytree(EXAMPLE, root)
    done = run_cli(
        [
            "set-image",
            "--repo",
            str(root),
            "--write",
            "--verify-render",
            "--json",
            "ghcr.io/acme/api:1.5.0",
        ],
        path=renderers_path,
    )
    assert done.returncode == 0, done.stderr
    render = json.loads(done.stdout)["render"]
    assert render["status"] == "partly verified"
    assert (
        "apps/api/overlays/prod: Deployment/api container api: 1.4.2 → 1.5.0" in (render["summary"])
    )
    assert render["not_verified"] == [
        "apps/worker/helmrelease.yaml: HelmRelease worker deploys acme-service from"
        " HelmRepository acme-charts, not from this repo"
    ]
    assert sorted(r["root"] for r in render["roots"]) == [
        "apps/api/base",
        "apps/api/base",
        "apps/api/overlays/dev",
        "apps/api/overlays/prod",
        "apps/api/overlays/staging",
    ]
    assert {r["status"] for r in render["roots"]} == {"verified"}
    assert set(render["uncovered"]) == {
        "apps/web/values.yaml",
        "compose/docker-compose.yaml",
        "flux/marked.yaml",
    }
