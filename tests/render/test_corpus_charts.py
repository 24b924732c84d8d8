"""Every chart and overlay of ../shared/corpus-charts through ``set-image --write
--verify-render``, once for each image repository it deploys: the run is correct (exit 0,
and an independent render shows every container of that repository at the new tag) or
refused (a one-line reason, nothing written)."""

from __future__ import annotations

import json
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.render.conftest import find, run_cli, snapshot
from updater.reference import familiar_name, normalise_name, split_reference

CHARTS = Path(__file__).resolve().parents[3] / "shared" / "corpus-charts"
CASES_FILE = CHARTS / "cases.json"
CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")

pytestmark = pytest.mark.slow

# Cases the product does not get fully right today: every image either refused or left
# unmatched. The contract (correct or refused, nothing written on refusal) still holds
# for them; only IncompleteCase is expected, so a fix turns them into XPASS failures.
KNOWN: dict[str, str] = {
    "traefik": "image.registry, image.repository and image.tag are all null (the templates"
    " default them, the tag to appVersion), so the scan finds only keys the chart never"
    " reads and the render check refuses",
}


class IncompleteCase(Exception):
    """Correct or refused, but not every image of the case was updated."""


def load_cases() -> list[dict[str, Any]]:
    if not CASES_FILE.is_file():
        return []
    return list(json.loads(CASES_FILE.read_text())["cases"])


def lay_out(case: dict[str, Any], target: Path) -> Path:
    """The case as a config repo: a chart under charts/NAME deployed by an Argo CD
    Application with the case's values files and --set flags; an overlay tree as is."""
    if case["kind"] == "helm":
        chart = f"charts/{case['name']}"
        shutil.copytree(CHARTS / case["dir"], target / chart, symlinks=True)
        if not case["values"] and not case["set"]:
            return target  # the chart's own values: the chart itself is the root
        helm: dict[str, Any] = {"releaseName": "corpus"}
        if case["values"]:
            helm["valueFiles"] = list(case["values"])
        if case["set"]:
            helm["parameters"] = [
                {"name": item.partition("=")[0], "value": item.partition("=")[2]}
                for item in case["set"]
            ]
        app = {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": case["name"], "namespace": "argocd"},
            "spec": {
                "project": "default",
                "source": {
                    "repoURL": "https://git.example.com/config.git",
                    "path": chart,
                    "helm": helm,
                },
                "destination": {"server": "https://kubernetes.default.svc", "namespace": "corpus"},
            },
        }
        (target / "argo").mkdir(parents=True, exist_ok=True)
        (target / "argo" / f"{case['name']}.yaml").write_text(yaml.safe_dump(app))
    else:
        shutil.copytree(CHARTS / case["dir"], target / "overlay", symlinks=True)
    return target


def render(case: dict[str, Any], root: Path) -> list[str]:
    """The case rendered as cases.json says (the oracle, independent of the product)."""
    outputs = []
    if case["kind"] == "helm":
        argv = [
            find("helm") or "helm",
            "template",
            "corpus",
            str(root / "charts" / case["name"]),
            "--namespace",
            "corpus",
            "--include-crds",
        ]
        for values in case["values"]:
            argv += ["-f", str(root / "charts" / case["name"] / values)]
        for item in case["set"]:
            argv += ["--set", item]
        outputs.append(subprocess.run(argv, capture_output=True, text=True, check=True).stdout)
    else:
        for target in case["targets"]:
            argv = [find("kubectl") or "kubectl", "kustomize", str(root / "overlay" / target)]
            outputs.append(subprocess.run(argv, capture_output=True, text=True, check=True).stdout)
    return outputs


def container_images(outputs: list[str]) -> list[tuple[str, str]]:
    """(where, image) of every container image, and every ``spec.image`` of a custom
    resource, in the rendered objects."""
    found: list[tuple[str, str]] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in CONTAINER_LISTS and isinstance(value, list):
                    for item in value:
                        if isinstance(item, dict) and isinstance(item.get("image"), str):
                            found.append((f"{where}/{key}/{item.get('name')}", item["image"]))
                    continue
                if key == "image" and isinstance(value, str) and where.count(".") <= 2:
                    found.append((f"{where}.image", value))  # a custom resource's spec.image
                walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, f"{where}[{index}]")

    for number, text in enumerate(outputs):
        for doc in yaml.safe_load_all(text):
            if isinstance(doc, dict):
                meta = doc.get("metadata") or {}
                walk(doc, f"{number}:{doc.get('kind')}/{meta.get('name')}")
    return found


@cache
def case_images(name: str) -> tuple[tuple[str, str], ...]:
    """(where, image) of every container the case deploys, rendered once per session."""
    import tempfile

    case = next(c for c in load_cases() if c["name"] == name)
    with tempfile.TemporaryDirectory() as scratch:
        root = lay_out(case, Path(scratch))
        return tuple(container_images(render(case, root)))


DIGEST = "sha256:" + "9" * 64


