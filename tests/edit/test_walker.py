"""The file walker and reader against hostile trees: symlinks that dangle, loop, lead to
a directory or out of the repo; FIFOs, sockets; huge and deeply nested files. Each is a
one-line error or a skip with its reason, never a traceback or a hang, and nothing is
written."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.edit.helpers import make_repo
from tests.edit.test_cli import DEPLOYMENT, snapshot
from updater.edit.reading import max_file_size, read_file
from updater.errors import UsageError

IMAGE = "ghcr.io/acme/api"
# A FIFO read would block for ever: every run gets a deadline, a hang is a failure.
DEADLINE = 60


def updater(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "updater", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
        check=False,
        timeout=DEADLINE,
    )


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI in this process (no start-up cost): for trees that cannot hang a reader."""
    from click.testing import CliRunner

    from updater.cli import cli as command

    result = CliRunner(env={"NO_COLOR": "1", **(env or {})}).invoke(command, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(list(args), result.exit_code, result.stdout, result.stderr)


def one_line_error(result: subprocess.CompletedProcess[str], code: int, text: str) -> None:
    assert result.returncode == code, result.stderr
    assert result.stderr.startswith("updater: error: "), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert text in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", {"base/deployment.yaml": DEPLOYMENT})


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _socket(path: Path) -> None:
    # AF_UNIX paths are limited to ~100 bytes: bind from inside the directory.
    here = os.getcwd()
    os.chdir(path.parent)
    try:
        server = socket.socket(socket.AF_UNIX)
        server.bind(path.name)
        server.close()
    finally:
        os.chdir(here)


# name -> (make it in the repo, the reason scan --skipped gives)
HOSTILE = {
    "dangling.yaml": (lambda p: p.symlink_to("nowhere.yaml"), "dangling symlink (to nowhere.yaml)"),
    "loop.yaml": (lambda p: p.symlink_to("loop.yaml"), "symlink loop"),
    "pair.yaml": (lambda p: p.symlink_to("pair2.yaml"), "symlink loop"),
    "pair2.yaml": (lambda p: p.symlink_to("pair.yaml"), "symlink loop"),
    "dir.yaml": (lambda p: p.symlink_to("base"), "symlink to a directory, not followed"),
    "fifo.yaml": (_fifo, "not a regular file (a FIFO)"),
    "to-fifo.yaml": (lambda p: p.symlink_to("fifo.yaml"), "symlink to a FIFO"),
    "socket.yaml": (_socket, "not a regular file (a socket)"),
    "deep/kustomization.yaml": (
        lambda p: p.symlink_to("../missing/kustomization.yaml"),
        "dangling symlink (to ../missing/kustomization.yaml)",
    ),
}


@pytest.fixture
def hostile(repo: Path) -> Path:
    for name, (make, _) in HOSTILE.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        make(path)
    return repo


def test_scan_skips_every_unreadable_entry_with_its_reason(hostile: Path) -> None:
    result = updater("scan", "--repo", str(hostile), "--skipped", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    skipped = {row["file"]: row["skipped"] for row in rows if "skipped" in row}
    assert skipped == {name: reason for name, (_, reason) in HOSTILE.items()}
    assert [row["file"] for row in rows if "image" in row] == ["base/deployment.yaml"]
    table = updater("scan", "--repo", str(hostile), "--skipped")
    assert "fifo.yaml  " in table.stdout and "fifo.yaml:0" not in table.stdout
    plain = updater("scan", "--repo", str(hostile))
    assert plain.returncode == 0 and "skipped" not in plain.stdout


def test_set_image_edits_around_unreadable_entries(hostile: Path) -> None:
    result = updater("set-image", "--repo", str(hostile), "--write", f"{IMAGE}:1.5.0")
    assert result.returncode == 0, result.stderr
    assert f"{IMAGE}:1.5.0" in (hostile / "base/deployment.yaml").read_text()
    assert (hostile / "fifo.yaml").is_fifo() and (hostile / "dangling.yaml").is_symlink()


def test_scan_of_a_path_under_hostile_entries(hostile: Path) -> None:
    result = updater("scan", "--repo", str(hostile), "--path", "deep", "--skipped")
    assert result.returncode == 0, result.stderr
    assert "deep/kustomization.yaml" in result.stdout


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("dangling.yaml", "--path dangling.yaml: dangling symlink (to nowhere.yaml)"),
        ("loop.yaml", "--path loop.yaml: symlink loop"),
        ("fifo.yaml", "--path fifo.yaml: not a regular file (a FIFO)"),
        ("socket.yaml", "--path socket.yaml: not a regular file (a socket)"),
    ],
)
def test_a_path_naming_an_unreadable_entry_is_a_usage_error(
    hostile: Path, name: str, message: str
) -> None:
    before = snapshot(hostile)
    for command in (["scan"], ["set-image", "--write", f"{IMAGE}:2"]):
        result = updater(*command[:1], "--repo", str(hostile), "--path", name, *command[1:])
        one_line_error(result, 2, message)
    assert snapshot(hostile) == before


