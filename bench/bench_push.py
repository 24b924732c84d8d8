"""Time `set-image --push --path OVERLAY` against a big config repo.

The remote is a bare repo on disk (cloned over file://) made from bench/gen_repo.py's
synthetic config repo: 1,250 apps x 7 files (~8,750 files) with 20,000 commits of
history. Each round times, from process start to pushed commit:

- ``updater``: ``python -m updater set-image --repo file://... --path apps/X/overlays/prod
  --push IMAGE:TAG`` (shallow, blobless, sparse clone; plan; commit; push);
- ``plain-git``: the cheapest hand-written equivalent, ``git clone --depth 1
  --filter=blob:none --sparse``, ``git sparse-checkout set``, edit the file in Python,
  ``git commit -a``, ``git push``;
- ``full-clone`` (with ``--full``): the usual seed script, a full clone, edit, commit, push.

Between runs the remote's branch is put back where it was, so every run does the same
work. Cases are interleaved round by round; figures are medians. Target: the updater
within 2x of plain git measured in the same run.

Usage::

    python bench/bench_push.py                  # generate bench/.work/push-remote.git once, measure
    python bench/bench_push.py --runs 5 --full  # also the full-clone script
    python bench/bench_push.py --json --check   # machine-readable; exit 1 if the target is missed
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import _report
import gen_repo

PROJECT = Path(__file__).resolve().parent.parent
WORK = PROJECT / "bench" / ".work"
TARGET_RATIO = 2.0
ENV = {
    **os.environ,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    "PYTHONPATH": str(PROJECT),
}


def git(*args: str, cwd: Path | None = None) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=ENV)
    if result.returncode:
        raise SystemExit(f"bench_push: git {' '.join(args[:2])} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def prepare(apps: int, commits: int, force: bool, work: Path = WORK) -> tuple[Path, str]:
    """The bare remote (cached in bench/.work) and its branch tip."""
    source = work / f"push-src-{apps}x{commits}"
    remote = work / f"push-remote-{apps}x{commits}.git"
    if force or not (remote / "HEAD").exists():
        shutil.rmtree(remote, ignore_errors=True)
        started = time.monotonic()
        gen_repo.generate(source, apps=apps, commits=commits, force=True)
        git("clone", "-q", "--bare", str(source), str(remote))
        shutil.rmtree(source, ignore_errors=True)
        git("repack", "-a", "-d", "-f", "-q", cwd=remote)  # packed like a forge's copy
        print(f"generated {remote.name} in {time.monotonic() - started:.1f}s", file=sys.stderr)
    git("config", "uploadpack.allowFilter", "true", cwd=remote)
    return remote, git("rev-parse", "refs/heads/main", cwd=remote)


def run_updater(url: str, overlay: str, image: str, tag: str, scratch: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "updater",
            "set-image",
            "--repo",
            url,
            "--path",
            overlay,
            "--push",
            f"{image}:{tag}",
        ],
        cwd=scratch,
        capture_output=True,
        text=True,
        env={**ENV, "TMPDIR": str(scratch)},
    )
    if result.returncode:
        raise SystemExit(f"bench_push: updater failed: {result.stderr.strip()}")


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    needle = f"newTag: {old}"
    if needle not in text:
        needle = f'newTag: "{old}"'
        new = f'"{new}"'
    path.write_text(text.replace(needle, f"newTag: {new}", 1), encoding="utf-8")


def run_plain_git(url: str, overlay: str, old: str, tag: str, scratch: Path) -> None:
    dest = scratch / "plain"
    git("clone", "-q", "--depth", "1", "--filter=blob:none", "--sparse", url, str(dest))
    git("sparse-checkout", "set", str(Path(overlay).parent), cwd=dest)
    _edit(dest / overlay, old, tag)
    git("commit", "-q", "-am", f"set {tag}", cwd=dest)
    git("push", "-q", "origin", "HEAD:main", cwd=dest)
    shutil.rmtree(dest)


def run_full_clone(url: str, overlay: str, old: str, tag: str, scratch: Path) -> None:
    dest = scratch / "full"
    git("clone", "-q", url, str(dest))
    _edit(dest / overlay, old, tag)
    git("commit", "-q", "-am", f"set {tag}", cwd=dest)
    git("push", "-q", "origin", "HEAD:main", cwd=dest)
    shutil.rmtree(dest)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--apps", type=int, default=gen_repo.DEFAULT_APPS)
    parser.add_argument("--commits", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--full", action="store_true", help="also time a full clone (the seed script)"
    )
    parser.add_argument("--force", action="store_true", help="regenerate the remote")
    parser.add_argument("--work", type=Path, default=WORK, help="where the remote is cached")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--check", action="store_true", help=f"exit 1 if updater > {TARGET_RATIO}x plain git"
    )
    args = parser.parse_args()

    remote, tip = prepare(args.apps, args.commits, args.force, args.work)
    url = remote.as_uri()
    app = gen_repo.make_app(args.apps // 2)
    overlay, old = app.overlay("prod"), app.tags["prod"]
    image = app.repository
    cases: dict[str, Callable[[Path, str], None]] = {
        "updater": lambda scratch, tag: run_updater(
            url, str(Path(overlay).parent), image, tag, scratch
        ),
        "plain-git": lambda scratch, tag: run_plain_git(url, overlay, old, tag, scratch),
    }
    if args.full:
        cases["full-clone"] = lambda scratch, tag: run_full_clone(url, overlay, old, tag, scratch)
    times: dict[str, list[float]] = {name: [] for name in cases}
    for round_number in range(args.runs + 1):  # round 0 warms caches and is not counted
        for name, case in cases.items():
            git("update-ref", "refs/heads/main", tip, cwd=remote)
            with tempfile.TemporaryDirectory(prefix="bench-push-") as scratch:
                tag = f"{old}-bench.{round_number}"
                elapsed = _report.timed(lambda c=case, s=Path(scratch), t=tag: c(s, t))  # type: ignore[misc]
            pushed = git("rev-parse", "refs/heads/main", cwd=remote)
            if pushed == tip or git("rev-parse", f"{pushed}^", cwd=remote) != tip:
                raise SystemExit(f"bench_push: {name} did not push one commit on the tip")
            if round_number:
                times[name].append(elapsed)
    git("update-ref", "refs/heads/main", tip, cwd=remote)

    medians = _report.medians(times)
    ratio = medians["updater"] / medians["plain-git"]
    report = {
        "repo": {"apps": args.apps, "files": args.apps * 7 + 1, "commits": args.commits},
        "overlay": str(Path(overlay).parent),
        "runs": args.runs,
        **_report.seconds(times),
        "ratio_updater_to_plain_git": round(ratio, 2),
        "target_ratio": TARGET_RATIO,
        "ok": ratio <= TARGET_RATIO,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(
            f"config repo: {args.apps} apps, ~{args.apps * 7} files, {args.commits} commits (file://)"
        )
        print("\n".join(_report.median_lines(medians, args.runs, 11)))
        print(f"  updater / plain git = {_report.ratio(ratio, TARGET_RATIO)}")
    return 1 if args.check and not report["ok"] else 0


if __name__ == "__main__":
    sys.exit(main())
