"""The polling config file (``.image-updater.yaml``), validated with errors that name
the file, the line and the key.

Everything is checked before any registry is asked: unknown keys (with a guess at
the one meant), wrong types, bad regexes, bad semver ranges, keys that do not apply
to the chosen policy, and two entries that would fight over the same files.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from updater.deliver.options import FLAGS
from updater.environments import Environment, check_environments
from updater.errors import UsageError, located
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

IMAGE_KEYS = (
    "name", "policy", "range", "order", "filter", "extract", "ignore", "tag",
    "pin-digest", "platform", "min-age", "paths", "alias", "only-marked", "allow-downgrade",
)  # fmt: skip
REGISTRY_KEYS = ("host", "insecure")
# delivery key -> (type, choices), from DeliveryOptions' flags (their one definition),
# and the DeliveryOptions field each key sets.
DELIVERY_KEYS: dict[str, tuple[str, tuple[str, ...]]] = {
    "mode": ("str", MODES),
    **{flag.key: (flag.kind, flag.choices) for flag in FLAGS.values()},
}
DELIVERY_FIELDS = {flag.key: name for name, flag in FLAGS.items()}


class ConfigError(UsageError):
    """The config file is malformed; the message is ``FILE:LINE: KEY: reason``."""


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


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _node_line(node: Any) -> int:
    try:
        return int(node.lc.line) + 1
    except AttributeError:
        return 0


class _Checker:
    """Walks the loaded YAML, which keeps each key's and item's line."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, line: int, key: str, message: str) -> ConfigError:
        return ConfigError(f"{key}: {message}" if key else message, file=self.file, line=line)

    @staticmethod
    def key_line(mapping: Any, key: str) -> int:
        try:
            return int(mapping.lc.key(key)[0]) + 1
        except (AttributeError, KeyError, TypeError):
            return _node_line(mapping)

    @staticmethod
    def value_line(mapping: Any, key: str) -> int:
        try:
            return int(mapping.lc.value(key)[0]) + 1
        except (AttributeError, KeyError, TypeError):
            return _node_line(mapping)

    @staticmethod
    def item_line(seq: Any, index: int) -> int:
        try:
            return int(seq.lc.item(index)[0]) + 1
        except (AttributeError, KeyError, TypeError, IndexError):
            return _node_line(seq)

    def mapping(self, value: Any, line: int, key: str, allowed: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(line, key, f"expected a mapping, got {_kind(value)}")
        for name in value:
            if not isinstance(name, str):
                raise self.fail(line, key, f"keys must be strings, got {name!r}")
            if name not in allowed:
                guess = difflib.get_close_matches(name, allowed, n=1)
                hint = f" (did you mean {guess[0]!r}?)" if guess else ""
                where = f"{key}." if key else ""
                raise self.fail(self.key_line(value, name), f"{where}{name}", f"unknown key{hint}")
        return value

    def string(self, mapping: Any, key: str, path: str) -> str:
        value = mapping[key]
        if not isinstance(value, str):
            hint = " (quote it)" if isinstance(value, int | float) else ""
            raise self.fail(
                self.value_line(mapping, key), path, f"expected a string, got {_kind(value)}{hint}"
            )
        if not value.strip():
            raise self.fail(self.value_line(mapping, key), path, "must not be empty")
        return value

    def boolean(self, mapping: Any, key: str, path: str) -> bool:
        value = mapping[key]
        if not isinstance(value, bool):
            raise self.fail(
                self.value_line(mapping, key), path, f"expected true or false, got {value!r}"
            )
        return value

    def strings(self, mapping: Any, key: str, path: str) -> tuple[str, ...]:
        value = mapping[key]
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, list):
            raise self.fail(
                self.value_line(mapping, key),
                path,
                f"expected a list of strings, got {_kind(value)}",
            )
        out = []
        for index, item in enumerate(value):
            if not isinstance(item, str) or not item:
                raise self.fail(
                    self.item_line(value, index),
                    f"{path}[{index}]",
                    f"expected a string, got {_kind(item)}",
                )
            out.append(item)
        return tuple(out)


def parse_duration(text: str) -> timedelta:
    """``2h``, ``90m``, ``1h30m``, ``1d``, ``1w``, ``45s``; raise ValueError."""
    compact = text.replace(" ", "")
    if not _DURATION_RE.match(compact):
        raise ValueError(f"{text!r} is not a duration (like 30m, 2h, 1d, 1h30m)")
    seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART_RE.findall(compact))
    return timedelta(seconds=seconds)


