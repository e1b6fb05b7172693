"""Leaks: thousands of copies, failing ones included, leave memory where it was.

Each case copies the same input thousands of times after a warm-up; live gc objects,
allocated blocks, tracemalloc's traced memory (and, on a debug interpreter, the total
reference count) must not grow with the number of copies. A leak of one object per call
shows as thousands; the limits below leave room only for caches that settle. And one
call leaves nothing it allocated in CPython's type attribute cache (names are interned).
"""

from __future__ import annotations

import copy as stdlib_copy
import gc
import sys
import threading
import tracemalloc
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any, SupportsIndex

import pytest

ITERATIONS = 1000
# RecursionError unwinds ~1000 levels per call: fewer calls, and a leak per level is huge.
SLOW_CASES = {"too_deep": 20}
MAX_OBJECT_GROWTH = 50
MAX_BLOCK_GROWTH = 300
MAX_TRACED_GROWTH = 64 * 1024
MAX_REFCOUNT_GROWTH = 200


class Plain:
    def __init__(self, **attributes: object) -> None:
        self.__dict__.update(attributes)


class Slotted:
    __slots__ = ("left", "right")

    def __init__(self, left: object, right: object) -> None:
        self.left = left
        self.right = right


class RaisingHook:
    def __init__(self, error: type[BaseException]) -> None:
        self.error = error

    def __deepcopy__(self, memo: dict[int, Any]) -> object:
        raise self.error("from __deepcopy__")


class Uncopyable:
    __reduce_ex__ = None  # type: ignore[assignment]  # disabled on purpose
    __reduce__ = None  # type: ignore[assignment]  # disabled on purpose


class Malformed:
    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[object, ...]:
        return (Plain, (), ({"a": [2]}, None, None))


class WithIterators(list):  # type: ignore[type-arg]
    def __init__(self) -> None:
        super().__init__([[1], {"k": [2]}])
        self.tag = ("t", [3])


def _nested_instances(depth: int) -> Plain:
    """A chain of plain instances: copied through reduce, so too deep for every implementation
    (the C twin copies nested built-in containers of any depth, so a list chain would not do)."""
    node = Plain(next=None)
    for _ in range(depth):
        node = Plain(next=node)
    return node


def _recursive() -> list[object]:
    items: list[object] = [1, {"k": [2]}]
    items.append(items)
    items.append(Plain(back=items))
    return items


NESTED = {"a": [1, (2, [3])], "b": Plain(x=[4], y=Slotted({5}, frozenset({6})))}

# The module whose deepcopy the hooks below call (the one under test), and memos they keep.
HOOKS_COPY_WITH: list[ModuleType] = []
KEPT_MEMOS: list[dict[int, Any]] = []


class Forwarding:
    """memo[id(self)] = new, then the state copied with the memo (C: the mirrored memo,
    shared by the nested call); optionally keeps the memo, or deletes an entry from it."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.state = {"tags": [1, "a"], "meta": {"k": [2]}}

    def __deepcopy__(self, memo: dict[int, Any]) -> Forwarding:
        new = Forwarding.__new__(Forwarding)
        memo[id(self)] = new
        if self.mode == "keep":
            KEPT_MEMOS[:] = [memo]
        elif self.mode == "delete":
            memo.pop(next(iter(memo)))
        new.__dict__.update(HOOKS_COPY_WITH[-1].deepcopy(self.__dict__, memo))
        return new


def _mirrored(mode: str) -> object:
    shared = {"s": [1]}
    return [[Forwarding(mode) for _ in range(5)], shared, {"again": shared}, [uuid.UUID(int=3)]]


class Kept:
    """Holds a lock: deepcopy(..., keep=) must share it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()


def _kept_everywhere() -> object:
    kept = Kept()
    return {
        "a": [1, kept, (kept, [2])],
        kept: {"as": "a key"},
        "set": {kept, 3},
        "b": Plain(k=kept, l=[4]),
        "s": Slotted([kept], {"x": kept}),
        "w": WithIterators(),
    }


def _refuses(obj: object) -> bool:
    if isinstance(obj, Kept):
        raise ValueError("keep refuses")
    return False


