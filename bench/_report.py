"""What every bench script does around its cases: time them interleaved round by round
after a warm-up round, take medians, and print them and the ratios the same way.
Imported as a sibling (``import _report``): bench/ is a folder of scripts, not a package."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence


def timed(action: Callable[[], object]) -> float:
    """Wall time of one call, in seconds."""
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def interleaved(cases: Mapping[str, Callable[[], object]], runs: int) -> dict[str, list[float]]:
    """``runs`` timed rounds of every case in turn after one round that is not counted
    (it warms the caches): a busy moment of the machine hits all cases alike."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    for round_number in range(runs + 1):
        for name, case in cases.items():
            elapsed = timed(case)
            if round_number:
                times[name].append(elapsed)
    return times


def medians(times: Mapping[str, Sequence[float]]) -> dict[str, float]:
    return {name: statistics.median(values) for name, values in times.items()}


def seconds(times: Mapping[str, Sequence[float]]) -> dict[str, dict[str, object]]:
    """The ``median_seconds`` and ``all_seconds`` of a JSON report."""
    return {
        "median_seconds": {k: round(v, 4) for k, v in medians(times).items()},
        "all_seconds": {k: [round(x, 4) for x in v] for k, v in times.items()},
    }


def median_lines(figures: Mapping[str, float], runs: int, width: int) -> list[str]:
    """One indented line a case: ``  NAME median 0.123 s  over 5 runs``."""
    return [
        f"  {name:<{width}} median {value:6.3f} s  over {runs} runs"
        for name, value in figures.items()
    ]


def ratio(value: float, target: float | None = None) -> str:
    """``1.23x``, and ``(target <= 2.0x)`` when there is one."""
    return f"{value:.2f}x" + (f" (target <= {target}x)" if target is not None else "")


def samples(values: Sequence[float]) -> str:
    """Every run's seconds, as ``0.301 0.298 …``."""
    return " ".join(f"{v:.3f}" for v in values)
