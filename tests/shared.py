"""``../shared``: real config files, charts, peers' test tables and forge schemas that sit
beside the clone, never inside it. CI has them; a clone on its own does not, and the
tests that need them skip with this module's reason instead of failing."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"


def absent(part: str) -> str:
    return f"../shared/{part} is absent (it sits beside the clone; CI has it)"


def needs(part: str) -> pytest.MarkDecorator:
    """Skipped a test or module when ``../shared/<part>`` is not there."""
    return pytest.mark.skipif(not (SHARED / part).exists(), reason=absent(part))
