"""The memo after Python code has seen it: hooks that use, change or keep the memo.

Once a hook has been handed the memo, C goes on with a private table that mirrors the
dict (issue #19). These tests make hooks do everything a hook can do to a memo -- add
entries for themselves, delete, overwrite, insert foreign ids and ids of atoms, replace or
empty the keep-alive list, pop, clear, keep the memo and read it later, copy with it from
another thread -- and compare result, memo contents and what the hooks saw with the
stdlib's. Nested copies made by hooks go through the module under test, as
``copykit.patch`` would route ``copy.deepcopy``.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any, SupportsIndex

import pytest

from oracle import HookRecorder, memo_layout, positions_of, run_both

Memo = dict[int, Any]
recorder = HookRecorder()
# The module whose deepcopy nested copies use: set by each run to the side under test.
current: list[Any] = []


def nested_deepcopy(x: object, memo: Memo) -> Any:
    return current[-1].deepcopy(x, memo)


def payload(seed: int) -> dict[str, Any]:
    """JSON-like data with shared parts, enough of it that the memo's table grows."""
    shared = [seed, "shared", {"k": seed}]
    return {
        "rows": [{"id": i, "tags": [f"t{i}", i], "meta": {"n": i}} for i in range(40)],
        "shared": shared,
        "again": (shared, [shared]),
        "text": "same",
    }


class Hooked:
    """Calls ``action(self, memo)`` from its hook; returns what the action returns."""

    def __init__(self, name: str, action: Callable[[Hooked, Memo], Any]) -> None:
        self.name = name
        self.action = action
        self.parts = [1, [2, 3], {"x": [4]}]
        self.shared: object = None  # set by around()
        self.later: object = None

    def __deepcopy__(self, memo: Memo) -> Any:
        recorder.record(self.name, len(memo))
        return self.action(self, memo)


def forward(self: Hooked, memo: Memo) -> Hooked:
    """The common forwarding hook: memoise the new instance, then copy the state."""
    new = Hooked.__new__(Hooked)
    memo[id(self)] = new
    new.__dict__.update(nested_deepcopy(self.__dict__, memo))
    return new


def fresh(self: Hooked, memo: Memo) -> Hooked:
    return Hooked(self.name + "'", self.action)


def itself(self: Hooked, memo: Memo) -> Hooked:
    return self


def run_structure(
    impl: ModuleType, make: Callable[[], object], caller_memo: bool = False
) -> tuple[Any, Any]:
    """Copy ``make()`` with both; compare result, hook log, memo layout (caller memo)."""
    original = make()
    positions = positions_of(original)

    def run(module: Any) -> object:
        current.append(module)
        try:
            if not caller_memo:
                return module.deepcopy(original)
            memo: Memo = {}
            result = module.deepcopy(original, memo)
            return result, memo_layout(memo, positions), len(memo.get(id(memo), ()))
        finally:
            current.pop()

    return run_both(impl, run, original, recorder)


def around(hooked: object, seed: int = 0) -> list[object]:
    """A payload before the hooked object, shared parts of it after, and a part seen
    first after it; a Hooked object learns where they are (hostile hooks target them)."""
    before = payload(seed)
    later = {"later": [seed]}
    if isinstance(hooked, Hooked):
        hooked.shared = before["shared"]
        hooked.later = later
    return [before, hooked, before["shared"], before["rows"][3], later, payload(seed + 1)]


@pytest.mark.parametrize("caller_memo", [False, True], ids=["no-memo", "caller-memo"])
@pytest.mark.parametrize("action", [forward, fresh, itself], ids=["forward", "fresh", "itself"])
def test_plain_hooks_match_stdlib(impl: ModuleType, action: Any, caller_memo: bool) -> None:
    run_structure(impl, lambda: around(Hooked("h", action)), caller_memo)


def test_many_forwarding_hooks_with_shared_parts(impl: ModuleType) -> None:
    """Hundreds of hooked entries: the dict resizes while hooks append to it."""

    def make() -> object:
        shared = {"s": [1, 2]}
        items = [Hooked(f"h{i}", forward) for i in range(300)]
        for item in items:
            item.parts.append(shared)
        return [items, shared, items[5], {"again": items[7]}]

    run_structure(impl, make)
    run_structure(impl, make, caller_memo=True)


