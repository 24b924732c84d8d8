"""scan over every chart and kustomize tree of ``../shared/corpus-charts``, each scanned
as its own repo, finds every image repository Renovate finds there and every one the
chart or overlay renders from its files.

Both lists were written once, from real runs, and are kept here as data:

- ``RENOVATE``: Renovate 39 (npm ``renovate@39`` on Node 20), extract only, offline::

      renovate --platform=local --dry-run=extract --report-type=file --report-path=r.json

  run in a copy of ``corpus-charts`` with the config ``{"onboarding": false,
  "requireConfig": "optional", "extends": [], "enabledManagers": ["helm-values",
  "kubernetes", "kustomize"], "kubernetes": {"fileMatch": ["\\\\.ya?ml$"]},
  "ignorePaths": ["**/templates/**"]}`` and every proxy variable pointed at a closed
  port (127.0.0.1:9), so any network call fails at once. Each ``docker`` dependency's
  ``depName``, normalised, grouped by chart/overlay. Renovate's false positives are left
  out: four empty names (``image: {repository: ""}`` placeholders in argo-events,
  opentelemetry-collector and opentelemetry-operator) and ``null`` (traefik's
  ``image.repository: null``, the chart's default) are not images.
- ``RENDERED``: the ``image`` strings of ``helm template`` (with the values files and
  ``--set`` flags of ``cases.json``) and ``kubectl kustomize`` of every target. One
  rendered image is not in the list because no file the updater edits holds it:
  ``grafana/agent`` of grafana-agent-operator, written into the chart's own
  ``templates/tests/test-grafanaagent.yaml``.
"""

from __future__ import annotations

import json

import pytest

from tests.shared import SHARED, needs
from updater.edit.walk import scan_repo

CORPUS_CHARTS = SHARED / "corpus-charts"
pytestmark = needs("corpus-charts")

