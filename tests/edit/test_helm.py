"""Helm values shapes and placeholders, each as a before/after pair: null tags, ``sha``
keys, merge keys, cert-manager's name blocks, global registries, image-named keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.edit.helpers import edited, make_repo, plan_for
from tests.edit.test_cli import updater
from updater.edit.walk import scan_repo
from updater.errors import EditError

DIGEST = "sha256:" + "b" * 64
HEX = "b" * 64


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (
            "image:\n  repository: acme/app\n  tag:\n  pullPolicy: IfNotPresent\n",
            "image:\n  repository: acme/app\n  tag: v2\n  pullPolicy: IfNotPresent\n",
        ),
        (
            "image:\n  repository: acme/app\n  tag:   # CI fills this in\n",
            "image:\n  repository: acme/app\n  tag: v2   # CI fills this in\n",
        ),
        ("image:\n  repository: acme/app\n  tag:", "image:\n  repository: acme/app\n  tag: v2"),
        (
            "image:\n  repository: acme/app\n  tag: ~\n",
            "image:\n  repository: acme/app\n  tag: v2\n",
        ),
        (
            "image:\n  repository: acme/app\n  tag: null\n",
            "image:\n  repository: acme/app\n  tag: v2\n",
        ),
        ("image: {repository: acme/app, tag: }\n", "image: {repository: acme/app, tag: v2}\n"),
        ("image: {repository: acme/app, tag: ~}\n", "image: {repository: acme/app, tag: v2}\n"),
        (
            "image: {repository: acme/app, tag: , pullPolicy: Always}\n",
            "image: {repository: acme/app, tag: v2, pullPolicy: Always}\n",
        ),
    ],
)
def test_null_tag_is_set_in_place(tmp_path: Path, before: str, after: str) -> None:
    assert edited(tmp_path, before, "acme/app:v2", name="values.yaml") == after


def test_null_tag_is_quoted_when_the_tag_would_not_read_as_a_string(tmp_path: Path) -> None:
    before = "image:\n  repository: acme/app\n  tag:\n"
    after = edited(tmp_path, before, "acme/app:1.20", name="values.yaml")
    assert after == 'image:\n  repository: acme/app\n  tag: "1.20"\n'


def test_null_tag_scans_as_no_tag_and_null_digest_stays_null(tmp_path: Path) -> None:
    before = "image:\n  repository: acme/app\n  tag: ~\n  digest: ~\n"
    make_repo(tmp_path, {"values.yaml": before})
    [found] = scan_repo(tmp_path).references
    assert (found.image, found.tag, found.digest) == ("acme/app", None, None)
    after = edited(tmp_path, before, "acme/app:v2", name="values.yaml")
    assert after == before.replace("tag: ~", "tag: v2")


@pytest.mark.parametrize(
    ("sha", "written"),
    [('"' + "a" * 64 + '"', f'"{HEX}"'), ('"sha256:' + "a" * 64 + '"', f'"{DIGEST}"')],
)
def test_sha_keeps_its_form(tmp_path: Path, sha: str, written: str) -> None:
    before = f"image:\n  repository: quay.io/acme/app\n  tag: v1\n  sha: {sha}\n"
    after = edited(tmp_path, before, f"quay.io/acme/app:v2@{DIGEST}", name="values.yaml")
    assert after == before.replace("v1", "v2").replace(sha, written)


KSM_HELPER = """\
{{- define "app.image" -}}
{{- if .Values.image.sha }}
{{- printf "%s:%s@%s" .Values.image.repository .Values.image.tag .Values.image.sha }}
{{- end }}
{{- end }}
"""
HEX_HELPER = """\
containers:
  - image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}@sha256:{{ .Values.image.sha }}"
