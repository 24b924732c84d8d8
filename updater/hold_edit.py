"""Byte-minimal edits of the ``holds:`` list in ``.image-updater.yaml``.

The file is people's: its comments, quoting, key order and indentation stay as they
are. Adding a hold appends one list item in the indentation the file already uses
(its ``holds:`` items, else its ``images:`` items), creating the ``holds:`` key at the
end when there is none; removing one takes out exactly that item's lines. The new
text is parsed again and must hold the same config with just that hold more or less,
or nothing is written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from updater.config import ConfigError, PollConfig, parse_config
from updater.edit.layout import newline
from updater.holds import HOLD_KEYS

_PLAIN = re.compile(r"^[A-Za-z0-9_./@+][A-Za-z0-9_./@+:=-]*$")


@dataclass(frozen=True)
class _Layout:
    dash: int  # column of an item's "-"
    body: int  # columns from the "-" to the item's keys


def _load(text: str, file: str) -> Any:
    from ruamel.yaml import YAML

    parse_config(text, file, need_images=False)  # refuses a file that is broken already
    return YAML(typ="rt", pure=False).load(text)


def _plain_ok(value: str) -> bool:
    """Whether ``value`` reads back as the same string unquoted (``1.4`` would be a
    number, ``2026-12-01T10:00:00Z`` a timestamp, ``yes`` a boolean)."""
    from ruamel.yaml import YAML

    if not _PLAIN.match(value) or value.endswith(":"):
        return False
    try:
        loaded = YAML(typ="safe", pure=True).load(f"k: {value}\n")
    except Exception:  # anything YAML cannot read back is quoted
        return False
    return isinstance(loaded, dict) and loaded.get("k") == value


def scalar(value: str) -> str:
    # JSON's double-quoted strings are YAML's: every control character escaped.
    return value if _plain_ok(value) else json.dumps(value)


def _item_lines(fields: dict[str, Any], layout: _Layout) -> list[str]:
    lines = []
    for number, key in enumerate(k for k in HOLD_KEYS if fields.get(k) not in (None, (), [])):
        value = fields[key]
        shown = (
            "[" + ", ".join(scalar(v) for v in value) + "]"
            if isinstance(value, list | tuple)
            else scalar(str(value))
        )
        if number == 0:
            lines.append(" " * layout.dash + "-" + " " * (layout.body - 1) + f"{key}: {shown}")
        else:
            lines.append(" " * (layout.dash + layout.body) + f"{key}: {shown}")
    return lines


def _split(text: str) -> list[str]:
    """Lines with their endings, split at "\n" only (as YAML counts lines)."""
    parts = re.split(r"(?<=\n)", text)
    return parts[:-1] if parts and parts[-1] == "" else parts


def _bare(line: str) -> str:
    return line.rstrip("\r\n")


def _dash_column(lines: list[str], line: int, column: int) -> tuple[int, int] | None:
    """(line, column) of the "-" that starts the list item whose node is at (line, column)."""
    text = _bare(lines[line])[:column].rstrip()
    return (line, len(text) - 1) if text.endswith("-") else None


def _layout_of(seq: Any, lines: list[str]) -> _Layout | None:
    if not isinstance(seq, list) or not seq or not isinstance(seq[0], dict):
        return None
    line, column = getattr(seq, "lc").item(0)  # noqa: B009 - ruamel's, untyped
    found = _dash_column(lines, line, column)
    if found is None:
        return None
    return _Layout(dash=found[1], body=column - found[1])


def _item_end(lines: list[str], start: int, dash: int) -> int:
    """The last line (0-based) of the item starting at ``start``: lines indented past
    its "-", blank lines within; trailing blank lines are not its own."""
    last = start
    for number in range(start + 1, len(lines)):
        text = _bare(lines[number])
        if not text.strip():
            continue
        indent = len(text) - len(text.lstrip(" "))
        if indent <= dash:
            break
        last = number
    return last


def _refuse(file: str, line: int, message: str) -> ConfigError:
    return ConfigError(f"holds: {message}; edit it by hand", file=file, line=line)


def _insert(lines: list[str], after: int, block: list[str], nl: str) -> str:
    """``lines`` with ``block`` after line ``after`` (-1: at the top)."""
    head = lines[: after + 1]
    if head and not head[-1].endswith("\n"):
        head[-1] += nl
    return "".join([*head, *(b + nl for b in block), *lines[after + 1 :]])


def add_hold(text: str, file: str, fields: dict[str, Any]) -> str:
    """``text`` with one more item in ``holds:`` (``fields`` keyed like the YAML)."""
    data = _load(text, file)
    lines = _split(text)
    nl = newline(text)
    if data is None or "holds" not in data:
        images = data.get("images") if data is not None else None
        layout = _layout_of(images, lines) or _Layout(dash=2, body=2)
        return _insert(lines, len(lines) - 1, ["holds:", *_item_lines(fields, layout)], nl)
    key_line, key_column = data.lc.key("holds")
    seq = data["holds"]
    if seq is None or (isinstance(seq, list) and not seq):
        # "holds:" (or "holds: []"): the items go right under the key
        layout = _layout_of(data.get("images"), lines) or _Layout(dash=key_column + 2, body=2)
        if seq is not None:
            bare = _bare(lines[key_line])
            cut = re.match(r"^(\s*holds\s*:)\s*\[\s*\](\s*#.*)?$", bare)
            if cut is None:
                raise _refuse(file, key_line + 1, "an empty list spelled other than []")
            ending = lines[key_line][len(bare) :]
            lines[key_line] = cut.group(1) + (cut.group(2) or "") + ending
        return _insert(lines, key_line, _item_lines(fields, layout), nl)
    if getattr(seq.fa, "flow_style", lambda: False)():
        raise _refuse(file, key_line + 1, "a flow list [...]")
    found = _layout_of(seq, lines)
    if found is None:
        raise _refuse(file, key_line + 1, "items laid out in a way not recognised")
    last_start = seq.lc.item(len(seq) - 1)[0]
    return _insert(lines, _item_end(lines, last_start, found.dash), _item_lines(fields, found), nl)


def remove_holds(text: str, file: str, indexes: Sequence[int]) -> str:
    """``text`` without the ``holds:`` items at ``indexes``: exactly their lines."""
    data = _load(text, file)
    lines = _split(text)
    seq = data["holds"]
    layout = _layout_of(seq, lines)
    if layout is None or getattr(seq.fa, "flow_style", lambda: False)():
        raise _refuse(file, data.lc.key("holds")[0] + 1, "not a block list of items")
    drop: set[int] = set()
    for index in indexes:
        start = seq.lc.item(index)[0]
        drop.update(range(start, _item_end(lines, start, layout.dash) + 1))
    return "".join(t for n, t in enumerate(lines) if n not in drop)


def checked(old: str, new: str, file: str, expect: PollConfig, holds: Sequence[Any]) -> str:
    """``new`` when it parses to ``expect``'s config with exactly ``holds``, else an error:
    an edit the bot cannot prove right is never written."""
    from dataclasses import replace

    from ruamel.yaml import YAML

    got = parse_config(new, file, need_images=False)
    load = YAML(typ="safe", pure=True).load
    before, after = load(old) or {}, load(new) or {}
    before.pop("holds", None)
    after.pop("holds", None)
    same_rest = before == after and got.delivery == expect.delivery
    same_holds = [replace(h, line=0) for h in got.holds] == [replace(h, line=0) for h in holds]
    if not (same_rest and same_holds):
        raise ConfigError(
            "holds: the edit did not read back as intended; nothing written", file=file
        )
    return new
