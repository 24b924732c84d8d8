"""Fixtures for the bench scripts' tests: the scripts are run as the user runs them, or
loaded from bench/ by path, since bench/ is a folder of scripts, not a package."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

PROJECT = Path(__file__).resolve().parents[2]
BENCH = PROJECT / "bench"


def run_script(name: str, *argv: str) -> dict[str, Any]:
    """``python bench/NAME.py ARGV`` in a process of its own; the JSON report it printed."""
    result = subprocess.run(
        [sys.executable, str(BENCH / f"{name}.py"), *argv],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def load_script(name: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered before running it: dataclasses look their module up in sys.modules.
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def gen_repo() -> ModuleType:
    return load_script("gen_repo")


@pytest.fixture(scope="session")
def bench_edit() -> ModuleType:
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))  # bench_edit imports gen_repo as a sibling
    load_script("gen_repo")
    return load_script("bench_edit")