"""


@pytest.mark.parametrize(("template", "written"), [(KSM_HELPER, DIGEST), (HEX_HELPER, HEX)])
def test_empty_sha_takes_the_form_the_chart_prints(
    tmp_path: Path, template: str, written: str
) -> None:
    before = 'image:\n  repository: quay.io/acme/app\n  tag: v1\n  sha: ""\n'
    make_repo(
        tmp_path,
        {
            "chart/Chart.yaml": "apiVersion: v2\nname: app\nversion: 1.0.0\n",
            "chart/templates/_helpers.tpl": template,
            "chart/ci/ci-values.yaml": before,
        },
    )
    for values in ("chart/values.yaml", "chart/ci/ci-values.yaml"):
        make_repo(tmp_path, {values: before})
        result = plan_for(tmp_path, f"quay.io/acme/app:v2@{DIGEST}", paths=(values,))
        [edit] = result.edits
        assert edit.new_text == before.replace("v1", "v2").replace('""', f'"{written}"')


def test_empty_sha_without_the_chart_is_refused_naming_the_key(tmp_path: Path) -> None:
    before = 'image:\n  repository: quay.io/acme/app\n  tag: v1\n  sha: ""\n'
    make_repo(tmp_path, {"values.yaml": before})
    with pytest.raises(EditError, match=r"values.yaml:2: image\.sha is empty .*sha256:HEX"):
        plan_for(tmp_path, f"quay.io/acme/app:v2@{DIGEST}")
    # Without a digest to write the form does not matter.
    assert edited(tmp_path, before, "quay.io/acme/app:v2", name="values.yaml") == before.replace(
        "v1", "v2"
    )


def test_merge_key_override_of_an_inherited_tag_is_a_reference(tmp_path: Path) -> None:
    before = (
        "app: &app\n  repository: acme/app\n  tag: v1\n"
        "sidecar: {<<: *app, tag: v1.0.0}\n"
        "copy:\n  <<: *app\n"
    )
    make_repo(tmp_path, {"values.yaml": before})
    found = sorted((r.yaml_path, r.image) for r in scan_repo(tmp_path).references)
    assert found == [("app", "acme/app:v1"), ("sidecar", "acme/app:v1.0.0")]
    after = edited(tmp_path, before, "acme/app:v2", name="values.yaml")
    assert after == before.replace("tag: v1\n", "tag: v2\n").replace("v1.0.0", "v2")


def test_merged_block_with_its_own_repository_gets_its_own_tag(tmp_path: Path) -> None:
    """Writing the inherited tag would move the anchor's image too: the block gains a
    tag key of its own instead."""
    before = (
        "app: &app\n  repository: acme/app\n  tag: v1\n"
        "worker:\n  <<: *app\n  repository: acme/worker\n"
        "flow: {<<: *app, repository: acme/flow}\n"
    )
    after = edited(tmp_path, before, "acme/worker:v3", "acme/flow:v4", name="values.yaml")
    assert after == (
        "app: &app\n  repository: acme/app\n  tag: v1\n"
        "worker:\n  <<: *app\n  repository: acme/worker\n  tag: v3\n"
        "flow: {<<: *app, repository: acme/flow, tag: v4}\n"
    )


CERT_MANAGER = """\
imageRegistry: quay.io
imageNamespace: jetstack
image:
  # registry: ""
  name: cert-manager-controller
  repository: ""
  # tag: vX.Y.Z
  pullPolicy: IfNotPresent
webhook:
  image:
    name: cert-manager-webhook
    tag: v1.16.0
imagePullSecrets:
  - name: regcred
