"""Config repos of many files, the CLI as real subprocesses, and a handle on a run held
at a fault-injection point (``updater.faults``): no sleeps, no timing."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.support.remotes import REPO_ROOT, git

API = "ghcr.io/acme/api"
WEB = "ghcr.io/acme/web"
DEADLINE = 120  # seconds any one run or wait may take before the test fails


def app_file(index: int, api: str = "1.0.0", web: str = "1.0.0") -> str:
    return (
        "apiVersion: kustomize.config.k8s.io/v1beta1\n"
        "kind: Kustomization\n"
        f"# app {index}\n"
        "images:\n"
        f"  - name: {API}\n"
        f'    newTag: "{api}"\n'
        f"  - name: {WEB}\n"
        f'    newTag: "{web}"\n'
    )


def make_apps(root: Path, count: int, *, commit: bool = False) -> list[Path]:
    """``count`` kustomizations, each deploying both images; optionally a git repo."""
    files = []
    for index in range(count):
        path = root / "apps" / f"app-{index:04d}" / "kustomization.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(app_file(index))
        files.append(path)
    if commit:
        git("init", "-q", "-b", "main", cwd=root)
        git("add", "-A", cwd=root)
        git("commit", "-q", "-m", "seed", cwd=root)
    return files


def tags(path: Path) -> tuple[str, str]:
    """(api tag, web tag) of one app file."""
    lines = path.read_text().splitlines()
    return lines[5].split('"')[1], lines[7].split('"')[1]


def leftovers(root: Path) -> list[str]:
    return sorted(
        p.relative_to(root).as_posix() for p in root.rglob("*.updater-tmp") if ".git" not in p.parts
    )


def environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO_ROOT), "NO_COLOR": "1", **(extra or {})}


def run(*args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "updater", *args],
        capture_output=True,
        text=True,
        env=environment(env),
        timeout=DEADLINE,
        check=False,
    )


def start(*args: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "updater", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(env),
    )


class HeldRun:
    """A CLI run that stops at fault point ``point`` until :meth:`kill` or :meth:`resume`."""

    def __init__(
        self, tmp: Path, point: str, args: Sequence[str], env: Mapping[str, str] | None = None
    ) -> None:
        self.fifo = tmp / f"stop-{os.getpid()}-{id(self)}.fifo"
        os.mkfifo(self.fifo)
        self.point = point
        self.process = start(
            *args,
            env={
                **(env or {}),
                "UPDATER_TEST_STOP_AT": point,
                "UPDATER_TEST_STOP_FIFO": str(self.fifo),
            },
        )

    def wait_until_held(self) -> None:
        """Block until the run reports it reached the point (fail if it ends first)."""
        said: list[str] = []

        def listen() -> None:
            with open(self.fifo, encoding="utf-8") as stream:
                said.append(stream.read())

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        while listener.is_alive() and self.process.poll() is None:
            listener.join(0.05)
        listener.join(DEADLINE if self.process.poll() is None else 0)
        if not said:
            out, err = self.process.communicate(timeout=DEADLINE)
            # Unblock the listener: it waits for a writer that never came.
            os.close(os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK))
            raise AssertionError(f"the run ended before {self.point}: {err or out}")
        assert said == [self.point + "\n"]

    def kill(self) -> None:
        self.process.kill()
        self.process.communicate(timeout=DEADLINE)

    def resume(self) -> subprocess.CompletedProcess[str]:
        with open(self.fifo, "w", encoding="utf-8"):
            pass
        out, err = self.process.communicate(timeout=DEADLINE)
        return subprocess.CompletedProcess(self.process.args, self.process.returncode, out, err)

    def close(self) -> None:
        if self.process.poll() is None:
            self.kill()
