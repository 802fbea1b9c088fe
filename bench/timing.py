"""Shared by the benchmarks: the median time of a repeated call."""

from __future__ import annotations

import statistics
import time
import typing as t


def median_ms(fn: t.Callable[[], t.Any], repeat: int) -> float:
    """Median wall time of `repeat` calls, in ms: robust to the odd slow call."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)
