"""Threads, in a child: ``python hardening_threads.py MODULE race|churn-rss|churn-traced [N]``.

``race``: copier threads deep-copy (and shallow-copy) a shared structure while mutator
threads change it; hooks inside the structure run Python code mid-copy, so the switch to a
mutator can happen while the copier is inside a container. Every copy is checked: right
types, only values that were ever stored, no mutable object shared with the original.
``churn-*``: many short-lived threads each deep-copy a large structure; memory (tracemalloc
and RSS) must come back when they end. One JSON line on stdout.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import random
import sys
import threading
import time
import tracemalloc
from typing import Any

MODULE: Any = None
# COPYKIT_THOROUGH=1 (inherited from the parent) races longer.
RACE_SECONDS = 15.0 if os.environ.get("COPYKIT_THOROUGH") == "1" else 1.5
JOIN_TIMEOUT_SECONDS = 60.0
VALUES = range(100)


class Hook:
    """Runs Python code (a thread switch point) in the middle of a container's copy."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __deepcopy__(self, memo: dict[int, Any]) -> Hook:
        time.sleep(0)  # let another thread run while the copier is mid-container
        return Hook(self.value)


class Record:
    def __init__(self, value: int) -> None:
        self.value = value
        self.tags = [value]


def fresh_item(rng: random.Random) -> object:
    value = rng.choice(VALUES)
    kind = rng.randrange(5)
    if kind == 0:
        return value
    if kind == 1:
        return Hook(value)
    if kind == 2:
        return Record(value)
    if kind == 3:
        return [value, (value, str(value))]
    return {"v": value}


def shared_structure(rng: random.Random) -> dict[str, Any]:
    return {
        "list": [fresh_item(rng) for _ in range(50)],
        "dict": {f"k{index}": fresh_item(rng) for index in range(50)},
        "record": Record(1),
        "tuple": tuple(fresh_item(rng) for _ in range(10)),
    }


def mutate(shared: dict[str, Any], rng: random.Random) -> None:
    target = shared["list"]
    action = rng.randrange(6)
    if action == 0:
        target.append(fresh_item(rng))
    elif action == 1 and target:
        target.pop(rng.randrange(len(target)))
    elif action == 2 and target:
        target[rng.randrange(len(target))] = fresh_item(rng)
    elif action == 3:
        shared["dict"][f"k{rng.randrange(80)}"] = fresh_item(rng)
    elif action == 4:
        shared["dict"].pop(f"k{rng.randrange(80)}", None)
    else:
        shared["record"].__dict__[f"a{rng.randrange(5)}"] = fresh_item(rng)
        if len(target) > 200:
            del target[:100]


# What stdlib itself raises when a structure changes during its copy.
ALLOWED_ERRORS = (
    "dictionary changed size during iteration",
    "dictionary keys changed during iteration",
    "dictionary changed during iteration",
)


def check_item(copied: object, originals: set[int]) -> None:
    if isinstance(copied, int):
        assert copied in VALUES, copied
        return
    assert id(copied) not in originals, f"copy shares a {type(copied).__name__} with original"
    if isinstance(copied, (Hook, Record)):
        assert copied.value in VALUES
        if isinstance(copied, Record):
            assert copied.tags == [copied.value]
    elif isinstance(copied, list):
        value, pair = copied
        assert value in VALUES and pair == (value, str(value)), copied
    elif isinstance(copied, dict):
        assert set(copied) == {"v"} and copied["v"] in VALUES, copied
    else:
        raise AssertionError(f"unexpected {type(copied).__name__} in a copy")


def check_copy(copied: dict[str, Any], originals: set[int]) -> None:
    assert type(copied) is dict and set(copied) == {"list", "dict", "record", "tuple"}
    for item in copied["list"]:
        check_item(item, originals)
    for key, item in copied["dict"].items():
        assert key.startswith("k"), key
        check_item(item, originals)
    for item in copied["tuple"]:
        check_item(item, originals)
    record = copied["record"]
    assert type(record) is Record and id(record) not in originals
    for name, value in vars(record).items():
        if name.startswith("a"):
            check_item(value, originals)


def original_ids(shared: dict[str, Any]) -> set[int]:
    """Ids of the original's mutable parts (kept alive by the caller while in use)."""
    found = {id(shared), id(shared["list"]), id(shared["dict"]), id(shared["record"])}
    for item in [*shared["list"], *shared["dict"].values(), *shared["tuple"]]:
        if not isinstance(item, int):
            found.add(id(item))
    return found


def race() -> dict[str, object]:
    rng = random.Random(4)
    shared = shared_structure(rng)
    everything_ever: list[object] = []  # keeps originals alive so ids stay unique
    stop = threading.Event()
    counts = {"copies": 0, "allowed_errors": 0}
    failures: list[str] = []
    lock = threading.Lock()

    def copier() -> None:
        while not stop.is_set():
            try:
                with lock:
                    originals = original_ids(shared)
                copied = MODULE.deepcopy(shared)
                MODULE.copy(shared["list"])
            except RuntimeError as exc:
                if str(exc) not in ALLOWED_ERRORS:
                    failures.append(f"RuntimeError: {exc}")
                counts["allowed_errors"] += 1
                continue
            except BaseException as exc:  # noqa: BLE001 - reported to the parent
                failures.append(f"{type(exc).__name__}: {exc}")
                return
            try:
                check_copy(copied, originals)
            except AssertionError as exc:
                failures.append(f"inconsistent copy: {exc}")
            counts["copies"] += 1

    def mutator(seed: int) -> None:
        local = random.Random(seed)
        while not stop.is_set():
            with lock:
                everything_ever.extend(shared["list"])
                everything_ever.extend(shared["dict"].values())
                mutate(shared, local)
            time.sleep(0)

    threads = [threading.Thread(target=copier) for _ in range(4)]
    threads += [threading.Thread(target=mutator, args=(seed,)) for seed in range(2)]
    for thread in threads:
        thread.start()
    time.sleep(RACE_SECONDS)
    stop.set()
    for thread in threads:
        thread.join(JOIN_TIMEOUT_SECONDS)
    hung = sum(thread.is_alive() for thread in threads)
    return {**counts, "failures": failures[:10], "hung_threads": hung}


def rss_bytes() -> int:
    gc.collect()
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


def churn(thread_count: int, traced: bool) -> dict[str, object]:
    """Memory growth over ``thread_count`` threads that each deep-copy a large structure.

    Traced memory and RSS are measured in separate runs: tracemalloc's own tables would
    show in RSS.
    """
    big = {"rows": [[Record(index), {"k": (index, [index])}] for index in range(2000)]}

    def run_threads(count: int) -> None:
        for start in range(0, count, 4):
            batch = [
                threading.Thread(target=MODULE.deepcopy, args=(big,))
                for _ in range(min(4, count - start))
            ]
            for thread in batch:
                thread.start()
            for thread in batch:
                thread.join(JOIN_TIMEOUT_SECONDS)

    measure = _traced_bytes if traced else rss_bytes
    if traced:
        tracemalloc.start()
    run_threads(8)  # warm-up: arenas, free lists, caches reach their size
    before = measure()
    run_threads(thread_count)
    growth = measure() - before
    return {"threads": thread_count, "measure": measure.__name__, "growth": growth}


def _traced_bytes() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def main(module_name: str, mode: str, thread_count: int) -> int:
    global MODULE
    MODULE = importlib.import_module(module_name)
    sys.setswitchinterval(1e-5)
    if mode == "race":
        report = race()
    else:
        report = churn(thread_count, traced=mode == "churn-traced")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 100))