def _policy_keys(kind: str) -> set[str]:
    keys = {"name", "policy", "filter", "extract", "ignore", "pin-digest", "platform"}
    keys |= {"min-age", "paths", "alias", "only-marked", "allow-downgrade"}
    if kind == "semver":
        keys.add("range")
    if kind in ("numerical", "alphabetical"):
        keys.add("order")
    if kind == "digest":
        keys = {"name", "policy", "tag", "pin-digest", "platform", "paths", "alias", "only-marked"}
    return keys


def _check_image(c: _Checker, item: Any, index: int, line: int) -> ImageConfig:
    base = f"images[{index}]"
    entry = c.mapping(item, line, base, IMAGE_KEYS)
    for required in ("name", "policy"):
        if required not in entry:
            raise c.fail(line, base, f"missing key {required!r}")
    name = c.string(entry, "name", f"{base}.name")
    try:
        ref = parse(name)
    except InvalidReference as error:
        raise c.fail(c.value_line(entry, "name"), f"{base}.name", str(error)) from None
    if ref.tag or ref.digest:
        raise c.fail(
            c.value_line(entry, "name"), f"{base}.name", "give the repository without tag or digest"
        )
    kind = c.string(entry, "policy", f"{base}.policy")
    if kind not in POLICIES:
        raise c.fail(
            c.value_line(entry, "policy"),
            f"{base}.policy",
            f"unknown policy {kind!r} (expected {', '.join(POLICIES)})",
        )
    allowed = _policy_keys(kind)
    for key in entry:
        if key not in allowed:
            raise c.fail(
                c.key_line(entry, key), f"{base}.{key}", f"does not apply to policy {kind}"
            )

    def text(key: str) -> str | None:
        return c.string(entry, key, f"{base}.{key}") if key in entry else None

    constraint = None
    if (spelled := text("range")) is not None:
        try:
            constraint = parse_constraint(spelled)
        except InvalidConstraint as error:
            raise c.fail(
                c.value_line(entry, "range"), f"{base}.range", f"bad semver range: {error}"
            ) from None
    order = text("order") or "asc"
    if order not in ORDERS:
        raise c.fail(c.value_line(entry, "order"), f"{base}.order", "expected asc or desc")
    pattern = None
    if (source := text("filter")) is not None:
        try:
            pattern = compile_filter(source)
        except re.error as error:
            raise c.fail(
                c.value_line(entry, "filter"), f"{base}.filter", f"bad regular expression: {error}"
            ) from None
    extract = text("extract")
    if extract is not None:
        problem = extract_problem(extract, pattern)
        if problem is not None:
            line = (
                c.key_line(entry, "extract") if pattern is None else c.value_line(entry, "extract")
            )
            raise c.fail(line, f"{base}.extract", problem)
    ignore = c.strings(entry, "ignore", f"{base}.ignore") if "ignore" in entry else ()
    tag = text("tag")
    if kind == "digest":
        if tag is None:
            raise c.fail(line, base, "policy digest needs 'tag': the tag to follow")
        if not _TAG_RE.match(tag):
            raise c.fail(c.value_line(entry, "tag"), f"{base}.tag", f"invalid tag {tag!r}")
    pin = c.boolean(entry, "pin-digest", f"{base}.pin-digest") if "pin-digest" in entry else False
    platform = text("platform")
    if platform is not None and not _PLATFORM_RE.match(platform):
        raise c.fail(
            c.value_line(entry, "platform"),
            f"{base}.platform",
            f"expected OS/ARCH or OS/ARCH/VARIANT, got {platform!r}",
        )
    min_age = None
    if (age := text("min-age")) is not None:
        try:
            min_age = parse_duration(age)
        except ValueError as error:
            raise c.fail(c.value_line(entry, "min-age"), f"{base}.min-age", str(error)) from None
    paths = c.strings(entry, "paths", f"{base}.paths") if "paths" in entry else ()
    for number, path in enumerate(paths):
        parts = Path(path).parts
        if Path(path).is_absolute() or ".." in parts:
            where = c.item_line(entry["paths"], number) if isinstance(entry["paths"], list) else 0
            raise c.fail(
                where or c.value_line(entry, "paths"),
                f"{base}.paths",
                f"{path!r}: must be relative, inside the repo",
            )
    aliases = c.strings(entry, "alias", f"{base}.alias") if "alias" in entry else ()
    for alias in aliases:
        if not _ALIAS_RE.match(alias):
            raise c.fail(
                c.value_line(entry, "alias"),
                f"{base}.alias",
                f"expected NAMESPACE:NAME, got {alias!r}",
            )
    only_marked = (
        c.boolean(entry, "only-marked", f"{base}.only-marked") if "only-marked" in entry else False
    )
    if only_marked and not aliases:
        raise c.fail(
            c.key_line(entry, "only-marked"),
            f"{base}.only-marked",
            "needs 'alias': the policies whose marked fields to update",
        )
    allow_downgrade = (
        c.boolean(entry, "allow-downgrade", f"{base}.allow-downgrade")
        if "allow-downgrade" in entry
        else False
    )
    return ImageConfig(
        name=name,
        repository=ref.repository,
        policy=TagPolicy(
            kind=kind,
            range=constraint,
            order=order,
            filter=pattern,
            extract=extract,
            ignore=ignore,
            tag=tag,
            min_age=min_age,
        ),
        pin_digest=pin or kind == "digest",
        platform=platform,
        paths=tuple(p.strip("/") or "." for p in paths),
        aliases=aliases,
        line=line,
        only_marked=only_marked,
        allow_downgrade=allow_downgrade,
    )


