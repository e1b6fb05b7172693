"""What only the C core can get wrong: its private memo, per-type plans, leaks, speed shape.

The C deepcopy keeps its memo in a pointer-keyed table until Python code must see it; a
``__deepcopy__`` hook then receives a dict built on the spot. These tests compare that
dict with the stdlib's at the same moment, check that plans learnt for plain classes are
dropped when the class changes, and that nothing leaks, failing copies included.
"""

from __future__ import annotations

import collections
import copy
import dataclasses
import decimal
import enum
import gc
import re
import sys
import time
import tracemalloc
import types
from pathlib import Path
from types import ModuleType
from typing import Any, cast

import pytest

from conftest import load_implementation
from oracle import HookRecorder, Walker, positions_of, run_both
from samples import Plain, SlotsAndDict, Slotted, SlottedChild

C_SOURCE = Path(__file__).resolve().parent.parent / "src" / "copykit" / "_ccopy.c"
Memo = dict[int, Any]
recorder = HookRecorder()


@pytest.fixture
def ccopy() -> ModuleType:
    """The C implementation (skips when not built, fails under COPYKIT_REQUIRE_C=1)."""
    return load_implementation("c")


# --- the memo a hook receives -------------------------------------------------------------


def memo_snapshot(memo: Memo, positions: Walker) -> list[tuple[str, str]]:
    """Each memo entry, in order: what the key is and what the value is.

    Keys are named by their place in the original, or as the n-th kept-alive object (a
    temporary such as a reduce argument list); the keep-alive list is listed by the
    places or types of what it holds, in order.
    """
    keep_alive = memo.get(id(memo), [])
    kept_at = {id(item): index for index, item in enumerate(keep_alive)}

    def name(obj_id: int, obj: object) -> str:
        if obj_id in positions.first_path:
            return "original " + (positions.first_path[obj_id] or "<root>")
        if obj_id in kept_at:
            return f"kept #{kept_at[obj_id]} {type(keep_alive[kept_at[obj_id]]).__name__}"
        return "other " + type(obj).__name__

    snapshot = []
    for key, value in memo.items():
        if key == id(memo):
            kept = [name(id(item), item) for item in value]
            snapshot.append(("keep-alive", repr(kept)))
        else:
            snapshot.append((name(key, None), type(value).__name__))
    return snapshot


class MemoSpy:
    """A __deepcopy__ hook that records the memo it receives, then copies its payload."""

    positions: Walker = Walker()
    module: Any = copy

    def __init__(self, payload: object) -> None:
        self.payload = payload

    def __deepcopy__(self, memo: Memo) -> MemoSpy:
        recorder.record("memo", memo_snapshot(memo, MemoSpy.positions))
        recorder.record("is dict", type(memo) is dict)
        return MemoSpy(MemoSpy.module.deepcopy(self.payload, memo))


def spy_on(original: object) -> Any:
    """The operation for run_both: deepcopy without a memo, hooks recording theirs."""
    positions = positions_of(original)

    def run(module: Any) -> object:
        MemoSpy.positions, MemoSpy.module = positions, module
        return module.deepcopy(original)

    return run


@dataclasses.dataclass
class Record:
    name: str
    tags: list[str]


class Reduced:
    """Reconstructed from args, state, list items and dict items."""

    def __init__(self, items: list[object]) -> None:
        self.items = items

    def __reduce__(self) -> tuple[object, ...]:
        return (Reduced, ([],), {"n": len(self.items)}, iter(self.items), None)

    def append(self, item: object) -> None:
        self.items.append(item)


def spied_shapes() -> dict[str, object]:
    shared = [1, [2]]
    return {
        "list and dict": [shared, {"k": shared}, MemoSpy(shared)],
        "changed tuple": ((shared, 1), MemoSpy(None)),
        "unchanged tuple": ((1, "a"), MemoSpy(None)),
        "plain instance": [Plain(shared), Plain([3]), MemoSpy(shared)],
        "dataclass": [Record("a", ["x"]), MemoSpy(None)],
        "slots": [Slotted(shared, 2), SlottedChild(1, shared, [3]), MemoSpy(shared)],
        "slots and dict": [SlotsAndDict(shared, [1]), MemoSpy(None)],
        "set and frozenset": [{1, 2}, frozenset({(1, 2)}), MemoSpy(None)],
        "reduce with items": [Reduced([shared, 3]), MemoSpy(shared)],
        "ordered and default dicts": [
            collections.OrderedDict(a=[1]),
            collections.defaultdict(list, {"b": [2]}),
            MemoSpy(None),
        ],
        "hook first, then more": [MemoSpy(shared), [shared], MemoSpy([shared])],
        "nested hooks": [MemoSpy(MemoSpy([shared])), shared],
    }


