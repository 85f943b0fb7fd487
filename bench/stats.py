"""Percentiles and latency summaries: small pure functions the scenarios and reports share."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence


def percentile(values: Sequence[float], p: float) -> float | None:
    """The p-th percentile (0..100) with linear interpolation between closest ranks (the
    definition of numpy's default and of the shared harness, so figures compare). None for no
    values."""
    if not 0 <= p <= 100:
        raise ValueError(f"percentile must be within 0..100, not {p}")
    ordered = sorted(values)
    if not ordered:
        return None
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    if low == high:
        return ordered[low]
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_summary(seconds: Iterable[float]) -> dict[str, float | int]:
    """Milliseconds: count, p50, p95, p99, mean, max of a list of durations in seconds."""
    values = sorted(seconds)
    if not values:
        return {"n": 0}
    ms = [v * 1000 for v in values]
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 2),
        "p95_ms": round(percentile(ms, 95), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "mean_ms": round(statistics.fmean(ms), 2),
        "max_ms": round(ms[-1], 2),
    }


def median(values: Iterable[float | None]) -> float | None:
    """The median of the values that are present (repetitions that failed to measure give
    None); None when none is."""
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def rate(count: float, seconds: float) -> float | None:
    """count per second, None when no time passed (a phase that did not run)."""
    return round(count / seconds, 2) if seconds > 0 else None
