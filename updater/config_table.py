"""Declarative checks of the config file's mappings: one :class:`Key` row per key, one
loop (:func:`check_mapping`) that reads a mapping against a :class:`Table`.

The rows say what a key is (its type, allowed values, a checker for the special ones,
which values of a selector key such as ``policy`` it applies to); the loop owns how a
mistake is reported, so every section names ``FILE:LINE: KEY: reason`` the same way.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from updater.errors import UsageError

Kind = Literal["str", "bool", "list", "int"]


class ConfigError(UsageError):
    """The config file is malformed; the message is ``FILE:LINE: KEY: reason``."""


class Invalid(ValueError):
    """A row's checker refuses a value. ``at`` is the line the message names: the
    value's (default), the key's, or that of item ``at`` of a list value."""

    def __init__(self, message: str, at: Literal["value", "key"] | int = "value") -> None:
        super().__init__(message)
        self.at = at


# (value, the keys read before it, defaults included) -> the value to keep
Check = Callable[[Any, Mapping[str, Any]], Any]


@dataclass(frozen=True)
class Key:
    """One key of a mapping."""

    name: str
    kind: Kind
    default: Any = None  # the value when absent
    required: bool = False  # "missing key" when absent, before anything else is read
    choices: tuple[str, ...] = ()  # the values allowed; another one is refused with ...
    unlisted: str = "expected one of {choices}, got {value!r}"  # ... this
    check: Check | None = None  # what the type cannot say; raises Invalid
    only: tuple[str, ...] = ()  # the selector's values this key applies to (empty: all)
    needed_by: tuple[str, ...] = ()  # the selector's values that require it ...
    why: str = ""  # ... and what it is for, in that message


@dataclass(frozen=True)
class Table:
    keys: tuple[Key, ...]
    # The key whose value decides which others apply (``policy``): once it is read, a
    # key outside its ``only`` is refused, before any other key's value is looked at.
    selector: str | None = None
    # Keys are read in the table's order, so a checker may use the ones above it
    # (``extract`` needs ``filter``'s pattern); a table of independent keys is read in
    # the file's order, so the first mistake in the file is the one reported.
    file_order: bool = False

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(key.name for key in self.keys)

    def __getitem__(self, name: str) -> Key:
        return next(key for key in self.keys if key.name == name)


def parsed(read: Callable[[str], Any], error: type[Exception], prefix: str = "") -> Check:
    """A checker keeping what ``read`` makes of the text; its ``error`` is the message."""

    def check(text: str, got: Mapping[str, Any]) -> Any:
        try:
            return read(text)
        except error as problem:
            raise Invalid(f"{prefix}{problem}") from None

    return check


def matching(pattern: re.Pattern[str], message: str) -> Check:
    """A checker of a string, or of each string of a list: it must match ``pattern``;
    ``message`` names the one that does not (``{!r}``)."""

    def check(value: str | tuple[str, ...], got: Mapping[str, Any]) -> Any:
        for text in (value,) if isinstance(value, str) else value:
            if not pattern.match(text):
                raise Invalid(message.format(text))
        return value

    return check


def kind_of(value: Any) -> str:
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


class Checker:
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
            raise self.fail(line, key, f"expected a mapping, got {kind_of(value)}")
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
                self.value_line(mapping, key),
                path,
                f"expected a string, got {kind_of(value)}{hint}",
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
                f"expected a list of strings, got {kind_of(value)}",
            )
        out = []
        for index, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                problem = (
                    "must not be empty"
                    if isinstance(item, str)
                    else (f"expected a string, got {kind_of(item)}")
                )
                raise self.fail(self.item_line(value, index), f"{path}[{index}]", problem)
            out.append(item)
        return tuple(out)

    def whole(self, mapping: Any, key: str, path: str) -> int:
        value = mapping[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.fail(
                self.value_line(mapping, key), path, f"expected a whole number, got {value!r}"
            )
        return value

    def read(self, kind: Kind, mapping: Any, key: str, path: str) -> Any:
        readers: dict[Kind, Callable[[Any, str, str], Any]] = {
            "str": self.string,
            "bool": self.boolean,
            "list": self.strings,
            "int": self.whole,
        }
        return readers[kind](mapping, key, path)

    def line_of(self, mapping: Any, key: str, at: Literal["value", "key"] | int) -> int:
        if at == "key":
            return self.key_line(mapping, key)
        if isinstance(at, int):
            value = mapping[key]
            item = self.item_line(value, at) if isinstance(value, list) else 0
            return item or self.value_line(mapping, key)
        return self.value_line(mapping, key)


def check_mapping(c: Checker, value: Any, line: int, where: str, table: Table) -> dict[str, Any]:
    """Every key of ``table`` -> its checked value (or its default) in ``value``, the
    mapping at ``line`` that messages call ``where``; raise the first mistake."""
    entry = c.mapping(value, line, where, table.names)
    for key in table.keys:
        if key.required and key.name not in entry:
            raise c.fail(line, where, f"missing key {key.name!r}")
    got: dict[str, Any] = {key.name: key.default for key in table.keys}
    for key in [table[name] for name in entry] if table.file_order else table.keys:
        path = f"{where}.{key.name}" if where else key.name
        selected = got.get(table.selector) if table.selector else None
        if key.name not in entry:
            if selected in key.needed_by:
                message = f"{table.selector} {selected} needs {key.name!r}: {key.why}"
                raise c.fail(line, where, message)
            continue
        parsed = c.read(key.kind, entry, key.name, path)
        if key.choices and parsed not in key.choices:
            message = key.unlisted.format(choices=", ".join(key.choices), value=parsed)
            raise c.fail(c.value_line(entry, key.name), path, message)
        if key.check is not None:
            try:
                parsed = key.check(parsed, got)
            except Invalid as error:
                raise c.fail(c.line_of(entry, key.name, error.at), path, str(error)) from None
        got[key.name] = parsed
        if key.name == table.selector:
            for name in entry:
                if table[name].only and parsed not in table[name].only:
                    raise c.fail(
                        c.key_line(entry, name),
                        f"{where}.{name}",
                        f"does not apply to {table.selector} {parsed}",
                    )
    return got
