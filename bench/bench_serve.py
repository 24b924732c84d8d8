"""``updater serve``: push-to-commit latency, and a load of mixed webhooks.

Latency, on loopback with the real registry: ``skopeo copy`` pushes a new tag, the
registry notifies the server, and the clock stops when the commit is on the bare
remote. p50 and p99 over N pushes, with ``--debounce 0`` and with the default 2 s.
Baseline in the same run: ``updater set-image --push`` of the same kind of change, run
by hand right after the push (what a CI job does), median of 5. Target: p99 <= 1 s +
debounce.

Load: R requests a second of mixed sources (generic and distribution events for the
configured images, GHCR, Docker Hub, Harbor, Quay, ACR and Artifactory payloads for
others) for S seconds, from W client threads. Reported: requests answered 202 (sent,
answered, stored), events stored, commits made, deliveries, and the server's peak RSS.
Target: nothing lost (every 202's events stored), one delivery per debounce window.

    python bench/bench_serve.py [--pushes 50] [--rate 500] [--seconds 30] [--workers 16]
                                [--skip-latency] [--skip-load]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.serve.registry import Layout, notifying_registry, skopeo_copy  # noqa: E402
from tests.serve.server import SECRET, Server, generic, poll_until, signed  # noqa: E402
from tests.serve.test_sources import FIRST_VALID, fixture, request  # noqa: E402
from tests.support.registry import free_port  # noqa: E402
from tests.support.remotes import Remote, kustomization  # noqa: E402

DEFAULT_DEBOUNCE = 2.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def tip(remote: Remote) -> str:
    """The remote branch's tip, read the cheap way (a push writes a loose ref)."""
    ref = remote.path / "refs" / "heads" / remote.branch
    return ref.read_text().strip() if ref.exists() else remote.log()[0]


def config(base: Path, image: str, registry_host: str, debounce: float) -> Path:
    path = base / "updater.yaml"
    path.write_text(
        f"images:\n  - name: {image}\n    policy: semver\n    range: '^1'\n"
        f"registries:\n  - host: {registry_host}\n    insecure: true\n"
        f"webhooks:\n  secret-env: UPDATER_WEBHOOK_SECRET\n  debounce: {debounce}s\n"
    )
    return path


def latency(base: Path, pushes: int, debounce: float) -> list[float]:
    port = free_port()
    with notifying_registry(
        base / "registry", f"http://127.0.0.1:{port}/hooks/distribution"
    ) as reg:
        image = f"{reg.host}/bench/api"
        remote = Remote(
            base / "remote.git",
            {
                "apps/api/kustomization.yaml": kustomization(image, "1.0.0"),
                "apps/base/kustomization.yaml": "resources: []\n",
            },
        )
        layout = Layout(base / "oci")
        tags = [f"1.0.{n}" for n in range(1, pushes + 1)]
        for n, tag in enumerate(tags):
            layout.single(tag, f"bench{n}")
        server = Server(base, config(base, image, reg.host, debounce), remote.url, port=port)
        out = []
        try:
            server.start()
            for tag in tags:
                before = tip(remote)
                skopeo_copy(layout, tag, reg, "bench/api")
                started = time.monotonic()
                poll_until(lambda b=before: tip(remote) != b, f"the commit of {tag}", 120)
                out.append(time.monotonic() - started)
        finally:
            server.stop()
            server.session.close()
    return out


def baseline(base: Path, runs: int = 5) -> list[float]:
    """``set-image --push`` of one new tag to a bare remote, by hand: what a CI job runs."""
    image = "registry.bench.test/bench/api"
    remote = Remote(
        base / "remote.git",
        {
            "apps/api/kustomization.yaml": kustomization(image, "1.0.0"),
            "apps/base/kustomization.yaml": "resources: []\n",
        },
    )
    out = []
    for n in range(runs):
        started = time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "updater", "set-image", "--repo", remote.url, "--push",
             f"{image}:1.1.{n}"],
            check=True, capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
        out.append(time.monotonic() - started)
    return out


# --------------------------------------------------------------------------- load

OTHERS = ("github", "dockerhub", "harbor", "quay", "acr", "artifactory")


def load_requests(
    image_host: str, count: int
) -> list[tuple[str, bytes, dict[str, str], dict[str, str]]]:
    """``count`` requests in sending order: per ten, four generic and two distribution
    events for the configured images with ever newer tags (so every debounce window has
    something to deliver), three payloads of the other sources (for images the config
    does not list) and one resend of an earlier request (a duplicate)."""
    others = [FIRST_VALID[source] for source in OTHERS]
    mix: list[tuple[str, bytes, dict[str, str], dict[str, str]]] = []
    for n in range(count):
        slot = n % 10
        target = "api" if n % 2 else "worker"
        tag = f"1.{n // 10_000}.{n % 10_000}"
        if slot < 4:
            body = generic(f"{image_host}/bench/{target}:{tag}", event_id=f"ci-{n}")
            mix.append(("generic", body, {"X-Signature": signed(body)}, {}))
        elif slot < 6:
            event = {
                "id": f"reg-{n}",
                "action": "push",
                "target": {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": "sha256:" + f"{n:064x}",
                    "repository": f"bench/{target}",
                    "tag": tag,
                },
                "request": {"host": image_host},
            }
            data = json.dumps({"events": [event]}).encode()
            mix.append(("distribution", data, {"Authorization": f"Bearer {SECRET}"}, {}))
        elif slot < 9:
            source, name, extra, _ = others[n % len(others)]
            incoming = request(source, fixture(name), secret=SECRET, extra=extra)
            mix.append((source, incoming.body, dict(incoming.headers), dict(incoming.query)))
        else:
            mix.append(mix[-5])
    return mix


def peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def load(base: Path, rate: int, seconds: float, workers: int) -> dict[str, Any]:
    host = "registry.bench.test"
    remote = Remote(
        base / "remote.git",
        {
            "apps/api/kustomization.yaml": kustomization(f"{host}/bench/api", "1.0.0"),
            "apps/worker/kustomization.yaml": kustomization(f"{host}/bench/worker", "1.0.0"),
            "apps/base/kustomization.yaml": "resources: []\n",
        },
    )
    cfg = base / "updater.yaml"
    cfg.write_text(
        "images:\n"
        + "".join(
            f"  - name: {host}/bench/{name}\n    policy: semver\n    range: '^1'\n"
            for name in ("api", "worker")
        )
        + f"webhooks:\n  secret-env: UPDATER_WEBHOOK_SECRET\n  debounce: {DEFAULT_DEBOUNCE}s\n"
    )
    server = Server(base, cfg, remote.url)
    mix = load_requests(host, int(rate * seconds) + rate)
    counts = {"sent": 0, "accepted": 0, "events": 0, "other": 0}
    lock = threading.Lock()
    stop_at = 0.0
    try:
        server.start()
        assert server.process is not None
        pid = server.process.pid
        stop_at = time.monotonic() + seconds
        interval = workers / rate

        def client(offset: int) -> None:
            import requests

            session = requests.Session()
            n = offset
            next_at = time.monotonic()
            while time.monotonic() < stop_at:
                source, body, headers, query = mix[n % len(mix)]
                n += workers
                answer = session.post(
                    f"{server.url}/hooks/{source}", data=body, headers=headers, params=query,
                    timeout=30,
                )  # fmt: skip
                with lock:
                    counts["sent"] += 1
                    if answer.status_code == 202:
                        counts["accepted"] += 1
                        counts["events"] += answer.json()["accepted"]
                    else:
                        counts["other"] += 1
                next_at += interval
                pause = next_at - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
            session.close()

        threads = [threading.Thread(target=client, args=(i,)) for i in range(workers)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started

        def settled() -> bool:
            return server.state()["counts"]["queued"] == 0

        poll_until(settled, "the queue to drain", 300)
        rss = peak_rss(pid)
    finally:
        server.stop()
        server.session.close()
    db = sqlite3.connect(server.state_dir / "events.sqlite")
    stored = db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    states = dict(db.execute("SELECT state, COUNT(*) FROM events GROUP BY state").fetchall())
    db.close()
    deliveries = [d for d in server.logs("delivery")]
    return {
        **counts,
        "elapsed": elapsed,
        "rate": counts["sent"] / elapsed,
        "stored": stored,
        "states": states,
        "commits": len(remote.log()) - 1,
        "deliveries": len(deliveries),
        "changed": sum(1 for d in deliveries if d["result"] == "changed"),
        "rss": rss,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pushes", type=int, default=50)
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-load", action="store_true")
    args = parser.parse_args()
    work = ROOT / "bench" / ".work"
    work.mkdir(parents=True, exist_ok=True)
    if not args.skip_latency:
        with tempfile.TemporaryDirectory(dir=work) as tmp:
            base = baseline(Path(tmp))
        print(f"baseline set-image --push: median {statistics.median(base):.3f} s (of {len(base)})")
        for debounce in (0.0, DEFAULT_DEBOUNCE):
            with tempfile.TemporaryDirectory(dir=work) as tmp:
                found = latency(Path(tmp), args.pushes, debounce)
            p50, p99 = percentile(found, 0.50), percentile(found, 0.99)
            verdict = "ok" if p99 <= 1.0 + debounce else "OVER"
            print(
                f"latency debounce {debounce:g}s over {len(found)} pushes: p50 {p50:.3f} s,"
                f" p99 {p99:.3f} s, max {max(found):.3f} s (target p99 <= {1 + debounce:g} s:"
                f" {verdict}); p50 / baseline {p50 / statistics.median(base):.2f}x"
            )
    if not args.skip_load:
        with tempfile.TemporaryDirectory(dir=work) as tmp:
            result = load(Path(tmp), args.rate, args.seconds, args.workers)
        windows = result["elapsed"] / DEFAULT_DEBOUNCE
        lost = "none lost" if result["stored"] == result["events"] else "LOST"
        print(
            f"load {args.rate}/s asked for {args.seconds:g} s ({args.workers} clients): sent"
            f" {result['sent']} ({result['rate']:.0f}/s), 202 {result['accepted']}, other"
            f" {result['other']}; events in 202s {result['events']}, rows stored"
            f" {result['stored']} ({lost});"
            f" states {result['states']}; deliveries {result['deliveries']}"
            f" ({result['changed']} changed) for {windows:.0f} debounce windows, commits"
            f" {result['commits']}; server peak RSS {result['rss'] / 2**20:.0f} MiB"
        )


if __name__ == "__main__":
    main()
