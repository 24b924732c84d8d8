"""verify() on hand-made plans over the fixture charts: the failure modes the edit
engine may produce, caught by rendering (independent of what the engine does today)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from updater.edit.model import FileEdit, Plan, Record
from updater.reference import normalise_name, parse_change, split_reference
from updater.render import VerifyOptions, verify
from updater.render.verify import Verification

HEX = "a84d1f7e0c3b5a29d6e8f1c4b7a0d3e6f9c2b5a8d1e4f7a0c3b6d9e2f5a8c1b4"


def edit(root: Path, file: str, old: str, new: str, old_ref: str, new_ref: str) -> FileEdit:
    text = (root / file).read_text()
    assert old in text
    repository = normalise_name(split_reference(old_ref).name)
    line = text[: text.index(old)].count("\n") + 1
    record = Record(file, line, "image", "helm", repository, old, new, old_ref, new_ref)
    return FileEdit(file, text, text.replace(old, new, 1), (record,))


def run(root: Path, asked: str, *edits: FileEdit, helm: str, **options: str) -> Verification:
    plan = Plan(root=root, changes=(parse_change(asked),), edits=edits)
    return verify(plan, VerifyOptions(helm_bin=helm, **options))


def test_values_the_chart_does_not_read_are_a_failure_not_a_silent_success(
    fixture_repo: Callable[..., Path], helm: str
) -> None:
    # traefik: image values are null and the tag comes from appVersion; an edit of a
    # documentation key leaves the deployed image where it was.
    root = fixture_repo("charts/appversion")
    change = edit(
        root,
        "charts/appversion/values.yaml",
        "acme/proxy:1.0.0",
        "acme/proxy:2.0.0",
        "acme/proxy:1.0.0",
        "acme/proxy:2.0.0",
    )
    result = run(root, "acme/proxy:2.0.0", change, helm=helm)
    assert not result.ok
    assert result.unseen == [
        "acme/proxy:2.0.0: the edit of charts/appversion/values.yaml:7 (image) changes no"
        " image that charts/appversion renders"
    ]


def test_setting_the_null_tag_deploys_it_with_its_version_label(
    fixture_repo: Callable[..., Path], helm: str
) -> None:
    root = fixture_repo("charts/appversion")
    change = edit(
        root,
        "charts/appversion/values.yaml",
        "  tag:\n",
        "  tag: 2.0.0\n",
        "acme/proxy",
        "acme/proxy:2.0.0",
    )
    result = run(root, "acme/proxy:2.0.0", change, helm=helm)
    assert result.ok, result.failures
    assert result.summary_lines() == [
        "charts/appversion: Deployment/appversion-proxy container proxy: 1.0.0 → 2.0.0"
    ]
    (root_result,) = result.results
    assert root_result.verdict is not None
    assert [d.path[-1] for d in root_result.verdict.derived] == ["app.kubernetes.io/version"]


def test_a_bare_hex_sha_renders_an_invalid_reference(
    fixture_repo: Callable[..., Path], helm: str
) -> None:
    # kube-state-metrics: image@{{ .Values.image.sha }} needs the algorithm in the value
    root = fixture_repo("charts/sha")
    name = "registry.k8s.io/kube-state-metrics/kube-state-metrics"
    asked = f"{name}:v2.10.0@sha256:{HEX}"
    bad = edit(root, "charts/sha/values.yaml", 'sha: ""', f"sha: {HEX}", f"{name}:v2.10.0", asked)
    result = run(root, asked, bad, helm=helm)
    assert not result.ok
    assert "renders an invalid image reference" in result.failures[0]
    assert f"@{HEX}" in result.results[0].rendered_diff
    good = edit(
        root, "charts/sha/values.yaml", 'sha: ""', f"sha: sha256:{HEX}", f"{name}:v2.10.0", asked
    )
    assert run(root, asked, good, helm=helm).ok


def test_a_missing_helm_is_not_verified_and_strict_fails(
    fixture_repo: Callable[..., Path], helm: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    root = fixture_repo("charts/sha")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    change = edit(
        root,
        "charts/sha/values.yaml",
        "tag: v2.10.0",
        "tag: v2.11.0",
        "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.10.0",
        "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.11.0",
    )
    plan = Plan(
        root,
        (parse_change("registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.11.0"),),
        (change,),
    )
    result = verify(plan, VerifyOptions())
    assert result.ok
    assert result.not_verified == ["charts/sha: no helm on PATH (name one with --helm-bin)"]
    assert not verify(plan, VerifyOptions(mode="strict")).ok
    assert verify(plan, VerifyOptions(helm_bin=helm, mode="strict")).ok


def test_values_a_chart_generates_on_every_render_are_not_the_edits_doing(
    fixture_repo: Callable[..., Path], helm: str
) -> None:
    # bitnami: a random password in a Secret (and its checksum on the pods) differs
    # between any two renders; a second render of the old state shows which fields.
    root = fixture_repo("charts/random")
    change = edit(
        root,
        "charts/random/values.yaml",
        "tag: 16.2.0",
        "tag: 16.3.0",
        "ghcr.io/acme/db:16.2.0",
        "ghcr.io/acme/db:16.3.0",
    )
    result = run(root, "ghcr.io/acme/db:16.3.0", change, helm=helm)
    # the env var that follows the tag is still caught; the password is not blamed
    assert result.failures == [
        "charts/random: rendered change that is not an image update: StatefulSet/db"
        " spec.template.spec.containers[0].env[0].value: changed: old → new (not an image the"
        " change asked for)"
    ]
    assert result.results[0].ignored == 1