"""


def test_cert_manager_name_blocks(tmp_path: Path) -> None:
    make_repo(tmp_path, {"values.yaml": CERT_MANAGER})
    found = sorted((r.repository, r.tag, r.yaml_path) for r in scan_repo(tmp_path).references)
    assert found == [
        ("quay.io/jetstack/cert-manager-controller", None, "image"),
        ("quay.io/jetstack/cert-manager-webhook", "v1.16.0", "webhook.image"),
    ]
    after = edited(
        tmp_path,
        CERT_MANAGER,
        "quay.io/jetstack/cert-manager-controller:v1.17.0",
        "quay.io/jetstack/cert-manager-webhook:v1.17.0",
        name="values.yaml",
    )
    # The chart deploys its appVersion while `tag` is unset: the tag key is added.
    assert after == CERT_MANAGER.replace(
        "  pullPolicy: IfNotPresent\n", "  pullPolicy: IfNotPresent\n  tag: v1.17.0\n"
    ).replace("v1.16.0", "v1.17.0")


def test_cert_manager_rename_under_the_namespace_and_refusal_outside(tmp_path: Path) -> None:
    after = edited(
        tmp_path,
        CERT_MANAGER,
        "quay.io/jetstack/cert-manager-webhook=quay.io/jetstack/webhook2:v2",
        name="values.yaml",
    )
    assert after == CERT_MANAGER.replace("cert-manager-webhook", "webhook2").replace(
        "v1.16.0", "v2"
    )
    make_repo(tmp_path, {"values.yaml": CERT_MANAGER})
    with pytest.raises(EditError, match=r"puts quay.io/jetstack/ .*cannot be written here"):
        plan_for(tmp_path, "quay.io/jetstack/cert-manager-webhook=ghcr.io/acme/webhook:v2")


GLOBAL = """\
global:
  imageRegistry: ghcr.io
image:
  registry: docker.io
  repository: acme/api
  tag: 1.4.2
"""


def test_global_image_registry_block_is_one_repository(tmp_path: Path) -> None:
    make_repo(tmp_path, {"values.yaml": GLOBAL})
    [found] = scan_repo(tmp_path).references
    assert found.repository == "ghcr.io/acme/api"
    assert not plan_for(tmp_path, "docker.io/acme/api:1.5.0").edits
    assert edited(tmp_path, GLOBAL, "ghcr.io/acme/api:1.5.0", name="values.yaml") == (
        GLOBAL.replace("1.4.2", "1.5.0")
    )


GLOBAL_FLUX = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: api
spec:
  values:
    global:
      imageRegistry: ghcr.io
    image:
      registry: docker.io
      repository: acme/api
      tag: 1.4.2
"""
GLOBAL_ARGO = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: api
spec:
  source:
    chart: api
    helm:
      valuesObject:
        global:
          imageRegistry: ghcr.io
        image:
          repository: acme/api
          tag: 1.4.2