def _overlap(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    if not a or not b:
        return True
    return any(x == y or x.startswith(f"{y}/") or y.startswith(f"{x}/") for x in a for y in b)


def _check_registries(c: _Checker, data: Any) -> tuple[RegistrySettings, ...]:
    from updater.registry.hosts import RegistrySettings, canonical_host

    line = c.value_line(data, "registries")
    value = data["registries"]
    if value is None:
        return ()
    if not isinstance(value, list):
        raise c.fail(line, "registries", f"expected a list, got {_kind(value)}")
    out = []
    for index, item in enumerate(value):
        base = f"registries[{index}]"
        entry = c.mapping(item, c.item_line(value, index), base, REGISTRY_KEYS)
        if "host" not in entry:
            raise c.fail(c.item_line(value, index), base, "missing key 'host'")
        host = c.string(entry, "host", f"{base}.host")
        insecure = (
            c.boolean(entry, "insecure", f"{base}.insecure") if "insecure" in entry else False
        )
        out.append(RegistrySettings(host=canonical_host(host), insecure=insecure))
    return tuple(out)


def check_delivery(
    c: _Checker, data: Any, where: str = "delivery"
) -> tuple[str | None, dict[str, Any], dict[str, int]]:
    """(mode, options, option -> line) of ``data["delivery"]``; ``where`` names it."""
    value = data["delivery"]
    if value is None:
        return None, {}, {}
    entry = c.mapping(value, c.value_line(data, "delivery"), where, tuple(DELIVERY_KEYS))
    options: dict[str, Any] = {}
    lines: dict[str, int] = {}
    mode = None
    readers: dict[str, Callable[[Any, str, str], Any]] = {
        "str": c.string,
        "bool": c.boolean,
        "list": c.strings,
    }
    for key in entry:
        kind, choices = DELIVERY_KEYS[key]
        path = f"{where}.{key}"
        if kind == "int":
            got = entry[key]
            if isinstance(got, bool) or not isinstance(got, int) or got < 0:
                raise c.fail(
                    c.value_line(entry, key), path, f"expected a whole number, got {got!r}"
                )
            parsed: Any = got
        else:
            parsed = readers[kind](entry, key, path)
        if choices and parsed not in choices:
            raise c.fail(
                c.value_line(entry, key),
                path,
                f"expected one of {', '.join(choices)}, got {parsed!r}",
            )
        if key == "mode":
            mode = parsed
        else:
            options[DELIVERY_FIELDS[key]] = parsed
            lines[DELIVERY_FIELDS[key]] = c.value_line(entry, key)
    return mode, options, lines


def parse_config(text: str, file: str, *, need_images: bool = True) -> PollConfig:
    """The config in ``text``; ``need_images=False`` (hold, rollback, promote) also takes
    a file without ``images:``."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    c = _Checker(file)
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
        raise c.fail(images_line, "images", f"expected a list, got {_kind(images_value)}")
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
