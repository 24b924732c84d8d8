"""The one renderer of a delivery's result for people: every command that edits the repo
(set-image, poll, rollback, promote) shows its result through here, so they colour,
word and order it alike. Programs read ``--json`` instead (``updater.report``).

The diff goes to stdout, so ``> change.diff`` keeps it; everything else is a note on
stderr.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import IO, Protocol

import click

from updater.deliver.model import DeliveryResult
from updater.report import one_line, render_diff, summary


class Verification(Protocol):
    """What a render check tells people (``updater.render.Verification``)."""

    def summary_lines(self) -> list[str]: ...


def wants_color(stream: IO[str] | None = None, environ: Mapping[str, str] = os.environ) -> bool:
    """Colour only on a terminal, and never when ``NO_COLOR`` is set (no-color.org: any
    non-empty value)."""
    stream = stream if stream is not None else sys.stdout
    return stream.isatty() and not environ.get("NO_COLOR")


def show_render(verification: Verification | None) -> None:
    if verification is None:
        return
    for line in verification.summary_lines():
        click.echo(line if line.startswith("not verified") else f"rendered {line}", err=True)


def show_result(
    result: DeliveryResult,
    *,
    verification: Verification | None = None,
    nothing: str = "nothing to change",
) -> None:
    """What the render check saw, the diff of a dry-run, a line per image changed, what
    delivery did (``committed … on``, ``pushed … to``, ``opened URL``), or ``nothing``."""
    show_render(verification)
    if result.mode == "dry-run":
        click.echo(render_diff(result.plan, color=wants_color()), nl=False)
    for line in (summary(result.plan), result.describe()):
        if line:
            click.echo(line, err=True)
    for source in result.ignored:
        click.echo(f"updater: note: {one_line(source)}: not used by --{result.mode}", err=True)
    if not result.plan.changed:
        click.echo(nothing, err=True)
