"""Quick side-by-side timing of copykit's C core against stdlib and copium (not the suite).

Usage: PYTHONPATH=src python benchmarks/c_quick.py [workload ...]
Prints the median of several runs per implementation, in microseconds.
"""

from __future__ import annotations

import copy
import statistics
import sys
import timeit
from collections.abc import Callable
from typing import Any

from copykit import _ccopy, _workloads

try:
    import copium  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - optional
    copium = None


def median_us(function: Callable[[Any], Any], value: Any, repeat: int = 7) -> float:
    timer = timeit.Timer(lambda: function(value))
    number, _ = timer.autorange()
    return statistics.median(timer.repeat(repeat, number)) / number * 1e6


def main(names: list[str]) -> None:
    implementations: dict[str, Any] = {"stdlib": copy, "c": _ccopy}
    if copium is not None:
        implementations["copium"] = copium
    for workload in _workloads.select(names or None):
        value = workload.build()
        row = []
        for name, module in implementations.items():
            row.append((name, median_us(getattr(module, workload.operation), value)))
        base = row[0][1]
        cells = "  ".join(f"{name} {us:10.1f}us ({base / us:6.2f}x)" for name, us in row)
        print(f"{workload.name:18} {cells}")


if __name__ == "__main__":
    main(sys.argv[1:])