@pytest.mark.parametrize("shape", spied_shapes().keys())
def test_hook_sees_the_stdlib_memo(ccopy: ModuleType, shape: str) -> None:
    original = spied_shapes()[shape]
    expected, _ = run_both(ccopy, spy_on(original), original, recorder)
    assert ("is dict", True) in expected.calls


def test_hook_memo_lists_temporaries_kept_alive(ccopy: ModuleType) -> None:
    original = [frozenset({1}), Slotted([1], 2), MemoSpy(None)]
    expected, _ = run_both(ccopy, spy_on(original), original, recorder)
    snapshot = cast("list[tuple[str, str]]", dict(expected.calls)["memo"])
    assert any(kind.startswith("kept #") for kind, _ in snapshot)


def test_hook_memo_is_used_for_the_rest_of_the_call(ccopy: ModuleType) -> None:
    shared = [1]

    class Seeder:
        def __deepcopy__(self, memo: Memo) -> Seeder:
            memo[id(shared)] = "seeded by the hook"
            return Seeder()

    result = ccopy.deepcopy([Seeder(), shared])
    assert result[1] == "seeded by the hook"


# --- per-type plans -----------------------------------------------------------------------


def fresh_class() -> type:
    class Node:
        def __init__(self, value: object) -> None:
            self.value = value

    return Node


def test_class_gaining_deepcopy_after_copies_calls_it(ccopy: ModuleType) -> None:
    node_class = fresh_class()
    ccopy.deepcopy([node_class([1]) for _ in range(3)])
    node_class.__deepcopy__ = lambda self, memo: "hooked"  # type: ignore[attr-defined]
    assert ccopy.deepcopy([node_class(1)]) == ["hooked"]


def test_class_gaining_reduce_ex_after_copies_calls_it(ccopy: ModuleType) -> None:
    node_class = fresh_class()
    ccopy.deepcopy([node_class([1]) for _ in range(3)])
    # A reduce hook of another shape, added at run time.
    node_class.__reduce_ex__ = lambda self, protocol: "a global name"  # type: ignore[method-assign, assignment, misc]
    original = node_class(2)
    assert ccopy.deepcopy(original) is original


def test_class_gaining_setstate_after_copies_calls_it(ccopy: ModuleType) -> None:
    node_class = fresh_class()
    ccopy.deepcopy([node_class([1]) for _ in range(3)])

    def setstate(self: Any, state: dict[str, object]) -> None:
        self.value = ("set", state["value"])

    node_class.__setstate__ = setstate  # type: ignore[attr-defined]
    assert ccopy.deepcopy(node_class(5)).value == ("set", 5)


def test_base_class_change_reaches_planned_subclass(ccopy: ModuleType) -> None:
    base = fresh_class()

    class Child(base):  # type: ignore[misc, valid-type]
        pass

    ccopy.deepcopy([Child(1) for _ in range(3)])
    base.__deepcopy__ = lambda self, memo: "from base"  # type: ignore[attr-defined]
    assert ccopy.deepcopy(Child(1)) == "from base"


def test_instance_attribute_hook_is_honoured_on_planned_class(ccopy: ModuleType) -> None:
    node_class = fresh_class()
    ccopy.deepcopy([node_class(1) for _ in range(3)])
    odd_one = node_class(2)
    odd_one.__deepcopy__ = lambda memo: "instance hook"
    assert ccopy.deepcopy([node_class(1), odd_one])[1] == "instance hook"


def test_registered_reductor_is_honoured_on_planned_class(ccopy: ModuleType) -> None:
    node_class = fresh_class()
    ccopy.deepcopy([node_class(1) for _ in range(3)])
    copy_registry = sys.modules["copyreg"].dispatch_table
    copy_registry[node_class] = lambda obj: (str, ("reduced",))
    try:
        assert ccopy.deepcopy(node_class(1)) == "reduced"
    finally:
        del copy_registry[node_class]


