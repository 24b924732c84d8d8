"""Time ``updater history IMAGE`` over a big config repo against plain ``git log``.

The repo is the push bench's (bench/gen_repo.py's 1,250 apps x 7 files with 20,000
commits, cloned from the same cached bare remote). Each round times, as fresh processes:

- ``updater``: ``python -m updater history --repo CLONE --json IMAGE`` (finds the files
  of HEAD that mention the image, one ``git log --raw`` over them, their versions read
  in batches and diffed by their references);
- ``follow``: ``git log -p --follow -- FILE`` for each of those files, one after the
  other (``--follow`` takes one file), the plain-git way to read a file's history;
- ``one-walk``: ``git log -p -- FILES``, the same files in one walk (no renames followed);
- with ``--url``, ``updater-url``: ``history --repo file://REMOTE --path apps/<app>`` (a
  shallow, blobless, sparse clone, deepened to the whole history), against
  ``clone-walk``: ``git clone --filter=blob:none --no-checkout`` and ``git log -p -- FILES``.

The output is checked against git: every commit that changed the image's files is in
the updater's answer. Cases are interleaved round by round; figures are medians.
Target: the updater within 2x of the ``follow`` baseline measured in the same run.

Usage::

    python bench/bench_history.py                 # generate the remote once, measure
    python bench/bench_history.py --runs 7
    python bench/bench_history.py --json --check  # machine-readable; exit 1 if missed
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import _report
import bench_push
import gen_repo

PROJECT = Path(__file__).resolve().parent.parent
WORK = PROJECT / "bench" / ".work"
TARGET_RATIO = 2.0
ENV = bench_push.ENV


def git(*args: str, cwd: Path | None = None) -> str:
    return bench_push.git(*args, cwd=cwd)


def clone_of(remote: Path, work: Path) -> Path:
    """A full local clone of the remote (made once)."""
    clone = work / f"history-{remote.stem}"
    if not (clone / ".git").exists():
        git("clone", "-q", str(remote), str(clone))
    return clone


def image_files(clone: Path, needle: str) -> list[str]:
    """The files of HEAD that name the app: the files ``history`` walks."""
    out = git("grep", "-l", "-F", "-e", needle, "HEAD", cwd=clone)
    return [line.partition(":")[2] for line in out.splitlines() if line.endswith(".yaml")]


def run_updater(clone: Path, image: str) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-m", "updater", "history", "--repo", str(clone), "--json", image],
        capture_output=True,
        text=True,
        env=ENV,
    )
    if result.returncode:
        raise SystemExit(f"bench_history: updater failed: {result.stderr.strip()}")
    report: dict[str, object] = json.loads(result.stdout)
    return report


def run_updater_url(url: str, app_dir: str, image: str) -> None:
    argv = ["history", "--repo", url, "--path", app_dir, "--json", image]
    result = subprocess.run(
        [sys.executable, "-m", "updater", *argv], capture_output=True, text=True, env=ENV
    )
    if result.returncode:
        raise SystemExit(f"bench_history: updater (url) failed: {result.stderr.strip()}")


def run_clone_walk(url: str, files: list[str], scratch: Path) -> None:
    dest = scratch / "clone-walk"
    git("clone", "-q", "--filter=blob:none", "--no-checkout", url, str(dest))
    run_git(dest, "log", "-p", "--", *files)
    shutil.rmtree(dest)


def run_git(clone: Path, *args: str) -> None:
    done = subprocess.run(
        ["git", *args], cwd=clone, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV
    )
    if done.returncode:
        raise SystemExit(f"bench_history: git {args[0]} failed: {done.stderr.decode()}")


def check(clone: Path, files: list[str], report: dict[str, object]) -> int:
    """Every commit git says touched the files is in the answer (a fast wrong answer
    cannot pass); returns the number of changes."""
    changes = report["changes"]
    assert isinstance(changes, list)
    touched = set(git("log", "--format=%H", "--", *files, cwd=clone).split())
    found = {c["commit"] for c in changes}
    if touched - found:
        raise SystemExit(f"bench_history: {len(touched - found)} commits missing from history")
    return len(changes)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--apps", type=int, default=gen_repo.DEFAULT_APPS)
    parser.add_argument("--commits", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--force", action="store_true", help="regenerate the remote")
    parser.add_argument("--work", type=Path, default=WORK, help="where the repos are cached")
    parser.add_argument(
        "--url", action="store_true", help="also time a URL --repo (clone, deepen) and its git"
    )
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--check", action="store_true", help=f"exit 1 if updater > {TARGET_RATIO}x follow"
    )
    args = parser.parse_args()

    remote, _ = bench_push.prepare(args.apps, args.commits, args.force, args.work)
    clone = clone_of(remote, args.work)
    app = gen_repo.make_app(args.apps // 2)
    needle = app.repository.rsplit("/", 1)[-1]
    files = image_files(clone, needle)
    changes = check(clone, files, run_updater(clone, app.repository))
    cases: dict[str, Callable[[], object]] = {
        "updater": lambda: run_updater(clone, app.repository),
        "follow": lambda: [run_git(clone, "log", "-p", "--follow", "--", f) for f in files],
        "one-walk": lambda: run_git(clone, "log", "-p", "--", *files),
    }
    if args.url:
        url, app_dir = remote.as_uri(), app.dir
        scratch = Path(tempfile.mkdtemp(prefix="bench-history-", dir=args.work))
        cases["updater-url"] = lambda: run_updater_url(url, app_dir, app.repository)
        cases["clone-walk"] = lambda: run_clone_walk(url, files, scratch)
    times = _report.interleaved(cases, args.runs)

    if args.url:
        shutil.rmtree(scratch, ignore_errors=True)
    medians = _report.medians(times)
    ratio = medians["updater"] / medians["follow"]
    ratio_walk = medians["updater"] / medians["one-walk"]
    report = {
        "repo": {"apps": args.apps, "files": args.apps * 7 + 1, "commits": args.commits},
        "image": app.repository,
        "files": files,
        "changes": changes,
        "runs": args.runs,
        "load": os.getloadavg()[0],
        **_report.seconds(times),
        "ratio_updater_to_follow": round(ratio, 2),
        "ratio_updater_to_one_walk": round(ratio_walk, 2),
        "ratio_url_to_clone_walk": (
            round(medians["updater-url"] / medians["clone-walk"], 2) if args.url else None
        ),
        "target_ratio": TARGET_RATIO,
        "ok": ratio <= TARGET_RATIO,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(
            f"config repo: {args.apps} apps, ~{args.apps * 7} files, {args.commits} commits;"
            f" load {report['load']:.2f}"
        )
        print(f"history of {app.repository}: {len(files)} files, {changes} changes")
        print("\n".join(_report.median_lines(medians, args.runs, 9)))
        print(f"  updater / follow   = {_report.ratio(ratio, TARGET_RATIO)}")
        print(f"  updater / one-walk = {_report.ratio(ratio_walk)}")
        if args.url:
            url_ratio = medians["updater-url"] / medians["clone-walk"]
            print(f"  updater-url / clone-walk = {_report.ratio(url_ratio)}")
    return 1 if args.check and not report["ok"] else 0


if __name__ == "__main__":
    sys.exit(main())
