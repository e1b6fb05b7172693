"""copy.deepcopy: every kind of object, hooks and recursion, compared with the stdlib."""

from __future__ import annotations

import copy
import copyreg
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from oracle import HookRecorder, run_both
from samples import ATOMS, SHALLOW_IMMUTABLES, VALUES, Factory, Plain

recorder = HookRecorder()


def assert_deepcopy_agrees(impl: ModuleType, original: object) -> Any:
    """Compare deepcopy of ``original``; return stdlib's result for further checks."""
    expected, _ = run_both(impl, lambda module: module.deepcopy(original), original, recorder)
    return expected.result


@pytest.mark.parametrize("factory", ATOMS.values(), ids=ATOMS.keys())
def test_atom_deepcopies_as_stdlib(impl: ModuleType, factory: Factory) -> None:
    assert_deepcopy_agrees(impl, factory())


@pytest.mark.parametrize("factory", SHALLOW_IMMUTABLES.values(), ids=SHALLOW_IMMUTABLES.keys())
def test_immutable_deepcopies_as_stdlib(impl: ModuleType, factory: Factory) -> None:
    assert_deepcopy_agrees(impl, factory())


@pytest.mark.parametrize("factory", VALUES.values(), ids=VALUES.keys())
def test_value_deepcopies_as_stdlib(impl: ModuleType, factory: Factory) -> None:
    assert_deepcopy_agrees(impl, factory())


@pytest.mark.parametrize("factory", VALUES.values(), ids=VALUES.keys())
def test_value_inside_shared_list_deepcopies_as_stdlib(impl: ModuleType, factory: Factory) -> None:
    value = factory()
    assert_deepcopy_agrees(impl, [value, (value, [value]), {"k": value}])


def test_tuple_of_atoms_is_returned_itself(impl: ModuleType) -> None:
    original = (1, "a", (2, None))
    assert assert_deepcopy_agrees(impl, original) is original


def test_tuple_holding_a_list_is_new(impl: ModuleType) -> None:
    original = (1, [2])
    assert assert_deepcopy_agrees(impl, original) is not original


def test_deeply_nested_list_deepcopies_as_stdlib(impl: ModuleType) -> None:
    nested: list[object] = [0]
    for depth in range(200):
        nested = [depth, nested]
    assert_deepcopy_agrees(impl, nested)


class Uncopyable:
    __reduce_ex__ = None
    __reduce__ = None


def test_object_without_reducers_raises_deep_error(impl: ModuleType) -> None:
    outcome, _ = run_both(impl, lambda module: module.deepcopy(Uncopyable()))
    assert isinstance(outcome.error, copy.Error)


def test_uncopyable_object_nested_in_list_raises_deep_error(impl: ModuleType) -> None:
    outcome, _ = run_both(impl, lambda module: module.deepcopy([1, {"a": Uncopyable()}]))
    assert isinstance(outcome.error, copy.Error)


class Hooked:
    """Records its __deepcopy__ calls with the memo keys it saw and copies its payload."""

    def __init__(self, name: str, payload: object = None) -> None:
        self.name = name
        self.payload = payload

    def __deepcopy__(self, memo: dict[int, Any]) -> Hooked:
        recorder.record("__deepcopy__", (self.name, len(memo)))
        return Hooked(self.name, copy.deepcopy(self.payload, memo))


def test_deepcopy_hook_order_in_nested_structure(impl: ModuleType) -> None:
    first, second, third = Hooked("first", [1]), Hooked("second"), Hooked("third")
    original = [first, {"second": second, "nested": (third, first)}]
    run_both(impl, lambda module: module.deepcopy(original), original, recorder)
    assert recorder.calls


class HookedViaModule:
    """A hook that recurses through whichever module copied it, as real hooks would."""

    module: Any = copy

    def __init__(self, payload: object) -> None:
        self.payload = payload

    def __deepcopy__(self, memo: dict[int, Any]) -> HookedViaModule:
        recorder.record("__deepcopy__", sorted(type(value).__name__ for value in memo.values()))
        return HookedViaModule(HookedViaModule.module.deepcopy(self.payload, memo))