def test_nested_hooks_three_deep(impl: ModuleType) -> None:
    def make() -> object:
        inner = Hooked("inner", forward)
        middle = Hooked("middle", forward)
        middle.parts.append(inner)
        outer = Hooked("outer", forward)
        outer.parts.append([middle, inner])
        return around(outer)

    run_structure(impl, make)


def first_key(memo: Memo) -> int:
    return next(key for key in memo if key != id(memo))


def deletes_entry(self: Hooked, memo: Memo) -> Hooked:
    del memo[id(self.shared)]
    return fresh(self, memo)


def deletes_first(self: Hooked, memo: Memo) -> Hooked:
    del memo[first_key(memo)]
    return fresh(self, memo)


def overwrites_entry(self: Hooked, memo: Memo) -> Hooked:
    memo[id(self.shared)] = "overwritten"
    return fresh(self, memo)


def overwrites_last(self: Hooked, memo: Memo) -> Hooked:
    last = [key for key in memo if key != id(memo)][-1]
    memo[last] = "overwritten"
    return fresh(self, memo)


def pops_item(self: Hooked, memo: Memo) -> Hooked:
    memo.popitem()
    return fresh(self, memo)


def pops_two_and_reinserts(self: Hooked, memo: Memo) -> Hooked:
    """Two entries popped, a foreign key and the last popped key (the same int) put back."""
    last_key, last_value = memo.popitem()
    memo.popitem()
    memo[id(self.later)] = "foreign"
    memo[last_key] = last_value
    return fresh(self, memo)


def clears_memo(self: Hooked, memo: Memo) -> Hooked:
    memo.clear()
    return fresh(self, memo)


def replaces_keep_list(self: Hooked, memo: Memo) -> Hooked:
    memo[id(memo)] = list(memo.get(id(memo), []))
    return fresh(self, memo)


def empties_keep_list(self: Hooked, memo: Memo) -> Hooked:
    memo.setdefault(id(memo), []).clear()
    return fresh(self, memo)


def keep_list_not_a_list(self: Hooked, memo: Memo) -> Hooked:
    memo[id(memo)] = {"not": "a list"}
    return fresh(self, memo)


def deletes_keep_list(self: Hooked, memo: Memo) -> Hooked:
    memo.pop(id(memo), None)
    return fresh(self, memo)


def moves_entry_to_the_end(self: Hooked, memo: Memo) -> Hooked:
    key = id(self.shared)
    memo[key] = memo.pop(key)
    return fresh(self, memo)


def deletes_and_refills(self: Hooked, memo: Memo) -> Hooked:
    """An entry deleted and enough added that the dict resizes (and so compacts)."""
    del memo[id(self.shared)]
    for number in range(200):
        memo[-number - 1] = number
    return fresh(self, memo)


HOSTILE = {
    "deletes": deletes_entry,
    "deletes-first": deletes_first,
    "deletes-and-refills": deletes_and_refills,
    "overwrites-first": overwrites_entry,
    "overwrites-last": overwrites_last,
    "popitem": pops_item,
    "pop-two-reinsert": pops_two_and_reinserts,
    "clear": clears_memo,
    "keep-list-replaced": replaces_keep_list,
    "keep-list-emptied": empties_keep_list,
    "keep-list-not-a-list": keep_list_not_a_list,
    "keep-list-deleted": deletes_keep_list,
    "entry-moved": moves_entry_to_the_end,
}


@pytest.mark.parametrize("caller_memo", [False, True], ids=["no-memo", "caller-memo"])
@pytest.mark.parametrize("action", HOSTILE.values(), ids=HOSTILE.keys())
def test_hook_changing_the_memo_matches_stdlib(
    impl: ModuleType, action: Any, caller_memo: bool
) -> None:
    run_structure(impl, lambda: around(Hooked("h", action)), caller_memo)


