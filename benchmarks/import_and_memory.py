"""Issue #3's two non-speed targets: the time ``import copykit`` takes, and peak memory while
deep-copying a large structure, for copykit's twins against the stdlib (and copium if present).

Usage: PYTHONPATH=src python benchmarks/import_and_memory.py [--imports N]

Import time is the ``copykit`` line of ``python -X importtime -c "import copykit"`` (cumulative,
so it includes everything copykit imports that was not imported yet), the median of N fresh
interpreters. Peak memory is tracemalloc's peak while one deep copy runs (the result
included), which counts every allocation made through Python's allocators: the copy, the memo
and the C core's memo table.
"""

from __future__ import annotations

import argparse
import copy
import gc
import importlib
import os
import statistics
import subprocess
import sys
import tracemalloc
from collections.abc import Callable
from types import ModuleType

from copykit import _workloads

DeepCopy = Callable[[object], object]


def import_microseconds(runs: int) -> list[int]:
    """Cumulative import time of copykit in each of ``runs`` fresh interpreters."""
    times = []
    for _ in range(runs):
        completed = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import copykit"],
            capture_output=True,
            text=True,
            check=True,
            env=os.environ,
        )
        for line in completed.stderr.splitlines():
            fields = [field.strip() for field in line.split("|")]
            if len(fields) == 3 and fields[2] == "copykit":
                times.append(int(fields[1]))
    return times


def large_structure() -> list[object]:
    """Ten JSON:API responses (5,000 records) plus the object graph workload."""
    (json_api,) = _workloads.select(["json_api"])
    (object_graph,) = _workloads.select(["object_graph"])
    return [json_api.build() for _ in range(10)] + [object_graph.build()]


def peak_bytes(deepcopy: DeepCopy, original: object) -> int:
    """tracemalloc's peak while ``deepcopy(original)`` runs, result included."""
    gc.collect()
    tracemalloc.start()
    try:
        result = deepcopy(original)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del result
    return peak


MODULES = (("python", "copykit._pycopy"), ("c", "copykit._ccopy"), ("copium", "copium"))


def implementations() -> dict[str, DeepCopy]:
    found: dict[str, DeepCopy] = {"stdlib": copy.deepcopy}
    for column, name in MODULES:
        try:
            module: ModuleType = importlib.import_module(name)
        except ImportError:
            continue
        found[column] = module.deepcopy
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--imports", type=int, default=15, help="fresh interpreters to time")
    args = parser.parse_args()
    times = import_microseconds(args.imports)
    print(
        f"import copykit: median {statistics.median(times) / 1000:.2f} ms over {len(times)} runs "
        f"(min {min(times) / 1000:.2f}, max {max(times) / 1000:.2f})"
    )
    original = large_structure()
    peaks = {name: peak_bytes(function, original) for name, function in implementations().items()}
    for column, peak in peaks.items():
        ratio = peak / peaks["stdlib"]
        print(f"peak while copying, {column}: {peak / 2**20:.1f} MiB ({ratio:.2f}x stdlib)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
