"""Quick side-by-side timing of copykit's C core against stdlib and copium (not the suite).

Usage: PYTHONPATH=src python benchmarks/c_quick.py [workload ...]

Samples the implementations round-robin (so machine noise hits all alike) and reports the
best sample per implementation in microseconds of thread CPU time (robust on a busy
machine), with speedups and geometric means.
"""

from __future__ import annotations

import copy
import functools
import gc
import math
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from copykit import _ccopy, _workloads

try:
    import copium  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - optional
    copium = None

ROUNDS = int(os.environ.get("C_QUICK_ROUNDS", "15"))
SAMPLE_SECONDS = 0.02


def calibrate(function: Callable[[], Any]) -> int:
    """Calls per sample so that one sample lasts about SAMPLE_SECONDS."""
    number = 1
    while True:
        start = time.thread_time()
        for _ in range(number):
            function()
        if time.thread_time() - start >= SAMPLE_SECONDS or number >= 1 << 20:
            return number
        number *= 2


def sample(function: Callable[[], Any], number: int) -> float:
    start = time.thread_time()
    for _ in range(number):
        function()
    return (time.thread_time() - start) / number


def main(names: list[str]) -> None:
    implementations: dict[str, Any] = {"stdlib": copy, "c": _ccopy}
    if copium is not None:
        implementations["copium"] = copium
    ratios: dict[str, list[float]] = {name: [] for name in implementations}
    for workload in _workloads.select(names or None):
        value = workload.build()
        calls = {
            name: functools.partial(getattr(module, workload.operation), value)
            for name, module in implementations.items()
        }
        numbers = {name: calibrate(call) for name, call in calls.items()}
        best = dict.fromkeys(calls, math.inf)
        gc.collect()
        for _ in range(ROUNDS):
            for name, call in calls.items():
                best[name] = min(best[name], sample(call, numbers[name]))
        cells = []
        for name in implementations:
            ratios[name].append(best["stdlib"] / best[name])
            cells.append(f"{name} {best[name] * 1e6:9.1f}us ({best['stdlib'] / best[name]:6.2f}x)")
        vs_copium = f"  c/copium {best['copium'] / best['c']:5.2f}x" if copium else ""
        print(f"{workload.name:18} {'  '.join(cells)}{vs_copium}", flush=True)
    geomeans = {
        name: math.exp(sum(map(math.log, values)) / len(values)) for name, values in ratios.items()
    }
    summary = "  ".join(f"{name} {value:.2f}x" for name, value in geomeans.items())
    print(f"geomean vs stdlib: {summary}")
    if copium is not None:
        print(f"c vs copium geomean: {geomeans['c'] / geomeans['copium']:.2f}x")


if __name__ == "__main__":
    main(sys.argv[1:])
