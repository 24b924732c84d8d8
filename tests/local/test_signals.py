"""A cancelled CI job (SIGTERM) or Ctrl-C (SIGINT) still removes the temporary clone."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.local.harness import API, HeldRun
from tests.support.remotes import Remote


@pytest.mark.parametrize("sent", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_removes_the_temporary_clone(
    remote: Remote, tmp_path: Path, sent: signal.Signals
) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    held = HeldRun(
        tmp_path,
        "cloned",
        ["set-image", "--repo", remote.url, "--push", f"{API}:1.1.0"],
        env={"TMPDIR": str(temp)},
    )
    try:
        held.wait_until_held()
        assert [p.name for p in temp.iterdir() if p.name.startswith("updater-")]
        held.process.send_signal(sent)
        _, err = held.process.communicate(timeout=120)
    finally:
        held.close()
    assert held.process.returncode != 0
    assert "Traceback" not in err
    assert [p.name for p in temp.iterdir() if p.name.startswith("updater-")] == []
    assert len(remote.log()) == 1  # nothing pushed
