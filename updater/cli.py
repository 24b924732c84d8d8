"""Command line: parse options, call one command, map errors to exit codes.

Nothing heavy is imported at module level so that ``updater --help`` and
``set-image --dry-run`` start fast; commands import what they need.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any, TypeVar

import click

from updater import __version__, deadline
from updater.deliver.model import MODE_NAMES
from updater.deliver.options import FLAGS, Flag
from updater.errors import UpdaterError
from updater.remote import redact_userinfo

F = TypeVar("F", bound=Callable[..., Any])

MODES = MODE_NAMES


MODE_HELP = {
    "dry-run": "Print a unified diff and write nothing.",
    "write": "Write the working tree only.",
    "commit": "Write and make a local commit.",
    "push": "Commit on the branch tip and push it, re-planning on races.",
    "pull-request": "Push a bot branch and open or update a PR/MR.",
    "deliver": "Deliver the way the config's delivery.mode says (without a mode flag,"
    " only a diff is printed).",
}


def _choose_mode(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """One MODE flag at most: two different ones are refused (exit 2), never "last wins"."""
    if not value:
        return
    mode = param.name.replace("_", "-") if param.name else ""
    chosen = ctx.params.get("mode")
    if chosen is not None and chosen != mode:
        raise click.UsageError(f"--{chosen} and --{mode}: give one mode flag", ctx)
    ctx.params["mode"] = mode


def mode_options(*extra: str, default: str | None = "dry-run") -> Callable[[F], F]:
    """The MODE flags of the contract (and ``extra`` ones): at most one of them. The
    command receives ``mode``: the flag given, or None when none was given. ``default``:
    the mode the command takes without a flag, marked so in the help (None: the help
    text of the command says)."""

    def decorate(target: F) -> F:
        for mode in reversed((*MODES, *extra)):
            marked = " (default)" if mode == default else ""
            target = click.option(
                f"--{mode}",
                mode.replace("-", "_"),
                is_flag=True,
                expose_value=False,
                callback=_choose_mode,
                help=MODE_HELP[mode].removesuffix(".") + marked + ".",
            )(target)
        return target

    return decorate


def delivery_options(func: F) -> F:
    """Options of --commit/--push/--pull-request, made from ``DeliveryOptions``' fields
    (their one definition). The command receives them as one keyword, ``delivery``: a
    dict keyed like ``updater.deliver.DeliveryOptions`` (unset ones left out)."""
    for name, flag in reversed(FLAGS.items()):
        func = click.option(flag.name, name, help=flag.help, **_click_kind(flag))(func)
    return func


def _click_kind(flag: Flag) -> dict[str, Any]:
    if flag.kind == "bool":
        return {"is_flag": True, "default": None}  # None: not given, so a config may say
    kind: dict[str, Any] = {"metavar": flag.metavar} if flag.metavar else {}
    if flag.choices:
        kind["type"] = click.Choice(list(flag.choices))
    if flag.kind == "list":
        kind["multiple"] = True
    if flag.kind == "int":
        kind["type"] = click.IntRange(min=0)
    return kind


def pop_delivery(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Take the delivery options out of a command's keyword arguments; the ones not given
    (None, or no value of a repeatable flag) are left out, a given False is kept."""
    values = {key: kwargs.pop(key) for key in FLAGS if key in kwargs}
    return {k: v for k, v in values.items() if v is not None and v != ()}


class VerifyRenderCommand(click.Command):
    """A command taking ``--verify-render`` as a flag and ``--verify-render=strict`` as
    its strict form (click's optional-value options would swallow the IMAGE that
    follows a bare flag)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        rewritten: list[str] = []
        for number, arg in enumerate(args):
            if arg == "--":
                rewritten += args[number:]
                break
            if arg.startswith("--verify-render="):
                rewritten += ["--verify-render-mode", arg.partition("=")[2]]
            else:
                rewritten.append(arg)
        return super().parse_args(ctx, rewritten)


def render_options(func: F) -> F:
    """--verify-render[=strict], --kustomize-bin, --helm-bin. The command receives them
    as one keyword, ``verify``: an ``updater.render.VerifyOptions`` or None."""
    options = [
        click.option(
            "--verify-render", "verify_render", is_flag=True, default=False,
            help="Render the kustomize roots and Helm charts the change touches, before and"
            " after, and refuse (exit 3) anything but the asked image updates."
            " --verify-render=strict also fails when something cannot be rendered.",
        ),
        click.option("--verify-render-mode", type=click.Choice(["on", "strict", "off"]),
                     hidden=True),
        click.option("--kustomize-bin", metavar="PATH",
                     help="kustomize or kubectl for --verify-render (default: from PATH)."),
        click.option("--helm-bin", metavar="PATH",
                     help="helm for --verify-render (default: from PATH)."),
    ]  # fmt: skip
    for option in reversed(options):
        func = option(func)
    return func


def pop_render(kwargs: dict[str, Any]) -> Any:
    """Take the render options out of a command's keyword arguments."""
    flag = kwargs.pop("verify_render", False)
    mode = kwargs.pop("verify_render_mode", None) or ("on" if flag else "off")
    kustomize_bin = kwargs.pop("kustomize_bin", None)
    helm_bin = kwargs.pop("helm_bin", None)
    if mode == "off":
        return None
    from updater.render import VerifyOptions

    return VerifyOptions(mode=mode, kustomize_bin=kustomize_bin, helm_bin=helm_bin)