def test_copier_registered_in_copy_module_after_copies_is_used(ccopy: ModuleType) -> None:
    node_class = fresh_class()
    ccopy.deepcopy([node_class(1) for _ in range(3)])
    registry = copy._deepcopy_dispatch  # type: ignore[attr-defined]
    registry[node_class] = lambda obj, memo: "registered"
    try:
        assert ccopy.deepcopy([node_class(1)]) == ["registered"]
    finally:
        del registry[node_class]


def test_registry_swapping_one_entry_for_another_is_seen(ccopy: ModuleType) -> None:
    node_class = fresh_class()
    ccopy.deepcopy([node_class(1) for _ in range(3)])
    registry = copy._deepcopy_dispatch  # type: ignore[attr-defined]
    removed = registry.pop(types.MethodType)  # in the registry on every version
    registry[node_class] = lambda obj, memo: "registered"
    try:
        assert ccopy.deepcopy(node_class(1)) == "registered"
    finally:
        del registry[node_class]
        registry[types.MethodType] = removed


@pytest.mark.skipif(not hasattr(copy, "_copy_dispatch"), reason="3.14+: no copy registry")
def test_shallow_copier_registered_after_copies_is_used(ccopy: ModuleType) -> None:
    node_class = fresh_class()
    for _ in range(3):
        ccopy.copy(node_class(1))
    registry = copy._copy_dispatch  # type: ignore[attr-defined]
    registry[node_class] = lambda obj: "registered"
    try:
        assert ccopy.copy(node_class(1)) == "registered"
    finally:
        del registry[node_class]


@pytest.mark.skipif(
    not isinstance(getattr(copy, "_copy_atomic_types", None), set),
    reason="3.14 only: before, copy() has a registry dict; 3.15 freezes the set",
)
def test_type_added_to_copy_atomic_types_after_copies_is_used(ccopy: ModuleType) -> None:
    node_class = fresh_class()
    for _ in range(3):
        ccopy.copy(node_class(1))
    atomic_types = copy._copy_atomic_types  # type: ignore[attr-defined]
    atomic_types.add(node_class)
    original = node_class(1)
    try:
        assert ccopy.copy(original) is original
    finally:
        atomic_types.remove(node_class)


class CollidingKey:
    """A key hashing like '__deepcopy__' whose __eq__ copies other objects meanwhile."""

    module: Any = copy

    def __hash__(self) -> int:
        return hash("__deepcopy__")

    def __eq__(self, other: object) -> bool:
        recorder.record("eq", other if isinstance(other, str) else type(other).__name__)
        CollidingKey.module.deepcopy([Plain([1]), Slotted(1, [2]), fresh_class()(3)])
        return False


def test_instance_dict_keys_running_code_during_plan_checks(ccopy: ModuleType) -> None:
    node_class = fresh_class()
    ccopy.deepcopy([node_class(1) for _ in range(3)])
    copy.deepcopy([node_class(1) for _ in range(3)])
    odd_one = node_class(2)
    odd_one.__dict__[CollidingKey()] = "value"

    def run(module: Any) -> object:
        CollidingKey.module = module
        return module.deepcopy([odd_one, node_class(3)])

    expected, _ = run_both(ccopy, run, odd_one, recorder)
    assert expected.calls


def test_slotnames_changed_in_place_is_honoured(ccopy: ModuleType) -> None:
    class Pair:
        __slots__ = ("left", "right")
        left: object
        right: object

    def make() -> Pair:
        pair = Pair()
        pair.left, pair.right = [1], [2]
        return pair

    ccopy.deepcopy([make() for _ in range(3)])
    Pair.__slotnames__.remove("right")  # type: ignore[attr-defined]
    original = make()
    expected, _ = run_both(ccopy, lambda module: module.deepcopy(original), original)
    assert isinstance(expected.error, TypeError)  # object.__reduce_ex__'s size check


def test_planned_copy_matches_stdlib_for_many_class_shapes(ccopy: ModuleType) -> None:
    originals = [Plain([1]), Slotted(1, [2]), SlottedChild(1, 2, [3]), SlotsAndDict(1, 2)]
    original = originals * 3
    run_both(ccopy, lambda module: module.deepcopy(original), original)
    assert len(original) == 12


def test_class_gaining_copy_after_shallow_copies_calls_it(ccopy: ModuleType) -> None:
    node_class = fresh_class()
    for _ in range(3):
        ccopy.copy(node_class([1]))
    node_class.__copy__ = lambda self: "copied by hook"  # type: ignore[attr-defined]
    assert ccopy.copy(node_class(1)) == "copied by hook"


