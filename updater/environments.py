"""Environments of ``.image-updater.yaml``: named sets of paths, each promoted from
another (``from``), after a soak time, delivered its own way.

Checked with the rest of the file: unknown keys, a ``from`` naming no environment, a
cycle of ``from``, and two environments whose paths overlap (a file in both would be
promoted into itself) are refused with one line naming the file and line.
"""

from __future__ import annotations

import difflib
import fnmatch
import glob
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from updater.config_table import Checker as _Checker

ENVIRONMENT_KEYS = ("name", "paths", "from", "soak", "delivery")
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_WILD = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class Environment:
    name: str
    paths: tuple[str, ...]  # repo-relative, may hold glob patterns (apps/*/overlays/prod)
    source: str | None = None  # the ``from`` environment
    soak: timedelta | None = None
    mode: str | None = None  # delivery.mode
    delivery: dict[str, Any] = field(default_factory=dict)  # DeliveryOptions field names
    line: int = 0


def _segments_meet(a: str, b: str) -> bool:
    if a == b:
        return True
    wild_a, wild_b = bool(_WILD.search(a)), bool(_WILD.search(b))
    if wild_a and wild_b:
        return True  # both patterns: assume some name matches both (refusing is safe)
    if wild_a:
        return fnmatch.fnmatchcase(b, a)
    if wild_b:
        return fnmatch.fnmatchcase(a, b)
    return False


def paths_overlap(a: str, b: str) -> bool:
    """Whether some file can be under both ``a`` and ``b`` (glob patterns allowed)."""
    left, right = a.strip("/").split("/"), b.strip("/").split("/")
    if "." in (a, b):
        return True
    return all(_segments_meet(x, y) for x, y in zip(left, right, strict=False))


def expand(root: Path, patterns: tuple[str, ...]) -> tuple[str, ...]:
    """The existing paths ``patterns`` name under ``root``, sorted, each once."""
    found: list[str] = []
    for pattern in patterns:
        if _WILD.search(pattern):
            found += sorted(glob.glob(pattern, root_dir=root))
        elif (root / pattern).exists():
            found.append(pattern)
    return tuple(dict.fromkeys(p.replace("\\", "/") for p in found))


def check_environments(c: _Checker, data: Any) -> tuple[Environment, ...]:
    from updater.config import check_delivery, parse_duration

    value = data["environments"]
    if value is None:
        return ()
    if not isinstance(value, list):
        raise c.fail(c.value_line(data, "environments"), "environments", "expected a list")
    out: list[Environment] = []
    lines: dict[str, int] = {}
    from_lines: dict[str, int] = {}
    for index, item in enumerate(value):
        base = f"environments[{index}]"
        line = c.item_line(value, index)
        entry = c.mapping(item, line, base, ENVIRONMENT_KEYS)
        for required in ("name", "paths"):
            if required not in entry:
                raise c.fail(line, base, f"missing key {required!r}")
        name = c.string(entry, "name", f"{base}.name")
        if not _NAME_RE.match(name):
            raise c.fail(
                c.value_line(entry, "name"),
                f"{base}.name",
                f"{name!r}: lowercase letters, digits, '.', '_' and '-' only",
            )
        if name in lines:
            raise c.fail(
                c.value_line(entry, "name"),
                f"{base}.name",
                f"{name} is already at line {lines[name]}",
            )
        paths = c.strings(entry, "paths", f"{base}.paths")
        for path in paths:
            if Path(path).is_absolute() or ".." in Path(path).parts:
                raise c.fail(
                    c.value_line(entry, "paths"),
                    f"{base}.paths",
                    f"{path!r}: must be relative, inside the repo",
                )
        paths = tuple(p.strip("/") or "." for p in paths)
        for other in out:
            for mine in paths:
                clash = next((p for p in other.paths if paths_overlap(mine, p)), None)
                if clash is not None:
                    raise c.fail(
                        c.value_line(entry, "paths"),
                        f"{base}.paths",
                        f"{mine} overlaps {clash} of environment {other.name} (line"
                        f" {other.line}): a file may belong to one environment only",
                    )
        source = c.string(entry, "from", f"{base}.from") if "from" in entry else None
        soak = None
        if "soak" in entry:
            try:
                soak = parse_duration(c.string(entry, "soak", f"{base}.soak"))
            except ValueError as error:
                raise c.fail(c.value_line(entry, "soak"), f"{base}.soak", str(error)) from None
        mode, options, _ = (
            check_delivery(c, entry, f"{base}.delivery") if "delivery" in entry else (None, {}, {})
        )
        for key in ("api_url", "token_env"):
            if key in options:  # where a token goes is the command line's to say
                raise c.fail(
                    c.value_line(entry, "delivery"),
                    f"{base}.delivery.{key.replace('_', '-')}",
                    "not allowed per environment; pass it on the command line",
                )
        lines[name] = line
        if source is not None:
            from_lines[name] = c.value_line(entry, "from")
        out.append(Environment(name, paths, source, soak, mode, options, line))
    _check_sources(c, out, from_lines)
    return tuple(out)


def _check_sources(c: _Checker, environments: list[Environment], lines: dict[str, int]) -> None:
    names = [e.name for e in environments]
    by_name = {e.name: e for e in environments}
    for index, env in enumerate(environments):
        if env.source is None:
            continue
        where = f"environments[{index}].from"
        if env.source not in by_name:
            guess = difflib.get_close_matches(env.source, names, n=1)
            hint = f" (did you mean {guess[0]!r}?)" if guess else ""
            raise c.fail(lines[env.name], where, f"unknown environment {env.source!r}{hint}")
        chain = [env.name]
        step: Environment | None = env
        while step is not None and step.source is not None:
            if step.source in chain:
                cycle = " -> ".join([*chain[chain.index(step.source) :], step.source])
                raise c.fail(lines[env.name], where, f"a cycle: {cycle}")
            chain.append(step.source)
            step = by_name.get(step.source)