RENOVATE: dict[str, tuple[str, ...]] = {
    "charts/argo-helm-argo-events": (
        "docker.io/library/nats",
        "docker.io/library/nats-streaming",
        "docker.io/natsio/nats-server-config-reloader",
        "docker.io/natsio/prometheus-nats-exporter",
        "quay.io/argoproj/argo-events",
    ),
    "charts/argo-helm-argo-rollouts": (
        "quay.io/argoproj/argo-rollouts",
        "quay.io/argoproj/kubectl-argo-rollouts",
    ),
    "charts/argo-helm-argo-workflows": (
        "quay.io/argoproj/argocli",
        "quay.io/argoproj/argoexec",
        "quay.io/argoproj/workflow-controller",
        "registry.k8s.io/kubectl",
    ),
    "charts/argo-helm-argocd-image-updater": ("quay.io/argoprojlabs/argocd-image-updater",),
    "charts/bitnami-apache": (
        "docker.io/bitnami/apache",
        "docker.io/bitnami/apache-exporter",
    ),
    "charts/bitnami-etcd": (
        "docker.io/bitnami/etcd",
        "docker.io/bitnami/os-shell",
    ),
    "charts/bitnami-memcached": (
        "docker.io/bitnami/memcached",
        "docker.io/bitnami/memcached-exporter",
        "docker.io/bitnami/os-shell",
    ),
    "charts/bitnami-metrics-server": ("docker.io/bitnami/metrics-server",),
    "charts/bitnami-mongodb": (
        "docker.io/bitnami/kubectl",
        "docker.io/bitnami/mongodb",
        "docker.io/bitnami/mongodb-exporter",
        "docker.io/bitnami/nginx",
        "docker.io/bitnami/os-shell",
    ),
    "charts/bitnami-postgresql": (
        "docker.io/bitnami/os-shell",
        "docker.io/bitnami/postgres-exporter",
        "docker.io/bitnami/postgresql",
    ),
    "charts/bitnami-rabbitmq": (
        "docker.io/bitnami/os-shell",
        "docker.io/bitnami/rabbitmq",
    ),
    "charts/bitnami-sealed-secrets": ("docker.io/bitnami/sealed-secrets-controller",),
    "charts/grafana-agent-operator": (
        "docker.io/grafana/agent-operator",
        "docker.io/library/busybox",
    ),
    "charts/grafana-loki-canary": ("docker.io/grafana/loki-canary",),
    "charts/grafana-promtail": (
        "docker.io/grafana/promtail",
        "ghcr.io/jimmidyson/configmap-reload",
    ),
    "charts/grafana-rollout-operator": ("docker.io/grafana/rollout-operator",),
    "charts/kubernetes-sigs-metrics-server": (
        "registry.k8s.io/autoscaling/addon-resizer",
        "registry.k8s.io/metrics-server/metrics-server",
    ),
    "charts/node-feature-discovery": ("gcr.io/k8s-staging-nfd/node-feature-discovery",),
    "charts/otel-opentelemetry-operator": (
        "docker.io/library/busybox",
        "ghcr.io/open-telemetry/opentelemetry-collector-releases/opentelemetry-collector-k8s",
        "ghcr.io/open-telemetry/opentelemetry-operator/opentelemetry-operator",
    ),
    "charts/prometheus-community-alertmanager": (
        "quay.io/prometheus-operator/prometheus-config-reloader",
        "quay.io/prometheus/alertmanager",
    ),
    "charts/prometheus-community-kube-state-metrics": (
        "quay.io/brancz/kube-rbac-proxy",
        "registry.k8s.io/kube-state-metrics/kube-state-metrics",
    ),
    "charts/prometheus-community-prometheus-adapter": (
        "registry.k8s.io/prometheus-adapter/prometheus-adapter",
    ),
    "charts/prometheus-community-prometheus-blackbox-exporter": (
        "quay.io/prometheus-operator/prometheus-config-reloader",
        "quay.io/prometheus/blackbox-exporter",
    ),
    "charts/prometheus-community-prometheus-postgres-exporter": (
        "quay.io/prometheuscommunity/postgres-exporter",
    ),
    "charts/prometheus-community-prometheus-pushgateway": ("quay.io/prometheus/pushgateway",),
    "charts/traefik": (
        "docker.io/library/traefik",
        "docker.io/library/traefik-hub",
    ),
    "overlays/argo-rollouts-manifests": (
        "quay.io/argoproj/argo-rollouts",
        "quay.io/argoproj/kubectl-argo-rollouts",
    ),
    "overlays/argo-workflows-manifests": (
        "quay.io/argoproj/argocli",
        "quay.io/argoproj/workflow-controller",
        "quay.io/holos/mccutchen/go-httpbin",
        "quay.io/minio/minio",
        "quay.io/prometheus/prometheus",
    ),
    "overlays/kubebuilder-project-v4-config": ("docker.io/library/controller",),
    "overlays/kustomize-helloWorld": ("docker.io/monopole/hello",),
    "overlays/kustomize-ldap": ("docker.io/osixia/openldap",),
    "overlays/kustomize-multibases": ("docker.io/library/nginx",),
    "overlays/kustomize-springboot": ("docker.io/jingfang/sbdemo",),
    "overlays/kustomize-wordpress": (
        "docker.io/library/debian",
        "docker.io/library/mysql",
        "docker.io/library/wordpress",
    ),
    "overlays/metrics-server-manifests": (
        "gcr.io/k8s-staging-metrics-server/metrics-server",
        "registry.k8s.io/autoscaling/addon-resizer",
        "registry.k8s.io/metrics-server/metrics-server",
    ),
    "overlays/node-feature-discovery-deployment": (
        "gcr.io/k8s-staging-nfd/node-feature-discovery",
    ),
    "overlays/podinfo-kustomize": ("ghcr.io/stefanprodan/podinfo",),
}
# Found by scan, not by Renovate (kept): ``git`` is not a key ending in ``image``
# (bitnami-apache), ``ci/*-values.yaml`` are values files Renovate's default file match
# leaves out, and traefik's hub block names its registry beside ``image: traefik-hub``
# (Renovate reads docker.io/library/traefik-hub there).
BEYOND_RENOVATE = {
    "charts/bitnami-apache": ("docker.io/bitnami/git",),
    "charts/otel-opentelemetry-collector": (
        "ghcr.io/open-telemetry/opentelemetry-collector-releases/opentelemetry-collector-k8s",
    ),
    "charts/otel-opentelemetry-operator": ("docker.io/otel/opentelemetry-collector-k8s",),
    "charts/traefik": ("ghcr.io/traefik/traefik-hub",),
}

