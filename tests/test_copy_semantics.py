"""copy.copy: every kind of object, compared with the stdlib as the oracle."""

from __future__ import annotations

import copy
import copyreg
from collections.abc import Iterator
from types import ModuleType
from typing import Any, SupportsIndex

import pytest

from oracle import HookRecorder, run_both
from samples import ATOMS, MORE_STDLIB, SHALLOW_IMMUTABLES, VALUES, Factory, Plain


def assert_copy_agrees(impl: ModuleType, original: object) -> None:
    run_both(impl, lambda module: module.copy(original), original)


@pytest.mark.parametrize("factory", ATOMS.values(), ids=ATOMS.keys())
def test_atom_copies_as_stdlib(impl: ModuleType, factory: Factory) -> None:
    assert_copy_agrees(impl, factory())


@pytest.mark.parametrize("factory", SHALLOW_IMMUTABLES.values(), ids=SHALLOW_IMMUTABLES.keys())
def test_immutable_copies_as_stdlib(impl: ModuleType, factory: Factory) -> None:
    assert_copy_agrees(impl, factory())


@pytest.mark.parametrize("factory", VALUES.values(), ids=VALUES.keys())
def test_value_copies_as_stdlib(impl: ModuleType, factory: Factory) -> None:
    assert_copy_agrees(impl, factory())


def test_error_is_stdlib_error(impl: ModuleType) -> None:
    assert impl.Error is copy.Error


class Uncopyable:
    __reduce_ex__ = None  # type: ignore[assignment]  # disabled on purpose
    __reduce__ = None  # type: ignore[assignment]  # disabled on purpose


def test_object_without_reducers_raises_shallow_error(impl: ModuleType) -> None:
    outcome, _ = run_both(impl, lambda module: module.copy(Uncopyable()))
    assert isinstance(outcome.error, copy.Error)


class ReduceOnly:
    """__reduce_ex__ is None, so the copy module falls back to __reduce__."""

    __reduce_ex__ = None  # type: ignore[assignment]  # disabled on purpose

    def __init__(self) -> None:
        self.items = [1]

    def __reduce__(self) -> tuple[object, ...]:
        return (ReduceOnly, (), {"items": self.items})


def test_reduce_used_when_reduce_ex_is_none(impl: ModuleType) -> None:
    original = ReduceOnly()
    run_both(impl, lambda module: module.copy(original), original)


recorder = HookRecorder()


class WithCopyHook:
    def __init__(self, tag: object) -> None:
        self.tag = tag

    def __copy__(self) -> WithCopyHook:
        recorder.record("__copy__", self.tag)
        return WithCopyHook(self.tag)

    def __reduce_ex__(self, protocol: SupportsIndex) -> str | tuple[Any, ...]:
        recorder.record("__reduce_ex__", protocol)
        return object.__reduce_ex__(self, protocol)


def test_copy_hook_is_used_and_called_once(impl: ModuleType) -> None:
    original = WithCopyHook([1])
    expected, _ = run_both(impl, lambda module: module.copy(original), original, recorder)
    assert expected.calls == [("__copy__", original.tag)]


def test_copy_hook_on_instance_is_ignored(impl: ModuleType) -> None:
    original = Plain([1])
    original.__copy__ = lambda: "instance hook"  # type: ignore[attr-defined]
    run_both(impl, lambda module: module.copy(original), original)


class ReduceRecorder:
    def __init__(self) -> None:
        self.items = [1]

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[object, ...]:
        recorder.record("__reduce_ex__", protocol)
        return (ReduceRecorder, (), {"items": self.items})


def test_reduce_ex_called_with_protocol_4(impl: ModuleType) -> None:
    original = ReduceRecorder()
    expected, _ = run_both(impl, lambda module: module.copy(original), original, recorder)
    assert expected.calls == [("__reduce_ex__", 4)]


class Registered:
    def __init__(self, items: list[int]) -> None:
        self.items = items


def reduce_registered(obj: Registered) -> tuple[type[Registered], tuple[list[int]]]:
    recorder.record("dispatch_table", obj.items)
    return (Registered, (obj.items,))


@pytest.fixture
def registered_reducer() -> Iterator[None]:
    copyreg.pickle(Registered, reduce_registered)
    yield
    del copyreg.dispatch_table[Registered]


@pytest.mark.usefixtures("registered_reducer")
def test_dispatch_table_entry_is_used(impl: ModuleType) -> None:
    original = Registered([1])
    expected, _ = run_both(impl, lambda module: module.copy(original), original, recorder)
    assert expected.calls == [("dispatch_table", [1])]


class RegisteredWithCopyHook(Registered):
    def __copy__(self) -> RegisteredWithCopyHook:
        recorder.record("__copy__", self.items)
        return RegisteredWithCopyHook(self.items)


@pytest.fixture
def registered_hooked_reducer() -> Iterator[None]:
    # Builds the base class; never called, as the __copy__ hook wins.
    copyreg.pickle(RegisteredWithCopyHook, reduce_registered)  # type: ignore[arg-type]
    yield
    del copyreg.dispatch_table[RegisteredWithCopyHook]


@pytest.mark.usefixtures("registered_hooked_reducer")
def test_copy_hook_wins_over_dispatch_table(impl: ModuleType) -> None:
    original = RegisteredWithCopyHook([1])
    run_both(impl, lambda module: module.copy(original), original, recorder)


def test_class_with_copy_hook_is_itself_copied_as_atom(impl: ModuleType) -> None:
    run_both(impl, lambda module: module.copy(WithCopyHook), WithCopyHook)


class RaisingCopyHook:
    def __copy__(self) -> Any:
        raise ValueError("no copies today")


def test_exception_from_copy_hook_propagates(impl: ModuleType) -> None:
    outcome, _ = run_both(impl, lambda module: module.copy(RaisingCopyHook()))
    assert isinstance(outcome.error, ValueError)


def test_copy_of_list_shares_items(impl: ModuleType) -> None:
    inner = [1]
    original = [inner, inner, {"a": inner}]
    expected, _ = run_both(impl, lambda module: module.copy(original), original)
    assert expected.result is not original


def test_copy_of_instance_shares_attribute_values(impl: ModuleType) -> None:
    original = Plain([1])
    expected, _ = run_both(impl, lambda module: module.copy(original), original)
    assert expected.result.value is original.value


@pytest.mark.parametrize("factory", MORE_STDLIB.values(), ids=MORE_STDLIB.keys())
def test_other_stdlib_object_copies_as_stdlib(impl: ModuleType, factory: Factory) -> None:
    assert_copy_agrees(impl, factory())
