"""The documentation's examples are run as written, through the real CLI (``python -m
updater`` in a subprocess), so they cannot drift from what the code does.

docs/file-kinds.md shows each example the same way: a line naming the command and the
file, then the file before and the file after, as two ``yaml`` blocks:

    `updater set-image --write IMAGE...` on `values.yaml`:
    ```yaml
    (before)
    ```
    ```yaml
    (after)
    ```

Every ``yaml`` block of that document must belong to such an example. The README's
``diff`` block is the output of the command on its ``$`` line, on examples/config-repo.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FILE_KINDS = ROOT / "docs" / "file-kinds.md"
EXAMPLE = re.compile(
    r"^`updater (?P<args>[^`]+)` on `(?P<file>[^`]+)`:\n"
    r"```yaml\n(?P<before>.*?)^```\n```yaml\n(?P<after>.*?)^```$",
    re.DOTALL | re.MULTILINE,
)
YAML_FENCE = re.compile(r"^```yaml$", re.MULTILINE)
README_DIFF = re.compile(r"^```diff\n\$ updater (?P<args>.*?)\n(?P<output>.*?)^```$", re.S | re.M)
# An inline claim: `updater ARGS` prints `OUTPUT` (across a line break too).
PRINTS = re.compile(r"`updater (?P<args>[^`]+)`\s+prints\s+`(?P<output>[^`]*)`")


@dataclass(frozen=True)
class Example:
    line: int
    file: str
    args: list[str]
    before: str
    after: str


def examples(text: str | None = None) -> list[Example]:
    text = FILE_KINDS.read_text(encoding="utf-8") if text is None else text
    return [
        Example(
            line=text.count("\n", 0, match.start()) + 1,
            file=match["file"],
            args=shlex.split(match["args"]),
            before=match["before"],
            after=match["after"],
        )
        for match in EXAMPLE.finditer(text)
    ]


def updater(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "updater", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT)},
        check=False,
    )


def run_example(example: Example, directory: Path, args: list[str]) -> tuple[int, str, str]:
    """(exit status, stderr, the file after) of the example's command on its file."""
    target = directory / example.file
    target.write_text(example.before, encoding="utf-8")
    command, *rest = args
    result = updater(command, "--repo", str(directory), *rest)
    return result.returncode, result.stderr, target.read_text(encoding="utf-8")


def test_every_yaml_block_belongs_to_an_example() -> None:
    """A before/after pair written without the command line would never be run."""
    text = FILE_KINDS.read_text(encoding="utf-8")
    covered = [(m.start(), m.end()) for m in EXAMPLE.finditer(text)]
    loose = [
        text.count("\n", 0, fence.start()) + 1
        for fence in YAML_FENCE.finditer(text)
        if not any(start <= fence.start() < end for start, end in covered)
    ]
    assert loose == [], f"docs/file-kinds.md: yaml blocks outside an example at lines {loose}"
    assert len(examples(text)) == 20


def test_a_block_without_its_command_line_is_caught() -> None:
    text = "`updater set-image --write a:1` on `v.yaml`:\n```yaml\na\n```\n```yaml\nb\n```\n"
    assert len(examples(text)) == 1
    assert examples("Some prose:\n```yaml\na\n```\n```yaml\nb\n```\n") == []


@pytest.mark.parametrize("example", examples(), ids=lambda e: f"file-kinds.md:{e.line}")
def test_example_does_what_the_documentation_says(example: Example, tmp_path: Path) -> None:
    assert example.args[0] == "set-image" and "--write" in example.args, example
    status, stderr, after = run_example(example, tmp_path, example.args)
    assert status == 0, stderr
    assert after == example.after


@pytest.mark.parametrize(
    "example",
    [e for e in examples() if "--alias" in e.args and "--only-marked" not in e.args],
    ids=lambda e: f"file-kinds.md:{e.line}",
)
def test_an_example_shows_alias_only_where_it_is_needed(example: Example, tmp_path: Path) -> None:
    """Without --alias the example would not give what it shows: --alias is not
    decoration (the README once claimed it was needed where it was not)."""
    args = list(example.args)
    while "--alias" in args:
        at = args.index("--alias")
        del args[at : at + 2]
    status, _, after = run_example(example, tmp_path, args)
    assert status != 0 or after != example.after


def test_the_readme_diff_is_what_the_command_prints(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    [match] = README_DIFF.finditer(readme)
    args = shlex.split(match["args"])
    at = args.index("--repo") + 1
    assert args[at] == "examples/config-repo"
    copy = tmp_path / "config-repo"  # a bug in the command must not rewrite the example
    shutil.copytree(ROOT / args[at], copy)
    args[at] = str(copy)
    result = updater(*args)
    assert result.returncode == 0, result.stderr
    assert result.stdout + result.stderr == match["output"]


def test_the_readme_s_inline_prints_claims() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    claims = [(m["args"], m["output"]) for m in PRINTS.finditer(readme)]
    assert claims == [("choose --policy numerical --order desc 3 10 2", "2")]
    for args, output in claims:
        result = updater(*shlex.split(args))
        assert (result.returncode, result.stdout) == (0, output + "\n"), result.stderr
    # "... without `--order` it prints `10`"
    plain = updater("choose", "--policy", "numerical", "3", "10", "2")
    assert plain.stdout == "10\n"
    assert "without\n  `--order` it prints `10`" in readme