@pytest.mark.parametrize(
    "make",
    [lambda: Plain([1]), lambda: Slotted([1], 2), lambda: SlottedChild(1, 2, [3]), Plain],
    ids=["plain", "slots", "slots child", "empty dict"],
)
def test_planned_shallow_copy_matches_stdlib(ccopy: ModuleType, make: Any) -> None:
    originals = [make() for _ in range(4)]
    for original in originals:
        # The default binds this iteration's object; mypy cannot type such a lambda.
        run_both(ccopy, lambda module, obj=original: module.copy(obj), original)  # type: ignore[misc]
    assert len(originals) == 4


@pytest.mark.parametrize("operation", ["copy", "deepcopy"])
def test_c_types_reduced_directly_match_stdlib(ccopy: ModuleType, operation: str) -> None:
    import datetime

    zone = datetime.timezone(datetime.timedelta(hours=2), "X")
    original = [
        datetime.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=zone),
        datetime.date(2024, 1, 2),
        datetime.timedelta(days=3, seconds=4),
        datetime.time(1, 2, tzinfo=datetime.timezone.utc),
        collections.defaultdict(list, {"a": [1]}),
        collections.deque([1, [2]]),
        zone,
    ] * 3

    def each(module: Any) -> object:
        return [getattr(module, operation)(part) for part in original]

    run_both(ccopy, lambda module: getattr(module, operation)(original), original)
    run_both(ccopy, each, original)
    assert len(original) == 21


def test_reductor_registered_for_a_c_type_after_copies_is_used(ccopy: ModuleType) -> None:
    import datetime

    days = [datetime.date(2024, 1, day) for day in range(1, 4)]
    ccopy.deepcopy(days)
    copy_registry = sys.modules["copyreg"].dispatch_table
    copy_registry[datetime.date] = lambda obj: (str, ("registered",))
    try:
        assert ccopy.deepcopy(days[0]) == "registered"
        assert ccopy.copy(days[0]) == "registered"
    finally:
        del copy_registry[datetime.date]


# --- hooks known to return their object -----------------------------------------------------


class Colour(enum.Enum):
    RED = 1


class Money(decimal.Decimal):
    pass


@pytest.mark.parametrize(
    "value",
    [Colour.RED, decimal.Decimal("1.5"), Money("2.5"), re.compile("a+"), re.match("a", "a")],
    ids=["enum", "decimal", "decimal subclass", "pattern", "match"],
)
def test_identity_hook_objects_are_returned_as_stdlib_does(
    ccopy: ModuleType, value: object
) -> None:
    assert ccopy.deepcopy([value])[0] is copy.deepcopy([value])[0]


def test_identity_hook_skipped_keeps_memo_private_and_exact(ccopy: ModuleType) -> None:
    original = [Colour.RED, decimal.Decimal(1), [1], MemoSpy(None)]
    expected, _ = run_both(ccopy, spy_on(original), original, recorder)
    assert expected.calls


# --- small after large ----------------------------------------------------------------------


def best_time(function: Any, repeat: int = 200) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def test_small_copy_after_large_one_is_not_slower(ccopy: ModuleType) -> None:
    small = [{"a": [1, 2]}, [3]]
    fresh = best_time(lambda: ccopy.deepcopy(small))
    ccopy.deepcopy([[index] for index in range(200_000)])
    after = best_time(lambda: ccopy.deepcopy(small))
    assert after <= fresh * 2 + 1e-6  # loose: timing on a shared machine


# --- leaks ----------------------------------------------------------------------------------


class QuietHook:
    """A __deepcopy__ hook that only copies its payload (records nothing)."""

    def __init__(self, payload: object) -> None:
        self.payload = payload

    def __deepcopy__(self, memo: Memo) -> QuietHook:
        return QuietHook(copy.deepcopy(self.payload, memo))


class Failing:
    def __reduce_ex__(self, protocol: object) -> tuple[object, ...]:
        raise ValueError("no")


class FailingHook:
    def __deepcopy__(self, memo: Memo) -> object:
        raise ValueError("no")


class ListSubclass(list[object]):
    pass


def test_failure_after_a_copied_reduce_list_item_propagates(ccopy: ModuleType) -> None:
    original = ListSubclass([[1], FailingHook()])
    with pytest.raises(ValueError, match="no"):
        ccopy.deepcopy(original)