def test_a_path_through_a_directory_symlink_is_walked(hostile: Path) -> None:
    result = updater("scan", "--repo", str(hostile), "--path", "dir.yaml")
    assert result.returncode == 0, result.stderr
    assert "dir.yaml/deployment.yaml:" in result.stdout


def test_absolute_path_with_a_relative_repo(repo: Path) -> None:
    absolute = str(repo / "base")
    result = updater(
        "set-image", "--repo", "repo", "--path", absolute, "--write", f"{IMAGE}:2", cwd=repo.parent
    )
    assert result.returncode == 0, result.stderr
    assert f"{IMAGE}:2" in (repo / "base/deployment.yaml").read_text()
    scan = updater(
        "scan", "--repo", "repo", "--path", absolute + "/deployment.yaml", cwd=repo.parent
    )
    assert scan.returncode == 0, scan.stderr
    assert scan.stdout.splitlines()[1].startswith("base/deployment.yaml:")


def test_absolute_path_with_a_relative_repo_from_its_own_directory(repo: Path) -> None:
    result = updater(
        "set-image", "--repo", ".", "--path", str(repo / "base"), "--write", f"{IMAGE}:3", cwd=repo
    )
    assert result.returncode == 0, result.stderr
    assert f"{IMAGE}:3" in (repo / "base/deployment.yaml").read_text()


def test_path_escapes_are_refused(repo: Path, tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "d.yaml").write_text(DEPLOYMENT)
    (repo / "out").symlink_to(tmp_path / "outside")
    before = snapshot(tmp_path)
    # as spelled outside the repo: bad input (2); a repo's own symlink leading out: 3
    for given, code in (("../outside", 2), (str(tmp_path / "outside"), 2), ("out", 3),
                        ("base/../../outside/d.yaml", 2), ("out/d.yaml", 3)):  # fmt: skip
        result = cli("set-image", "--repo", str(repo), "--path", given, "--write", f"{IMAGE}:2")
        one_line_error(result, code, f"--path {given}: leaves the repository")
    assert snapshot(tmp_path) == before


def test_a_file_symlink_leaving_the_repo_is_refused_even_when_unrelated(
    repo: Path, tmp_path: Path
) -> None:
    (tmp_path / "secret.yaml").write_text("password: hunter2\n")
    (repo / "base" / "creds.yaml").symlink_to(tmp_path / "secret.yaml")
    result = cli("scan", "--repo", str(repo))
    one_line_error(result, 3, "base/creds.yaml: symlink leaves the repository")


def test_billion_laughs_is_parsed_without_expanding(repo: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 12)]
    lines += [f"image: {IMAGE}:1.0.0"]
    (repo / "laughs.yaml").write_text("\n".join(lines) + "\n")
    result = cli("set-image", "--repo", str(repo), "--write", f"{IMAGE}:1.1.0")
    assert result.returncode == 0, result.stderr
    assert f"image: {IMAGE}:1.1.0\n" in (repo / "laughs.yaml").read_text()


@pytest.mark.parametrize(
    "text",
    [
        f"image: {IMAGE}:1\na: " + "[" * 990 + "]" * 990 + "\n",
        f"image: {IMAGE}:1\nx:\n" + "".join("  " * (i + 1) + "k:\n" for i in range(990)),
        f"image: {IMAGE}:1\n? " + "[" * 600 + "]" * 600 + "\n: 1\n",
    ],
    ids=["flow", "block", "complex-key"],
)
def test_deep_nesting_is_a_one_line_error(repo: Path, text: str) -> None:
    (repo / "deep.yaml").write_text(text)
    before = snapshot(repo)
    for command in (["scan"], ["set-image", "--write", f"{IMAGE}:2"]):
        result = cli(*command[:1], "--repo", str(repo), *command[1:])
        one_line_error(result, 3, "deep.yaml:")
        assert "nested" in result.stderr
    assert snapshot(repo) == before


def test_nesting_that_real_files_use_is_fine(repo: Path) -> None:
    text = f"image: {IMAGE}:1\nx:\n" + "".join("  " * (i + 1) + "k:\n" for i in range(150))
    (repo / "values.yaml").write_text(text + "  " * 152 + "v: 1\n")
    result = cli("set-image", "--repo", str(repo), "--write", f"{IMAGE}:2")
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------------------- size limit


def test_size_limit_skips_in_scan_and_refuses_a_referencing_file(repo: Path) -> None:
    big = f"image: {IMAGE}:1.0.0\n" + "# padding\n" * 200
    (repo / "big.yaml").write_text(big)
    (repo / "unrelated.yaml").write_text("other: value\n" + "# padding\n" * 200)
    env = {"UPDATER_MAX_FILE_SIZE": "1K"}
    scan = cli("scan", "--repo", str(repo), "--skipped", "--json", env=env)
    assert scan.returncode == 0, scan.stderr
    skipped = {r["file"]: r["skipped"] for r in json.loads(scan.stdout) if "skipped" in r}
    assert skipped["big.yaml"].startswith("larger than the 1 KiB limit (")
    assert "UPDATER_MAX_FILE_SIZE" in skipped["big.yaml"]
    before = snapshot(repo)
    result = cli("set-image", "--repo", str(repo), "--write", f"{IMAGE}:2", env=env)
    one_line_error(result, 3, "big.yaml: larger than the 1 KiB limit")
    assert snapshot(repo) == before
    (repo / "big.yaml").unlink()
    result = cli("set-image", "--repo", str(repo), "--write", f"{IMAGE}:2", env=env)
    assert result.returncode == 0, result.stderr  # a large file without the image is no bar
    raised = cli("set-image", "--repo", str(repo), "--dry-run", f"{IMAGE}:3", env={})
    assert raised.returncode == 0