def asked_for(images: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """One new reference per repository: tag 9.9.9 (v9.9.9 after a v tag), and a digest
    too where the chart pins one, so no registry is asked to resolve it."""
    asked: dict[str, str] = {}
    for _, image in images:
        ref = split_reference(image)
        repository = normalise_name(ref.name)
        if repository in asked:
            continue
        tag = "v9.9.9" if ref.tag and ref.tag.startswith("v") else "9.9.9"
        asked[repository] = f"{familiar_name(repository)}:{tag}" + (
            f"@{DIGEST}" if ref.digest else ""
        )
    return asked


def params() -> list[Any]:
    if not CASES_FILE.is_file():
        return [
            pytest.param(
                None,
                marks=pytest.mark.skip(
                    reason=f"{CHARTS} is absent (the shared corpus of charts and overlays)"
                ),
            )
        ]
    if find("helm") is None or find("kubectl") is None:
        return [
            pytest.param(
                None,
                marks=pytest.mark.skip(
                    reason="helm or kubectl not installed (scripts/run-tests installs both)"
                ),
            )
        ]
    found = []
    for case in load_cases():
        marks = []
        if case["name"] in KNOWN:
            marks.append(
                pytest.mark.xfail(strict=True, raises=IncompleteCase, reason=KNOWN[case["name"]])
            )
        found.append(pytest.param(case, id=case["name"], marks=marks))
    return found


def set_image(root: Path, images: list[str], path: str) -> Any:
    return run_cli(
        [
            "set-image",
            "--repo",
            str(root),
            "--write",
            "--verify-render",
            "--json",
            "--allow-no-match",
            *images,
        ],
        path=path,
    )


def same(rendered: str, image: str) -> bool:
    a, b = split_reference(rendered), split_reference(image)
    return (normalise_name(a.name), a.tag) == (normalise_name(b.name), b.tag)


def check_refused(done: Any, root: Path, files: dict[str, bytes]) -> None:
    assert done.returncode in (3, 4), done.stderr
    assert snapshot(root) == files, "a refused run wrote files"
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("updater: error: ") and len(last) < 2000, done.stderr


def check_deployed(case: dict[str, Any], root: Path, done: Any, asked: dict[str, str]) -> None:
    """The run passed the render check: every container of each image it changed now
    runs the new reference (rendered independently, as cases.json says)."""
    report = json.loads(done.stdout)
    assert report["render"]["status"] in ("verified", "partly verified"), report["render"]
    changed = {normalise_name(split_reference(i["new_ref"]).name) for i in report["images"]}
    after = dict(container_images(render(case, root)))
    stale = []
    for where, image in case_images(case["name"]):
        repository = normalise_name(split_reference(image).name)
        if repository in changed and repository in asked:
            want = split_reference(asked[repository])
            got = split_reference(after.get(where, ""))
            if (got.tag, got.digest) != (want.tag, want.digest):
                stale.append(f"{where}: {after.get(where)}")
    assert not stale, f"passed the render check, but these deploy something else: {stale}"


@pytest.mark.parametrize("case", params())
def test_corpus_case(case: dict[str, Any], tmp_path: Path, renderers_path: str) -> None:
    asked = asked_for(case_images(case["name"]))
    root = lay_out(case, tmp_path / "repo")
    files = snapshot(root)
    done = set_image(root, sorted(asked.values()), renderers_path)
    if done.returncode == 0:
        check_deployed(case, root, done, asked)
        # an image referenced nowhere may still follow another's tag (an operator's CR)
        after = dict(container_images(render(case, root)))
        missed = [
            image
            for image in json.loads(done.stdout)["unmatched"]
            if not any(same(after.get(w, ""), image) for w, _ in case_images(case["name"]))
        ]
        if missed:
            raise IncompleteCase(f"referenced nowhere: {', '.join(missed)}")
        return
    # Refused as a whole: each image on its own is then correct or refused.
    check_refused(done, root, files)
    refused = []
    for repository, image in sorted(asked.items()):
        root = lay_out(case, tmp_path / familiar_name(repository).replace("/", "_"))
        files = snapshot(root)
        alone = set_image(root, [image], renderers_path)
        if alone.returncode == 0:
            check_deployed(case, root, alone, {repository: image})
        else:
            check_refused(alone, root, files)
            refused.append(f"{image}: {alone.stderr.strip().splitlines()[-1]}")
    raise IncompleteCase("; ".join(refused) or f"refused together: {done.stderr.strip()}")


def test_kube_state_metrics_sha(tmp_path: Path, renderers_path: str) -> None:
    """image@{{ .Values.image.sha }}: a digest must be written as the template needs it,
    or the render check refuses the invalid reference it would deploy."""
    case = next((c for c in load_cases() if c["name"].endswith("kube-state-metrics")), None)
    if case is None:
        pytest.skip(f"{CHARTS} is absent (the shared corpus of charts and overlays)")
    root = lay_out(case, tmp_path / "repo")
    files = snapshot(root)
    image = f"registry.k8s.io/kube-state-metrics/kube-state-metrics:v9.9.9@{DIGEST}"
    done = set_image(root, [image], renderers_path)
    if done.returncode == 0:
        check_deployed(case, root, done, {normalise_name(image.partition(":")[0]): image})
        return
    check_refused(done, root, files)
    assert "renders an invalid image reference" in done.stderr or "sha" in done.stderr, done.stderr
