"""Careful numbers with pyperf: one implementation per run, one benchmark per workload.

pyperf spawns worker processes, calibrates loops and checks stability; the price is that the
implementations are measured one after another, not interleaved. Run each implementation into
its own file, back to back, then compare (benchmark names are the workload names)::

    for impl in stdlib python copium; do
        python benchmarks/run_pyperf.py --impl $impl -o /tmp/bench-$impl.json
    done
    python -m pyperf compare_to /tmp/bench-stdlib.json /tmp/bench-python.json \\
        /tmp/bench-copium.json --table

Add ``--workload NAME`` (repeatable) to run a subset and ``--fast`` for a rough pass; every
other pyperf option (``--rigorous``, ``--affinity``, ``-p``) works as usual.
"""

from __future__ import annotations

import argparse
import copy
import importlib
import pickle
from collections.abc import Callable

import pyperf  # type: ignore[import-untyped]

from workloads import Workload, select

Clone = Callable[[object], object]
IMPLEMENTATIONS = ("stdlib", "python", "c", "copium", "pickle", "yardstick")


def pickle_round_trip(obj: object) -> object:
    return pickle.loads(pickle.dumps(obj, pickle.HIGHEST_PROTOCOL))


def clone_for(impl: str, workload: Workload) -> Clone | None:
    """The function to time, or None when this implementation does not apply here."""
    if impl == "pickle":
        return pickle_round_trip if workload.operation == "deepcopy" else None
    if impl == "yardstick":
        if not (workload.json_like and workload.operation == "deepcopy"):
            return None
        from copykit._bench import load_yardstick

        clone: Clone = load_yardstick().clone
        return clone
    module_name = {"stdlib": "copy", "python": "copykit._pycopy", "c": "copykit._ccopy"}
    module = copy if impl == "stdlib" else importlib.import_module(module_name.get(impl, impl))
    operation: Clone = getattr(module, workload.operation)
    return operation


def add_worker_args(command: list[str], args: argparse.Namespace) -> None:
    """pyperf re-runs this script in workers: pass our own options on to them."""
    command.extend(["--impl", args.impl])
    for name in args.workload or ():
        command.extend(["--workload", name])


def main() -> None:
    runner = pyperf.Runner(add_cmdline_args=add_worker_args)
    runner.argparser.add_argument("--impl", required=True, choices=IMPLEMENTATIONS)
    runner.argparser.add_argument("--workload", action="append", metavar="NAME")
    args = runner.parse_args()
    runner.metadata["copykit_impl"] = args.impl
    for workload in select(args.workload):
        clone = clone_for(args.impl, workload)
        if clone is not None:
            runner.bench_func(workload.name, clone, workload.build())


if __name__ == "__main__":
    main()
