"""``updater serve`` as the user runs it: a subprocess on 127.0.0.1, its JSON log read
back, stopped by SIGTERM (or killed) at the end of every test. Every wait is bounded
and polls for a state; nothing asserts how long something took."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar

import requests

from tests.support.registry import free_port
from tests.support.remotes import Remote, kustomization

REPO_ROOT = Path(__file__).resolve().parents[2]
SECRET = "serve-test-secret"
WAIT = 60.0  # the bound of every wait; a healthy run takes a fraction of it

T = TypeVar("T")


def signed(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def generic(image: str, digest: str | None = None, event_id: str | None = None) -> bytes:
    payload: dict[str, str] = {"image": image}
    if digest:
        payload["digest"] = digest
    if event_id:
        payload["id"] = event_id
    return json.dumps(payload).encode()


def poll_until(probe: Callable[[], T | None], what: str, bound: float = WAIT) -> T:
    """``probe()`` until it gives something true; fail naming ``what`` after ``bound``."""
    end = time.monotonic() + bound
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > end:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


class Server:
    def __init__(
        self,
        workdir: Path,
        config: Path,
        repo: str,
        *,
        mode: Sequence[str] = ("--push",),
        state_dir: Path | None = None,
        port: int | None = None,
        extra: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.workdir = workdir
        self.config = config
        self.repo = repo
        self.mode = list(mode)
        self.state_dir = state_dir or workdir / "state"
        self.port = port or free_port()
        self.extra = list(extra)
        self.env = {"UPDATER_WEBHOOK_SECRET": SECRET, **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None
        self.runs = 0
        self.session = requests.Session()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"serve-{self.port}.log"

    def argv(self) -> list[str]:
        return [
            sys.executable, "-m", "updater", "serve",
            "--config", str(self.config), "--repo", self.repo,
            "--listen", f"127.0.0.1:{self.port}", "--state-dir", str(self.state_dir),
            *self.mode, *self.extra,
        ]  # fmt: skip

    def start(self, *, ready: bool = True) -> Server:
        self.runs += 1
        env = {**os.environ, **self.env, "PYTHONPATH": str(REPO_ROOT)}
        with open(self.log_path, "ab") as out, open(self.workdir / "serve.err", "ab") as err:
            self.process = subprocess.Popen(self.argv(), stdout=out, stderr=err, env=env)
        if ready:
            self.wait_ready()
        return self

    def wait_ready(self) -> None:
        def probe() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"serve exited {self.process.returncode}: {self.stderr()}")
            try:
                return self.session.get(f"{self.url}/readyz", timeout=5).status_code == 200
            except requests.ConnectionError:
                return False

        poll_until(probe, "/readyz to answer 200")

    def stderr(self) -> str:
        path = self.workdir / "serve.err"
        return path.read_text(errors="replace") if path.exists() else ""

    def post(
        self,
        source: str,
        body: bytes,
        headers: Mapping[str, str] | None = None,
        query: Mapping[str, str] | None = None,
    ) -> requests.Response:
        return self.session.post(
            f"{self.url}/hooks/{source}", data=body, headers=dict(headers or {}),
            params=dict(query or {}), timeout=30,
        )  # fmt: skip

    def push_event(self, image: str, digest: str | None = None, **kw: Any) -> requests.Response:
        body = generic(image, digest, kw.get("event_id"))
        response = self.post("generic", body, {"X-Signature": signed(body)})
        assert response.status_code == 202, response.text
        return response

    def metrics(self) -> str:
        return self.session.get(f"{self.url}/metrics", timeout=10).text

    def logs(self, kind: str | None = None) -> list[dict[str, Any]]:
        if not self.log_path.exists():
            return []
        lines = [json.loads(line) for line in self.log_path.read_text().splitlines() if line]
        return [line for line in lines if kind is None or line["kind"] == kind]

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process is None:
            return 0
        process, self.process = self.process, None
        if process.poll() is None:
            process.send_signal(sig)
        try:
            return process.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise AssertionError("serve did not stop on SIGTERM") from None

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def status(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "updater", "serve", "--status", "--state-dir",
             str(self.state_dir), *args],
            capture_output=True, text=True, timeout=WAIT,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        )  # fmt: skip

    def state(self) -> dict[str, Any]:
        done = self.status("--json")
        assert done.returncode == 0, done.stderr
        return dict(json.loads(done.stdout))


@contextmanager
def running(*servers: Server) -> Iterator[None]:
    """Stop every server at the end, whatever happened."""
    try:
        yield
    finally:
        for server in servers:
            with suppress(AssertionError):
                server.stop()
            server.session.close()


def config_text(images: str, webhooks: str = "", extra: str = "") -> str:
    return (
        f"images:\n{images}"
        + "webhooks:\n  secret-env: UPDATER_WEBHOOK_SECRET\n"
        + webhooks
        + extra
    )


def overlay_remote(path: Path, image: str, tag: str = "1.0.0", **more: str) -> Remote:
    """A bare config repo at ``path`` with ``apps/api`` deploying ``image:tag`` (and an
    overlay per ``name=image`` in ``more``, at the same tag)."""
    files = {"apps/api/kustomization.yaml": kustomization(image, tag)}
    files |= {f"apps/{name}/kustomization.yaml": kustomization(i, tag) for name, i in more.items()}
    return Remote(path, {**files, "apps/base/kustomization.yaml": "resources: []\n"})