def timeout_option(func: F) -> F:
    """``--timeout SECONDS`` (or ``UPDATER_TIMEOUT``): the whole run's deadline, which every
    network wait (registry, git, forge) is cut to."""
    return click.option(
        "--timeout",
        type=click.FloatRange(min=0, min_open=True),
        envvar="UPDATER_TIMEOUT",
        default=deadline.DEFAULT_SECONDS,
        show_default=True,
        metavar="SECONDS",
        help="Deadline for the whole run (env UPDATER_TIMEOUT).",
    )(func)


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGINT: unwinds like Ctrl-C so that every ``finally`` (temporary clones,
    git process groups) runs before the process exits."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # Once: a second signal while cleaning up must not cut the cleanup short.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise Interrupted(signum)


class _Redacting:
    """A text stream that removes the user-info of every URL written through it: the
    last line of defence for stdout and stderr (text, JSON and errors alike)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.encoding: str = getattr(stream, "encoding", None) or "utf-8"
        self.errors: str | None = getattr(stream, "errors", None)

    def write(self, text: str) -> int:
        self._stream.write(redact_userinfo(text))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return bool(self._stream.isatty())

    def fileno(self) -> int:
        return int(self._stream.fileno())

    def writable(self) -> bool:
        return True


def run_command(
    action: Callable[[], int | None], timeout: float | None = None, *, as_json: bool = False
) -> None:
    """Run a command under the run's deadline; an UpdaterError becomes one line on stderr
    and its exit code; SIGTERM/SIGINT (a cancelled CI job, Ctrl-C) unwind so temporary
    clones are removed, and exit 128 + the signal number.

    With ``--json`` the error is also printed on stdout as ``{"error": {"file", "line",
    "message"}}``, so that programs (the CI wrappers) need not parse the line. Every
    URL's user-info is redacted from all that the command prints."""
    deadline.start(timeout)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)
        signal.signal(signal.SIGINT, _interrupt)
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Redacting(sys.stdout), _Redacting(sys.stderr)
    try:
        status = action()
    except UpdaterError as error:
        if as_json:
            click.echo(json.dumps({"error": error.as_json()}, indent=2))
        click.echo(f"updater: error: {error}", err=True)
        sys.exit(error.exit_code)
    except Interrupted as stop:
        click.echo(f"updater: error: interrupted by {stop}; temporary clones removed", err=True)
        sys.exit(128 + stop.signum)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stdout, sys.stderr = saved
    sys.exit(status or 0)


def _asks_for_json(args: list[str]) -> bool:
    """``--json`` among the options (not after ``--``, where it is an argument)."""
    return "--json" in (args[: args.index("--")] if "--" in args else args)