def test_failure_after_a_copied_reduce_dict_item_propagates(ccopy: ModuleType) -> None:
    original = collections.OrderedDict(a=[1], b=FailingHook())
    with pytest.raises(ValueError, match="no"):
        ccopy.deepcopy(original)


def leak_shapes() -> list[object]:
    shared = [1]
    return [
        [shared, {"k": shared}, (shared, 2), {1, 2}, frozenset({3})],
        [Plain([1]), Slotted([1], 2), Record("a", ["b"]), Colour.RED],
        collections.OrderedDict(a=[1]),
        [QuietHook([1]), [2]],
    ]


def count_objects() -> int:
    gc.collect()
    return len(gc.get_objects())


def run_many(function: Any, times: int = 2000) -> None:
    for _ in range(times):
        function()


def test_copies_leak_no_objects(ccopy: ModuleType) -> None:
    originals = leak_shapes()
    run_many(lambda: ccopy.deepcopy(originals), 50)
    before = count_objects()
    run_many(lambda: ccopy.deepcopy(originals))
    assert count_objects() - before < 50


def test_failing_copies_leak_no_objects(ccopy: ModuleType) -> None:
    original = [[1], {"k": (2, [3])}, Plain([4]), Failing()]

    def fail() -> None:
        with pytest.raises(ValueError):
            ccopy.deepcopy(original)

    run_many(fail, 50)
    before = count_objects()
    run_many(fail)
    assert count_objects() - before < 50


def test_copies_leak_no_memory(ccopy: ModuleType) -> None:
    originals = leak_shapes()
    run_many(lambda: ccopy.deepcopy(originals), 50)
    tracemalloc.start()
    try:
        run_many(lambda: ccopy.deepcopy(originals), 200)
        gc.collect()
        before, _ = tracemalloc.get_traced_memory()
        run_many(lambda: ccopy.deepcopy(originals))
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert after - before < 20_000


def test_originals_keep_their_reference_counts(ccopy: ModuleType) -> None:
    shared = [1]
    original = [shared, (shared,), {"k": shared}, Plain(shared), {2}]
    before = [sys.getrefcount(part) for part in (shared, *original)]
    run_many(lambda: ccopy.deepcopy(original), 100)
    after = [sys.getrefcount(part) for part in (shared, *original)]
    assert after == before


def test_runs_of_one_object_take_a_reference_per_position(ccopy: ModuleType) -> None:
    atom = 10**30  # a fresh int: not immortal, not cached
    shared = [atom]
    original = [[atom] * 40 + [atom + 1] * 3, [shared] * 50 + [atom] * 9 + [shared], shared]
    baseline = sys.getrefcount(atom)
    expected = copy.deepcopy(original)
    taken_by_stdlib = sys.getrefcount(atom) - baseline
    result = ccopy.deepcopy(original)
    assert sys.getrefcount(atom) - baseline == 2 * taken_by_stdlib
    assert sys.getrefcount(result[2]) == sys.getrefcount(expected[2])
    assert result == expected and result[1][0] is result[2] is result[1][-1]
    del expected, result
    assert sys.getrefcount(atom) == baseline


def test_shallow_copies_leak_no_objects(ccopy: ModuleType) -> None:
    originals = [[1], {"a": 1}, {1}, bytearray(b"x"), Plain(1), Slotted(1, 2)]
    run_many(lambda: [ccopy.copy(item) for item in originals], 50)
    before = count_objects()
    run_many(lambda: [ccopy.copy(item) for item in originals])
    assert count_objects() - before < 50


def peak_memory(function: Any, value: object) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        result = function(value)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del result
    return peak


def test_peak_memory_of_a_large_copy_is_at_most_stdlibs(ccopy: ModuleType) -> None:
    shared = {"tags": ["a", "b"]}
    original = [
        {"id": index, "name": f"item {index}", "values": [index, index + 1.5], "shared": shared}
        for index in range(5_000)
    ] + [Plain([index]) for index in range(2_000)]
    assert peak_memory(ccopy.deepcopy, original) <= peak_memory(copy.deepcopy, original)


