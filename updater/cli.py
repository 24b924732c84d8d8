"""Command line: parse options, call one command, map errors to exit codes.

Nothing heavy is imported at module level so that ``updater --help`` and
``set-image --dry-run`` start fast; commands import what they need.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from updater import __version__
from updater.errors import UpdaterError

F = TypeVar("F", bound=Callable[..., Any])

MODES = ("dry-run", "write", "commit", "push", "pull-request")


def mode_options(func: F) -> F:
    """The MODE flags of the contract: one of them, --dry-run by default."""
    for mode in reversed(MODES):
        func = click.option(
            f"--{mode}",
            "mode",
            flag_value=mode,
            default=mode == "dry-run",
            help={
                "dry-run": "Print a unified diff and write nothing (default).",
                "write": "Write the working tree only.",
                "commit": "Write and make a local commit.",
                "push": "Commit on the branch tip and push it, re-planning on races.",
                "pull-request": "Push a bot branch and open or update a PR/MR.",
            }[mode],
        )(func)
    return func


def run_command(action: Callable[[], int | None]) -> None:
    """Run a command; an UpdaterError becomes one line on stderr and its exit code."""
    try:
        status = action()
    except UpdaterError as error:
        click.echo(f"updater: error: {error}", err=True)
        sys.exit(error.exit_code)
    sys.exit(status or 0)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="updater")
def cli() -> None:
    """Rewrite container image tags and digests in a GitOps config repo, changing no
    other byte, and deliver the change by commit, push or pull request."""


@cli.command()
@click.option("--repo", default=".", show_default=True, help="Config repo: a directory.")
@click.option("--path", "paths", multiple=True, help="Only look under this path (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of references.")
@click.option("--skipped", is_flag=True, help="Also list values left alone, with the reason.")
def scan(repo: str, paths: tuple[str, ...], as_json: bool, skipped: bool) -> None:
    """List every image reference the config repo deploys."""
    from updater.commands import scan as command

    run_command(lambda: command.run(repo, paths, as_json=as_json, show_skipped=skipped))


@cli.command("set-image")
@click.option("--repo", default=".", show_default=True, help="Config repo: a directory or a URL.")
@click.option("--path", "paths", multiple=True, help="Only edit under this path (repeatable).")
@mode_options
@click.option(
    "--allow-no-match", is_flag=True, help="Exit 0 even if an IMAGE is referenced nowhere."
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report on stdout.")
@click.option(
    "--alias",
    "aliases",
    multiple=True,
    metavar="NS:NAME",
    help='Also update fields marked # {"$imagepolicy": "NS:NAME"} (repeatable).',
)
@click.argument("images", nargs=-1, required=True)
def set_image(
    repo: str,
    paths: tuple[str, ...],
    mode: str,
    allow_no_match: bool,
    as_json: bool,
    aliases: tuple[str, ...],
    images: tuple[str, ...],
) -> None:
    """Set IMAGE (NAME:TAG, NAME@DIGEST, NAME:TAG@DIGEST or OLD=NEW:TAG) everywhere it is
    referenced."""
    from updater.commands import set_image as command

    run_command(
        lambda: command.run(
            command.SetImageRequest(
                repo=repo,
                paths=paths,
                mode=mode,
                images=images,
                allow_no_match=allow_no_match,
                as_json=as_json,
                aliases=aliases,
            )
        )
    )


def main() -> None:
    cli(prog_name="updater")
