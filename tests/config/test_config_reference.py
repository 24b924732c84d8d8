"""The config reference (docs/polling.md, "The config file") and the key tables of
updater.config name the same keys, and its example is a config that loads: a key added
to a table without a line in the reference, or documented but gone, fails here."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from updater.config import IMAGE_TABLE, REGISTRY_TABLE, parse_config
from updater.config_table import Table

REFERENCE = Path(__file__).parents[2] / "docs" / "polling.md"


def _example() -> str:
    text = REFERENCE.read_text(encoding="utf-8")
    section = text.split("\n## The config file\n", 1)[1]
    found = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert found is not None, "docs/polling.md: no yaml block under 'The config file'"
    return found.group(1)


def _same_keys(entries: list[Any], table: Table) -> None:
    documented = {key for entry in entries for key in entry}
    missing, extra = set(table.names) - documented, documented - set(table.names)
    assert not missing, f"in the table, not in docs/polling.md: {sorted(missing)}"
    assert not extra, f"in docs/polling.md, not in the table: {sorted(extra)}"


def test_the_reference_documents_every_image_key_and_no_other() -> None:
    _same_keys(YAML(typ="safe").load(_example())["images"], IMAGE_TABLE)


def test_the_reference_documents_every_registry_key_and_no_other() -> None:
    _same_keys(YAML(typ="safe").load(_example())["registries"], REGISTRY_TABLE)


def test_the_reference_example_is_a_good_config() -> None:
    config = parse_config(_example(), "docs/polling.md")
    assert [image.policy.kind for image in config.images] == ["semver", "digest", "numerical"]
