"""Before/after for every file kind (the README examples are these)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.edit.helpers import edited, make_repo, plan_for
from updater.errors import EditError

DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64


def test_kustomization_images(tmp_path: Path) -> None:
    before = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [../../base]
images:
  # the API
  - name: ghcr.io/acme/api
    newTag: "1.4.2"   # bumped by CI
  - name: ghcr.io/acme/api-worker
    newTag: 1.4.2
"""
    after = edited(tmp_path, before, "ghcr.io/acme/api:1.5.0", name="kustomization.yaml")
    assert after == before.replace('newTag: "1.4.2"', 'newTag: "1.5.0"')


def test_kustomization_matched_by_new_name_and_quoting_kept(tmp_path: Path) -> None:
    before = "images:\n- name: app\n  newName: ghcr.io/acme/app\n  newTag: 'v1'\n"
    after = edited(tmp_path, before, "ghcr.io/acme/app:v2", name="kustomization.yml")
    assert after == before.replace("'v1'", "'v2'")


def test_kustomization_numeric_looking_tag_is_quoted(tmp_path: Path) -> None:
    before = "images:\n- name: nginx\n  newTag: latest\n"
    for tag in ("1.20", "1e3", "true", "null", "0x1F", "yes", "010"):
        after = edited(tmp_path, before, f"nginx:{tag}", name="Kustomization")
        assert after == before.replace("latest", f'"{tag}"')


def test_kustomization_adds_new_tag_key_in_the_entry(tmp_path: Path) -> None:
    before = "images:\n  - name: redis\n    newName: public.ecr.aws/docker/library/redis\n"
    after = edited(
        tmp_path, before, "public.ecr.aws/docker/library/redis:7.2", name="kustomization.yaml"
    )
    assert after == before + '    newTag: "7.2"\n'


def test_kustomization_entry_added_when_path_names_it(tmp_path: Path) -> None:
    before = "resources:\n- deployment.yaml\nimages:\n- name: redis\n  newTag: '7'\n"
    after = edited(
        tmp_path,
        before,
        "ghcr.io/acme/api:1.5.0",
        name="kustomization.yaml",
        paths=("kustomization.yaml",),
    )
    assert after == before + "- name: ghcr.io/acme/api\n  newTag: 1.5.0\n"


def test_kustomization_images_key_added_when_missing(tmp_path: Path) -> None:
    before = "resources:\n  - deployment.yaml"
    make_repo(tmp_path, {"overlay/kustomization.yaml": before})
    result = plan_for(tmp_path, "ghcr.io/acme/api:1.5.0", paths=("overlay",))
    assert (
        result.edits[0].new_text
        == before + "\nimages:\n  - name: ghcr.io/acme/api\n    newTag: 1.5.0\n"
    )


def test_kustomization_digest(tmp_path: Path) -> None:
    before = f"images:\n- name: app\n  newTag: v1\n  digest: {DIGEST_A}\n"
    after = edited(tmp_path, before, f"app:v2@{DIGEST_B}", name="kustomization.yaml")
    assert after == before.replace("v1", "v2").replace(DIGEST_A, DIGEST_B)


def test_rename_with_old_equals_new(tmp_path: Path) -> None:
    before = "images:\n- name: nginx\n  newTag: '1'\n"
    after = edited(tmp_path, before, "nginx=ghcr.io/acme/nginx:2", name="kustomization.yaml")
    assert after == "images:\n- name: nginx\n  newTag: '2'\n  newName: ghcr.io/acme/nginx\n"


def test_helm_values_shapes(tmp_path: Path) -> None:
    before = """\
global:
  imageRegistry: ""
image:
  registry: docker.io
  repository: bitnami/nginx
  tag: 1.29.1-debian-12-r0   # the app
  digest: ""
sidecar:
  image: "ghcr.io/acme/api:1.4.2"
legacy:
  image: ghcr.io/acme/api
  imageTag: 1.4.2
images:
  api:
    repository: ghcr.io/acme/api
    tag: '1.4.2'
"""
    after = edited(tmp_path, before, "ghcr.io/acme/api:1.5.0", "bitnami/nginx:1.29.2")
    assert after == (before.replace("1.29.1-debian-12-r0", "1.29.2").replace("1.4.2", "1.5.0"))


def test_helm_stale_digest_is_never_left_behind(tmp_path: Path) -> None:
    before = f"image:\n  repository: acme/app\n  tag: v1\n  digest: {DIGEST_A}\n"
    make_repo(tmp_path, {"values.yaml": before})
    with pytest.raises(EditError, match=r"values.yaml:2: .*pins a digest"):
        plan_for(tmp_path, "acme/app:v2")
    resolved = plan_for(tmp_path, "acme/app:v2", resolve=lambda repo, tag: DIGEST_B)
    assert resolved.edits[0].new_text == before.replace("v1", "v2").replace(DIGEST_A, DIGEST_B)


