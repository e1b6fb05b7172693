"""What a template holds: its bytes over its snapshot's, per workload and twin.

    PYTHONPATH=src python3 benchmarks/template_memory.py [--only NAME ...]

A template is its snapshot (one deepcopy of the workload) plus its plan. Both are measured
with tracemalloc as the bytes still allocated once they are made: the snapshot as
``deepcopy(x)``, the template as ``template(x)``. The issue's target is a template at most
2x its snapshot (the C twin's; the pure twin's closures are reported beside it).
"""

from __future__ import annotations

import argparse
import gc
import sys
import tracemalloc
from collections.abc import Callable
from types import ModuleType

from copykit import _pycopy
from copykit._workloads import Workload, available_workloads, select

try:
    from copykit import _ccopy
except ImportError:  # the pure twin alone
    _ccopy = None  # type: ignore[assignment]


def retained_bytes(make: Callable[[], object]) -> int:
    """Bytes still allocated by make() once it has returned (its result kept alive)."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        made = make()
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    del made
    return after - before


def ratio(module: ModuleType, original: object) -> float:
    """template bytes / snapshot bytes for one twin (plans learnt and caches warm first)."""
    module.deepcopy(original)
    module.template(original)
    snapshot = retained_bytes(lambda: module.deepcopy(original))
    template = retained_bytes(lambda: module.template(original))
    return template / snapshot


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", help="a workload name (repeatable)")
    arguments = parser.parse_args(argv)
    workloads: tuple[Workload, ...] = (
        select(arguments.only) if arguments.only else available_workloads()
    )
    twins = {"c": _ccopy, "python": _pycopy}
    columns = [name for name, module in twins.items() if module is not None]
    print(f"Python {sys.version.split()[0]}: template bytes / snapshot bytes")
    print("| workload | " + " | ".join(f"{name} template" for name in columns) + " |")
    print("|---|" + "---|" * len(columns))
    for workload in workloads:
        if workload.operation != "deepcopy":
            continue
        original = workload.build()
        cells = [f"{ratio(twins[name], original):.2f}x" for name in columns]
        print(f"| {workload.name} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
