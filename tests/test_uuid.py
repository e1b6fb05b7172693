"""uuid.UUID: C copies it without uuid.py's __getstate__/__setstate__ while the memo is
private; the result, the memo a caller sees and every changed or unusual UUID must still be
what the stdlib gives."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from oracle import HookRecorder, memo_layout, positions_of, run_both

recorder = HookRecorder()


def uuids() -> list[Any]:
    safe = uuid.UUID(int=1, is_safe=uuid.SafeUUID.safe)
    unsafe = uuid.UUID(int=2**100, is_safe=uuid.SafeUUID.unsafe)
    unknown = uuid.UUID(int=3, version=4)
    return [safe, unsafe, unknown, {"again": unknown}, (safe, [unsafe])]


def test_uuids_match_stdlib(impl: ModuleType) -> None:
    original = uuids()
    run_both(impl, lambda module: module.deepcopy(original), original)


def test_copy_holds_the_same_int_and_safety_member(impl: ModuleType) -> None:
    original = uuids()
    copied = impl.deepcopy(original)
    for before, after in zip(original[:3], copied[:3], strict=True):
        assert type(after) is uuid.UUID and after is not before
        assert after.int is before.int and after.is_safe is before.is_safe


def test_caller_memo_holds_the_state_entries_stdlib_makes(impl: ModuleType) -> None:
    original = uuids()
    positions = positions_of(original)

    def run(module: Any) -> object:
        memo: dict[int, Any] = {}
        result = module.deepcopy(original, memo)
        return result, memo_layout(memo, positions), len(memo)

    run_both(impl, run, original)


class SubUUID(uuid.UUID):
    pass


def test_subclass_matches_stdlib(impl: ModuleType) -> None:
    original = [SubUUID(int=5), SubUUID(int=6, is_safe=uuid.SafeUUID.safe)]
    run_both(impl, lambda module: module.deepcopy(original), original)


@pytest.fixture
def patched_setstate() -> Iterator[None]:
    own = getattr(uuid.UUID, "__setstate__")  # noqa: B009 - typeshed does not list it

    def setstate(self: uuid.UUID, state: dict[str, Any]) -> None:
        recorder.record("UUID.__setstate__", sorted(state))
        own(self, state)

    setattr(uuid.UUID, "__setstate__", setstate)  # noqa: B010
    try:
        yield
    finally:
        setattr(uuid.UUID, "__setstate__", own)  # noqa: B010


def test_replaced_setstate_is_called(impl: ModuleType, patched_setstate: None) -> None:
    impl.deepcopy(uuid.UUID(int=7))  # learnt before the check below, if ever
    original = uuids()
    expected, _ = run_both(impl, lambda module: module.deepcopy(original), original, recorder)
    assert expected.calls  # the stdlib called it: so did copykit (run_both compares)


def test_odd_is_safe_fails_as_in_stdlib(impl: ModuleType) -> None:
    odd = uuid.UUID(int=8)
    object.__setattr__(odd, "is_safe", 5)
    run_both(impl, lambda module: module.deepcopy([odd]), [odd])


def test_int_that_is_not_an_int_matches_stdlib(impl: ModuleType) -> None:
    odd = uuid.UUID(int=9)
    object.__setattr__(odd, "int", [9])
    run_both(impl, lambda module: module.deepcopy([odd]), [odd])