def tracking_flags(obj: object, seen: set[int] | None = None) -> list[tuple[str, bool]]:
    """gc.is_tracked for every container and instance reachable from obj, in walk order."""
    seen = set() if seen is None else seen
    if id(obj) in seen or type(obj) in (int, str, float, bool, type(None)):
        return []
    seen.add(id(obj))
    flags = [(type(obj).__name__, gc.is_tracked(obj))]
    if isinstance(obj, (list, tuple)):
        parts: list[object] = list(obj)
    elif isinstance(obj, dict):
        parts = [*obj.keys(), *obj.values()]
    elif hasattr(obj, "__dict__"):
        parts = [vars(obj)]
    else:
        parts = [getattr(obj, name) for name in getattr(obj, "__slots__", ()) if hasattr(obj, name)]
    for part in parts:
        flags.extend(tracking_flags(part, seen))
    return flags


class StateUpdater:
    """Reduced to its __dict__; __setstate__ merges the copied state into its own."""

    def __init__(self, value: object) -> None:
        self.value = value

    def __reduce__(self) -> tuple[object, ...]:
        return (StateUpdater, (None,), self.__dict__)

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)


def tracked_shapes() -> list[object]:
    shared = [1]
    return [
        [[index] for index in range(300)],  # enough memo entries for untracking to start
        shared,
        {"atoms": 1},
        {"nested": [2]},
        (shared, 3),
        (1, 2),
        Plain([4]),
        Plain({"atoms only": 1}),
        Slotted(shared, {"k": [5]}),
        SlotsAndDict({"x": 1}, [2]),
        StateUpdater({"inner": [6]}),
        StateUpdater({"atoms": 7}),
        collections.OrderedDict(a={"b": [8]}),
        [[], {}],
        {"pair": (1, 2), "list": [9]},  # an untracked tuple beside a list
        {"pair": (1, 2), "text": "atoms and an untracked tuple only"},
        {"pair": (shared, 2), "n": 1},  # a tracked tuple
        {"inner": {"pair": (3, 4)}, "n": 2},
        {"n": 3, "pair": (shared, 4)},  # a tracked tuple after an atom
        {("tuple", "key"): (shared, 5)},  # a dict walked item by item (key not plain)
        dict_with_holes(12, every=3),
    ]


def dict_with_holes(size: int, every: int) -> dict[str, object]:
    """A dict of list values with every ``every``-th item deleted (deleted entries stay in
    its table until it is resized, so positions and items no longer line up)."""
    holey: dict[str, object] = {f"k{index}": [index] for index in range(size)}
    for index in range(0, size, every):
        del holey[f"k{index}"]
    holey["after"] = {"n": [size]}
    return holey


def test_copies_are_tracked_by_the_collector_as_stdlibs(ccopy: ModuleType) -> None:
    original = tracked_shapes()
    gc.collect()  # untracks the tuples and dicts of atoms, as a program's data would be
    assert tracking_flags(ccopy.deepcopy(original)) == tracking_flags(copy.deepcopy(original))


def test_cycles_through_reduced_copies_are_collected(ccopy: ModuleType) -> None:
    def make() -> object:
        node = StateUpdater(None)
        node.value = {"back": node, "list": [node]}
        holder = Plain(None)
        holder.value = {"node": node, "self": holder}
        return [node, holder, tracked_shapes()]

    original = make()
    run_many(lambda: ccopy.deepcopy(original), 50)
    before = count_objects()
    run_many(lambda: ccopy.deepcopy(original), 500)
    assert count_objects() - before < 50


def test_cyclic_copies_are_collected(ccopy: ModuleType) -> None:
    node = Plain(None)
    node.value = [node, {"self": node}]
    run_many(lambda: ccopy.deepcopy(node), 50)
    before = count_objects()
    run_many(lambda: ccopy.deepcopy(node), 500)
    assert count_objects() - before < 50


# --- deep structures and the C stack ----------------------------------------------------------


def nest(kind: str, depth: int) -> object:
    """A list, dict or tuple chain ``depth`` containers deep, with a list at the bottom."""
    nested: object = [1]
    for level in range(depth):
        if kind == "list":
            nested = [nested]
        elif kind == "dict":
            nested = {"k": nested}
        elif kind == "tuple":
            nested = (nested,)
        else:
            nested = [{"k": (nested,)}] if level % 3 == 0 else [nested]
    return nested


def depth_and_leaf(value: object) -> tuple[int, object]:
    depth = 0
    while True:
        if isinstance(value, list) and value != [1]:
            value = value[0]
        elif isinstance(value, dict):
            value = value["k"]
        elif isinstance(value, tuple):
            value = value[0]
        else:
            return depth, value
        depth += 1


