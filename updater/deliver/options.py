"""The delivery options, checked once: every mode reads them from here."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from updater.edit.model import Plan
from updater.errors import UsageError

MERGE_METHODS = ("merge", "squash", "rebase")


@dataclass(frozen=True)
class Flag:
    """How one delivery option is spelled outside Python: its command-line flag (the
    click option is made from this), its key in a config file's ``delivery:`` section and
    the type checked there, and the help text."""

    name: str  # "--label"
    key: str  # "labels" in delivery:
    kind: Literal["str", "bool", "list", "int"]
    help: str
    metavar: str | None = None
    choices: tuple[str, ...] = ()


def _flag(default: Any, name: str, kind: Literal["str", "bool", "list", "int"], help: str,
          *, key: str | None = None, metavar: str | None = None,
          choices: tuple[str, ...] = ()) -> Any:  # fmt: skip
    flag = Flag(name, key or name.removeprefix("--"), kind, help, metavar, choices)
    return field(default=default, metadata={"flag": flag})


@dataclass(frozen=True)
class DeliveryOptions:
    """The delivery options: the ONE definition of each. The command line's flags
    (``updater.cli.delivery_options``), the config's ``delivery:`` keys and types
    (``updater.config``) and the CI wrappers' arguments are all made from the
    :class:`Flag` in each field's metadata (:data:`FLAGS`)."""

    branch: str | None = _flag(
        None,
        "--branch",
        "str",
        metavar="NAME",
        help="Base branch to push to / propose against (default: the remote's default,"
        " or a local checkout's upstream).",
    )
    remote: str | None = _flag(
        None,
        "--remote",
        "str",
        metavar="NAME",
        help="Remote of a local --repo to deliver to (default: upstream's, else origin).",
    )
    forge: str | None = _flag(
        None,
        "--forge",
        "str",
        choices=("github", "gitlab"),
        help="Forge for --pull-request (default: from the remote URL's host).",
    )
    api_url: str | None = _flag(
        None,
        "--api-url",
        "str",
        metavar="URL",
        help="Forge API: GitHub Enterprise https://HOST/api/v3, GitLab https://HOST.",
    )
    project: str | None = _flag(
        None,
        "--project",
        "str",
        metavar="OWNER/NAME",
        help="Repository on the forge (default: the remote URL's path).",
    )
    token_env: str | None = _flag(
        None,
        "--token-env",
        "str",
        metavar="VAR",
        help="Variable holding the token (default: GITHUB_TOKEN, GH_TOKEN,"
        " GITLAB_TOKEN, CI_JOB_TOKEN).",
    )
    labels: tuple[str, ...] = _flag(
        (),
        "--label",
        "list",
        key="labels",
        metavar="NAME",
        help="Label for the PR/MR (repeatable, or comma-separated).",
    )
    reviewers: tuple[str, ...] = _flag(
        (),
        "--reviewer",
        "list",
        key="reviewers",
        metavar="USER",
        help="Reviewer (repeatable; GitHub ORG/TEAM for a team, GitLab user name or id).",
    )
    assignees: tuple[str, ...] = _flag(
        (), "--assignee", "list", key="assignees", metavar="USER", help="Assignee (repeatable)."
    )
    draft: bool = _flag(False, "--draft", "bool", help="Open the PR/MR as a draft.")
    auto_merge: bool = _flag(
        False,
        "--auto-merge",
        "bool",
        help="GitHub auto-merge / GitLab merge when the pipeline succeeds.",
    )
    merge_method: str = _flag(
        "merge",
        "--merge-method",
        "str",
        choices=MERGE_METHODS,
        help="Merge method for GitHub auto-merge (default: merge).",
    )
    close_superseded: bool = _flag(
        False,
        "--close-superseded",
        "bool",
        help="Close the bot's open PRs/MRs whose images this one covers.",
    )
    author: str | None = _flag(
        None,
        "--author",
        "str",
        metavar="'NAME <EMAIL>'",
        help="Commit author (default: gitops-updater <gitops-updater@users.noreply.github.com>).",
    )
    committer: str | None = _flag(
        None,
        "--committer",
        "str",
        metavar="'NAME <EMAIL>'",
        help="Committer (default: the author).",
    )
    message: str | None = _flag(
        None,
        "--message",
        "str",
        metavar="TEMPLATE",
        help="Commit message template: {summary} {images} {old} {new} {files}"
        " {count} {base} {details}.",
    )
    skip_ci: bool = _flag(
        False, "--skip-ci", "bool", help="Append [skip ci] to the commit subject."
    )
    signoff: bool = _flag(False, "--signoff", "bool", help="Add a Signed-off-by trailer.")
    max_retries: int = _flag(
        10,
        "--max-retries",
        "int",
        metavar="N",
        help="Push retries after losing a race (default: 10).",
    )
    # No flag: set by tests and commands, never by users.
    retry_delay: float = 0.25  # first backoff step, seconds; doubles, jittered, capped
    # Set by commands, never by flags: promote's own branch, and its PR title and body
    # (which must keep pull_request_body's marker for the bot to know its PR again).
    proposal_head: str | None = None
    proposal_text: Callable[[Plan, str], tuple[str, str]] | None = None
    # Where each value came from, for messages: option -> "--message" or
    # ".image-updater.yaml:7: delivery.message" (an option missing here: its flag).
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)

    def where(self, option: str) -> str:
        """The source of ``option``'s value, as a message names it."""
        return self.sources.get(option) or FLAGS[option].name

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any] | None) -> DeliveryOptions:
        options = dict(options or {})
        known = set(cls.__dataclass_fields__)
        unknown = sorted(k for k in options if k not in known)
        if unknown:
            raise UsageError(f"unknown delivery option(s): {', '.join(unknown)}")
        values: dict[str, Any] = {k: v for k, v in options.items() if v is not None}
        for key in ("labels", "reviewers", "assignees"):
            if key in values:
                values[key] = join_labels(tuple(values[key]))
        sources = dict(values.get("sources") or {})
        where = {name: sources.get(name) or flag.name for name, flag in FLAGS.items()}
        for name, flag in FLAGS.items():
            if (
                flag.kind == "str"
                and isinstance(values.get(name), str)
                and not values[name].strip()
            ):
                raise UsageError(f"{where[name]}: must not be empty")
        if values.get("max_retries", 0) < 0:
            raise UsageError(f"{where['max_retries']}: must be >= 0")
        if values.get("merge_method", "merge") not in MERGE_METHODS:
            raise UsageError(f"{where['merge_method']}: expected merge, squash or rebase")
        return cls(**values)


