"""Errors that say where: the stdlib's exception, plus a PEP 678 note with the path (3.11+)."""

from __future__ import annotations

import builtins
import copy
import sys
import threading
from types import ModuleType
from typing import Any

import pytest

NOTES_SUPPORTED = sys.version_info >= (3, 11)
needs_notes = pytest.mark.skipif(not NOTES_SUPPORTED, reason="PEP 678 notes exist from 3.11")


class Holder:
    def __init__(self, **attributes: object) -> None:
        self.__dict__.update(attributes)


class Slotted:
    __slots__ = ("lock", "name")

    def __init__(self) -> None:
        self.name = "s"
        self.lock = threading.Lock()


class Refuses:
    def __deepcopy__(self, memo: dict[int, Any]) -> object:
        raise ValueError("refused")


class CopiesItsChild:
    def __init__(self, child: object) -> None:
        self.child = child

    def __deepcopy__(self, memo: dict[int, Any]) -> object:
        return CopiesItsChild(copy.deepcopy(self.child, memo))


def failure(function: Any, value: object) -> BaseException:
    with pytest.raises(BaseException) as caught:
        function(value)
    return caught.value


def notes(error: BaseException) -> list[str]:
    return list(getattr(error, "__notes__", []))


@needs_notes
def test_note_names_dict_keys_and_attributes(impl: ModuleType) -> None:
    structure = {"state": Holder(lock=threading.RLock())}
    error = failure(impl.deepcopy, structure)
    assert notes(error) == [
        "copykit: failed at root['state'].lock (_thread.RLock); "
        "copykit.deepcopy(x, keep=_thread.RLock) shares it instead of copying"
    ]


@needs_notes
def test_note_names_list_and_tuple_positions(impl: ModuleType) -> None:
    error = failure(impl.deepcopy, [0, ([], (1, Refuses()))])
    assert notes(error) == ["copykit: failed at root[1][1][1] (test_error_notes.Refuses)"]


@needs_notes
def test_note_names_slot_attributes(impl: ModuleType) -> None:
    error = failure(impl.deepcopy, {"s": Slotted()})
    assert notes(error) == [
        "copykit: failed at root['s'].lock (_thread.lock); "
        "copykit.deepcopy(x, keep=_thread.lock) shares it instead of copying"
    ]


@needs_notes
def test_note_tells_a_failing_key_from_a_failing_value(impl: ModuleType) -> None:
    class RefusingKey(Refuses):
        def __hash__(self) -> int:
            return 1

    error = failure(impl.deepcopy, {RefusingKey(): 1})
    assert notes(error) == [
        "copykit: failed at root<key <test_error_notes.test_note_tells_a_failing_key_from_a_"
        "failing_value.<locals>.RefusingKey object>> "
        "(test_error_notes.test_note_tells_a_failing_key_from_a_failing_value.<locals>.RefusingKey)"
    ]


@needs_notes
def test_note_follows_a_hook_that_copies_its_child_with_copykit(impl: ModuleType) -> None:
    class CopiesWithCopykit(CopiesItsChild):
        def __deepcopy__(self, memo: dict[int, Any]) -> object:
            return CopiesWithCopykit(impl.deepcopy(self.child, memo))

    error = failure(impl.deepcopy, {"wrapper": CopiesWithCopykit([Refuses()])})
    assert notes(error) == ["copykit: failed at root['wrapper'][0] (test_error_notes.Refuses)"]


@needs_notes
def test_note_stops_at_a_hook_that_copies_with_the_stdlib(impl: ModuleType) -> None:
    error = failure(impl.deepcopy, {"wrapper": CopiesItsChild([Refuses()])})
    assert notes(error) == ["copykit: failed at root['wrapper'] (test_error_notes.CopiesItsChild)"]


@needs_notes
def test_note_keeps_notes_the_error_already_had(impl: ModuleType) -> None:
    class NotedRefusal:
        def __deepcopy__(self, memo: dict[int, Any]) -> object:
            error = ValueError("refused")
            # add_note exists from 3.11 (needs_notes); mypy checks for 3.10.
            error.add_note("from the hook")  # type: ignore[attr-defined]
            raise error

    error = failure(impl.deepcopy, [NotedRefusal()])
    assert notes(error)[0] == "from the hook"
    assert notes(error)[1].startswith("copykit: failed at root[0] ")


@pytest.mark.parametrize(
    "value",
    [threading.Lock(), [1, {"k": Holder(lock=threading.Lock())}]],
    ids=["root", "nested"],
)
def test_exception_type_and_message_are_stdlib(impl: ModuleType, value: object) -> None:
    expected = failure(copy.deepcopy, value)
    actual = failure(impl.deepcopy, value)
    assert (type(actual), str(actual), actual.args) == (
        type(expected),
        str(expected),
        expected.args,
    )


def test_failure_of_the_root_object_adds_no_note(impl: ModuleType) -> None:
    assert notes(failure(impl.deepcopy, threading.Lock())) == []


def test_shallow_copy_adds_no_note(impl: ModuleType) -> None:
    assert notes(failure(impl.copy, threading.Lock())) == []


@pytest.mark.skipif(NOTES_SUPPORTED, reason="3.10 has no notes: nothing may be added there")
def test_no_note_attribute_on_python_3_10(impl: ModuleType) -> None:
    error = failure(impl.deepcopy, [Refuses()])
    assert not hasattr(error, "__notes__")


def test_exception_cause_is_kept(impl: ModuleType) -> None:
    class Chained:
        def __deepcopy__(self, memo: dict[int, Any]) -> object:
            try:
                raise KeyError("inner")
            except KeyError as inner:
                raise ValueError("outer") from inner

    error = failure(impl.deepcopy, [Chained()])
    assert isinstance(error.__cause__, KeyError)


FROZENDICT: Any = getattr(builtins, "frozendict", None)


@needs_notes
@pytest.mark.skipif(FROZENDICT is None, reason="frozendict is built in from 3.15")
def test_note_names_frozendict_values_and_keys(impl: ModuleType) -> None:
    structure = [FROZENDICT(ok=1, state=Holder(lock=threading.Lock()))]
    error = failure(impl.deepcopy, structure)
    assert notes(error) == [
        "copykit: failed at root[0]['state'].lock (_thread.lock); "
        "copykit.deepcopy(x, keep=_thread.lock) shares it instead of copying"
    ]
