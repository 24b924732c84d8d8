"""The polling config file (``.image-updater.yaml``), validated with errors that name
the file, the line and the key.

Everything is checked before any registry is asked: unknown keys (with a guess at
the one meant), wrong types, bad regexes, bad semver ranges, keys that do not apply
to the chosen policy, and two entries that would fight over the same files.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from updater.config_table import (
    Checker,
    Invalid,
    Key,
    Table,
    check_mapping,
    kind_of,
    matching,
    parsed,
)
from updater.config_table import ConfigError as ConfigError  # callers catch it from here
from updater.deliver.options import FLAGS
from updater.environments import Environment, check_environments
from updater.errors import located
from updater.holds import Hold, check_holds
from updater.policy import (
    ORDERS,
    POLICIES,
    InvalidConstraint,
    TagPolicy,
    parse_constraint,
)
from updater.policy.build import compile_filter, extract_problem
from updater.reference import TAG_PATTERN, InvalidReference, parse
from updater.webhooks import WebhookSettings, check_webhooks

if TYPE_CHECKING:  # the registry client brings requests: imported when a config lists hosts
    from updater.registry.hosts import RegistrySettings

DEFAULT_NAME = ".image-updater.yaml"
MODES = ("dry-run", "write", "commit", "push", "pull-request")

_DURATION_RE = re.compile(r"^(?:\d+(?:\.\d+)?(?:w|d|h|m|s))+$")
_DURATION_PART_RE = re.compile(r"(\d+(?:\.\d+)?)(w|d|h|m|s)")
_UNIT_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_TAG_RE = re.compile(rf"^{TAG_PATTERN}$")
_PLATFORM_RE = re.compile(r"^[a-z0-9_.-]+/[a-z0-9_.-]+(?:/[a-z0-9_.-]+)?$")
_ALIAS_RE = re.compile(r"^[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+$")

# The delivery: keys, made from DeliveryOptions' flags (their one definition); read in
# the file's order. DELIVERY_KEYS: key -> (type, choices); DELIVERY_FIELDS: key -> the
# DeliveryOptions field it sets.
DELIVERY_TABLE = Table(
    (
        Key("mode", "str", choices=MODES),
        *(Key(flag.key, flag.kind, choices=flag.choices) for flag in FLAGS.values()),
    ),
    file_order=True,
)
DELIVERY_KEYS = {key.name: (key.kind, key.choices) for key in DELIVERY_TABLE.keys}
DELIVERY_FIELDS = {flag.key: name for name, flag in FLAGS.items()}


@dataclass(frozen=True)
class ImageConfig:
    name: str  # as the files spell it
    repository: str  # normalised
    policy: TagPolicy
    pin_digest: bool = False
    platform: str | None = None
    paths: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    line: int = 0
    only_marked: bool = False  # touch only fields marked for one of ``aliases`` (Flux)
    allow_downgrade: bool = False  # may move a reference to a tag ranked below its own


@dataclass(frozen=True)
class PollConfig:
    path: str
    images: tuple[ImageConfig, ...]
    registries: tuple[RegistrySettings, ...] = ()
    mode: str | None = None
    delivery: dict[str, Any] = field(default_factory=dict)  # DeliveryOptions field names
    delivery_lines: dict[str, int] = field(default_factory=dict)  # same keys -> line
    holds: tuple[Hold, ...] = ()
    environments: tuple[Environment, ...] = ()
    webhooks: WebhookSettings | None = None  # None: no webhooks: section (serve's defaults)


def parse_duration(text: str) -> timedelta:
    """``2h``, ``90m``, ``1h30m``, ``1d``, ``1w``, ``45s``; raise ValueError."""
    compact = text.replace(" ", "")
    if not _DURATION_RE.match(compact):
        raise ValueError(f"{text!r} is not a duration (like 30m, 2h, 1d, 1h30m)")
    seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART_RE.findall(compact))
    try:
        return timedelta(seconds=seconds)
    except OverflowError:  # a bad value is a message, not a traceback
        raise ValueError(f"{text!r} is too long (at most {timedelta.max.days} days)") from None


def _repository(name: str, got: Mapping[str, Any]) -> str:
    try:
        ref = parse(name)
    except InvalidReference as error:
        raise Invalid(str(error)) from None
    if ref.tag or ref.digest:
        raise Invalid("give the repository without tag or digest")
    return name


def _extract(template: str, got: Mapping[str, Any]) -> str:
    problem = extract_problem(template, got["filter"])
    if problem is not None:  # without a filter, the key is the mistake
        raise Invalid(problem, at="key" if got["filter"] is None else "value")
    return template


def _paths(paths: tuple[str, ...], got: Mapping[str, Any]) -> tuple[str, ...]:
    for number, path in enumerate(paths):
        if Path(path).is_absolute() or ".." in Path(path).parts:
            raise Invalid(f"{path!r}: must be relative, inside the repo", at=number)
    return tuple(p.strip("/") or "." for p in paths)


def _only_marked(only: bool, got: Mapping[str, Any]) -> bool:
    if only and not got["alias"]:
        raise Invalid("needs 'alias': the policies whose marked fields to update", at="key")
    return only


_RANKED = tuple(kind for kind in POLICIES if kind != "digest")  # the policies that rank tags

# The keys of an images: entry, in the order they are checked (a checker may use the
# keys above it); ``only``: the policies a key applies to. docs/polling.md documents
# each one (tests/config/test_config_reference.py keeps the two the same).
IMAGE_TABLE = Table(
    (
        Key("name", "str", required=True, check=_repository),
        Key("policy", "str", required=True, choices=POLICIES,
            unlisted="unknown policy {value!r} (expected {choices})"),
        Key("range", "str", check=parsed(parse_constraint, InvalidConstraint, "bad semver range: "),
            only=("semver",)),
        Key("order", "str", "asc", choices=ORDERS, unlisted="expected asc or desc",
            only=("numerical", "alphabetical")),
        Key("filter", "str", check=parsed(compile_filter, re.error, "bad regular expression: "),
            only=_RANKED),
        Key("extract", "str", check=_extract, only=_RANKED),
        Key("ignore", "list", (), only=_RANKED),
        Key("tag", "str", check=matching(_TAG_RE, "invalid tag {!r}"), only=("digest",),
            needed_by=("digest",), why="the tag to follow"),
        Key("pin-digest", "bool", False),
        Key("platform", "str",
            check=matching(_PLATFORM_RE, "expected OS/ARCH or OS/ARCH/VARIANT, got {!r}")),
        Key("min-age", "str", check=parsed(parse_duration, ValueError), only=_RANKED),
        Key("paths", "list", (), check=_paths),
        Key("alias", "list", (), check=matching(_ALIAS_RE, "expected NAMESPACE:NAME, got {!r}")),
        Key("only-marked", "bool", False, check=_only_marked),
        Key("allow-downgrade", "bool", False, only=_RANKED),
    ),
    selector="policy",
)  # fmt: skip


def _check_image(c: Checker, item: Any, index: int, line: int) -> ImageConfig:
    got = check_mapping(c, item, line, f"images[{index}]", IMAGE_TABLE)
    kind = got["policy"]
    return ImageConfig(
        name=got["name"],
        repository=parse(got["name"]).repository,
        policy=TagPolicy(
            kind=kind,
            range=got["range"],
            order=got["order"],
            filter=got["filter"],
            extract=got["extract"],
            ignore=got["ignore"],
            tag=got["tag"],
            min_age=got["min-age"],
        ),
        pin_digest=got["pin-digest"] or kind == "digest",
        platform=got["platform"],
        paths=got["paths"],
        aliases=got["alias"],
        line=line,
        only_marked=got["only-marked"],
        allow_downgrade=got["allow-downgrade"],
    )


def _overlap(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    if not a or not b:
        return True
    return any(x == y or x.startswith(f"{y}/") or y.startswith(f"{x}/") for x in a for y in b)


def _host(host: str, got: Mapping[str, Any]) -> str:
    from updater.registry.hosts import canonical_host

    return canonical_host(host)


REGISTRY_TABLE = Table(
    (Key("host", "str", required=True, check=_host), Key("insecure", "bool", False))
)


def _check_registries(c: Checker, data: Any) -> tuple[RegistrySettings, ...]:
    from updater.registry.hosts import RegistrySettings

    value = data["registries"]
    if value is None:
        return ()
    if not isinstance(value, list):
        raise c.fail(
            c.value_line(data, "registries"), "registries", f"expected a list, got {kind_of(value)}"
        )
    out = []
    for index, item in enumerate(value):
        got = check_mapping(
            c, item, c.item_line(value, index), f"registries[{index}]", REGISTRY_TABLE
        )
        out.append(RegistrySettings(host=got["host"], insecure=got["insecure"]))
    return tuple(out)


def check_delivery(
    c: Checker, data: Any, where: str = "delivery"
) -> tuple[str | None, dict[str, Any], dict[str, int]]:
    """(mode, options, option -> line) of ``data["delivery"]``; ``where`` names it."""
    value = data["delivery"]
    if value is None:
        return None, {}, {}
    got = check_mapping(c, value, c.value_line(data, "delivery"), where, DELIVERY_TABLE)
    given = [key for key in value if key != "mode"]
    options = {DELIVERY_FIELDS[key]: got[key] for key in given}
    lines = {DELIVERY_FIELDS[key]: c.value_line(value, key) for key in given}
    return got["mode"], options, lines


def parse_config(text: str, file: str, *, need_images: bool = True) -> PollConfig:
    """The config in ``text``; ``need_images=False`` (hold, rollback, promote) also takes
    a file without ``images:``."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    c = Checker(file)
    try:
        data = YAML(typ="rt", pure=False).load(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise c.fail(line, "", f"not valid YAML: {error.problem or error.context}") from None
    except YAMLError as error:
        raise c.fail(0, "", f"not valid YAML: {error}") from None
    if data is None:
        raise c.fail(0, "", "empty; expected a mapping with 'images:'")
    c.mapping(
        data, 1, "", ("images", "registries", "delivery", "holds", "environments", "webhooks")
    )
    if "images" not in data and need_images:
        raise c.fail(1, "", "missing key 'images'")
    images_value = data.get("images", [])
    images_line = c.value_line(data, "images")
    if not isinstance(images_value, list):
        raise c.fail(images_line, "images", f"expected a list, got {kind_of(images_value)}")
    if not images_value and need_images:
        raise c.fail(images_line, "images", "lists no image")
    images: list[ImageConfig] = []
    for index, item in enumerate(images_value):
        image = _check_image(c, item, index, c.item_line(images_value, index))
        for earlier in images:
            if earlier.repository == image.repository and _overlap(earlier.paths, image.paths):
                raise c.fail(
                    image.line,
                    f"images[{index}].name",
                    f"{image.name} is already configured at line {earlier.line}"
                    " for overlapping paths",
                )
        images.append(image)
    registries = _check_registries(c, data) if "registries" in data else ()
    mode, options, lines = check_delivery(c, data) if "delivery" in data else (None, {}, {})
    holds = check_holds(c, data) if "holds" in data else ()
    environments = check_environments(c, data) if "environments" in data else ()
    webhooks = check_webhooks(c, data) if "webhooks" in data else None
    return PollConfig(
        file, tuple(images), registries, mode, options, lines, holds, environments, webhooks
    )


# Delivery keys that decide where a token is sent. The config file lives in the config
# repo, whose content must not steer credentials: these are used only when the command
# line (which is also how the CI wrappers pass their settings) says the same, or when
# they name a forge's own API or the CI platform's.
CREDENTIAL_KEYS = ("api_url", "token_env")


def confirmed_delivery(
    config: PollConfig,
    command_line: Mapping[str, Any],
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The config's delivery options; ``api-url``/``token-env`` there are refused (file:line)
    unless the command line or the CI platform confirms them. ``sources`` names where
    each one the command line leaves to the file came from (``FILE:LINE: delivery.KEY``),
    so that a message about its value names the file, not a flag."""
    from updater.remote import FORGES, Trust, origin

    options = dict(config.delivery)
    trust = Trust(environ=environ)
    for key in CREDENTIAL_KEYS:
        if key not in options:
            continue
        value = options[key]
        given = command_line.get(key)
        if given is not None:
            continue  # the command line decides; the file's value is not used
        if key == "api_url" and any(origin(str(value)) in trust.origins(kind) for kind in FORGES):
            continue  # a forge's own API, or this CI platform's: nowhere new
        flag = "--" + key.replace("_", "-")
        line = config.delivery_lines.get(key, 0)
        where = f"{config.path}:{line}" if line else config.path
        raise ConfigError(
            f"{where}: delivery.{key.replace('_', '-')}: the config repo cannot choose where"
            f" a token goes; pass {flag} {value} on the command line (or in the CI settings)"
            " to confirm it, or remove it here"
        )
    sources = {
        key: located(f"delivery.{FLAGS[key].key}", config.path, config.delivery_lines.get(key))
        for key in options
        if command_line.get(key) is None
    }
    return {**options, "sources": sources} if sources else options


def delivery_mode(flag: str | None, config: PollConfig) -> str:
    """The mode of a poll run: the MODE flag wins; without one, dry-run (the config alone
    never delivers); ``--deliver`` takes the config's ``delivery.mode``."""
    if flag is None:
        return "dry-run"
    if flag != "deliver":
        return flag
    if config.mode is None:
        raise ConfigError(
            f"{config.path}: --deliver uses delivery.mode, which this file does not set"
            " (set it, or pass a mode flag such as --pull-request)"
        )
    return config.mode


def load_config(path: Path, shown: str | None = None, *, need_images: bool = True) -> PollConfig:
    name = shown or str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError("no such config file", file=name) from None
    except OSError as error:
        raise ConfigError(f"cannot read ({error.strerror})", file=name) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError("not UTF-8", file=name) from None
    return parse_config(text, name, need_images=need_images)
