"""docs/exit-codes.md is the one table of exit codes: it must match the code."""

from __future__ import annotations

import importlib
import pkgutil
import re
import signal
from pathlib import Path

from click.testing import CliRunner

import updater
from updater.cli import cli
from updater.errors import UpdaterError

TABLE = Path(__file__).resolve().parents[1] / "docs" / "exit-codes.md"
ROW = re.compile(r"^\| (\d+) \| .*? \| (.*?) \| .*\|$", re.MULTILINE)


def documented() -> dict[int, str]:
    """code -> the 'raised as' cell."""
    return {int(m[1]): m[2] for m in ROW.finditer(TABLE.read_text(encoding="utf-8"))}


def error_classes() -> set[type[UpdaterError]]:
    for module in pkgutil.walk_packages(updater.__path__, "updater."):
        if ".ci." not in module.name and not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    found: set[type[UpdaterError]] = set()
    todo = [UpdaterError]
    while todo:
        cls = todo.pop()
        found.add(cls)
        todo.extend(cls.__subclasses__())
    return found


def test_every_error_class_exit_code_is_in_the_table() -> None:
    table = documented()
    for cls in error_classes():
        if cls.__module__.startswith("tests"):
            continue
        assert cls.exit_code in table, f"{cls.__qualname__}: exit {cls.exit_code} not documented"


def test_the_table_lists_no_code_the_cli_does_not_use() -> None:
    used = {0, 128 + signal.SIGINT, 128 + signal.SIGTERM}
    used |= {cls.exit_code for cls in error_classes()}
    assert set(documented()) == used


def test_the_classes_named_for_a_code_raise_that_code() -> None:
    by_name = {cls.__name__: cls for cls in error_classes()}
    for code, cell in documented().items():
        for name in re.findall(r"`(\w+)`", cell):
            assert name in by_name, f"exit {code}: no error class {name}"
            assert by_name[name].exit_code == code, f"{name} exits {by_name[name].exit_code}"


def test_no_matching_tag_is_exit_4() -> None:
    from updater.policy import NoTagMatches

    assert NoTagMatches.exit_code == 4


def test_version_and_workers_range() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("updater, version ")
    for workers, status in (("0", 2), ("65", 2)):
        result = CliRunner().invoke(cli, ["poll", "--workers", workers])
        assert result.exit_code == status and "1<=x<=64" in result.output


def test_a_registry_failure_exits_5_but_is_no_delivery_failure() -> None:
    # A lookup is not delivery: code that handles delivery failures must not catch it.
    from updater.errors import DeliveryError
    from updater.registry import AuthError, NotFound, RegistryError

    for cls in (RegistryError, AuthError, NotFound):
        assert cls.exit_code == 5
        assert not issubclass(cls, DeliveryError)
