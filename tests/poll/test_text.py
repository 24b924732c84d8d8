"""``poll`` and ``set-image`` show their results through one renderer (updater.output):
the same diff, coloured on a terminal unless ``NO_COLOR`` is set, and the same lines."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.poll import config_repo, deployment
from tests.support.registry import Registry

pytestmark = pytest.mark.registry
ROOT = Path(__file__).resolve().parents[2]
GREEN, RED = "\x1b[32m", "\x1b[31m"


def on_a_terminal(args: list[str], env: dict[str, str], tmp_path: Path) -> tuple[int, str, str]:
    """Run ``updater ARGS`` with stdout on a pseudo-terminal: (status, stdout, stderr)."""
    main, child = pty.openpty()
    with open(tmp_path / "stderr", "w+", encoding="utf-8") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "updater", *args], stdout=child, stderr=stderr, env=env
        )
        os.close(child)
        chunks = []
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # EIO: the child's side is closed
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(main)
        status = process.wait()
        stderr.seek(0)
        errors = stderr.read()
    return status, b"".join(chunks).decode().replace("\r\n", "\n"), errors


@pytest.mark.parametrize("no_color", [False, True])
def test_poll_and_set_image_print_the_same_diff_honouring_no_color(
    anon: Registry, repo_name: str, tmp_path: Path, no_color: bool
) -> None:
    image = f"{anon.host}/{repo_name}"
    anon.push_image(repo_name, ["1.0.0", "1.0.1"])
    repo = config_repo(tmp_path, {"app.yaml": deployment(f"{image}:1.0.0")}, "images: []\n")
    config = tmp_path / "poll.yaml"
    config.write_text(f"images:\n  - name: {image}\n    policy: semver\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "UPDATER_INSECURE_REGISTRIES": anon.host}
    env.pop("NO_COLOR", None)
    if no_color:
        env["NO_COLOR"] = "1"

    status, polled, poll_notes = on_a_terminal(
        ["poll", "--config", str(config), "--repo", str(repo)], env, tmp_path
    )
    assert status == 0, poll_notes
    status, set_, set_notes = on_a_terminal(
        ["set-image", "--repo", str(repo), f"{image}:1.0.1"], env, tmp_path
    )
    assert status == 0, set_notes

    assert polled == set_
    assert (GREEN in polled and RED in polled) is not no_color
    assert ("\x1b[" in polled) is not no_color
    assert f"{image}:1.0.0 -> {image}:1.0.1 (1 file)" in poll_notes.splitlines()
    assert f"{image}:1.0.0 -> {image}:1.0.1 (1 file)" in set_notes.splitlines()
