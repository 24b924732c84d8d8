"""``poll --dry-run`` against ``skopeo list-tags`` run for each repository in turn.

30 repositories x 200 tags in the local docker-registry, one config repo referencing
all 30 (semver policy), both measured in the same run: median of 5 and the ratio.
Target: poll <= 1.5x the skopeo loop.

    python bench/bench_poll.py [--repos 30] [--tags 200] [--runs 5] [--check]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import _report

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.registry import Registry, start_registry  # noqa: E402

TARGET = 1.5


def populate(registry: Registry, repos: int, tags: int) -> list[str]:
    names = [f"bench/app{n:02d}" for n in range(repos)]

    def one(name: str) -> None:
        body = registry.image_manifest(name, created="2024-01-01T00:00:00Z", salt=name)
        for n in range(tags):
            registry.put_manifest(
                name, f"1.{n // 20}.{n % 20}", body, "application/vnd.oci.image.manifest.v1+json"
            )

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, names))
    return names


def config_repo(base: Path, registry: Registry, names: list[str]) -> Path:
    repo = base / "config-repo"
    for n, name in enumerate(names):
        path = repo / "deploy" / f"app{n:02d}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
            f"  name: app{n:02d}\nspec:\n  template:\n    spec:\n      containers:\n"
            f"        - name: app\n          image: {registry.host}/{name}:1.0.0\n"
        )
    lines = ["images:"]
    for name in names:
        lines += [f"  - name: {registry.host}/{name}", "    policy: semver", "    range: '^1.0'"]
    lines += ["registries:", f"  - host: {registry.host}", "    insecure: true"]
    (repo / ".image-updater.yaml").write_text("\n".join(lines) + "\n")
    return repo


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=30)
    parser.add_argument("--tags", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--check", action="store_true", help=f"exit 1 above {TARGET}x")
    args = parser.parse_args()
    skopeo = shutil.which("skopeo")
    if skopeo is None:
        print("skopeo not found (Debian package skopeo)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-poll-") as scratch:
        base = Path(scratch)
        registry = start_registry(base / "registry")
        try:
            started = time.perf_counter()
            names = populate(registry, args.repos, args.tags)
            print(
                f"pushed {args.repos} repositories x {args.tags} tags"
                f" in {time.perf_counter() - started:.1f}s",
                file=sys.stderr,
            )
            repo = config_repo(base, registry, names)
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            poll = [sys.executable, "-m", "updater", "poll", "--repo", str(repo), "--dry-run"]

            def run_poll() -> None:
                subprocess.run(
                    poll, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
                )

            def skopeo_loop() -> None:
                for name in names:
                    subprocess.run(
                        [
                            skopeo,
                            "list-tags",
                            "--tls-verify=false",
                            f"docker://{registry.host}/{name}",
                        ],
                        check=True,
                        stdout=subprocess.DEVNULL,
                    )

            # warms caches (bytecode, page cache) for both sides alike, then interleaved
            times = _report.interleaved({"poll": run_poll, "skopeo": skopeo_loop}, args.runs)
        finally:
            registry.stop()
    polls, loops = times["poll"], times["skopeo"]
    medians = _report.medians(times)
    poll_median, loop_median = medians["poll"], medians["skopeo"]
    ratio = poll_median / loop_median
    runs = _report.samples
    print(f"poll --dry-run ({args.repos} images):   median {poll_median:.3f}s  runs {runs(polls)}")
    print(f"skopeo list-tags x {args.repos} in turn: median {loop_median:.3f}s  runs {runs(loops)}")
    print(f"ratio {_report.ratio(ratio, TARGET)}")
    return 1 if args.check and ratio > TARGET else 0


if __name__ == "__main__":
    raise SystemExit(main())