@pytest.mark.parametrize("action", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_hook_inside_a_forwarding_hook(impl: ModuleType, action: Any) -> None:
    """The change happens in a nested copy made on the outer call's mirrored memo."""

    def make() -> object:
        outer = Hooked("outer", forward)
        outer.parts.append(Hooked("inner", action))
        return around(outer)

    run_structure(impl, make)


def test_hook_memoising_a_later_part(impl: ModuleType) -> None:
    """A foreign key: the id of a part copied later, which must then come from the memo."""
    later = {"later": [1, 2]}

    def memoises_later(self: Hooked, memo: Memo) -> Hooked:
        memo[id(later)] = "from the hook"
        return fresh(self, memo)

    run_structure(impl, lambda: [payload(0), Hooked("h", memoises_later), later, [later]])
    run_structure(impl, lambda: [payload(0), Hooked("h", memoises_later), later], caller_memo=True)


def test_hook_memoising_an_atom(impl: ModuleType) -> None:
    """Before 3.14 a memo entry for an atom is used; from 3.14 atoms come first."""
    word = "a-string-object"
    number = 10**30

    def memoises_atoms(self: Hooked, memo: Memo) -> Hooked:
        memo[id(word)] = "replaced word"
        memo[id(number)] = "replaced number"
        return fresh(self, memo)

    run_structure(impl, lambda: [Hooked("h", memoises_atoms), word, [number, word], payload(1)])


def test_memo_kept_by_a_hook_and_read_later(impl: ModuleType) -> None:
    """A hook keeps the memo; later hooks and a reductor (given no memo) read it."""
    kept: list[Memo] = []

    def keeps(self: Hooked, memo: Memo) -> Hooked:
        kept.append(memo)
        return fresh(self, memo)

    def reads(self: Hooked, memo: Memo) -> Hooked:
        recorder.record("kept is memo", kept[-1] is memo)
        return fresh(self, memo)

    class Reducer:
        def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[Any, ...]:
            recorder.record("reductor sees", len(kept[-1]))
            return (list, ([1, 2],))

    def make() -> object:
        kept.clear()
        return [Hooked("keeps", keeps), payload(0), Reducer(), payload(1), Hooked("reads", reads)]

    run_structure(impl, make)


def test_kept_memo_changed_by_a_reductor(impl: ModuleType) -> None:
    """Code given no memo changes the kept one: the copy must see the change."""
    kept: list[Memo] = []
    later = [7, 8]

    def keeps(self: Hooked, memo: Memo) -> Hooked:
        kept.append(memo)
        return fresh(self, memo)

    class Reducer:
        def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[Any, ...]:
            kept[-1][id(later)] = "set by the reductor"
            return (list, ([1, 2],))

    def make() -> object:
        kept.clear()
        return [Hooked("keeps", keeps), payload(0), Reducer(), later, [later]]

    run_structure(impl, make)


def test_memo_kept_after_the_call_holds_what_stdlib_holds(impl: ModuleType) -> None:
    kept: list[Memo] = []

    def keeps(self: Hooked, memo: Memo) -> Hooked:
        kept.append(memo)
        return fresh(self, memo)

    def make() -> object:
        kept.clear()
        return around(Hooked("keeps", keeps))

    original = make()
    positions = positions_of(original)

    def run(module: Any) -> object:
        kept.clear()
        result = module.deepcopy(original)
        memo = kept[-1]
        return result, memo_layout(memo, positions), len(memo[id(memo)])

    run_both(impl, run, original, recorder)


def test_memo_itself_in_the_structure(impl: ModuleType) -> None:
    """memo.get(id(memo)) is the keep-alive list: the stdlib returns it as the copy."""

    def run(module: Any) -> object:
        holder: list[object] = []
        seen: list[Memo] = []

        def stores_memo(self: Hooked, memo: Memo) -> Hooked:
            holder.append(memo)
            seen.append(memo)
            return fresh(self, memo)

        current.append(module)
        try:
            result = module.deepcopy([payload(0), Hooked("stores", stores_memo), holder])
        finally:
            current.pop()
        memo = seen[0]
        copied = result[2][0]
        return type(copied).__name__, copied is memo.get(id(memo)), len(memo)

    run_both(impl, run, None, recorder)


def test_caller_memo_that_contains_itself(impl: ModuleType) -> None:
    def run(module: Any) -> object:
        memo: Memo = {}
        original = [[1, 2], {"memo": memo}]
        try:
            module.deepcopy(original, memo)
        except Exception as exc:  # noqa: BLE001 - the outcome is compared
            return type(exc).__name__, str(exc)
        return "copied", len(memo)

    run_both(impl, run, None, recorder)


def test_memo_used_from_another_thread(impl: ModuleType) -> None:
    """A hook hands the memo to a thread that copies with it, and waits for it."""
    later = {"later": [1]}

    def threaded(self: Hooked, memo: Memo) -> Hooked:
        module = current[-1]
        outcome: list[object] = []
        worker = threading.Thread(target=lambda: outcome.append(module.deepcopy(later, memo)))
        worker.start()
        worker.join()
        recorder.record("thread copied", outcome[0])
        return fresh(self, memo)

    run_structure(impl, lambda: [payload(0), Hooked("t", threaded), later, payload(1)])


def test_thread_copying_while_a_hook_keeps_the_memo(impl: ModuleType) -> None:
    """Two copies on one memo from two threads at once, each inside a hook."""
    barrier_hits: list[int] = []

    def slow(self: Hooked, memo: Memo) -> Hooked:
        module = current[-1]
        results: list[object] = []
        workers = [
            threading.Thread(target=lambda: results.append(module.deepcopy(payload(9), memo)))
            for _ in range(3)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        barrier_hits.append(len(results))
        return fresh(self, memo)

    original = [payload(0), Hooked("slow", slow), payload(1)]
    current.append(impl)
    try:
        result = impl.deepcopy(original)
    finally:
        current.pop()
    assert barrier_hits == [3]
    assert result[0] == original[0] and result[0] is not original[0]
    assert result[2] == original[2]


def test_registered_copier_sees_the_mirrored_memo(impl: ModuleType) -> None:
    """A copier in copy._deepcopy_dispatch gets the memo, as hooks do."""
    import copy as stdlib_copy

    class Registered:
        def __init__(self) -> None:
            self.items = [1, 2]

    def copier(x: Registered, memo: Memo) -> Registered:
        recorder.record("copier", len(memo))
        new = Registered.__new__(Registered)
        memo[id(x)] = new
        new.items = nested_deepcopy(x.items, memo)
        return new

    stdlib_copy._deepcopy_dispatch[Registered] = copier  # type: ignore[attr-defined]
    try:
        run_structure(impl, lambda: around(Registered()))
        run_structure(impl, lambda: around(Registered()), caller_memo=True)
    finally:
        del stdlib_copy._deepcopy_dispatch[Registered]  # type: ignore[attr-defined]


@pytest.mark.skipif(sys.version_info >= (3, 15), reason="3.15 has no _nil parameter")
def test_nested_call_with_the_stdlib_nil(impl: ModuleType) -> None:
    """The patch passes the stdlib's _nil on: a value that is _nil counts as absent."""
    import copy as stdlib_copy

    nil = stdlib_copy.deepcopy.__defaults__[1]  # type: ignore[index]

    def with_nil(self: Hooked, memo: Memo) -> Hooked:
        new = Hooked.__new__(Hooked)
        memo[id(self)] = new
        new.__dict__.update(current[-1].deepcopy(self.__dict__, memo, nil))
        return new

    run_structure(impl, lambda: around(Hooked("nil", with_nil)))


def test_hook_copying_an_atom_it_memoised(impl: ModuleType) -> None:
    """The nested copy of an atom reads the memo (before 3.14) after the hook changed it."""
    word = "another-string-object"

    def memoises_then_copies(self: Hooked, memo: Memo) -> object:
        plain = nested_deepcopy(word, memo)
        memo[id(word)] = "replaced word"
        return [plain, nested_deepcopy(word, memo), nested_deepcopy(self.parts, memo)]

    run_structure(impl, lambda: around(Hooked("h", memoises_then_copies)))


def test_finalizers_copying_with_a_kept_memo_in_the_middle_of_a_copy(impl: ModuleType) -> None:
    """Garbage made by a hook is collected while the rest is copied (before 3.12 any
    allocation may collect); its finalizers copy with the memo the hook kept. When that
    happens differs between implementations, so the check is a sound result, not the
    stdlib's exact memo."""
    import gc

    kept: list[Memo] = []

    class Finalized:
        def __init__(self) -> None:
            self.cycle = self

        def __del__(self) -> None:
            if kept:
                impl.deepcopy([1, {"k": [2]}], kept[-1])

    def keeps_and_litters(self: Hooked, memo: Memo) -> Hooked:
        kept.append(memo)
        for _ in range(50):
            Finalized()
        return fresh(self, memo)

    original = [Hooked("litter", keeps_and_litters)] + [payload(seed) for seed in range(6)]
    threshold = gc.get_threshold()
    gc.set_threshold(1)
    try:
        result = impl.deepcopy(original)
    finally:
        gc.set_threshold(*threshold)
        kept.clear()
        gc.collect()
    assert result[1:] == original[1:]
    assert result[2]["again"][0] is result[2]["shared"]
