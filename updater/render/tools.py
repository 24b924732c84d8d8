"""The renderers the pull agents use: ``kustomize build`` (or ``kubectl kustomize``) and
``helm template``, found on PATH or named by the user, run with a deadline and with the
network shut off as far as each tool allows."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from updater import deadline
from updater.errors import UsageError

RENDER_SECONDS = 120.0  # one render; cut to what is left of the run
# A proxy nobody listens on: a renderer that tries the network fails at once instead
# of fetching (or hanging on) a remote base or chart repository.
DEAD_PROXY = "http://127.0.0.1:9"


@dataclass(frozen=True)
class Renderer:
    """One renderer program and the argv prefix that renders a directory with it."""

    kind: str  # kustomize | helm
    path: str
    prefix: tuple[str, ...]  # e.g. (path, "kustomize") for kubectl

    @property
    def name(self) -> str:
        return " ".join([Path(self.path).name, *self.prefix[1:]])


@dataclass(frozen=True)
class Completed:
    ok: bool
    stdout: str
    stderr: str
    seconds: float


def _which(name: str) -> str | None:
    return shutil.which(name)


def _named(option: str, value: str) -> str:
    found = shutil.which(value) if os.sep not in value else value
    if not found or not os.access(found, os.X_OK) or not Path(found).is_file():
        raise UsageError(f"{option} {value}: not an executable program")
    return found


def find_kustomize(named: str | None = None) -> Renderer | None:
    """``kustomize`` (``build``), else ``kubectl`` (``kustomize``); ``named`` wins and may
    be either program (told apart by its name)."""
    path = _named("--kustomize-bin", named) if named else _which("kustomize") or _which("kubectl")
    if path is None:
        return None
    if Path(path).name.startswith("kubectl"):
        return Renderer("kustomize", path, (path, "kustomize"))
    return Renderer("kustomize", path, (path, "build"))


def find_helm(named: str | None = None) -> Renderer | None:
    path = _named("--helm-bin", named) if named else _which("helm")
    if path is None:
        return None
    return Renderer("helm", path, (path, "template"))


def offline_env(home: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment renderers run in: no proxies but a dead one, and helm's config,
    cache and repository list in an empty directory, so it knows no chart repository
    and no registry login, and cannot download what is not vendored."""
    env = {
        k: v
        for k, v in (base if base is not None else os.environ).items()
        if not k.upper().endswith("_PROXY") and not k.startswith(("HELM_", "KUSTOMIZE_"))
    }
    for key in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        env[key] = DEAD_PROXY
    env["NO_PROXY"] = env["no_proxy"] = ""
    for key, sub in (
        ("HELM_CACHE_HOME", "cache"),
        ("HELM_CONFIG_HOME", "config"),
        ("HELM_DATA_HOME", "data"),
    ):
        env[key] = str(home / sub)
    env["HELM_REPOSITORY_CONFIG"] = str(home / "config" / "repositories.yaml")
    env["HELM_REPOSITORY_CACHE"] = str(home / "cache" / "repository")
    env["HELM_REGISTRY_CONFIG"] = str(home / "config" / "registry.json")
    env["HELM_PLUGINS"] = str(home / "plugins")
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["KUBECONFIG"] = str(home / "kubeconfig")  # helm template never talks to a cluster
    return env


def run(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], what: str) -> Completed:
    """Run one render; a deadline or a program that cannot start is a failed render."""
    import time

    started = time.monotonic()
    timeout = deadline.cap(RENDER_SECONDS, what)
    try:
        done = subprocess.run(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Completed(False, "", f"{what}: no answer within {timeout:g} s", timeout)
    except OSError as error:
        return Completed(False, "", f"{what}: cannot run: {error.strerror}", 0.0)
    return Completed(
        done.returncode == 0,
        done.stdout.decode("utf-8", "replace"),
        done.stderr.decode("utf-8", "replace"),
        time.monotonic() - started,
    )
