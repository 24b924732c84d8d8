"""Time `set-image --dry-run` and `scan --json` on the synthetic repo.

Every figure is the wall time of a fresh process, the way CI runs the bot, taken as the
median of ``--runs`` runs after one warm-up run (which also fills the page cache and
writes the bytecode caches). The cases are interleaved round by round, so a slow
moment of the machine hits all of them alike. Each is reported as a ratio to the
baseline measured in the same run: a plain Python script that reads every YAML file.

Targets: set-image --dry-run <= 2x the baseline, scan --json <= 4x.

Usage::

    python bench/bench_edit.py                 # generate bench/.work/edit-repo, print figures
    python bench/bench_edit.py --profile       # also: cProfile of both commands, import times
    python bench/bench_edit.py --json --check  # machine-readable; exit 1 if a target is missed
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import _report
import gen_repo

PROJECT = Path(__file__).resolve().parent.parent
DEFAULT_REPO = PROJECT / "bench" / ".work" / "edit-repo"
PYTHON = sys.executable

# The baseline: no YAML parsing, no project code; only finding and reading the files.
READ_ALL = """\
import os, sys
n = 0
for top, dirs, files in os.walk(sys.argv[1]):
    dirs[:] = [d for d in dirs if d != ".git"]
    for name in files:
        if name.endswith((".yaml", ".yml")):
            with open(os.path.join(top, name), encoding="utf-8") as f:
                n += len(f.read())