def test_helm_tag_without_digest_key_gets_tag_at_digest(tmp_path: Path) -> None:
    before = "image:\n  repository: acme/app\n  tag: v1\n"
    after = edited(tmp_path, before, f"acme/app:v2@{DIGEST_B}")
    assert after == before.replace("v1", f"v2@{DIGEST_B}")


def test_helm_anchor_edited_once_alias_left_alone(tmp_path: Path) -> None:
    before = "image: &image\n  repository: acme/app\n  tag: v1\nsub:\n  image: *image\n"
    after = edited(tmp_path, before, "acme/app:v2")
    assert after == before.replace("tag: v1", "tag: v2")


def test_flux_helmrelease_values(tmp_path: Path) -> None:
    before = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: podinfo
spec:
  chart:
    spec:
      chart: podinfo
      version: "6.x"
  values:
    image:
      repository: ghcr.io/stefanprodan/podinfo
      tag: 6.5.0
"""
    after = edited(tmp_path, before, "ghcr.io/stefanprodan/podinfo:6.6.0", name="release.yaml")
    assert after == before.replace("tag: 6.5.0", "tag: 6.6.0")


def test_manifests_every_container_list_and_multi_document(tmp_path: Path) -> None:
    before = """\
# comment
---
apiVersion: batch/v1
kind: CronJob
spec:
  jobTemplate:
    spec:
      template:
        spec:
          initContainers:
            - name: init
              image: ghcr.io/acme/api:1.4.2
          containers:
            - {name: main, image: "ghcr.io/acme/api:1.4.2"}
            - name: other
              image: ghcr.io/acme/api-worker:1.4.2
---
apiVersion: v1
kind: Pod
spec:
  ephemeralContainers:
  - name: debug
    image: 'ghcr.io/acme/api:1.4.2' # keep me
...
"""
    after = edited(tmp_path, before, "ghcr.io/acme/api:1.5.0")
    assert after == before.replace("api:1.4.2", "api:1.5.0")


def test_manifest_short_spelling_kept(tmp_path: Path) -> None:
    before = "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - image: nginx:1.25\n"
    after = edited(tmp_path, before, "docker.io/library/nginx:1.26")
    assert after == before.replace("1.25", "1.26")


def test_manifest_tag_and_digest(tmp_path: Path) -> None:
    before = (
        f"kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - image: busybox:1.36@{DIGEST_A}\n"
    )
    after = edited(tmp_path, before, f"busybox:1.37@{DIGEST_B}")
    assert after == before.replace(f"1.36@{DIGEST_A}", f"1.37@{DIGEST_B}")
    digest_only = edited(tmp_path, before, f"busybox@{DIGEST_B}")
    assert digest_only == before.replace(DIGEST_A, DIGEST_B)


def test_flux_image_repository_is_not_a_deployment(tmp_path: Path) -> None:
    before = (
        "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\n"
        "spec:\n  image: ghcr.io/acme/api\n"
    )
    make_repo(tmp_path, {"repo.yaml": before})
    assert plan_for(tmp_path, "ghcr.io/acme/api:2").unmatched


def test_argocd_application(tmp_path: Path) -> None:
    before = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
spec:
  sources:
    - repoURL: https://example.invalid/charts
      helm:
        parameters:
          - name: image.repository
            value: ghcr.io/acme/api
          - name: image.tag
            value: "1.4.2"
        valuesObject:
          worker:
            image:
              repository: ghcr.io/acme/api
              tag: 1.4.2
    - repoURL: https://example.invalid/config
      kustomize:
        images:
          - ghcr.io/acme/api:1.4.2
          - api=ghcr.io/acme/api:1.4.2
"""
    after = edited(tmp_path, before, "ghcr.io/acme/api:1.5.0", name="app.yaml")
    assert after == before.replace("1.4.2", "1.5.0")


def test_compose(tmp_path: Path) -> None:
    before = """\
services:
  api:
    image: ghcr.io/acme/api:1.4.2
  db:
    image: postgres:${PG_VERSION}
  web:
    build: .
"""
    after = edited(tmp_path, before, "ghcr.io/acme/api:1.5.0", "postgres:17", name="compose.yaml")
    assert after == before.replace("1.4.2", "1.5.0")


def test_setter_markers(tmp_path: Path) -> None:
    before = """\
apiVersion: apps/v1
kind: Deployment
spec:
  template:
    spec:
      containers:
        - name: api
          image: ghcr.io/acme/api:1.4.2 # {"$imagepolicy": "flux-system:api"}
      env:
        - name: VERSION
          value: 1.4.2 # {"$imagepolicy": "flux-system:api:tag"}
"""
    after = edited(tmp_path, before, "ghcr.io/acme/api:1.5.0", name="marked.yaml")
    assert after == before.replace("1.4.2", "1.5.0")
    by_alias = edited(
        tmp_path,
        'version: 1.4.2 # {"$imagepolicy": "flux-system:api:tag"}\n',
        "ghcr.io/acme/api:1.5.0",
        name="other.yaml",
        aliases=("flux-system:api",),
    )
    assert by_alias == 'version: 1.5.0 # {"$imagepolicy": "flux-system:api:tag"}\n'