def test_a_bad_size_limit_is_a_usage_error(repo: Path) -> None:
    result = cli("scan", "--repo", str(repo), env={"UPDATER_MAX_FILE_SIZE": "lots"})
    one_line_error(result, 2, "UPDATER_MAX_FILE_SIZE='lots'")


def test_size_limit_values() -> None:
    assert max_file_size({}) == 10 * 1024 * 1024
    assert max_file_size({"UPDATER_MAX_FILE_SIZE": "512k"}) == 512 * 1024
    assert max_file_size({"UPDATER_MAX_FILE_SIZE": "20MiB"}) == 20 * 1024 * 1024
    assert max_file_size({"UPDATER_MAX_FILE_SIZE": "1G"}) == 1024**3
    assert max_file_size({"UPDATER_MAX_FILE_SIZE": "4096"}) == 4096
    assert max_file_size({"UPDATER_MAX_FILE_SIZE": "0"}) == 0  # no limit
    with pytest.raises(UsageError):
        max_file_size({"UPDATER_MAX_FILE_SIZE": "-1"})


def test_a_growing_file_is_never_read_past_the_limit(tmp_path: Path) -> None:
    # /dev/zero stands for a file that grows while it is read: fstat says 0 bytes.
    from updater.edit.reading import NotRegular, TooLarge

    with pytest.raises(NotRegular):
        read_file("/dev/zero", 1024)
    path = tmp_path / "f.yaml"
    path.write_bytes(b"x" * 2048)
    with pytest.raises(TooLarge):
        read_file(str(path), 1024)
    assert read_file(str(path), 0) == b"x" * 2048


def _peak_memory(args: list[str], cwd: Path) -> tuple[int, str, int]:
    """(exit status, stderr, peak RSS in MiB) of the CLI in a fresh interpreter.

    The peak is VmHWM of the interpreter's own address space. ru_maxrss would not do:
    Linux carries the parent's high-water mark across fork and exec, so a child of a
    big pytest worker would report the worker's size.
    """
    probe = (
        "import re, runpy, sys\n"
        f"sys.argv = ['updater', *{args!r}]\n"
        "try:\n    runpy.run_module('updater', run_name='__main__')\n"
        "except SystemExit as exit:\n    status = exit.code or 0\n"
        "status_text = open('/proc/self/status').read()\n"
        "peak = int(re.search(r'VmHWM:\\s+(\\d+) kB', status_text).group(1)) // 1024\n"
        "print(status, peak, file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=cwd, timeout=DEADLINE
    )
    *lines, last = result.stderr.strip().splitlines()
    status, peak = (int(x) for x in last.split())
    return status, "\n".join(lines), peak


def test_a_100_mb_yaml_file_takes_little_memory(repo: Path) -> None:
    line = b"  - {name: filler, value: 0123456789abcdef0123456789abcdef}\n"
    with open(repo / "huge.yaml", "wb") as stream:
        stream.write(f"image: {IMAGE}:1.0.0\nitems:\n".encode())
        block = line * 16384
        for _ in range(100 * 1024 * 1024 // len(block) + 1):
            stream.write(block)
    status, stderr, peak = _peak_memory(["scan", "--repo", ".", "--skipped"], repo)
    assert status == 0, f"exit {status}: {stderr}"
    assert peak < 200, f"scan took {peak} MiB"
    status, stderr, peak = _peak_memory(["set-image", "--repo", ".", f"{IMAGE}:2"], repo)
    assert status == 3, f"exit {status}: {stderr}"
    assert "huge.yaml: larger than the 10 MiB limit" in stderr
    assert peak < 200, f"set-image took {peak} MiB"


def test_a_submodule_is_another_repository(repo: Path) -> None:
    """Its files are not this repository's: a commit here cannot change them (and --push
    would leave them out), so the walk passes over it and says so."""
    vendored = repo / "vendor" / "charts"
    vendored.mkdir(parents=True)
    (vendored / "deployment.yaml").write_text(DEPLOYMENT)
    (vendored / ".git").write_text("gitdir: ../../.git/modules/charts\n")
    result = cli("scan", "--repo", str(repo), "--skipped")
    assert result.returncode == 0, result.stderr
    assert "vendor/charts/deployment.yaml" not in result.stdout
    assert "vendor/charts/" in result.stdout and "another git repository" in result.stdout
