"""The acceptance rule on rendered objects as data (no renderer needed)."""

from __future__ import annotations

from typing import Any

from updater.edit.model import Record
from updater.reference import parse_change
from updater.render.check import classify, versions
from updater.render.objects import ObjectKey, diff, parse

DIGEST = "sha256:" + "a" * 64


def deployment(
    image: str,
    *,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    **extra: Any,
) -> str:
    lines = [
        "apiVersion: apps/v1",
        "kind: Deployment",
        "metadata:",
        "  name: api",
        "  namespace: prod",
    ]
    if labels:
        lines.append("  labels:")
        lines += [f"    {k}: {v!r}" for k, v in labels.items()]
    if annotations:
        lines.append("  annotations:")
        lines += [f"    {k}: {v!r}" for k, v in annotations.items()]
    lines += [
        "spec:",
        "  template:",
        "    spec:",
        "      initContainers:",
        "        - name: migrate",
        f"          image: {extra.get('init', image)}",
        "      containers:",
        "        - name: api",
        f"          image: {image}",
        f"          args: [{extra.get('arg', '--port=80')!r}]",
    ]
    return "\n".join(lines) + "\n"


def record(old_ref: str, new_ref: str, file: str = "values.yaml") -> Record:
    from updater.reference import normalise_name, split_reference

    return Record(
        file,
        1,
        "image",
        "helm",
        normalise_name(split_reference(old_ref).name),
        old_ref,
        new_ref,
        old_ref,
        new_ref,
    )


def judge(before: str, after: str, *asked: str, records: list[Record] | None = None) -> Any:
    old, new = parse(before), parse(after)
    changes = [parse_change(a) for a in asked]
    return classify(diff(old, new), old, new, changes, records or [])


def test_container_and_init_container_updates_are_accepted() -> None:
    verdict = judge(
        deployment("ghcr.io/acme/api:1.4.2"),
        deployment("ghcr.io/acme/api:1.5.0"),
        "ghcr.io/acme/api:1.5.0",
    )
    assert not verdict.refused
    assert sorted(i.describe() for i in verdict.images) == [
        "Deployment/api container api: 1.4.2 → 1.5.0",
        "Deployment/api init container migrate: 1.4.2 → 1.5.0",
    ]


def test_an_image_that_is_not_the_asked_tag_is_refused() -> None:
    verdict = judge(
        deployment("ghcr.io/acme/api:1.4.2"),
        deployment("ghcr.io/acme/api:1.5.1"),
        "ghcr.io/acme/api:1.5.0",
    )
    assert len(verdict.refused) == 2
    assert "not what was asked" in verdict.refused[0].reason


def test_another_image_changing_is_refused() -> None:
    before = deployment("ghcr.io/acme/api:1.4.2", init="busybox:1.36")
    after = deployment("ghcr.io/acme/api:1.5.0", init="busybox:1.37")
    verdict = judge(before, after, "ghcr.io/acme/api:1.5.0")
    assert [r.describe() for r in verdict.refused] == [
        "Deployment/api spec.template.spec.initContainers[0].image: image busybox:1.36 →"
        " busybox:1.37 is not what was asked (ghcr.io/acme/api:1.5.0)"
    ]


def test_an_invalid_reference_is_refused_with_the_reason() -> None:
    # kube-state-metrics: image@{{ .Values.image.sha }} with a bare hex value
    bad = "registry.k8s.io/ksm/ksm:v2.10.0@" + "a" * 64
    verdict = judge(
        deployment("registry.k8s.io/ksm/ksm:v2.10.0"),
        deployment(bad),
        f"registry.k8s.io/ksm/ksm:v2.10.0@{DIGEST}",
    )
    assert verdict.refused and "invalid image reference" in verdict.refused[0].reason


def test_a_digest_pin_is_accepted_and_a_stale_digest_refused() -> None:
    ok = judge(
        deployment("ghcr.io/acme/api:1.4.2"),
        deployment(f"ghcr.io/acme/api:1.5.0@{DIGEST}"),
        f"ghcr.io/acme/api:1.5.0@{DIGEST}",
    )
    assert not ok.refused
    stale = "sha256:" + "b" * 64
    verdict = judge(
        deployment(f"ghcr.io/acme/api:1.4.2@{stale}"),
        deployment(f"ghcr.io/acme/api:1.5.0@{stale}"),
        "ghcr.io/acme/api:1.5.0",
    )
    assert verdict.refused, "a new tag beside the old digest deploys the old image"


