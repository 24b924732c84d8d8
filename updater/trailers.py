"""The bot's commit trailers, both ways: written at the end of every commit it makes,
read back by ``updater history``. The format is a stable interface (docs/trailers.md)::

    Image-Updated: ghcr.io/acme/api 1.4.2 -> 1.5.0 (apps/api/overlays/prod/kustomization.yaml:13)
    Image-Updater-Trigger: poll policy=semver range=">=1.4 <2"
    Image-Updater-Run: https://github.com/acme/config/actions/runs/42

Values come from the config repo and from registries, so every one is a *token*: kept
bare when it holds only characters that cannot be confused with the format (letters,
digits and ``._/:@+~=%?#&,-``), else double-quoted with ``\\``, ``"`` and every
non-printable character escaped. No value can break a line, start another trailer or
move the `` -> `` and ``(file:line)`` separators, and :func:`parse_trailers` gives back
exactly what :func:`format_trailers` was given. Standard library only: readers of
history import this without the rest of the bot.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

IMAGE_UPDATED = "Image-Updated"
IMAGE_RENAMED = "Image-Renamed"
TRIGGER = "Image-Updater-Trigger"
RUN = "Image-Updater-Run"


@dataclass(frozen=True)
class ImageChange:
    """One changed reference (one site): the normalised repository, the version it had
    and has (tag, digest or tag@digest as the reference spells it, "" for none) and
    where it is (file relative to the repo root, 1-based line of the changed value)."""

    repository: str
    old: str
    new: str
    file: str
    line: int


@dataclass(frozen=True)
class ImageRename:
    """A changed reference that deploys another repository now: ``repository`` as on
    its ``Image-Updated`` line, the normalised repositories it deployed (``old``) and
    deploys (``new``), and the line of its first changed value. ``Image-Updated`` cannot
    say this: its OLD and NEW are versions, and a rename may keep the version."""

    repository: str
    old: str
    new: str
    file: str
    line: int


@dataclass(frozen=True)
class BotTrailers:
    changes: tuple[ImageChange, ...]
    trigger: str  # a formatted :class:`Trigger`, e.g. 'poll policy=semver range=">=1.4 <2"'
    run: str  # what ran the bot: a CI pipeline or job URL, or a uuid ("" for none)
    renames: tuple[ImageRename, ...] = ()  # the changed references that changed repository


@dataclass(frozen=True)
class Trigger:
    """Why the bot committed: the command and its parameters, in order (a key may repeat:
    a poll of several images names each one's policy)."""

    command: str  # set-image | poll | promote | rollback | hold add | hold remove
    params: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        return " ".join([self.command, *(f"{k}={quote(v)}" for k, v in self.params)])

    def get(self, key: str) -> str | None:
        return next((v for k, v in self.params if k == key), None)


SET_IMAGE = Trigger("set-image")


# --------------------------------------------------------------------------- tokens

_BARE = r"[A-Za-z0-9._/:@+~=%?#&,-]+"
_QUOTED = r'"(?:[^"\\]|\\["\\]|\\x[0-9a-f]{2}|\\u[0-9a-f]{4}|\\U[0-9a-f]{8})*"'
_TOKEN = rf"(?:{_QUOTED}|{_BARE})"
_KEY = re.compile(r"[a-z][a-z0-9-]*\Z")
_COMMAND = re.compile(r"[a-z][a-z0-9-]*(?: [a-z][a-z0-9-]*)*\Z")
_ESCAPE = re.compile(r'\\(?:(["\\])|x([0-9a-f]{2})|u([0-9a-f]{4})|U([0-9a-f]{8}))')


def quote(value: str) -> str:
    """``value`` as one token: bare when safe, else in double quotes, escaped."""
    if re.fullmatch(_BARE, value):
        return value
    out = []
    for ch in value:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == " " or ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x100:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


def unquote(token: str) -> str:
    """The value of a token written by :func:`quote`; ``ValueError`` for anything else."""
    if re.fullmatch(_BARE, token):
        return token
    if not re.fullmatch(_QUOTED, token):
        raise ValueError(f"not a token: {token!r}")
    inner = token[1:-1]

    def one(match: re.Match[str]) -> str:
        if match[1]:
            return match[1]
        return chr(int(match[2] or match[3] or match[4], 16))  # ValueError past U+10FFFF

    return _ESCAPE.sub(one, inner)


def _clean(text: str, what: str) -> str:
    """A trigger or run is written as it is: it must be one printable line already."""
    if text != text.strip() or not all(ch == " " or ch.isprintable() for ch in text):
        raise ValueError(f"{what} {text!r}: not one printable line (quote its values)")
    return text


# --------------------------------------------------------------------------- writing


def format_change(change: ImageChange | ImageRename) -> str:
    if change.line < 0:
        raise ValueError(f"line {change.line}: must be 0 or more")
    where = f"{quote(change.file)}:{change.line}"
    return f"{quote(change.repository)} {quote(change.old)} -> {quote(change.new)} ({where})"


def format_trailers(trailers: BotTrailers) -> str:
    """The trailer lines (no trailing newline): one ``Image-Updated`` per change, one
    ``Image-Renamed`` per renamed reference, then the trigger, then the run when there
    is one."""
    lines = [f"{IMAGE_UPDATED}: {format_change(c)}" for c in trailers.changes]
    lines += [f"{IMAGE_RENAMED}: {format_change(r)}" for r in trailers.renames]
    lines.append(f"{TRIGGER}: {_clean(trailers.trigger, 'trigger')}")
    if trailers.run:
        lines.append(f"{RUN}: {_clean(trailers.run, 'run')}")
    return "\n".join(lines)


def run_id(env: Mapping[str, str]) -> str:
    """What this run is called in its trailers: ``UPDATER_RUN_ID`` when set, else the
    GitHub Actions run URL, else the GitLab CI job URL, else a new uuid4. One token."""
    given = env.get("UPDATER_RUN_ID", "").strip()
    server, repository, run = (
        env.get(k, "").strip() for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    )
    if given:
        value = given
    elif server and repository and run:
        value = f"{server.rstrip('/')}/{repository}/actions/runs/{run}"
    elif env.get("CI_JOB_URL", "").strip():
        value = env["CI_JOB_URL"].strip()
    else:
        value = str(uuid.uuid4())
    return quote(value)


# --------------------------------------------------------------------------- reading

_CHANGE = re.compile(
    rf"(?P<repository>{_TOKEN}) (?P<old>{_TOKEN}) -> (?P<new>{_TOKEN})"
    rf" \((?P<file>{_TOKEN}):(?P<line>[0-9]+)\)"
)
_TRAILER = re.compile(r"([A-Za-z0-9][A-Za-z0-9-]*)[ \t]*:[ \t]*(.*)")


def parse_change(value: str) -> ImageChange | None:
    """The change an ``Image-Updated`` value names, or None when it is not one."""
    parts = _parts(value)
    return None if parts is None else ImageChange(*parts)


def parse_rename(value: str) -> ImageRename | None:
    """The rename an ``Image-Renamed`` value names (a change's grammar, repositories in
    place of versions), or None when it is not one."""
    parts = _parts(value)
    return None if parts is None else ImageRename(*parts)


def _parts(value: str) -> tuple[str, str, str, str, int] | None:
    match = _CHANGE.fullmatch(value.strip())
    if match is None:
        return None
    try:
        repository, old, new, file = (
            unquote(match[k]) for k in ("repository", "old", "new", "file")
        )
    except ValueError:
        return None
    return repository, old, new, file, int(match["line"])


def last_paragraph(message: str) -> list[str]:
    """The lines of the message's last paragraph, where git looks for trailers (only
    ``\n`` ends a line for git; the bot never writes another line break)."""
    lines = message.split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    start = len(lines)
    while start > 0 and lines[start - 1].strip():
        start -= 1
    return lines[start:]


def parse_trailers(message: str) -> BotTrailers | None:
    """The bot's trailers in ``message`` (a whole commit message), read from its last
    paragraph only, as git does; None when that has no ``Image-Updated`` trailer.
    Lines that are not the bot's (``Signed-off-by:``...) or do not parse are skipped."""
    changes: list[ImageChange] = []
    renames: list[ImageRename] = []
    trigger: str | None = None
    run: str | None = None
    for line in last_paragraph(message):
        match = _TRAILER.fullmatch(line.rstrip("\r"))
        if match is None:
            continue
        key, value = match[1].lower(), match[2].strip()
        if key == IMAGE_UPDATED.lower():
            change = parse_change(value)
            if change is not None:
                changes.append(change)
        elif key == IMAGE_RENAMED.lower():
            rename = parse_rename(value)
            if rename is not None:
                renames.append(rename)
        elif key == TRIGGER.lower() and trigger is None:
            trigger = value
        elif key == RUN.lower() and run is None:
            run = value
    if not changes:
        return None
    return BotTrailers(tuple(changes), trigger or "", run or "", tuple(renames))


def parse_trigger(text: str) -> Trigger | None:
    """The :class:`Trigger` a trigger value names; None when it is not one."""
    command = re.match(r"[a-z][a-z0-9-]*(?: [a-z][a-z0-9-]*(?= |\Z))*", text)
    if command is None:
        return None
    rest = text[command.end() :]
    params = []
    for match in re.finditer(rf" ([a-z][a-z0-9-]*)=({_TOKEN})|(.)", rest, re.DOTALL):
        if match[3] is not None:
            return None
        try:
            params.append((match[1], unquote(match[2])))
        except ValueError:
            return None
    return Trigger(command[0], tuple(params))


def trigger(command: str, *params: tuple[str, str | None]) -> Trigger:
    """A :class:`Trigger`, leaving out the parameters whose value is None."""
    if not _COMMAND.match(command):
        raise ValueError(f"trigger command {command!r}")
    for key, _ in params:
        if not _KEY.match(key):
            raise ValueError(f"trigger key {key!r}")
    return Trigger(command, tuple((k, v) for k, v in params if v is not None))
