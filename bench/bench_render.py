"""Time ``set-image --verify-render`` against ``set-image`` alone and against the bare
renderers (``kubectl kustomize`` / ``helm template``) of the same roots.

Two repos: a copy of examples/config-repo (five kustomize roots, one through an Argo CD
Application's image override) and, when ../shared is there, one corpus chart deployed
by an Argo CD Application with the values cases.json names. For each repo, per round:

- ``set-image``: ``python -m updater set-image --repo R IMAGE`` (dry run), a fresh process;
- ``verify``: the same with ``--verify-render``;
- ``renderers``: every root the verify run reports, rendered twice (before and after) by
  the renderer itself, as many at once as the updater runs (one per core, at most 8).

Figures are medians of ``--runs`` rounds after one warm-up round, interleaved so a busy
moment slows all cases alike. Target: verify <= 1.3x the renderers' own time.

Usage::

    python bench/bench_render.py                  # table
    python bench/bench_render.py --runs 7 --json  # machine-readable
    python bench/bench_render.py --check          # exit 1 if a target is missed
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import _report

PROJECT = Path(__file__).resolve().parent.parent
WORK = PROJECT / "bench" / ".work"
EXAMPLE = PROJECT / "examples" / "config-repo"
CHARTS = PROJECT.parent / "shared" / "corpus-charts"
CHART_CASE = "prometheus-community-alertmanager"
TARGET = 1.3


@dataclass(frozen=True)
class Repo:
    name: str
    path: Path
    image: str


@dataclass
class Figures:
    repo: str
    roots: int
    renders: int
    set_image: float
    verify: float
    renderers: float

    @property
    def verify_to_renderers(self) -> float:
        return self.verify / self.renderers

    @property
    def verify_to_set_image(self) -> float:
        return self.verify / self.set_image

    @property
    def overhead_to_renderers(self) -> float:
        """What verification adds to set-image, per second of rendering."""
        return (self.verify - self.set_image) / self.renderers


def tool_path() -> str:
    """PATH with this interpreter's bin first: helm and kubectl from the test setup."""
    return os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])


def find(name: str) -> str:
    found = shutil.which(name, path=tool_path())
    if found is None:
        raise SystemExit(f"bench_render: {name} not found (scripts/run-tests installs it)")
    return found


def prepare() -> list[Repo]:
    WORK.mkdir(parents=True, exist_ok=True)
    repos = []
    example = WORK / "render-example"
    shutil.rmtree(example, ignore_errors=True)
    shutil.copytree(EXAMPLE, example)
    repos.append(Repo("example repo", example, "ghcr.io/acme/api:1.5.0"))
    cases = CHARTS / "cases.json"
    if cases.is_file():
        case = next(c for c in json.loads(cases.read_text())["cases"] if c["name"] == CHART_CASE)
        chart_repo = WORK / "render-chart"
        shutil.rmtree(chart_repo, ignore_errors=True)
        shutil.copytree(CHARTS / case["dir"], chart_repo / "charts" / CHART_CASE)
        helm: dict[str, Any] = {"releaseName": "bench"}
        if case["set"]:
            helm["parameters"] = [
                {"name": s.partition("=")[0], "value": s.partition("=")[2]} for s in case["set"]
            ]
        app = {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "alertmanager"},
            "spec": {
                "source": {"path": f"charts/{CHART_CASE}", "helm": helm},
                "destination": {"namespace": "monitoring"},
            },
        }
        (chart_repo / "argo").mkdir()
        (chart_repo / "argo" / "alertmanager.yaml").write_text(json.dumps(app))
        repos.append(
            Repo(f"chart {CHART_CASE}", chart_repo, "quay.io/prometheus/alertmanager:v0.35.0")
        )
    return repos


def updater(repo: Repo, *extra: str) -> str:
    env = {**os.environ, "PATH": tool_path(), "NO_COLOR": "1"}
    argv = [sys.executable, "-m", "updater", "set-image", "--repo", str(repo.path), *extra,
            repo.image]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=PROJECT, check=False)
    if done.returncode != 0:
        raise SystemExit(f"bench_render: {' '.join(argv)} failed: {done.stderr.strip()[-400:]}")
    return done.stdout


def render_jobs(repo: Repo) -> list[list[str]]:
    """The bare renders of the roots the updater verified, before and after."""
    out = updater(repo, "--verify-render", "--json")
    render = json.loads(out)["render"]
    jobs = []
    for root in render["roots"]:
        if root["status"] != "verified":
            continue
        directory = repo.path / root["root"]
        if root["kind"] == "kustomize":
            argv = [find("kubectl"), "kustomize", str(directory)]
        else:
            argv = [find("helm"), "template", "bench", str(directory), "--include-crds"]
        jobs += [argv, argv]
    return jobs


def renderers(jobs: list[list[str]]) -> None:
    workers = max(2, min(8, os.cpu_count() or 2))
    with ThreadPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
        list(pool.map(lambda argv: subprocess.run(argv, capture_output=True, check=True), jobs))


def measure(repo: Repo, runs: int) -> Figures:
    jobs = render_jobs(repo)
    cases: dict[str, Callable[[], object]] = {
        "set_image": lambda: updater(repo),
        "verify": lambda: updater(repo, "--verify-render"),
        "renderers": lambda: renderers(jobs),
    }
    medians = _report.medians(_report.interleaved(cases, runs))
    return Figures(repo=repo.name, roots=len(jobs) // 2, renders=len(jobs), **medians)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    options = parser.parse_args()
    results = [measure(repo, options.runs) for repo in prepare()]
    if options.json:
        rows = [
            {**asdict(f), "verify_to_renderers": f.verify_to_renderers,
             "verify_to_set_image": f.verify_to_set_image,
             "overhead_to_renderers": f.overhead_to_renderers, "target": TARGET}
            for f in results
        ]  # fmt: skip
        print(json.dumps(rows, indent=2))
    else:
        load = os.getloadavg()[0]
        print(f"bench_render: median of {options.runs} runs, load average {load:.1f}")
        print(f"{'repo':<44} {'roots':>5} {'set-image':>10} {'verify':>8} {'renderers':>10}"
              f" {'v/r':>6} {'v/s':>6} {'(v-s)/r':>8}")  # fmt: skip
        for f in results:
            print(f"{f.repo:<44} {f.roots:>5} {f.set_image:>9.3f}s {f.verify:>7.3f}s"
                  f" {f.renderers:>9.3f}s {f.verify_to_renderers:>5.2f}x"
                  f" {f.verify_to_set_image:>5.2f}x {f.overhead_to_renderers:>7.2f}x")  # fmt: skip
        print(f"target: verify <= {TARGET}x the renderers' own time")
    missed = [f for f in results if f.verify_to_renderers > TARGET]
    return 1 if options.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
