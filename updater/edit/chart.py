"""What a chart's own templates say about its values, when the chart is in the repo
beside the values file (read once per chart, only when a value needs it)."""

from __future__ import annotations

import functools
import os
import re

from updater.edit.document import Document

TEMPLATE_SUFFIXES = (".tpl", ".yaml", ".yml", ".txt")
MAX_TEMPLATE_BYTES = 1 << 20
_HEX_FORM = re.compile(r"sha256:(?:\{\{|%s)")
_SHA_USE = re.compile(r"\.sha\b")


def chart_dir(document: Document) -> str | None:
    """The directory holding the Chart.yaml that owns the values file: its own
    directory or a parent (``ci/values.yaml``), never above the repository root."""
    if not document.source:
        return None
    directory = os.path.dirname(os.path.abspath(document.source))
    for _ in range(document.path.count("/") + 1):
        if os.path.isfile(os.path.join(directory, "Chart.yaml")):
            return directory
        directory = os.path.dirname(directory)
    return None


@functools.lru_cache(maxsize=64)
def _sha_lines(directory: str) -> tuple[str, ...]:
    """Template lines that print a ``.sha`` value."""
    lines: list[str] = []
    templates = os.path.join(directory, "templates")
    for parent, _, files in os.walk(templates):
        for name in sorted(files):
            path = os.path.join(parent, name)
            if not name.endswith(TEMPLATE_SUFFIXES) or os.path.islink(path):
                continue
            try:
                with open(path, "rb") as stream:
                    text = stream.read(MAX_TEMPLATE_BYTES).decode("utf-8", errors="replace")
            except OSError:
                continue
            lines += [line for line in text.splitlines() if _SHA_USE.search(line) and "@" in line]
    return tuple(lines)


def sha_form(document: Document, values_path: str) -> str:
    """ "hex" when the chart prints ``@sha256:{{ ....sha }}``, "full" when it prints
    ``@{{ ....sha }}`` (the value carries ``sha256:``), "" when it cannot tell: no chart,
    no template using it, or templates that disagree."""
    directory = chart_dir(document)
    if directory is None:
        return ""
    lines = _sha_lines(directory)
    own = [line for line in lines if f".Values.{values_path}.sha" in line]
    forms = {"hex" if _HEX_FORM.search(line) else "full" for line in (own or lines)}
    return forms.pop() if len(forms) == 1 else ""
