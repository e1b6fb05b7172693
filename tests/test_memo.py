"""The memo: what callers and hooks see in it, in what order, and pre-seeded entries."""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any, SupportsIndex

import pytest

from oracle import HookRecorder, Walker, memo_layout, positions_of, run_both
from samples import ATOMS, VALUES, Factory, Plain

recorder = HookRecorder()
Memo = dict[int, Any]


def deepcopy_with_memo(original: object, memo: Memo | None = None) -> Any:
    """An operation returning the result, the memo's values and its key layout, in order."""

    positions = positions_of(original)

    def run(module: Any) -> object:
        caller_memo: Memo = dict(memo or {})
        result = module.deepcopy(original, caller_memo)
        return result, list(caller_memo.values()), memo_layout(caller_memo, positions)

    return run


@pytest.mark.parametrize("factory", VALUES.values(), ids=VALUES.keys())
def test_caller_memo_matches_stdlib(impl: ModuleType, factory: Factory) -> None:
    original = factory()
    expected, _ = run_both(impl, deepcopy_with_memo(original), original)
    assert expected.error is None


@pytest.mark.parametrize("factory", ATOMS.values(), ids=ATOMS.keys())
def test_atom_leaves_memo_as_stdlib(impl: ModuleType, factory: Factory) -> None:
    original = factory()
    run_both(impl, deepcopy_with_memo(original), original)


def test_shared_and_nested_memo_order(impl: ModuleType) -> None:
    shared = [1, (2, [3])]
    original = [shared, {"a": shared, "b": (shared, Plain(shared))}, frozenset({(4, 5)})]
    expected, _ = run_both(impl, deepcopy_with_memo(original), original)
    assert ("key", "<keep-alive>") in expected.result[2]


def test_memo_reused_across_calls_shares_copies(impl: ModuleType) -> None:
    shared = [1]
    first, second = [shared], {"s": shared}

    def run(module: Any) -> object:
        memo: Memo = {}
        copies = (module.deepcopy(first, memo), module.deepcopy(second, memo))
        return copies, list(memo.values())

    expected, _ = run_both(impl, run, (first, second))
    assert expected.result[0][0][0] is expected.result[0][1]["s"]


@pytest.mark.parametrize(
    "factory",
    [lambda: 7, lambda: "text", lambda: None, lambda: (1, 2), lambda: [1], lambda: Plain(1)],
    ids=["int", "str", "None", "tuple of atoms", "list", "instance"],
)
def test_preseeded_entry_is_returned(impl: ModuleType, factory: Factory) -> None:
    """Before 3.14 for anything; from 3.14 atoms are answered before the memo is read."""
    original = factory()
    replacement = ["replacement"]
    seeded = {id(original): replacement}
    expected, _ = run_both(impl, deepcopy_with_memo(original, seeded), original)
    atom_first = sys.version_info >= (3, 14) and type(original) in (int, str, type(None))
    assert expected.result[0] is (original if atom_first else replacement)


def test_preseeded_inner_entry_replaces_that_position(impl: ModuleType) -> None:
    inner = [1]
    original = [inner, (inner,), {"k": inner}]
    seeded = {id(inner): "seeded"}
    expected, _ = run_both(impl, deepcopy_with_memo(original, seeded), original)
    assert expected.result[0][0] == "seeded"


def test_preseeded_keep_alive_list_is_appended_to(impl: ModuleType) -> None:
    original = [[1], Plain([2])]
    seeded_keep_alive = ["already there"]

    positions = positions_of(original)

    def run(module: Any) -> object:
        memo: Memo = {}
        memo[id(memo)] = keep_alive = list(seeded_keep_alive)
        result = module.deepcopy(original, memo)
        return result, keep_alive, memo_layout(memo, positions)

    expected, _ = run_both(impl, run, original)
    assert expected.result[1][0] == "already there"


class MemoObserver:
    """A __deepcopy__ hook that records whether it got the caller's memo, and its layout."""

    def __init__(self, payload: object) -> None:
        self.payload = payload

    def __deepcopy__(self, memo: Memo) -> MemoObserver:
        recorder.record("is caller memo", memo is MemoObserver.current_memo)
        recorder.record("layout", memo_layout(memo, MemoObserver.current_positions))
        recorder.record("values", [type(value).__name__ for value in memo.values()])
        return MemoObserver(MemoObserver.current_module.deepcopy(self.payload, memo))

    current_memo: Memo | None = None
    current_positions: Walker = Walker()
    current_module: Any = None


def observe(original: object) -> Any:
    positions = positions_of(original)

    def run(module: Any) -> object:
        memo: Memo = {}
        MemoObserver.current_memo, MemoObserver.current_positions = memo, positions
        MemoObserver.current_module = module
        return module.deepcopy(original, memo), list(memo.values())

    return run