@pytest.mark.parametrize("kind", ["list", "dict", "tuple", "mixed"])
def test_deep_container_chains_copy_without_recursion(ccopy: ModuleType, kind: str) -> None:
    original = nest(kind, 200_000)
    copied = ccopy.deepcopy(original)
    assert depth_and_leaf(copied) == depth_and_leaf(original)


def test_million_deep_list_copies(ccopy: ModuleType) -> None:
    original = nest("list", 1_000_000)
    copied = ccopy.deepcopy(original)
    assert copied is not original and depth_and_leaf(copied)[0] == 1_000_000


def test_deep_chain_failure_carries_the_full_path(ccopy: ModuleType) -> None:
    original: object = [FailingHook()]
    for _ in range(50):
        original = {"k": (original,)}
    from copykit import _pycopy

    with pytest.raises(ValueError) as caught:
        ccopy.deepcopy(original)
    with pytest.raises(ValueError) as expected:
        _pycopy.deepcopy(original)
    assert getattr(caught.value, "__notes__", None) == getattr(expected.value, "__notes__", None)


def test_deep_nesting_through_instances_raises_recursion_error(ccopy: ModuleType) -> None:
    nested: object = None
    for _ in range(100_000):
        nested = Plain(nested)
    with pytest.raises(RecursionError):
        ccopy.deepcopy(nested)


def test_every_recursion_guard_is_released() -> None:
    source = C_SOURCE.read_text(encoding="utf-8")
    assert source.count("Py_EnterRecursiveCall(") == source.count("Py_LeaveRecursiveCall(")


# --- the module itself ------------------------------------------------------------------------


def test_error_is_the_stdlib_error(ccopy: ModuleType) -> None:
    assert ccopy.Error is copy.Error


def test_replace_is_the_pure_twins(ccopy: ModuleType) -> None:
    from copykit import _pycopy

    assert ccopy.replace is _pycopy.replace


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda module: module.deepcopy(), "missing 1 required positional argument: 'x'"),
        (lambda module: module.deepcopy(1, {}, 3, 4), "positional arguments but 4 were given"),
        (lambda module: module.deepcopy(1, nope=2), "unexpected keyword argument 'nope'"),
        (lambda module: module.copy(1, 2), "takes 1 positional argument but 2 were given"),
    ],
    ids=["missing", "too many", "unknown keyword", "copy too many"],
)
def test_bad_arguments_raise_type_error(ccopy: ModuleType, call: Any, message: str) -> None:
    with pytest.raises(TypeError, match=re.escape(message)):
        call(ccopy)


def test_keyword_arguments_are_accepted(ccopy: ModuleType) -> None:
    memo: Memo = {}
    result = ccopy.deepcopy(x=[1], memo=memo)
    assert result == [1] and memo


# --- dict copies made as clones -----------------------------------------------------------


def test_dict_layout_is_read_directly_on_supported_interpreters(ccopy: ModuleType) -> None:
    # the C core reads combined dict tables directly once a check at import agreed with
    # PyDict_Next; on a supported CPython that check must pass, or the speed silently goes
    assert ccopy._DICT_LAYOUT_VERIFIED is True


@pytest.mark.parametrize(
    ("size", "every"),
    [(12, 3), (40, 2), (300, 4), (300, 1)],
    ids=["few-holes", "half-deleted", "two-byte-index", "all-deleted"],
)
def test_dicts_with_deleted_items_copy_as_stdlib(ccopy: ModuleType, size: int, every: int) -> None:
    # holes in the original's entry array: cloned as they are (values replaced at the same
    # entry) or compacted by dict.copy (values replaced by key)
    original: list[dict[str, object]] = [
        dict_with_holes(size, every),
        {"shared": dict_with_holes(size, every)},
    ]
    original.append(original[1])
    run_both(ccopy, lambda module: module.deepcopy(original), original)
    result = ccopy.deepcopy(original)
    assert list(result[0]) == list(original[0])
    assert tracking_flags(result) == tracking_flags(copy.deepcopy(original))


def test_dict_keys_of_every_atom_kind_copy_as_stdlib(ccopy: ModuleType) -> None:
    # str-only tables and general ones (other keys), keys that are atoms of each kind
    original = [
        {"a": [1], "b": 2},
        {1: [1], 2.5: [2], None: [3], False: [4], b"x": [5], 3j: [6], "s": [7], int: [8]},
        {(1, 2): [1], "after a tuple key": [2]},
        {frozenset([1]): [1]},
    ]
    run_both(ccopy, lambda module: module.deepcopy(original), original)