"""


@pytest.mark.parametrize("text", [GLOBAL, GLOBAL_FLUX, GLOBAL_ARGO], ids=["values", "flux", "argo"])
def test_a_global_registry_block_is_the_image_the_chart_pulls_through_the_cli(
    tmp_path: Path, text: str
) -> None:
    """scan names the repository the chart will pull (the global registry replaces the
    block's); set-image of the other spelling of the same path is referenced nowhere
    and changes nothing; only the image the chart pulls is set."""
    make_repo(tmp_path, {"values.yaml": text})
    scan = updater("scan", "--repo", str(tmp_path), "--json")
    assert scan.returncode == 0, scan.stderr
    [row] = json.loads(scan.stdout)
    assert (row["repository"], row["image"]) == ("ghcr.io/acme/api", "ghcr.io/acme/api:1.4.2")
    for wrong in ("docker.io/acme/api:1.5.0", "acme/api:1.5.0"):
        refused = updater("set-image", "--repo", str(tmp_path), "--write", wrong)
        assert refused.returncode == 4, refused.stderr
        assert "image referenced nowhere" in refused.stderr
        assert (tmp_path / "values.yaml").read_text() == text
    done = updater("set-image", "--repo", str(tmp_path), "--write", "ghcr.io/acme/api:1.5.0")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "values.yaml").read_text() == text.replace("1.4.2", "1.5.0")


def test_global_image_registry_empty_leaves_the_block_registry(tmp_path: Path) -> None:
    before = GLOBAL.replace("ghcr.io", '""')
    make_repo(tmp_path, {"values.yaml": before})
    [found] = scan_repo(tmp_path).references
    assert found.repository == "docker.io/acme/api"


ARGO_EVENTS = """\
configs:
  nats:
    versions:
      - version: 2.10.10
        natsImage: nats:2.10.10
        metricsExporterImage: natsio/prometheus-nats-exporter:0.14.0
        configReloaderImage: "natsio/nats-server-config-reloader:0.14.0@sha256:%s"
        startCommand: /nats-server
  plain:
    sidecarImage: busybox
    templatedImage: "{{ .Values.image }}:1"
    workerImage: ghcr.io/acme/worker
    workerImageTag: "1.0"
    agentImage: ghcr.io/acme/agent
    agentTag: v3
""" % ("a" * 64)


def test_keys_named_like_images_with_a_tag_are_references(tmp_path: Path) -> None:
    make_repo(tmp_path, {"values.yaml": ARGO_EVENTS})
    found = {r.yaml_path: (r.repository, r.tag) for r in scan_repo(tmp_path).references}
    base = "configs.nats.versions[0]"
    assert found == {
        f"{base}.natsImage": ("docker.io/library/nats", "2.10.10"),
        f"{base}.metricsExporterImage": ("docker.io/natsio/prometheus-nats-exporter", "0.14.0"),
        f"{base}.configReloaderImage": ("docker.io/natsio/nats-server-config-reloader", "0.14.0"),
        "configs.plain.workerImage": ("ghcr.io/acme/worker", "1.0"),
        "configs.plain.agentImage": ("ghcr.io/acme/agent", "v3"),
    }
    after = edited(
        tmp_path,
        ARGO_EVENTS,
        "nats:2.10.11",
        "ghcr.io/acme/worker:1.1",
        "ghcr.io/acme/agent:v4",
        name="values.yaml",
    )
    assert after == ARGO_EVENTS.replace("nats:2.10.10", "nats:2.10.11").replace(
        '"1.0"', '"1.1"'
    ).replace("v3", "v4")


def test_ignore_comment_takes_a_reference_out(tmp_path: Path) -> None:
    before = (
        "tools:\n  linterImage: ghcr.io/acme/lint:1.0  # updater: ignore\n"
        "image:  # updater: ignore\n  repository: ghcr.io/acme/lint\n  tag: '1.0'\n"
        "app:\n  image: ghcr.io/acme/lint:1.0\n"
    )
    make_repo(tmp_path, {"values.yaml": before})
    result = scan_repo(tmp_path)
    assert [r.yaml_path for r in result.references] == ["app.image"]
    assert [(s.line, s.reason) for s in result.skipped] == [
        (2, "ignored (# updater: ignore)"),
        (4, "ignored (# updater: ignore)"),
    ]
    after = edited(tmp_path, before, "ghcr.io/acme/lint:2.0", name="values.yaml")
    assert after == before.replace(
        "app:\n  image: ghcr.io/acme/lint:1.0", "app:\n  image: ghcr.io/acme/lint:2.0"
    )


SHARED_TAG = """\
version: &v 1.4.2
api:
  image:
    repository: ghcr.io/acme/api
    tag: *v
web:
  image:
    repository: ghcr.io/acme/web
    tag: *v
"""


def test_an_alias_another_image_reads_too_is_refused_not_moved(tmp_path: Path) -> None:
    """Setting api's tag at the anchor would deploy web at api's new version."""
    repo = make_repo(tmp_path / "repo", {"values.yaml": SHARED_TAG})
    result = updater("set-image", "--repo", str(repo), "--write", "ghcr.io/acme/api:1.5.0")
    assert result.returncode == 3
    assert result.stderr == (
        "updater: error: values.yaml:1: api.image.tag is set at the anchor &v, which web.image.tag"
        " (ghcr.io/acme/web:1.4.2, line 8) reads too: setting it would change that image"
        " as well; give one of them a value of its own, or set both; nothing written\n"
    )
    assert (repo / "values.yaml").read_text() == SHARED_TAG
    both = updater(
        "set-image",
        "--repo",
        str(repo),
        "--write",
        "ghcr.io/acme/api:1.5.0",
        "ghcr.io/acme/web:1.5.0",
    )
    assert both.returncode == 0, both.stderr
    assert (repo / "values.yaml").read_text() == SHARED_TAG.replace("1.4.2", "1.5.0")