class UpdaterGroup(click.Group):
    """The top-level group: a refusal of click's own (an unknown option, a value out of
    range, two mode flags) keeps ``--json``'s promise, the error object on stdout, as
    ``run_command`` does for the commands' errors; click still prints its usage text."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["updater.args"] = list(args)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as error:
            message = redact_userinfo(error.format_message())  # it may repeat a value
            if _asks_for_json(ctx.meta.get("updater.args", [])):
                report = {"error": {"file": None, "line": None, "message": message}}
                click.echo(json.dumps(report, indent=2))
            raise click.UsageError(message, error.ctx) from None


@click.group(cls=UpdaterGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="updater")
def cli() -> None:
    """Rewrite container image tags and digests in a GitOps config repo, changing no
    other byte, and deliver the change by commit, push or pull request."""


@cli.command()
@click.option("--repo", default=".", show_default=True, help="Config repo: a directory or a URL.")
@click.option("--path", "paths", multiple=True, help="Only look under this path (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of references.")
@click.option("--skipped", is_flag=True, help="Also list values left alone, with the reason.")
@click.option(
    "--branch", metavar="NAME", help="With a URL --repo: the branch (default: the remote's)."
)
@click.option(
    "--forge", type=click.Choice(["github", "gitlab"]), help="With a URL --repo: its forge."
)
@click.option("--api-url", metavar="URL", help="With a URL --repo: the forge's API.")
@click.option("--token-env", metavar="VAR", help="With a URL --repo: variable holding the token.")
@timeout_option
def scan(
    repo: str,
    paths: tuple[str, ...],
    as_json: bool,
    skipped: bool,
    timeout: float,
    **clone: Any,
) -> None:
    """List every image reference the config repo deploys."""
    from updater.commands import scan as command

    run_command(
        lambda: command.run(repo, paths, as_json=as_json, show_skipped=skipped, clone=clone),
        timeout,
        as_json=as_json,
    )


@cli.command("set-image", cls=VerifyRenderCommand)
@click.option("--repo", default=".", show_default=True, help="Config repo: a directory or a URL.")
@click.option("--path", "paths", multiple=True, help="Only edit under this path (repeatable).")
@mode_options()
@click.option(
    "--allow-no-match", is_flag=True, help="Exit 0 even if an IMAGE is referenced nowhere."
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report on stdout.")
@click.option(
    "--alias",
    "aliases",
    multiple=True,
    metavar="NS:NAME",
    help='Also update fields marked # {"$imagepolicy": "NS:NAME"} (repeatable): they get'
    " IMAGE's repository, tag and digest, each as its marker says.",
)
@click.option(
    "--only-marked",
    is_flag=True,
    help="Touch only fields marked for an --alias policy, as Flux does.",
)
@delivery_options
@render_options
@timeout_option
@click.argument("images", nargs=-1, required=True)
def set_image(
    repo: str,
    paths: tuple[str, ...],
    allow_no_match: bool,
    as_json: bool,
    aliases: tuple[str, ...],
    only_marked: bool,
    images: tuple[str, ...],
    timeout: float,
    mode: str | None = None,
    **options: Any,
) -> None:
    """Set IMAGE (NAME:TAG, NAME@DIGEST, NAME:TAG@DIGEST or OLD=NEW:TAG) everywhere it is
    referenced."""
    from updater.commands import set_image as command

    delivery = pop_delivery(options)
    verify = pop_render(options)

    run_command(
        lambda: command.run(
            command.SetImageRequest(
                repo=repo,
                paths=paths,
                mode=mode or "dry-run",
                images=images,
                allow_no_match=allow_no_match,
                as_json=as_json,
                aliases=aliases,
                delivery=delivery,
                verify=verify,
                only_marked=only_marked,
            )
        ),
        timeout,
        as_json=as_json,
    )


@cli.command(cls=VerifyRenderCommand)
@click.option(
    "--config", "config_path", metavar="FILE",
    help="Polling config (default: .image-updater.yaml at the root of a local --repo).",
)  # fmt: skip
@click.option("--repo", default=".", show_default=True, help="Config repo: a directory or a URL.")
@mode_options("deliver")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report on stdout.")
@click.option(
    "--workers", type=click.IntRange(1, 64), default=8, show_default=True,
    help="Registry lookups at once.",
)  # fmt: skip
@click.option(
    "--allow-downgrade", is_flag=True,
    help="Move references even to a tag the policy ranks below their own (default: leave"
    " them alone).",
)  # fmt: skip
@delivery_options
@render_options
@timeout_option
def poll(
    config_path: str | None,
    repo: str,
    as_json: bool,
    workers: int,
    allow_downgrade: bool,
    timeout: float,
    mode: str | None = None,
    **options: Any,
) -> None:
    """Ask registries for new tags of the images in the config file, pick one per
    policy, and update the config repo like set-image. Without a MODE flag it only
    prints the diff; --deliver uses the config's delivery.mode."""
    from updater.commands import poll as command

    delivery = pop_delivery(options)
    verify = pop_render(options)
    run_command(
        lambda: command.run(
            command.PollRequest(
                repo=repo,
                config=config_path,
                mode=mode,
                as_json=as_json,
                delivery=delivery,
                workers=workers,
                verify=verify,
                allow_downgrade=allow_downgrade,
            )
        ),
        timeout,
        as_json=as_json,
    )


@cli.command("choose")
@click.option("--config", "config_path", metavar="FILE", help="Poll config holding the policy.")
@click.option("--image", metavar="NAME", help="With --config: the image entry to use.")
@click.option("--policy", metavar="P", help="semver | numerical | alphabetical | digest.")
@click.option("--range", "range_", metavar="R", help="semver: the range.")
@click.option("--order", metavar="asc|desc", help="numerical, alphabetical: asc = highest.")
@click.option("--filter", "filter_", metavar="RE", help="Only tags matching RE.")
@click.option("--extract", metavar="TPL", help="Rank $name/$1 of the filter's match.")
@click.option("--ignore", multiple=True, metavar="GLOB", help="Leave out tags (repeatable).")
@click.option("--tag", metavar="TAG", help="digest: the tag to follow.")
@click.option("--json", "as_json", is_flag=True, help="The choice and every rejected tag.")
@click.argument("tags", nargs=-1, required=True)
def choose_command(
    config_path: str | None,
    range_: str | None,
    filter_: str | None,
    as_json: bool,
    tags: tuple[str, ...],
    **policy: Any,
) -> None:
    """Print the tag the policy picks among TAG... (or stdin's lines with -), offline,
    as poll would."""
    from updater.commands import choose as command

    request = command.ChooseRequest(
        tags=tags, config=config_path, range=range_, filter=filter_, as_json=as_json, **policy
    )
    run_command(lambda: command.run(request), None, as_json=as_json)


def main() -> None:
    cli(prog_name="updater")


def _register() -> None:
    # Imported here: they use the option helpers defined above.
    from updater.cli_release import history, hold, promote, rollback
    from updater.cli_serve import serve

    cli.add_command(history)
    cli.add_command(hold)
    cli.add_command(serve)
    cli.add_command(rollback)
    cli.add_command(promote)


_register()
