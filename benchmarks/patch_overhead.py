"""What the patched ``copy.deepcopy`` adds per call over calling copykit directly.

    PYTHONPATH=src python benchmarks/patch_overhead.py [--rounds 31]

Times, in interleaved rounds in one process (thread CPU time, medians of per-call times),
``copykit.deepcopy(x)`` against ``copy.deepcopy(x)`` with ``copykit.patch`` enabled, for a
tiny and a small object, and the same with a memo the way hooks pass it on
(``deepcopy(x, memo=memo)``). The difference is the trampoline's Python frame.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from collections.abc import Callable

import copykit
import copykit.patch

CASES: dict[str, object] = {
    "[]": [],
    "small dict": {"id": 7, "tags": ["a", "b"], "meta": {"k": 1}},
}


def per_call(function: Callable[[], object], number: int) -> float:
    start = time.thread_time()
    for _ in range(number):
        function()
    return (time.thread_time() - start) / number


def measure(rounds: int, number: int) -> list[tuple[str, float, float]]:
    rows = []
    for name, obj in CASES.items():
        for with_memo in (False, True):

            def direct(obj: object = obj, with_memo: bool = with_memo) -> object:
                return copykit.deepcopy(obj, memo={}) if with_memo else copykit.deepcopy(obj)

            def patched(obj: object = obj, with_memo: bool = with_memo) -> object:
                return copy.deepcopy(obj, memo={}) if with_memo else copy.deepcopy(obj)

            direct_times, patched_times = [], []
            for _ in range(rounds):
                direct_times.append(per_call(direct, number))
                with copykit.patch.patched():
                    patched_times.append(per_call(patched, number))
            label = f"{name}, memo={{}}" if with_memo else name
            rows.append((label, statistics.median(direct_times), statistics.median(patched_times)))
    return rows


def measure_pydantic(rounds: int) -> tuple[float, float] | None:
    """pydantic models whose hooks call ``deepcopy``: patched ``copy.deepcopy``, against
    pydantic's own ``deepcopy`` name bound to ``copykit.deepcopy`` (no trampoline at all)."""
    try:
        import pydantic.main
    except ImportError:
        return None
    import random

    from copykit._workloads_pydantic import build_orders

    orders = build_orders(random.Random(1))
    own = pydantic.main.deepcopy
    patched_times, direct_times = [], []
    for _ in range(rounds):
        with copykit.patch.patched():
            patched_times.append(per_call(lambda: copy.deepcopy(orders), 20))
        pydantic.main.deepcopy = copykit.deepcopy  # type: ignore[attr-defined]
        try:
            direct_times.append(per_call(lambda: copykit.deepcopy(orders), 20))
        finally:
            pydantic.main.deepcopy = own  # type: ignore[attr-defined]
    return statistics.median(direct_times), statistics.median(patched_times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument("--number", type=int, default=20000)
    arguments = parser.parse_args()
    print(f"copykit {copykit.IMPLEMENTATION}; {arguments.rounds} interleaved rounds")
    print("| deepcopy of | copykit.deepcopy (ns) | patched copy.deepcopy (ns) | added (ns) |")
    print("|---|---|---|---|")
    for label, direct, patched in measure(arguments.rounds, arguments.number):
        added = (patched - direct) * 1e9
        print(f"| {label} | {direct * 1e9:.0f} | {patched * 1e9:.0f} | {added:.0f} |")
    pydantic_times = measure_pydantic(arguments.rounds)
    if pydantic_times is not None:
        direct, patched = pydantic_times
        print(
            f"\npydantic orders (hooks call deepcopy): direct {direct * 1e6:.0f} us, "
            f"patched {patched * 1e6:.0f} us ({patched / direct:.3f}x)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