# keep= operations: by a tuple of types (answers cached per type), by a predicate, with a
# caller's memo (the policy registered for it), failing in the predicate, and refused.
KEEP_OPERATIONS: dict[str, Callable[[ModuleType], Callable[[object], object]]] = {
    "deepcopy_keep_types": lambda module: (
        lambda value: module.deepcopy(value, keep=(Kept, bytearray))
    ),
    "deepcopy_keep_predicate": lambda module: (
        lambda value: module.deepcopy(value, keep=lambda obj: type(obj) is Kept)
    ),
    "deepcopy_keep_with_memo": lambda module: lambda value: module.deepcopy(value, {}, keep=Kept),
    "deepcopy_keep_raising": lambda module: lambda value: module.deepcopy(value, keep=_refuses),
    "deepcopy_keep_wrong": lambda module: lambda value: module.deepcopy(value, keep=42),
}
# Case name -> (input, operation, expected exception or None).
CASES: dict[str, tuple[object, str, type[BaseException] | None]] = {
    "deepcopy_nested": (NESTED, "deepcopy", None),
    "copy_instance": (Plain(a=[1], b=2), "copy", None),
    "deepcopy_recursive": (_recursive(), "deepcopy", None),
    "deepcopy_reduce_iterators": (WithIterators(), "deepcopy", None),
    "deepcopy_with_memo": (NESTED, "deepcopy_with_memo", None),
    "mirrored_forwarding": (_mirrored("plain"), "deepcopy_hooks_copy", None),
    "mirrored_kept": (_mirrored("keep"), "deepcopy_hooks_copy", None),
    "mirror_ended": (_mirrored("delete"), "deepcopy_hooks_copy", None),
    "mirrored_caller_memo": (_mirrored("plain"), "deepcopy_hooks_copy_with_memo", None),
    "keep_types": (_kept_everywhere(), "deepcopy_keep_types", None),
    "keep_predicate": (_kept_everywhere(), "deepcopy_keep_predicate", None),
    "keep_with_memo": (_kept_everywhere(), "deepcopy_keep_with_memo", None),
    "keep_predicate_raises": (_kept_everywhere(), "deepcopy_keep_raising", ValueError),
    "keep_of_the_wrong_kind": (_kept_everywhere(), "deepcopy_keep_wrong", TypeError),
    "hook_raises_value_error": ([[1], {"k": RaisingHook(ValueError)}], "deepcopy", ValueError),
    "hook_raises_keyboard_interrupt": (
        [[1], RaisingHook(KeyboardInterrupt)],
        "deepcopy",
        KeyboardInterrupt,
    ),
    "uncopyable_deep": ([[1], Uncopyable()], "deepcopy", stdlib_copy.Error),
    "uncopyable_shallow": (Uncopyable(), "copy", stdlib_copy.Error),
    "malformed_reduce": ([(1, [2]), Malformed()], "deepcopy", ValueError),
    # 3.14+ guards C recursion by the stack room left, not a count: C then copies
    # chains of instances far deeper than the stdlib (5,000 do), up to about 15,000.
    "too_deep": (_nested_instances(100_000), "deepcopy", RecursionError),
}


def _hooks_copy_with(module: ModuleType, memo: bool) -> Callable[[object], object]:
    def operation(value: object) -> object:
        HOOKS_COPY_WITH[:] = [module]
        try:
            return module.deepcopy(value, {}) if memo else module.deepcopy(value)
        finally:
            KEPT_MEMOS.clear()

    return operation


def operation_for(module: ModuleType, name: str) -> Callable[[object], object]:
    if name == "deepcopy_with_memo":
        return lambda value: module.deepcopy(value, {})
    if name.startswith("deepcopy_hooks_copy"):
        return _hooks_copy_with(module, name.endswith("with_memo"))
    if name in KEEP_OPERATIONS:
        return KEEP_OPERATIONS[name](module)
    return getattr(module, name)  # type: ignore[no-any-return]


def repeat(call: Callable[[], object], times: int) -> None:
    for _ in range(times):
        call()


def calling(
    operation: Callable[[object], object], value: object, error: type[BaseException] | None
) -> Callable[[], object]:
    def call() -> object:
        if error is None:
            return operation(value)
        try:
            operation(value)
        except error:
            return None
        raise AssertionError(f"{error.__name__} expected")

    return call


def live_objects() -> int:
    gc.collect()
    return len(gc.get_objects())


def allocated_blocks() -> int:
    gc.collect()
    return sys.getallocatedblocks()


def traced_memory() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


@pytest.fixture
def tracing() -> Iterator[None]:
    tracemalloc.start()
    try:
        yield
    finally:
        tracemalloc.stop()


