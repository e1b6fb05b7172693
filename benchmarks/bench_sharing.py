"""Time ``shared()`` on a structure of about 100,000 mutable objects.

Run: ``PYTHONPATH=src python benchmarks/bench_sharing.py``. Prints the best of five runs
for three cases: a deep copy (nothing shared, both sides walked in full), a shallow copy
(everything below the top shared) and the object against itself.
"""

from __future__ import annotations

import copy
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from copykit.sharing import shared


@dataclass
class Record:
    """A small mutable object, walked through its ``__dict__``."""

    name: str
    tags: set[str] = field(default_factory=set)
    scores: list[float] = field(default_factory=list)


def build(count: int = 10_000) -> list[dict[str, object]]:
    """Return ``count`` user entries of 10 mutable objects each (100,000 for 10,000)."""
    users: list[dict[str, object]] = []
    for index in range(count):
        record = Record(f"user{index}", {"a", "b"}, [1.0, 2.0])
        users.append(
            {
                "id": index,
                "settings": {"theme": "dark", "limits": [1, 2, 3], "flags": {"beta": True}},
                "history": [[index, "login"], [index, "logout"]],
                "record": record,
            }
        )
    return users


def count_mutable(users: list[dict[str, object]]) -> int:
    """Return how many mutable objects ``users`` holds (for the printed summary)."""
    per_user = 10  # entry, settings, limits, flags, history + 2, record, tags, scores
    return 1 + per_user * len(users)


def best_of(runs: int, action: Callable[[], object]) -> tuple[float, float]:
    """Return the fastest of ``runs`` timings of ``action``: (wall seconds, CPU seconds).

    CPU time is quoted too because wall time on a shared machine includes waiting.
    """
    wall, cpu = [], []
    for _ in range(runs):
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        action()
        cpu.append(time.process_time() - cpu_start)
        wall.append(time.perf_counter() - wall_start)
    return min(wall), min(cpu)


def main() -> None:
    """Print the timings."""
    users = build()
    deep, shallow = copy.deepcopy(users), copy.copy(users)
    print(f"structure: {count_mutable(users):,} mutable objects per side")
    for label, other in (("deep copy", deep), ("shallow copy", shallow), ("itself", users)):
        wall, cpu = best_of(7, functools.partial(shared, users, other))
        found = len(shared(users, other))
        print(
            f"shared(users, {label:12}): {wall * 1000:6.1f} ms wall, {cpu * 1000:6.1f} ms CPU,"
            f" {found:,} shared"
        )


if __name__ == "__main__":
    main()