print(n)
"""


@dataclass(frozen=True)
class Case:
    key: str
    label: str
    argv: tuple[str, ...]
    target: float | None  # allowed ratio to the baseline


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    median: float
    minimum: float
    maximum: float
    ratio: float
    target: float | None

    @property
    def ok(self) -> bool:
        return self.target is None or self.ratio <= self.target


def pick_app(apps: Sequence[gen_repo.App]) -> gen_repo.App:
    """A typical app whose name is a prefix of another's (checkout-api / -api-gateway)."""
    for app in apps:
        if app.name == "checkout-api":
            return app
    return apps[len(apps) // 2]


def next_tag(tag: str) -> str:
    major, minor, patch = tag.split(".")
    return f"{major}.{minor}.{int(patch) + 1}"


def cases(repo: Path, image: str) -> list[Case]:
    updater = (PYTHON, "-m", "updater")
    return [
        Case(
            "baseline", "baseline: read every YAML file", (PYTHON, "-c", READ_ALL, str(repo)), None
        ),
        Case("help", "updater --help (start-up)", (*updater, "--help"), None),
        Case(
            "set_image",
            f"set-image --dry-run {image.rsplit('/', 1)[-1]}",
            (*updater, "set-image", "--repo", str(repo), "--dry-run", image),
            2.0,
        ),
        Case("scan", "scan --json", (*updater, "scan", "--repo", str(repo), "--json"), 4.0),
    ]


def child_env() -> dict[str, str]:
    """Run the checkout's code, whatever is installed, with no colour and no pager."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT), env.get("PYTHONPATH")]))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["NO_COLOR"] = "1"
    return env


def run_once(case: Case) -> str:
    result = subprocess.run(
        case.argv, cwd=PROJECT, env=child_env(), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(
            f"bench_edit: {case.label} exited {result.returncode}:\n{result.stderr.strip()}"
        )
    return result.stdout


def measure(all_cases: list[Case], runs: int) -> tuple[dict[str, list[float]], dict[str, str]]:
    outputs: dict[str, str] = {}

    def run(case: Case) -> Callable[[], None]:
        return lambda: outputs.__setitem__(case.key, run_once(case))

    return _report.interleaved({case.key: run(case) for case in all_cases}, runs), outputs


def figures(all_cases: list[Case], times: dict[str, list[float]]) -> list[Figure]:
    medians = _report.medians(times)
    return [
        Figure(
            case.key,
            case.label,
            medians[case.key],
            min(times[case.key]),
            max(times[case.key]),
            medians[case.key] / medians["baseline"],
            case.target,
        )
        for case in all_cases
    ]


def sanity(outputs: dict[str, str], app: gen_repo.App) -> list[str]:
    """What the commands produced, so a fast wrong answer cannot pass for a fast one."""
    notes = []
    diff = outputs["set_image"]
    files = len(re.findall(r"^\+\+\+ ", diff, flags=re.MULTILINE))
    lines = len(re.findall(r"^\+(?!\+\+)", diff, flags=re.MULTILINE))
    notes.append(f"set-image diff: {files} files, {lines} lines changed for {app.repository}")
    if files == 0:
        notes.append("WARNING: set-image changed nothing: the figure measures no edit")
    try:
        found = json.loads(outputs["scan"])
        notes.append(f"scan --json: {len(found)} references")
    except json.JSONDecodeError as error:
        notes.append(f"WARNING: scan --json printed invalid JSON: {error}")
    return notes


def print_table(header: str, figs: list[Figure], notes: list[str], runs: int) -> None:
    print(header)
    print(f"median of {runs} runs after 1 warm-up, wall time of a fresh process each")
    print()
    print(f"{'case':<46} {'median':>8} {'min':>8} {'max':>8} {'ratio':>7}  target")
    for f in figs:
        target = "" if f.target is None else f"<= {f.target:g}x {'ok' if f.ok else 'MISSED'}"
        print(
            f"{f.label:<46} {f.median:>7.3f}s {f.minimum:>7.3f}s {f.maximum:>7.3f}s "
            f"{f.ratio:>6.2f}x  {target}"
        )
    print()
    for note in notes:
        print(note)


def profile(all_cases: list[Case], top: int) -> None:
    """cProfile of the two commands in a child process, and the slowest imports."""
    for case in all_cases:
        if case.key not in ("set_image", "scan"):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "profile"
            argv = (PYTHON, "-m", "cProfile", "-o", str(out), *case.argv[1:])
            run_once(Case(case.key, case.label, argv, None))
            print(f"\n=== cProfile: {case.label} (top {top} by own time)")
            stats = pstats.Stats(str(out), stream=sys.stdout)
            stats.sort_stats("tottime").print_stats(top)
            print(f"=== cProfile: {case.label} (top {top} by cumulative time)")
            stats.sort_stats("cumulative").print_stats(top)
    result = subprocess.run(
        [PYTHON, "-X", "importtime", "-m", "updater", "--help"],
        cwd=PROJECT,
        env=child_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    rows = []
    for line in result.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(.*)", line)
        if match:
            rows.append((int(match[2]), match[3].rstrip()))
    print(f"\n=== slowest imports of `updater --help` (cumulative microseconds, top {top})")
    for cumulative, name in sorted(rows, reverse=True)[:top]:
        print(f"{cumulative:>9}  {name}")


def prepare_repo(repo: Path, apps: int, regenerate: bool) -> str:
    """Make the repo when needed; say what was measured on."""
    if regenerate or not repo.exists():
        started = time.perf_counter()
        summary = gen_repo.generate(repo, apps=apps, force=True)
        return (
            f"generated {summary.files} YAML files ({summary.bytes / 1e6:.1f} MB) "
            f"in {time.perf_counter() - started:.1f}s"
        )
    return "using the repo as it is"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, help=f"use this repo (default: {DEFAULT_REPO})")
    parser.add_argument("--apps", type=int, default=gen_repo.DEFAULT_APPS)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--image", help="IMAGE to set (default: one app's image, next patch)")
    parser.add_argument("--profile", action="store_true", help="also print profiles")
    parser.add_argument("--top", type=int, default=25, help="profile rows (default 25)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args(argv)

    # The default repo is regenerated every time (half a second) so it never goes stale
    # when the generator changes; a --repo given by the user is used as it is.
    repo = (args.repo or DEFAULT_REPO).resolve()
    made = prepare_repo(repo, args.apps, regenerate=args.repo is None)
    app = pick_app(gen_repo.make_apps(args.apps))
    image = args.image or f"{app.repository}:{next_tag(app.tags['dev'])}"
    all_cases = cases(repo, image)
    times, outputs = measure(all_cases, args.runs)
    figs = figures(all_cases, times)
    notes = sanity(outputs, app)
    yaml_files = sum(1 for _ in repo.rglob("*.yaml"))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    header = (
        f"repo {repo} ({made}): {yaml_files} YAML files\n"
        f"image {image}; Python {sys.version.split()[0]}; load average after: {load}"
    )
    if args.json:
        report = {
            "repo": str(repo),
            "image": image,
            "runs": args.runs,
            "python": sys.version.split()[0],
            "figures": [{**asdict(f), "ok": f.ok} for f in figs],
            "samples": times,
            "notes": notes,
            "load_average": os.getloadavg(),
        }
        print(json.dumps(report, indent=2))
    else:
        print_table(header, figs, notes, args.runs)
    if args.profile:
        profile(all_cases, args.top)
    return 1 if args.check and not all(f.ok for f in figs) else 0


if __name__ == "__main__":
    sys.exit(main())
