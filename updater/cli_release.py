"""Command line of ``hold``, ``rollback`` and ``promote``: options only; the commands
are in ``updater.commands``. Registered on the group by ``updater.cli``."""

from __future__ import annotations

from typing import Any

import click

from updater.cli import delivery_options, mode_options, pop_delivery, run_command, timeout_option


@click.group("hold")
def hold() -> None:
    """List, add or remove holds: images poll and promote leave alone (in some paths)
    until a candidate satisfies the hold's --until range."""


@hold.command("list")
@click.option("--repo", default=".", show_default=True, help="Config repo: a directory.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of holds.")
@click.argument("image", required=False)
def hold_list(repo: str, as_json: bool, image: str | None) -> None:
    """List the holds of .image-updater.yaml (of IMAGE only, if given)."""
    from updater.commands import hold as command

    run_command(lambda: command.list_holds(repo, image, as_json=as_json), None, as_json=as_json)


def _hold_options(func: Any) -> Any:
    func = click.option(
        "--repo", default=".", show_default=True, help="Config repo: a directory or a URL."
    )(func)
    func = click.option(
        "--path", "paths", multiple=True, metavar="P",
        help="Only under this path (repeatable; default: everywhere).",
    )(func)  # fmt: skip
    func = click.option("--json", "as_json", is_flag=True, help="Print a JSON report.")(func)
    return func


@hold.command("add")
@_hold_options
@click.option("--at", metavar="TAG|DIGEST", help="Version held at (default: the one found).")
@click.option("--until", metavar="RANGE", help='Semver range that ends the hold, e.g. ">1.5.0".')
@click.option("--reason", metavar="TEXT", help="Why (one line).")
@click.option(
    "--by", metavar="NAME", help="Who (default: $GITHUB_ACTOR, $GITLAB_USER_LOGIN, $USER)."
)
@mode_options(default="write")
@delivery_options
@timeout_option
@click.argument("image")
def hold_add(image: str, timeout: float, mode: str | None = None, **options: Any) -> None:
    """Hold IMAGE (a repository, no tag): poll and promote leave it alone. Writes the
    working tree unless a MODE flag says otherwise."""
    from updater.commands import hold as command

    delivery = pop_delivery(options)
    request = command.HoldRequest(image=image, mode=mode or "write", delivery=delivery, **options)
    run_command(lambda: command.add(request), timeout, as_json=request.as_json)


@hold.command("remove")
@_hold_options
@mode_options(default="write")
@delivery_options
@timeout_option
@click.argument("image")
def hold_remove(image: str, timeout: float, mode: str | None = None, **options: Any) -> None:
    """Remove the holds of IMAGE (with --path: only the one with exactly those paths)."""
    from updater.commands import hold as command

    delivery = pop_delivery(options)
    request = command.HoldRequest(image=image, mode=mode or "write", delivery=delivery, **options)
    run_command(lambda: command.remove(request), timeout, as_json=request.as_json)


@click.command("rollback")
@click.option("--repo", default=".", show_default=True, help="Config repo: a directory or a URL.")
@click.option("--path", "paths", multiple=True, help="Only under this path (repeatable).")
@click.option(
    "--to", metavar="TAG|DIGEST", help="The version to go back to (TAG, DIGEST or TAG@DIGEST)."
)
@click.option(
    "--steps",
    type=int,
    metavar="N",
    help="Back N changes (default: 1, the one before the last change).",
)
@click.option(
    "--hold",
    "hold_",
    is_flag=True,
    help="Also write a hold into .image-updater.yaml, in the same commit.",
)
@click.option(
    "--until", metavar="RANGE", help='With --hold: the semver range that ends it, e.g. ">1.5.0".'
)
@click.option("--reason", metavar="TEXT", help="Why (commit subject, and the hold's reason).")
@click.option(
    "--by",
    metavar="NAME",
    help="With --hold: who (default: $GITHUB_ACTOR, $GITLAB_USER_LOGIN, $USER).",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report on stdout.")
@mode_options()
@delivery_options
@timeout_option
@click.argument("image")
def rollback(
    image: str, hold_: bool, timeout: float, mode: str | None = None, **options: Any
) -> None:
    """Set IMAGE (a repository, no tag) back to an earlier version everywhere it is
    referenced (under --path), moving no other image. Prints the diff unless a MODE
    flag says otherwise."""
    from updater.commands import rollback as command

    delivery = pop_delivery(options)
    request = command.RollbackRequest(
        image=image, hold=hold_, mode=mode or "dry-run", delivery=delivery, **options
    )
    run_command(lambda: command.run(request), timeout, as_json=request.as_json)


@click.command("promote")
@click.option("--repo", default=".", show_default=True, help="Config repo: a directory or a URL.")
@click.option(
    "--config",
    "config",
    metavar="FILE",
    help="Config (default: .image-updater.yaml of a local --repo).",
)
@click.option(
    "--to",
    "to",
    required=True,
    metavar="ENV|PATH",
    help="Environment to promote to (with --from: a path).",
)
@click.option(
    "--from", "source_path", metavar="PATH", help="Ad hoc: promote from this path to the --to path."
)
@click.option(
    "--image", "images", multiple=True, metavar="NAME", help="Only this image (repeatable)."
)
@click.option("--all", "all_images", is_flag=True, help="Every image both deploy.")
@click.option(
    "--allow-downgrade", is_flag=True, help="Also set a target to an older source version."
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report on stdout.")
@mode_options("deliver")
@delivery_options
@timeout_option
def promote(timeout: float, mode: str | None = None, **options: Any) -> None:
    """Set what --to deploys to what its 'from' environment deploys, image by image:
    held, not yet soaked and older versions are skipped. Prints the plan unless a MODE
    flag says otherwise; --pull-request uses the branch updater/promote/ENV."""
    from updater.commands import promote as command

    delivery = pop_delivery(options)
    request = command.PromoteRequest(mode=mode, delivery=delivery, **options)
    run_command(lambda: command.run(request), timeout, as_json=request.as_json)


@click.command("history")
@click.option("--repo", default=".", show_default=True, help="Config repo: a directory or a URL.")
@click.option("--path", "paths", multiple=True, help="Only under this path (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report on stdout.")
@click.option(
    "--since", metavar="WHEN", help="Only changes since WHEN: a duration (2h, 7d) or ISO 8601."
)
@click.option(
    "--max-count",
    type=int,
    metavar="N",
    help="Only the N newest commits that changed it.",
)
@click.option(
    "--branch", metavar="NAME", help="With a URL --repo: the branch (default: the remote's)."
)
@click.option(
    "--forge", type=click.Choice(["github", "gitlab"]), help="With a URL --repo: its forge."
)
@click.option("--api-url", metavar="URL", help="With a URL --repo: the forge's API.")
@click.option("--token-env", metavar="VAR", help="With a URL --repo: variable holding the token.")
@timeout_option
@click.argument("image", required=False)
def history(
    image: str | None,
    repo: str,
    paths: tuple[str, ...],
    as_json: bool,
    since: str | None,
    max_count: int | None,
    timeout: float,
    **delivery: Any,
) -> None:
    """List every change of IMAGE (a repository, no tag; or of every image) in the repo's
    history, newest first: when, commit, where, old -> new, and whether the bot made it,
    it was a rollback or a manual edit."""
    from updater.commands import history as command

    request = command.HistoryRequest(
        repo=repo,
        image=image,
        paths=paths,
        since=since,
        max_count=max_count,
        as_json=as_json,
        delivery=delivery,
    )
    run_command(lambda: command.run(request), timeout, as_json=as_json)