def test_exact_repository_matching(tmp_path: Path) -> None:
    before = (
        "kind: Pod\napiVersion: v1\nspec:\n  containers:\n  - image: ghcr.io/acme/app-worker:1\n"
    )
    make_repo(tmp_path, {"pod.yaml": before})
    result = plan_for(tmp_path, "ghcr.io/acme/app:2")
    assert not result.edits and result.unmatched


def test_left_alone(tmp_path: Path) -> None:
    before = """\
image: "{{ .Values.image }}"
other:
  image: "*"
# image: ghcr.io/acme/api:1.4.2
script: |
  image: ghcr.io/acme/api:1.4.2
"""
    make_repo(tmp_path, {"values.yaml": before})
    result = plan_for(tmp_path, "ghcr.io/acme/api:1.5.0")
    assert not result.edits
    assert any("template expression" in note for note in result.skipped)


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("bom", ["", "\ufeff"])
def test_crlf_and_bom_kept(tmp_path: Path, newline: str, bom: str) -> None:
    before = bom + newline.join(["images:", "- name: app", "  newTag: v1", "- name: b", ""])
    after = edited(tmp_path, before, "app:v2", name="kustomization.yaml")
    assert after == before.replace("v1", "v2")
    inserted = edited(tmp_path, before, "b:v9", name="kustomization.yaml")
    assert inserted == before + "  newTag: v9" + newline


def test_up_to_date_changes_nothing(tmp_path: Path) -> None:
    make_repo(tmp_path, {"kustomization.yaml": "images:\n- name: app\n  newTag: v1\n"})
    result = plan_for(tmp_path, "app:v1")
    assert not result.edits and result.up_to_date and not result.unmatched


def test_anchored_and_tagged_scalars_keep_anchor_and_tag(tmp_path: Path) -> None:
    before = (
        'image:\n  repository: acme/app\n  tag: &ver "1.0"   # the version\n'
        "sidecar:\n  image:\n    repository: acme/app\n    tag: *ver\n"
    )
    assert edited(tmp_path, before, "acme/app:2.0") == before.replace('"1.0"', '"2.0"')
    pod = (
        "kind: Pod\napiVersion: v1\nspec:\n  containers:\n"
        "  - image: !!str acme/app:1.0\n  - image: &i acme/app:1.0\n  - image: *i\n"
    )
    assert edited(tmp_path, pod, "acme/app:2.0", name="pod.yaml") == pod.replace("1.0", "2.0")


def test_same_image_twice_with_different_tags_is_refused(tmp_path: Path) -> None:
    make_repo(tmp_path, {"kustomization.yaml": "images:\n- name: app\n  newTag: v1\n"})
    with pytest.raises(EditError, match="conflicting new values"):
        plan_for(tmp_path, "app:v2", "app:v3")


def test_helm_chart_templates_are_not_candidates(tmp_path: Path) -> None:
    template = 'image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"\n{{- if x }}\n'
    make_repo(
        tmp_path,
        {
            "chart/Chart.yaml": "name: api\n",
            "chart/templates/deployment.yaml": template + "# ghcr.io/acme/api\n",
            "chart/values.yaml": "image:\n  repository: ghcr.io/acme/api\n  tag: 1.0.0\n",
        },
    )
    result = plan_for(tmp_path, "ghcr.io/acme/api:1.1.0")
    assert [e.path for e in result.edits] == ["chart/values.yaml"]


def test_lone_tag_marker_reports_the_image_name(tmp_path: Path) -> None:
    make_repo(tmp_path, {"env.yaml": 'version: 1.4.2 # {"$imagepolicy": "flux-system:api:tag"}\n'})
    result = plan_for(tmp_path, "ghcr.io/acme/api:1.5.0", aliases=("flux-system:api",))
    (record,) = result.records
    assert (record.old_ref, record.new_ref) == ("ghcr.io/acme/api:1.4.2", "ghcr.io/acme/api:1.5.0")


def test_flow_style_entry_gains_keys(tmp_path: Path) -> None:
    before = 'images:\n  - {name: nginx, newTag: "1"}\n'
    after = edited(tmp_path, before, "nginx=ghcr.io/x/nginx:2", name="kustomization.yaml")
    assert after == 'images:\n  - {name: nginx, newTag: "2", newName: ghcr.io/x/nginx}\n'


def test_part_that_cannot_be_written_is_an_error_not_a_half_update(tmp_path: Path) -> None:
    before = (
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nspec:\n  source:\n    helm:\n"
        "      parameters:\n        - name: image.repository\n          value: ghcr.io/acme/api\n"
    )
    make_repo(tmp_path, {"app.yaml": before})
    with pytest.raises(EditError, match=r"app.yaml:8: .*has no tag to set"):
        plan_for(tmp_path, "ghcr.io/acme/api:1.5.0")
