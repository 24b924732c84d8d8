"""The GitLab CI/CD component's file: its ``spec:`` header and the job, with inputs
interpolated the way GitLab does (``$[[ inputs.NAME ]]``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

INPUT = re.compile(r"\$\[\[\s*inputs\.([A-Za-z0-9_-]+)\s*\]\]")


def load_component(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header document and the configuration document."""
    header, config = YAML(typ="safe", pure=True).load_all(path.read_text(encoding="utf-8"))
    return header, config


def interpolate(value: Any, inputs: dict[str, Any]) -> Any:
    """A value that is one interpolation keeps the input's type (an array stays an
    array); inside a longer string the input is put in as text."""
    if isinstance(value, dict):
        return {interpolate(k, inputs): interpolate(v, inputs) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(item, inputs) for item in value]
    if not isinstance(value, str):
        return value
    whole = INPUT.fullmatch(value.strip())
    if whole:
        return inputs[whole.group(1)]

    def text(match: re.Match[str]) -> str:
        given = inputs[match.group(1)]
        return str(given).lower() if isinstance(given, bool) else str(given)

    return INPUT.sub(text, value)


def defaults(header: dict[str, Any]) -> dict[str, Any]:
    return {name: spec.get("default") for name, spec in header["spec"]["inputs"].items()}