def growth(measure: Callable[[], int], call: Callable[[], object], times: int = ITERATIONS) -> int:
    # Warm up as long as is measured: under AddressSanitizer (scripts/sanitize.sh) a raising
    # predicate called from C grows traced memory by ~120 kB over its first ~1,000 calls and
    # then not at all (1,000, 2,000 and 4,000 calls: the same), with copykit's -O2 build too.
    repeat(call, times)
    before = measure()
    repeat(call, times)
    return measure() - before


def case_call(impl: ModuleType, case: str) -> Callable[[], object]:
    value, operation_name, error = CASES[case]
    return calling(operation_for(impl, operation_name), value, error)


def case_growth(measure: Callable[[], int], impl: ModuleType, case: str) -> int:
    return growth(measure, case_call(impl, case), SLOW_CASES.get(case, ITERATIONS))


@pytest.mark.parametrize("case", list(CASES))
def test_live_objects_stay_flat(impl: ModuleType, case: str) -> None:
    assert case_growth(live_objects, impl, case) <= MAX_OBJECT_GROWTH


@pytest.mark.parametrize("case", list(CASES))
def test_allocated_blocks_stay_flat(impl: ModuleType, case: str) -> None:
    assert case_growth(allocated_blocks, impl, case) <= MAX_BLOCK_GROWTH


@pytest.mark.parametrize("case", list(CASES))
def test_traced_memory_stays_flat(impl: ModuleType, case: str, tracing: None) -> None:
    assert case_growth(traced_memory, impl, case) <= MAX_TRACED_GROWTH


@pytest.mark.skipif(
    not hasattr(sys, "gettotalrefcount"), reason="needs a debug interpreter (--with-pydebug)"
)
@pytest.mark.parametrize("case", list(CASES))
def test_total_refcount_stays_flat(impl: ModuleType, case: str) -> None:
    total = sys.gettotalrefcount
    assert case_growth(total, impl, case) <= MAX_REFCOUNT_GROWTH


def test_a_leak_would_be_seen() -> None:
    """The measure itself: keeping one object per call is caught by each counter."""
    kept: list[object] = []
    leaky = calling(lambda value: kept.append([value]), NESTED, None)
    assert growth(live_objects, leaky) > MAX_OBJECT_GROWTH


def _dropping_the_result(call: Callable[[], object]) -> None:
    call()  # the result is dropped at once


# The line of the call above: whatever is allocated under it has it in its traceback.
CALL_LINE = _dropping_the_result.__code__.co_firstlineno + 1
# 3.13 deprecates _clear_type_cache for _clear_internal_caches, which clears it too.
clear_type_cache = getattr(sys, "_clear_internal_caches", None) or sys._clear_type_cache


def held_by_the_type_cache(call: Callable[[], object]) -> list[int]:
    """Sizes of what one call (after a warm-up) allocated that CPython's type attribute
    cache alone keeps alive: it holds a reference to each name it caches, so a name made
    afresh on each call stays behind until another one takes its entry."""
    repeat(call, 3)
    gc.collect()
    tracemalloc.start(64)
    try:
        _dropping_the_result(call)
        made_by_the_call = [tracemalloc.Filter(True, __file__, CALL_LINE, all_frames=True)]
        gc.collect()
        before = tracemalloc.take_snapshot().filter_traces(made_by_the_call)
        clear_type_cache()
        gc.collect()
        after = tracemalloc.take_snapshot().filter_traces(made_by_the_call)
    finally:
        tracemalloc.stop()
    freed = Counter(trace.size for trace in before.traces)
    freed.subtract(trace.size for trace in after.traces)
    return sorted(freed.elements())


@pytest.mark.parametrize("case", list(CASES))
def test_no_name_made_by_a_call_stays_in_the_type_cache(impl: ModuleType, case: str) -> None:
    """Names are looked up interned (copykit's C made some afresh on error paths and for
    keep=: harmless for results, but each stayed in the cache, and their number swung
    with the hash seed in the allocation-failure sweep's block count)."""
    assert held_by_the_type_cache(case_call(impl, case)) == []


def test_a_name_kept_by_the_type_cache_would_be_seen() -> None:
    def look_up_a_fresh_name() -> object:
        return getattr(Plain(), "".join(("not_", "there")), None)

    assert held_by_the_type_cache(look_up_a_fresh_name)