RENDERED: dict[str, tuple[str, ...]] = {
    "charts/argo-helm-argo-events": ("quay.io/argoproj/argo-events",),
    "charts/argo-helm-argo-rollouts": (
        "quay.io/argoproj/argo-rollouts",
        "quay.io/argoproj/kubectl-argo-rollouts",
    ),
    "charts/argo-helm-argo-workflows": (
        "quay.io/argoproj/argocli",
        "quay.io/argoproj/workflow-controller",
        "registry.k8s.io/kubectl",
    ),
    "charts/argo-helm-argocd-image-updater": ("quay.io/argoprojlabs/argocd-image-updater",),
    "charts/bitnami-apache": (
        "docker.io/bitnami/apache",
        "docker.io/bitnami/apache-exporter",
    ),
    "charts/bitnami-etcd": (
        "docker.io/bitnami/etcd",
        "docker.io/bitnami/os-shell",
    ),
    "charts/bitnami-memcached": (
        "docker.io/bitnami/memcached",
        "docker.io/bitnami/memcached-exporter",
        "docker.io/bitnami/os-shell",
    ),
    "charts/bitnami-metrics-server": ("docker.io/bitnami/metrics-server",),
    "charts/bitnami-mongodb": (
        "docker.io/bitnami/mongodb",
        "docker.io/bitnami/mongodb-exporter",
        "docker.io/bitnami/os-shell",
    ),
    "charts/bitnami-postgresql": (
        "docker.io/bitnami/os-shell",
        "docker.io/bitnami/postgres-exporter",
        "docker.io/bitnami/postgresql",
    ),
    "charts/bitnami-rabbitmq": (
        "docker.io/bitnami/os-shell",
        "docker.io/bitnami/rabbitmq",
    ),
    "charts/bitnami-sealed-secrets": ("docker.io/bitnami/sealed-secrets-controller",),
    "charts/cert-manager": (
        "quay.io/jetstack/cert-manager-cainjector",
        "quay.io/jetstack/cert-manager-controller",
        "quay.io/jetstack/cert-manager-startupapicheck",
        "quay.io/jetstack/cert-manager-webhook",
    ),
    "charts/grafana-agent-operator": (
        "docker.io/grafana/agent-operator",
        "docker.io/library/busybox",
    ),
    "charts/grafana-loki-canary": ("docker.io/grafana/loki-canary",),
    "charts/grafana-promtail": (
        "docker.io/grafana/promtail",
        "ghcr.io/jimmidyson/configmap-reload",
    ),
    "charts/grafana-rollout-operator": ("docker.io/grafana/rollout-operator",),
    "charts/kubernetes-sigs-metrics-server": (
        "registry.k8s.io/autoscaling/addon-resizer",
        "registry.k8s.io/metrics-server/metrics-server",
    ),
    "charts/node-feature-discovery": ("gcr.io/k8s-staging-nfd/node-feature-discovery",),
    "charts/otel-opentelemetry-collector": (
        "ghcr.io/open-telemetry/opentelemetry-collector-releases/opentelemetry-collector-k8s",
    ),
    "charts/otel-opentelemetry-operator": (
        "docker.io/library/busybox",
        "ghcr.io/open-telemetry/opentelemetry-operator/opentelemetry-operator",
    ),
    "charts/prometheus-community-alertmanager": (
        "quay.io/prometheus-operator/prometheus-config-reloader",
        "quay.io/prometheus/alertmanager",
    ),
    "charts/prometheus-community-kube-state-metrics": (
        "quay.io/brancz/kube-rbac-proxy",
        "registry.k8s.io/kube-state-metrics/kube-state-metrics",
    ),
    "charts/prometheus-community-prometheus-adapter": (
        "registry.k8s.io/prometheus-adapter/prometheus-adapter",
    ),
    "charts/prometheus-community-prometheus-blackbox-exporter": (
        "quay.io/prometheus-operator/prometheus-config-reloader",
        "quay.io/prometheus/blackbox-exporter",
    ),
    "charts/prometheus-community-prometheus-postgres-exporter": (
        "quay.io/prometheuscommunity/postgres-exporter",
    ),
    "charts/prometheus-community-prometheus-pushgateway": ("quay.io/prometheus/pushgateway",),
    "charts/traefik": ("docker.io/library/traefik",),
    "overlays/argo-rollouts-manifests": (
        "quay.io/argoproj/argo-rollouts",
        "quay.io/argoproj/kubectl-argo-rollouts",
    ),
    "overlays/argo-workflows-manifests": (
        "quay.io/argoproj/argocli",
        "quay.io/argoproj/workflow-controller",
        "quay.io/holos/mccutchen/go-httpbin",
        "quay.io/minio/minio",
    ),
    "overlays/kubebuilder-project-v4-config": ("docker.io/library/controller",),
    "overlays/kustomize-helloWorld": ("docker.io/monopole/hello",),
    "overlays/kustomize-ldap": ("docker.io/osixia/openldap",),
    "overlays/kustomize-multibases": ("docker.io/library/nginx",),
    "overlays/kustomize-springboot": ("docker.io/jingfang/sbdemo",),
    "overlays/kustomize-wordpress": (
        "docker.io/library/debian",
        "docker.io/library/mysql",
        "docker.io/library/wordpress",
    ),
    "overlays/metrics-server-manifests": ("registry.k8s.io/metrics-server/metrics-server",),
    "overlays/node-feature-discovery-deployment": (
        "gcr.io/k8s-staging-nfd/node-feature-discovery",
    ),
    "overlays/podinfo-kustomize": ("ghcr.io/stefanprodan/podinfo",),
}


