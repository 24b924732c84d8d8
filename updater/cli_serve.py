"""Command line of ``serve``: options only; the command is ``updater.commands.serve``.
Registered on the group by ``updater.cli``. Nothing of the web stack is imported
until the command runs."""

from __future__ import annotations

from typing import Any

import click

from updater.cli import delivery_options, mode_options, pop_delivery, run_command


def _seconds(text: str | None) -> float | None:
    """``0``, ``1.5`` (seconds) or a duration (``2s``, ``1m``)."""
    if text is None:
        return None
    from updater.config import parse_duration

    try:
        return float(text)
    except ValueError:
        pass
    try:
        return parse_duration(text).total_seconds()
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


@click.command("serve")
@click.option(
    "--config", "config_path", metavar="FILE",
    help="The poll config, with its webhooks: section (default: .image-updater.yaml at the"
    " root of a local --repo).",
)  # fmt: skip
@click.option("--repo", default=".", show_default=True, help="Config repo: a directory or a URL.")
@click.option("--listen", metavar="HOST:PORT", help="Where to listen, e.g. 0.0.0.0:8080.")
@click.option(
    "--state-dir", metavar="DIR",
    help="The durable queue (env UPDATER_STATE_DIR; default"
    " ~/.local/state/gitops-updater/serve).",
)  # fmt: skip
@click.option(
    "--debounce", metavar="DURATION",
    help="Gather events this long before delivering (overrides webhooks.debounce; 0: at once).",
)  # fmt: skip
@click.option(
    "--timeout", type=click.FloatRange(min=0, min_open=True), default=300.0,
    show_default=True, metavar="SECONDS", help="Deadline of one delivery.",
)  # fmt: skip
@click.option("--status", is_flag=True, help="Print what the state dir holds, and exit.")
@click.option("--json", "as_json", is_flag=True, help="With --status: a JSON report.")
@mode_options(default=None)
@delivery_options
def serve(
    config_path: str | None,
    repo: str,
    listen: str | None,
    state_dir: str | None,
    debounce: str | None,
    timeout: float,
    status: bool,
    as_json: bool,
    mode: str | None = None,
    **options: Any,
) -> None:
    """Receive registry webhooks and deliver each pushed image like poll, in about a
    second: events are stored before the answer, coalesced per debounce window and
    delivered one batch at a time. MODE defaults to the config's delivery.mode."""
    delivery = pop_delivery(options)
    if status:
        from pathlib import Path

        from updater.commands.serve import default_state_dir
        from updater.serve import status as report

        where = Path(state_dir) if state_dir else default_state_dir()
        run_command(lambda: report.run(where, as_json=as_json), None, as_json=as_json)
        return
    if listen is None:
        raise click.UsageError("--listen HOST:PORT is required (or --status)")
    from updater.commands import serve as command

    request = command.ServeRequest(
        repo=repo,
        config=config_path,
        listen=listen,
        state_dir=state_dir,
        mode=mode,
        delivery=delivery,
        timeout=timeout,
        debounce=_seconds(debounce),
    )
    run_command(lambda: command.run(request), None)
