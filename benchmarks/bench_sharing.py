"""Time ``shared()`` on a structure of about 100,000 mutable objects.

Run: ``PYTHONPATH=src python benchmarks/bench_sharing.py``. Prints the best of five runs
for three cases: a deep copy (nothing shared, both sides walked in full), a shallow copy
(everything below the top shared) and the object against itself.
"""

from __future__ import annotations

import copy
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


def best_of(runs: int, action: Callable[[], object]) -> float:
    """Return the fastest of ``runs`` timings of ``action`` in seconds."""
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    return min(timings)


def main() -> None:
    """Print the timings."""
    users = build()
    deep, shallow = copy.deepcopy(users), copy.copy(users)
    print(f"structure: {count_mutable(users):,} mutable objects per side")
    for label, other in (("deep copy", deep), ("shallow copy", shallow), ("itself", users)):
        seconds = best_of(5, lambda other=other: shared(users, other))
        found = len(shared(users, other))
        print(f"shared(users, {label:12}): {seconds * 1000:7.1f} ms, {found:,} shared")


if __name__ == "__main__":
    main()