@pytest.fixture(scope="module")
def found() -> dict[str, set[str]]:
    """Every chart and overlay scanned as its own repo (none may abort)."""
    return {
        root: {r.repository for r in scan_repo(CORPUS_CHARTS / root).references if r.repository}
        for root in roots()
    }


def roots() -> list[str]:
    cases = json.loads((CORPUS_CHARTS / "cases.json").read_text(encoding="utf-8"))["cases"]
    return sorted(case["dir"] for case in cases)


def test_the_lists_cover_every_chart_and_overlay() -> None:
    assert sorted(RENDERED) == roots()
    assert set(RENOVATE) <= set(roots())
    assert sum(len(v) for v in RENOVATE.values()) == 74


@pytest.mark.parametrize("root", sorted(RENOVATE))
def test_scan_finds_what_renovate_finds(found: dict[str, set[str]], root: str) -> None:
    assert set(RENOVATE[root]) - found[root] == set()


@pytest.mark.parametrize("root", sorted(BEYOND_RENOVATE))
def test_scan_keeps_what_renovate_misses(found: dict[str, set[str]], root: str) -> None:
    missed = set(BEYOND_RENOVATE[root])
    assert missed <= found[root]
    assert not missed & set(RENOVATE.get(root, ()))


@pytest.mark.parametrize("root", sorted(RENDERED))
def test_scan_finds_every_rendered_repository(found: dict[str, set[str]], root: str) -> None:
    assert set(RENDERED[root]) - found[root] == set()
