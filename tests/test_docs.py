"""The documentation's before/after examples are run as written, so they cannot drift
from what the code does."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from updater.cli import cli

DOCS = Path(__file__).resolve().parents[1] / "docs"
EXAMPLE = re.compile(
    r"<!-- example: file=(?P<file>\S+) (?P<args>.*?) -->\n"
    r"```yaml\n(?P<before>.*?)```\n```yaml\n(?P<after>.*?)```",
    re.DOTALL,
)


@dataclass(frozen=True)
class Example:
    doc: str
    line: int
    file: str
    args: list[str]
    before: str
    after: str


def examples() -> list[Example]:
    found = []
    for doc in sorted(DOCS.glob("*.md")):
        text = doc.read_text(encoding="utf-8")
        for match in EXAMPLE.finditer(text):
            found.append(
                Example(
                    doc=doc.name,
                    line=text.count("\n", 0, match.start()) + 1,
                    file=match["file"],
                    args=shlex.split(match["args"]),
                    before=match["before"],
                    after=match["after"],
                )
            )
    return found


def test_every_marked_example_is_collected() -> None:
    # A marker the pattern cannot read would silently drop its example.
    markers = sum(
        doc.read_text(encoding="utf-8").count("<!-- example:") for doc in DOCS.glob("*.md")
    )
    assert markers == len(examples()) >= 7


@pytest.mark.parametrize("example", examples(), ids=lambda e: f"{e.doc}:{e.line}")
def test_example_does_what_the_documentation_says(example: Example, tmp_path: Path) -> None:
    target = tmp_path / example.file
    target.write_text(example.before, encoding="utf-8")
    command, *rest = example.args
    result = CliRunner().invoke(cli, [command, "--repo", str(tmp_path), "--write", *rest])
    assert result.exit_code == 0, result.output
    assert target.read_text(encoding="utf-8") == example.after
