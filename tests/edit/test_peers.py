"""The peers' own test tables (../shared/peer-tables), fed to the product through the
real command line: kustomize ``edit set image`` (TestSetImage) and the Flux
image-automation-controller setters fixture. A case this tool answers differently on
purpose is listed in DIFFERENCES with its reason (docs/design.md, "Differences from
peers"), and the test asserts what this tool does instead."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from updater.cli import cli

PEER_TABLES = Path(__file__).resolve().parents[3] / "shared" / "peer-tables"


def _table(name: str) -> dict[str, Any]:
    path = PEER_TABLES / name
    if not path.is_file():
        pytest.skip(f"{path} is absent (the shared peer tables live beside the repo)")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _case_ids(name: str) -> list[int]:
    path = PEER_TABLES / name
    if not path.is_file():
        return [0]  # one test that skips with the reason
    return list(range(len(json.loads(path.read_text(encoding="utf-8"))["cases"])))


def run_cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


# --------------------------------------------------------------------------- kustomize

# Case number (1-based, as the table's source names it) -> why this tool differs.
INDENTED = (
    "a new images: key follows the file's own sequence indentation (its replacements: "
    "list is indented); kustomize re-writes the whole file in its own style"
)
KEY_ORDER = (
    "an existing entry keeps its key order (only values change, a stale newTag goes); "
    "kustomize re-writes every entry with its keys sorted"
)
DIFFERENCES = {
    **{n: INDENTED for n in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 21, 22)},
    **{n: KEY_ORDER for n in (14, 23, 24)},
}


def _images_block(text: str) -> tuple[str, str]:
    """(the text outside the top-level images: block, the block)."""
    lines = text.splitlines(keepends=True)
    outside, block, inside = [], [], False
    for line in lines:
        if line.startswith("images:"):
            inside = True
        elif inside and line.strip() and not line.startswith((" ", "-")):
            inside = False
        (block if inside else outside).append(line)
    return "".join(outside), "".join(block)


@pytest.mark.parametrize("index", _case_ids("kustomize.json"))
def test_kustomize_set_image(tmp_path: Path, index: int) -> None:
    table = _table("kustomize.json")
    case = table["cases"][index]
    number = index + 1
    before = case["input"] if case["input"] is not None else table["default_input"]
    target = tmp_path / "kustomization.yaml"
    target.write_text(before, encoding="utf-8")
    status, output = run_cli(
        "set-image", "--repo", str(tmp_path), "--path", "kustomization.yaml", "--write",
        *case["args"],
    )  # fmt: skip
    after = target.read_text(encoding="utf-8")
    if case["expected_error"]:
        assert status == 2, output
        assert after == before
        return
    assert status == 0, output
    expected = "\n".join(case["expected_output_lines"]) + "\n"
    # What deploys is the same as kustomize's in every case: the images as data, and
    # every other key of the file.
    wanted = yaml.safe_load(before) or {}
    wanted["images"] = yaml.safe_load(expected)["images"]
    assert yaml.safe_load(after) == wanted
    reason = DIFFERENCES.get(number)
    if reason is None:
        assert expected.rstrip("\n") in after
    elif reason is INDENTED:
        indented = "".join(
            line if line.startswith("images:") else f"  {line}"
            for line in expected.splitlines(keepends=True)
        )
        assert after == before + indented
    else:
        # Every byte outside the images: block is the file's own.
        assert _images_block(after)[0] == _images_block(before)[0]


# --------------------------------------------------------------------------- Flux setters


def _flux_checks() -> list[str]:
    path = PEER_TABLES / "flux-setters.json"
    if not path.is_file():
        return ["(absent)"]
    (case,) = json.loads(path.read_text(encoding="utf-8"))["cases"]
    return ["run", *sorted(case["original"])]


def _apply_policies(root: Path, case: dict[str, Any], *, links: bool) -> list[tuple[int, str]]:
    """Lay out the fixture's files under ``root`` and apply each policy's result, the
    way Flux's update run applies them: ``set-image --only-marked --alias NS:NAME
    LATEST`` per policy."""
    for name, spec in case["original"].items():
        if "symlink" not in spec:
            (root / name).write_text(spec["content"], encoding="utf-8")
        elif links:
            (root / name).symlink_to(spec["symlink"])
    outputs = []
    for policy in case["policies"]:
        alias = f"{policy['namespace']}:{policy['name']}"
        outputs.append(
            run_cli(
                "set-image", "--repo", str(root), "--write", "--only-marked",
                "--alias", alias, policy["latest_ref"],
            )
        )  # fmt: skip
    return outputs


@pytest.fixture(scope="module")
def flux_setters(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    (case,) = _table("flux-setters.json")["cases"]
    root = tmp_path_factory.mktemp("flux-setters")
    return {"case": case, "root": root, "outputs": _apply_policies(root, case, links=False)}


@pytest.mark.parametrize("check", _flux_checks())
def test_flux_setters(flux_setters: dict[str, Any], check: str, tmp_path: Path) -> None:
    case, root = flux_setters["case"], flux_setters["root"]
    if check == "run":
        for status, output in flux_setters["outputs"]:
            assert status == 0, output
        return
    spec = case["original"][check]
    if "symlink" in spec:
        # A dangling symlink in the repo is no reference and no reason to fail.
        for status, output in _apply_policies(tmp_path, case, links=True):
            assert status == 0, output
        assert (tmp_path / check).is_symlink()
        return
    wanted = case["expected"].get(check, spec["content"])
    assert (root / check).read_text(encoding="utf-8") == wanted