# Field name -> its Flag, in the order of the fields (the order of --help).
FLAGS: dict[str, Flag] = {
    f.name: f.metadata["flag"] for f in fields(DeliveryOptions) if "flag" in f.metadata
}


# The options a mode does not use (the others, such as --branch or --token-env, also
# serve the clone of a URL --repo in every mode).
_COMMITTING = ("commit", "push", "pull-request")
USED_BY: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("author", "committer", "message", "skip_ci", "signoff"), _COMMITTING),
    "max_retries": ("push", "pull-request"),
    **dict.fromkeys(
        ("project", "labels", "reviewers", "assignees", "draft", "auto_merge", "merge_method",
         "close_superseded"),
        ("pull-request",),
    ),
}  # fmt: skip


def ignored(options: DeliveryOptions, mode: str) -> tuple[str, ...]:
    """Where each option given that ``mode`` does not use came from (its flag, or the
    config's FILE:LINE): a ``--label`` with ``--push`` is said, not silently dropped."""
    defaults = DeliveryOptions()
    return tuple(
        options.where(name)
        for name, modes in USED_BY.items()
        if mode not in modes and getattr(options, name) != getattr(defaults, name)
    )


def join_labels(values: Sequence[str]) -> tuple[str, ...]:
    """Repeated and comma-separated values as one list, in order, without duplicates."""
    out: list[str] = []
    for value in values:
        for item in value.split(","):
            item = item.strip()
            if item and item not in out:
                out.append(item)
    return tuple(out)
