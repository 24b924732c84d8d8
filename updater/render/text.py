"""Text for people: renderer errors in one line, rendered diffs, escaped repo text."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import Any

import yaml

from updater.render.objects import ObjectKey

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x9b]")
MAX_DIFF_LINES = 200


def safe(text: str) -> str:
    """Repo or renderer text with terminal control characters shown, not obeyed."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def first_error(stderr: str) -> str:
    """The renderer's error line ("Error: ...") or its last non-empty line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        if line.lower().startswith("error"):
            return safe(line)[:400]
    return safe(lines[-1])[:400] if lines else "no error output"


def _dump(obj: Any) -> list[str]:
    if obj is None:
        return []
    text = yaml.safe_dump(obj, sort_keys=False, default_flow_style=False, width=120)
    return text.splitlines(keepends=True)


def rendered_diff(
    label: str, before: dict[ObjectKey, Any], after: dict[ObjectKey, Any], keys: Iterable[ObjectKey]
) -> str:
    """A unified diff of the rendered objects named by ``keys``, as YAML."""
    chunks: list[str] = []
    for key in sorted(keys, key=str):
        lines = difflib.unified_diff(
            _dump(before.get(key)),
            _dump(after.get(key)),
            fromfile=f"a/{label} (rendered) {key}",
            tofile=f"b/{label} (rendered) {key}",
            n=2,
        )
        chunks.extend(lines)
    if len(chunks) > MAX_DIFF_LINES:
        dropped = len(chunks) - MAX_DIFF_LINES
        chunks = [*chunks[:MAX_DIFF_LINES], f"... ({dropped} more lines)\n"]
    return safe("".join(line if line.endswith("\n") else line + "\n" for line in chunks))
