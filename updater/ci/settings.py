"""The job's settings: ``UPDATER_*`` environment variables, checked, turned into the argv
of one ``python -m updater`` call.

Both CI systems use the same variable names (GitHub's action maps each input ``foo-bar``
to ``UPDATER_FOO_BAR`` in its ``env:`` block), so one parser serves both and error
messages name the setting the way the user wrote it (``input 'images'`` or
``UPDATER_IMAGES``).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from updater.ci.repo import Forge, resolve_repo
from updater.deliver.model import MODE_NAMES
from updater.deliver.options import FLAGS
from updater.errors import UsageError

COMMANDS = ("set-image", "poll", "promote")
MODES = MODE_NAMES
# GitLab users say merge request; the command line has one name for both forges.
MODE_ALIASES = {"merge-request": "pull-request"}
DELIVERING_MODES = ("commit", "push", "pull-request")
# poll's flag for "the config file's delivery.mode": without any mode flag the command
# line only prints a diff, and a scheduled job must keep delivering as its config says.
CONFIG_MODE = "deliver"

_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0", ""})
# Image references and user names never contain spaces; paths and labels may.
_WORDS = re.compile(r"[\s,]+")
_LINES = re.compile(r"[\n,]+")

Label = Callable[[str], str]


def variable(name: str) -> str:
    """The environment variable of a setting: ``commit-message`` -> ``UPDATER_COMMIT_MESSAGE``."""
    return "UPDATER_" + name.upper().replace("-", "_")


@dataclass(frozen=True)
class Settings:
    command: str
    # A MODE flag's name; "deliver" for poll: the config's delivery.mode decides; "": a
    # mode flag is among extra_args (so every delivery option is passed on).
    mode: str
    repo: str  # a directory or a clone URL
    images: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    config: str = ""
    branch: str = ""
    message: str = ""
    labels: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()
    auto_merge: bool = False
    allow_no_match: bool = False
    extra_args: tuple[str, ...] = ()
    token_variable: str = ""  # name of the environment variable that holds the token
    forge: str = ""
    api_url: str = ""
    environment: str = ""  # promote: the environment promoted to

    @property
    def repo_is_local(self) -> bool:
        return bool(self.repo) and Path(self.repo).is_dir()

    def argv(self) -> list[str]:
        """Arguments for ``python -m updater``; values are never parsed by a shell."""
        args = [self.command]
        if self.repo:
            args += ["--repo", self.repo]
        if self.config:
            args += ["--config", self.config]
        if self.command == "promote":
            args += ["--to", self.environment]
            args += [f"--image={image}" for image in self.images] or ["--all"]
        if self.command == "set-image":
            for path in self.paths:
                args += ["--path", path]
        if self.mode:
            args.append(f"--{self.mode}")
        args.append("--json")
        # Delivery options are spelled by their one definition (DeliveryOptions' flags);
        # each reaches the command line only in the modes that use it.
        delivering = self.mode in (*DELIVERING_MODES, CONFIG_MODE, "")
        proposing = self.mode in ("pull-request", CONFIG_MODE, "")
        for option, value, wanted in (
            ("token_env", self.token_variable, True),
            ("forge", self.forge, True),
            ("branch", self.branch, delivering),
            ("message", self.message, delivering),
            ("api_url", self.api_url, proposing),
            ("labels", self.labels, proposing),
            ("reviewers", self.reviewers, proposing),
            ("auto_merge", self.auto_merge, proposing),
        ):
            if wanted:
                args += _flag_args(option, value)
        if self.allow_no_match and self.command == "set-image":
            args.append("--allow-no-match")
        args += self.extra_args
        if self.command == "set-image":
            # "--" keeps an image value that starts with "-" from being read as an option.
            args += ["--", *self.images]
        return args


def _flag_args(option: str, value: str | bool | tuple[str, ...]) -> list[str]:
    """``--flag VALUE``, the flag alone (a true bool), or the flag once per item."""
    flag = FLAGS[option].name
    if isinstance(value, bool):
        return [flag] if value else []
    if isinstance(value, tuple):
        return [arg for item in value for arg in (flag, item)]
    return [flag, value] if value else []


def split_words(value: str) -> tuple[str, ...]:
    return tuple(word for word in _WORDS.split(value) if word)


def split_lines(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in _LINES.split(value) if item.strip())


def parse_bool(value: str, name: str, label: Label) -> bool:
    folded = value.strip().lower()
    if folded in _TRUE:
        return True
    if folded in _FALSE:
        return False
    raise UsageError(f"{label(name)}: {value!r} is not a boolean (use true or false)")


def read_settings(
    env: Mapping[str, str],
    *,
    label: Label,
    forge: Forge,
    forge_kind: str,
    api_url: str,
) -> Settings:
    """Check every setting and fail on the first bad one with a message naming it.

    The repo setting (``""``, ``owner/name`` or a URL, its credentials already taken out)
    becomes a clone URL on the job's forge; a local directory is kept as it is. The job's
    forge (``--forge``, ``--api-url``) is named only for a repo on that forge, so a token
    meant for it is never offered to another host on the job's say-so.
    """

    def get(name: str) -> str:
        return env.get(variable(name), "")

    command = get("command").strip() or "set-image"
    if command not in COMMANDS:
        raise UsageError(f"{label('command')}: {command!r} is not one of {', '.join(COMMANDS)}")
    raw_mode = get("mode").strip()
    mode = MODE_ALIASES.get(raw_mode, raw_mode)
    if raw_mode and mode not in MODES:
        choices = ", ".join((*MODES, *MODE_ALIASES))
        raise UsageError(f"{label('mode')}: {raw_mode!r} is not one of {choices}")

    try:
        extra_args = tuple(shlex.split(get("args")))
    except ValueError as error:
        raise UsageError(f"{label('args')}: {error}") from None
    # A mode flag among the extra arguments is the user's choice: no default beside it
    # (the command line refuses two mode flags).
    mode_flags = {f"--{name}" for name in (*MODES, CONFIG_MODE)}
    if not mode and not mode_flags.intersection(extra_args):
        mode = "pull-request" if command == "set-image" else CONFIG_MODE

    images = split_words(get("images")) if command in ("set-image", "promote") else ()
    config = get("config").strip() if command in ("poll", "promote") else ""
    if command == "set-image" and not images:
        raise UsageError(f"{label('images')}: set-image needs at least one image reference")
    environment = get("environment").strip() if command == "promote" else ""
    if command == "promote" and not environment:
        raise UsageError(f"{label('environment')}: promote needs the environment to promote to")

    raw_repo = get("repo").strip()
    local = bool(raw_repo) and Path(raw_repo).is_dir()
    repo = raw_repo if local else resolve_repo(raw_repo, forge, label("repo"))
    if command in ("poll", "promote") and not config and not local:
        raise UsageError(
            f"{label('config')}: {command} of a remote repo needs the path of its config file "
            "(e.g. the .image-updater.yaml of a checkout)"
        )
    on_forge = local or forge.hosts(repo)

    return Settings(
        command=command,
        mode=mode,
        repo=repo,
        images=images,
        paths=split_lines(get("paths")),
        config=config,
        branch=get("branch").strip(),
        message=get("commit-message").strip(),
        labels=split_lines(get("labels")),
        reviewers=split_words(get("reviewers").replace("@", " ")),
        auto_merge=parse_bool(get("auto-merge"), "auto-merge", label),
        allow_no_match=parse_bool(get("allow-no-match"), "allow-no-match", label),
        extra_args=extra_args,
        token_variable=variable("token") if get("token").strip() else "",
        forge=forge_kind if on_forge else "",
        api_url=api_url if on_forge else "",
        environment=environment,
    )
