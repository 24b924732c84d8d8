"""The run's deadline: one budget that every network wait in a run is cut to.

A per-read socket timeout bounds nothing (a server sending one byte a second never
trips it), so every network operation asks how long it may take from here. The CLI
starts the clock once per run; library code only asks.
"""

from __future__ import annotations

import time

from updater.errors import UpdaterError

DEFAULT_SECONDS = 15 * 60.0

_expires_at: float | None = None
_budget: float | None = None


class DeadlineExceeded(UpdaterError):
    """The run's overall deadline passed; what was under way is abandoned."""

    exit_code = 5


def start(seconds: float | None) -> None:
    """Start (or, with None, clear) the run's clock."""
    global _expires_at, _budget
    _budget = seconds
    _expires_at = None if seconds is None else time.monotonic() + seconds


def left() -> float | None:
    """Seconds left, or None when no deadline is set. Never negative."""
    if _expires_at is None:
        return None
    return max(0.0, _expires_at - time.monotonic())


def cap(seconds: float, what: str = "the run") -> float:
    """``seconds`` cut to what is left of the run; raise when nothing is left."""
    remaining = left()
    if remaining is None:
        return seconds
    if remaining <= 0:
        raise DeadlineExceeded(f"{what}: the run's deadline of {_budget:g} s has passed")
    return min(seconds, remaining)


def check(what: str = "the run") -> None:
    """Raise if the deadline has passed (for loops that wait between attempts)."""
    cap(0.0, what)