def test_hook_receives_the_caller_memo(impl: ModuleType) -> None:
    original = [MemoObserver([1])]
    expected, _ = run_both(impl, observe(original), original, recorder)
    assert expected.calls[0] == ("is caller memo", True)


def test_memo_seen_inside_hooks_matches_stdlib(impl: ModuleType) -> None:
    shared = [1, [2]]
    original = [
        shared,
        {"a": MemoObserver(shared), "t": (shared, 3)},
        Plain(MemoObserver([shared, MemoObserver(None)])),
        frozenset({(1, 2)}),
    ]
    expected, _ = run_both(impl, observe(original), original, recorder)
    assert len(expected.calls) == 9


def test_memo_seen_inside_hook_within_reduce_state(impl: ModuleType) -> None:
    shared = {"k": [1]}
    original = (Plain((shared, MemoObserver(shared))), [shared])
    expected, _ = run_both(impl, observe(original), original, recorder)
    assert expected.calls


def test_explicit_none_memo_acts_like_no_memo(impl: ModuleType) -> None:
    shared = [1]
    original = [shared, shared]
    expected, _ = run_both(impl, lambda module: module.deepcopy(original, None), original)
    assert expected.result[0] is expected.result[1]


class Exploding:
    def __deepcopy__(self, memo: Memo) -> Any:
        raise ValueError("exploded")


def test_memo_after_a_failure_matches_stdlib(impl: ModuleType) -> None:
    shared = [1, [2]]
    original = [shared, {"a": (shared, Plain(shared))}, Exploding(), [3]]
    positions = positions_of(original)

    def run(module: Any) -> object:
        memo: Memo = {}
        try:
            module.deepcopy(original, memo)
        except ValueError as exc:
            return str(exc), list(memo.values()), memo_layout(memo, positions)
        return None

    expected, _ = run_both(impl, run, original)
    assert expected.result[0] == "exploded"


def test_memo_after_a_failure_in_reduce_matches_stdlib(impl: ModuleType) -> None:
    shared = {"k": [1]}
    original = [shared, Plain((shared, Exploding())), [2]]
    positions = positions_of(original)

    def run(module: Any) -> object:
        memo: Memo = {}
        try:
            module.deepcopy(original, memo)
        except ValueError:
            return list(memo.values()), memo_layout(memo, positions)
        return None

    expected, _ = run_both(impl, run, original)
    assert expected.result is not None


class Carrier:
    """Reduces with the atom in its args and in its state."""

    def __init__(self, atom: object) -> None:
        self.atom = atom

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[object, ...]:
        return (Carrier, (self.atom,), {"also": self.atom})


PLACES: dict[str, Any] = {
    "list item": lambda atom: [1, atom],
    "tuple item": lambda atom: (atom, [2]),
    "dict value": lambda atom: {"k": atom},
    "dict key": lambda atom: {atom: 1},
    "instance attribute": lambda atom: Plain(atom),
    "reduce args and state": lambda atom: Carrier(atom),
    "bound method self": lambda atom: [atom.__add__] if isinstance(atom, int) else [atom],
}


@pytest.mark.parametrize("place", PLACES.values(), ids=PLACES.keys())
def test_preseeded_atom_inside_is_replaced(impl: ModuleType, place: Any) -> None:
    atom = 10**20 + 1
    original = place(atom)
    seeded = {id(atom): "seeded atom"}
    expected, _ = run_both(impl, deepcopy_with_memo(original, seeded), original)
    assert expected.error is None


@pytest.mark.skipif(sys.version_info >= (3, 15), reason="3.15 has no third parameter")
def test_third_positional_argument_does_not_bypass_the_memo(impl: ModuleType) -> None:
    """stdlib's third parameter is only its private "missing" marker: any value is inert."""
    original = [1]

    def run(module: Any) -> object:
        return module.deepcopy(original, {id(original): "seeded"}, object())

    expected, _ = run_both(impl, run, original)
    assert expected.result == "seeded"


@pytest.mark.skipif(sys.version_info < (3, 15), reason="before 3.15 _nil is a parameter")
@pytest.mark.parametrize(
    "call",
    [
        lambda module: module.deepcopy([1], {}, object()),
        lambda module: module.deepcopy([1], None, _nil=object()),
    ],
    ids=["positional", "keyword"],
)
def test_third_argument_is_refused_from_315(
    impl: ModuleType, call: Any, request: pytest.FixtureRequest
) -> None:
    """3.15 dropped _nil: a third argument is a TypeError, with the stdlib's message."""
    if impl.__name__ == "copykit._pycopy" and "keyword" in request.node.name:
        # docs/compat.md, known differences: the twin keeps _nil as a private keyword
        request.applymarker(pytest.mark.xfail(strict=True, reason="the twin's own _nil"))
    expected, _ = run_both(impl, call)
    assert isinstance(expected.error, TypeError)
