"""Rendered objects as data, and their differences leaf by leaf."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from updater.render.roots import SafeLoader

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class ObjectKey:
    api_version: str
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        where = f" -n {self.namespace}" if self.namespace else ""
        return f"{self.kind}/{self.name}{where}"

    @property
    def short(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclass(frozen=True)
class Difference:
    key: ObjectKey
    path: Path  # inside the object; () for a whole object added or removed
    old: Any  # MISSING when added
    new: Any  # MISSING when removed


class _Missing:
    def __repr__(self) -> str:
        return "(absent)"


MISSING: Any = _Missing()


class RenderedOutputError(ValueError):
    """A renderer printed something that is not YAML."""


def parse(text: str) -> dict[ObjectKey, Any]:
    """Objects by (apiVersion, kind, namespace, name); ``List`` kinds are flattened and a
    key seen twice gets ``#2``, ``#3`` on its name so nothing is lost."""
    try:
        loaded = list(yaml.load_all(text, Loader=SafeLoader))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise RenderedOutputError(f"rendered output is not YAML{where}") from None
    objects: dict[ObjectKey, Any] = {}
    for item in _flatten(loaded):
        metadata = item.get("metadata") if isinstance(item.get("metadata"), dict) else {}
        assert isinstance(metadata, dict)
        base = ObjectKey(
            str(item.get("apiVersion", "")),
            str(item.get("kind", "")),
            str(metadata.get("namespace") or ""),
            str(metadata.get("name") or metadata.get("generateName") or ""),
        )
        key, count = base, 1
        while key in objects:
            count += 1
            key = ObjectKey(base.api_version, base.kind, base.namespace, f"{base.name}#{count}")
        objects[key] = item
    return objects


def _flatten(items: list[Any]) -> Iterator[dict[str, Any]]:
    for item in items:
        if not isinstance(item, dict):
            continue
        if str(item.get("kind", "")).endswith("List") and isinstance(item.get("items"), list):
            yield from _flatten(item["items"])
        else:
            yield item


def diff(before: dict[ObjectKey, Any], after: dict[ObjectKey, Any]) -> list[Difference]:
    found: list[Difference] = []
    for key in before.keys() | after.keys():
        if key not in after:
            found.append(Difference(key, (), before[key], MISSING))
        elif key not in before:
            found.append(Difference(key, (), MISSING, after[key]))
        elif before[key] != after[key]:
            _walk(key, (), before[key], after[key], found)
    found.sort(key=lambda d: (str(d.key), [str(p) for p in d.path]))
    return found


def _walk(key: ObjectKey, path: Path, old: Any, new: Any, found: list[Difference]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for name in old.keys() | new.keys():
            a, b = old.get(name, MISSING), new.get(name, MISSING)
            if a != b:
                if a is MISSING or b is MISSING:
                    found.append(Difference(key, (*path, str(name)), a, b))
                else:
                    _walk(key, (*path, str(name)), a, b, found)
        return
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            if a != b:
                _walk(key, (*path, index), a, b, found)
        return
    found.append(Difference(key, path, old, new))


def dotted(path: Path) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def at(document: Any, path: Path) -> Any:
    for part in path:
        if isinstance(part, int) and isinstance(document, list) and part < len(document):
            document = document[part]
        elif isinstance(part, str) and isinstance(document, dict):
            document = document.get(part)
        else:
            return None
    return document