def test_a_mirror_keeps_its_repository_when_the_root_holds_the_record() -> None:
    before = deployment("registry.acme.internal/mirror/api:1.4.2")
    after = deployment("registry.acme.internal/mirror/api:1.5.0")
    records = [record("ghcr.io/acme/api:1.4.2", "ghcr.io/acme/api:1.5.0")]
    assert not judge(before, after, "ghcr.io/acme/api:1.5.0", records=records).refused
    assert judge(before, after, "ghcr.io/acme/api:1.5.0").refused


def test_an_argument_naming_the_image_follows_it() -> None:
    before = deployment("ghcr.io/acme/api:1.4.2", arg="--image=ghcr.io/acme/api:1.4.2")
    after = deployment("ghcr.io/acme/api:1.5.0", arg="--image=ghcr.io/acme/api:1.5.0")
    assert not judge(before, after, "ghcr.io/acme/api:1.5.0").refused
    changed = deployment("ghcr.io/acme/api:1.5.0", arg="--port=81")
    assert judge(deployment("ghcr.io/acme/api:1.4.2"), changed, "ghcr.io/acme/api:1.5.0").refused


def test_version_labels_and_checksums_derived_from_the_tag_are_accepted() -> None:
    before = deployment(
        "ghcr.io/acme/api:v1.4.2",
        labels={"app.kubernetes.io/version": "1.4.2", "team": "a"},
        annotations={"checksum/config": "0" * 64},
    )
    after = deployment(
        "ghcr.io/acme/api:v1.5.0",
        labels={"app.kubernetes.io/version": "1.5.0", "team": "a"},
        annotations={"checksum/config": "1" * 64},
    )
    verdict = judge(before, after, "ghcr.io/acme/api:v1.5.0")
    assert not verdict.refused
    assert len(verdict.derived) == 2
    # ... but only under metadata: a label that is not derived from the tag is refused
    other = after.replace("team: 'a'", "team: 'b'")
    assert judge(before, other, "ghcr.io/acme/api:v1.5.0").refused


def test_objects_added_or_removed_are_refused() -> None:
    job = "---\napiVersion: batch/v1\nkind: Job\nmetadata: {name: migrate-1-5-0}\n"
    before = deployment("ghcr.io/acme/api:1.4.2")
    after = deployment("ghcr.io/acme/api:1.5.0") + job
    verdict = judge(before, after, "ghcr.io/acme/api:1.5.0")
    assert [r.reason for r in verdict.refused] == ["object added"]


def test_custom_resource_image_fields_count() -> None:
    cr = "apiVersion: monitoring.coreos.com/v1\nkind: Prometheus\nmetadata: {name: k8s}\n"
    before = cr + "spec: {image: 'quay.io/prometheus/prometheus:v2.50.0'}\n"
    after = cr + "spec: {image: 'quay.io/prometheus/prometheus:v2.51.0'}\n"
    verdict = judge(before, after, "quay.io/prometheus/prometheus:v2.51.0")
    assert [i.describe() for i in verdict.images] == [
        "Prometheus/k8s spec.image: v2.50.0 → v2.51.0"
    ]


def test_keys_and_summaries() -> None:
    objects = parse(
        "kind: List\nitems:\n- {kind: A, metadata: {name: x}}\n- {kind: A, metadata: {name: x}}\n"
    )
    assert [str(k) for k in objects] == ["A/x", "A/x#2"]
    assert ObjectKey("v1", "Pod", "ns", "p").short == "Pod/p"
    assert versions("a:1", "b:2") == "a:1 → b:2"
    assert versions("a:1", f"a:1@{DIGEST}") == f"1 → 1@{DIGEST[:19]}"


def test_each_image_is_matched_to_its_own_change() -> None:
    # two images asked with the same tag: neither may vouch for the other, and an image
    # not asked for that lands on the same tag is refused
    before = deployment("ghcr.io/acme/api:1.4.2", init="ghcr.io/acme/tools:1.4.2")
    after = deployment("ghcr.io/acme/api:2.0.0", init="ghcr.io/acme/tools:2.0.0")
    records = [record("ghcr.io/acme/api:1.4.2", "ghcr.io/acme/api:2.0.0")]
    verdict = judge(before, after, "ghcr.io/acme/api:2.0.0", records=records)
    assert [r.describe() for r in verdict.refused] == [
        "Deployment/api spec.template.spec.initContainers[0].image: image ghcr.io/acme/tools:1.4.2"
        " → ghcr.io/acme/tools:2.0.0 is not what was asked (ghcr.io/acme/api:2.0.0)"
    ]
    both = judge(
        before, after, "ghcr.io/acme/api:2.0.0", "ghcr.io/acme/tools:2.0.0", records=records
    )
    assert sorted(str(i.change) for i in both.images) == [
        "ghcr.io/acme/api:2.0.0",
        "ghcr.io/acme/tools:2.0.0",
    ]