def test_hook_recursing_through_impl_agrees(impl: ModuleType) -> None:
    shared = [1]
    original = [shared, HookedViaModule([shared, HookedViaModule(shared)])]

    def through(module: Any) -> object:
        HookedViaModule.module = module
        return module.deepcopy(original)

    run_both(impl, through, original, recorder)
    assert recorder.calls


def test_deepcopy_hook_on_instance_is_used(impl: ModuleType) -> None:
    original = Plain([1])
    original.__deepcopy__ = lambda memo: "from the instance hook"  # type: ignore[attr-defined]
    assert assert_deepcopy_agrees(impl, original) == "from the instance hook"


def test_class_with_deepcopy_hook_is_an_atom(impl: ModuleType) -> None:
    assert assert_deepcopy_agrees(impl, Hooked) is Hooked


class RaisingHook:
    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        raise KeyError("no deep copies")


def test_exception_from_deepcopy_hook_propagates(impl: ModuleType) -> None:
    outcome, _ = run_both(impl, lambda module: module.deepcopy([1, RaisingHook()]))
    assert isinstance(outcome.error, KeyError)


class Registered:
    def __init__(self, items: list[int]) -> None:
        self.items = items


def reduce_registered(obj: Registered) -> tuple[object, ...]:
    recorder.record("dispatch_table", list(obj.items))
    return (Registered, (obj.items,))


@pytest.fixture
def registered_reducer() -> Iterator[None]:
    copyreg.pickle(Registered, reduce_registered)
    yield
    del copyreg.dispatch_table[Registered]


@pytest.mark.usefixtures("registered_reducer")
def test_dispatch_table_entry_is_used(impl: ModuleType) -> None:
    shared = [1]
    result = assert_deepcopy_agrees(impl, [Registered(shared), shared])
    assert result[0].items is result[1]


class HookAndRegistered(Registered):
    def __deepcopy__(self, memo: dict[int, Any]) -> str:
        recorder.record("__deepcopy__", None)
        return "hook"


@pytest.fixture
def registered_hooked_reducer() -> Iterator[None]:
    copyreg.pickle(HookAndRegistered, reduce_registered)
    yield
    del copyreg.dispatch_table[HookAndRegistered]


@pytest.mark.usefixtures("registered_hooked_reducer")
def test_deepcopy_hook_wins_over_dispatch_table(impl: ModuleType) -> None:
    assert assert_deepcopy_agrees(impl, HookAndRegistered([1])) == "hook"


class Node:
    def __init__(self) -> None:
        self.children: list[Node] = []
        self.parent: Node | None = None


def test_instances_referring_to_each_other(impl: ModuleType) -> None:
    root = Node()
    for _ in range(3):
        child = Node()
        child.parent = root
        root.children.append(child)
    result = assert_deepcopy_agrees(impl, root)
    assert result.children[0].parent is result


def test_recursive_tuple_through_list_keeps_cycle(impl: ModuleType) -> None:
    inner: list[object] = []
    outer = (inner, [inner])
    inner.append(outer)
    result = assert_deepcopy_agrees(impl, outer)
    assert result[0][0] is result


def test_recursive_dict_inside_tuple(impl: ModuleType) -> None:
    mapping: dict[str, object] = {}
    pair = (1, mapping)
    mapping["pair"] = pair
    assert_deepcopy_agrees(impl, [pair, mapping])


class SelfReducing:
    """An instance whose reduce state refers back to the instance."""

    def __init__(self) -> None:
        self.me = self
        self.items = [self]

    def __reduce_ex__(self, protocol: int) -> object:
        recorder.record("__reduce_ex__", protocol)
        return (SelfReducing.__new__, (SelfReducing,), self.__dict__)


def test_self_referring_reduce_state(impl: ModuleType) -> None:
    result = assert_deepcopy_agrees(impl, SelfReducing())
    assert result.me is result


def test_bound_method_copies_its_self(impl: ModuleType) -> None:
    owner = Plain([1])
    result = assert_deepcopy_agrees(impl, [owner, owner.method])
    assert result[1].__self__ is result[0]


def test_memo_keeps_dict_keys_shared_with_values(impl: ModuleType) -> None:
    key = (1, Plain(2))
    assert_deepcopy_agrees(impl, {key: key, "again": [key]})
