"""The oracle itself: it accepts stdlib against stdlib and catches each kind of difference."""

from __future__ import annotations

import collections
import copy
import types
from typing import Any, SupportsIndex

import pytest

from oracle import HookRecorder, Mismatch, assert_same_copy, memo_layout, positions_of, run_both


class Plain:
    def __init__(self, value: object) -> None:
        self.value = value


class Slotted:
    __slots__ = ("left", "right")

    def __init__(self, left: object, right: object) -> None:
        self.left = left
        self.right = right


def fake_module(**functions: Any) -> types.SimpleNamespace:
    """A stand-in for an implementation: stdlib's functions unless overridden."""
    namespace = {"copy": copy.copy, "deepcopy": copy.deepcopy, "Error": copy.Error}
    namespace.update(functions)
    return types.SimpleNamespace(**namespace)


def sample_graph() -> list[object]:
    shared = [1, 2]
    node = Plain(shared)
    graph: list[object] = [shared, node, (shared, "text"), {"key": node}, {3, 4}, float("nan")]
    graph.append(graph)
    return graph


def test_stdlib_deepcopy_agrees_with_itself() -> None:
    graph = sample_graph()
    assert_same_copy(graph, copy.deepcopy(graph), copy.deepcopy(graph))


def test_stdlib_copy_agrees_with_itself() -> None:
    graph = sample_graph()
    assert_same_copy(graph, copy.copy(graph), copy.copy(graph))


def test_lost_sharing_is_caught() -> None:
    shared = [1]
    original = [shared, shared]
    unshared = [copy.deepcopy(item) for item in original]
    with pytest.raises(Mismatch, match="sharing differs"):
        assert_same_copy(original, copy.deepcopy(original), unshared)


def test_extra_sharing_is_caught() -> None:
    original = [[1], [1]]
    first = copy.deepcopy(original[0])
    with pytest.raises(Mismatch, match="sharing differs"):
        assert_same_copy(original, copy.deepcopy(original), [first, first])


def test_kept_original_where_stdlib_copies_is_caught() -> None:
    inner = Plain(1)
    original = [inner]
    with pytest.raises(Mismatch, match="original's object"):
        assert_same_copy(original, copy.deepcopy(original), [inner])


def test_copy_where_stdlib_keeps_original_is_caught() -> None:
    inner = Plain(1)
    original = [inner]
    with pytest.raises(Mismatch, match="a new object"):
        assert_same_copy(original, copy.copy(original), copy.deepcopy(original))


def test_different_type_is_caught() -> None:
    with pytest.raises(Mismatch, match="type"):
        assert_same_copy([(1,)], [(1,)], [[1]])


def test_different_value_in_attribute_is_caught() -> None:
    with pytest.raises(Mismatch, match="value"):
        assert_same_copy(None, Plain(1), Plain(2))


def test_different_slot_value_is_caught() -> None:
    with pytest.raises(Mismatch, match="left"):
        assert_same_copy(None, Slotted(1, 2), Slotted(5, 2))


def test_unset_slot_versus_set_slot_is_caught() -> None:
    unset = Slotted.__new__(Slotted)
    with pytest.raises(Mismatch, match="left"):
        assert_same_copy(None, unset, Slotted(1, 2))


def test_nan_equals_nan() -> None:
    assert_same_copy(None, [float("nan")], [float("nan")])


def test_sets_of_unhashable_by_value_objects_pair_structurally() -> None:
    original = frozenset({Plain(1), Plain(2)})
    assert_same_copy(original, copy.deepcopy(original), copy.deepcopy(original))


def test_set_member_difference_is_caught() -> None:
    with pytest.raises(Mismatch, match="no member"):
        assert_same_copy(None, frozenset({Plain(1)}), frozenset({Plain(2)}))


def test_separately_built_originals_compare_by_position() -> None:
    first, second = sample_graph(), sample_graph()
    assert_same_copy(first, copy.copy(first), copy.copy(second), copykit_original=second)


def test_run_both_catches_different_error_messages() -> None:
    def fail_differently(value: object) -> object:
        raise copy.Error("something else")

    class NoReduce:
        def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[object, ...]:
            raise copy.Error("no")

    with pytest.raises(AssertionError, match="something else"):
        run_both(fake_module(copy=fail_differently), lambda module: module.copy(NoReduce()))


def test_run_both_catches_error_only_on_one_side() -> None:
    def refuse(value: object) -> object:
        raise TypeError("refused")

    with pytest.raises(AssertionError, match="refused"):
        run_both(fake_module(deepcopy=refuse), lambda module: module.deepcopy([1]))


def test_run_both_catches_different_hook_order() -> None:
    recorder = HookRecorder()

    class Hooked:
        def __deepcopy__(self, memo: dict[int, object]) -> Hooked:
            recorder.record("__deepcopy__", id(self))
            return Hooked()

    first, second = Hooked(), Hooked()

    def reversed_deepcopy(value: list[object]) -> list[object]:
        return list(reversed([copy.deepcopy(item) for item in reversed(value)]))

    with pytest.raises(AssertionError, match="hook calls differ"):
        run_both(
            fake_module(deepcopy=reversed_deepcopy),
            lambda module: module.deepcopy([first, second]),
            [first, second],
            recorder,
        )


def test_memo_layout_names_keep_alive_and_originals() -> None:
    original = [[1]]
    positions = positions_of(original)
    memo: dict[int, Any] = {}
    copy.deepcopy(original, memo)
    assert memo_layout(memo, positions) == [
        ("original", "<root>"),
        ("original", "[0]"),
        ("key", "<keep-alive>"),
    ]


def twin_members() -> tuple[set[Plain], Plain, Plain]:
    first, second = Plain(3), Plain(3)
    return {first, second}, first, second


def test_ambiguous_set_pairing_is_resolved_by_later_sharing() -> None:
    for _ in range(20):  # set order follows ids: try several layouts
        expected_set, first, second = twin_members()
        actual_set, third, fourth = twin_members()
        assert_same_copy(None, (expected_set, [first, second]), (actual_set, [third, fourth]))


def test_sharing_difference_after_ambiguous_set_is_caught() -> None:
    expected_set, first, _ = twin_members()
    actual_set, third, fourth = twin_members()
    with pytest.raises(Mismatch, match="sharing differs"):
        assert_same_copy(None, (expected_set, [first, first]), (actual_set, [third, fourth]))


def test_change_to_the_original_is_caught() -> None:
    def deepcopy_and_meddle(value: list[object], memo: object = None) -> object:
        result = copy.deepcopy(value)
        value[0] = Plain(0)
        return result

    original: list[object] = [Plain(1), [2]]
    with pytest.raises(AssertionError, match="copykit changed the original"):
        run_both(
            fake_module(deepcopy=deepcopy_and_meddle),
            lambda module: module.deepcopy(original),
            original,
        )


def test_change_to_a_deque_inside_the_original_is_caught() -> None:
    inner = collections.deque([1, 2])

    def copy_and_rotate(value: object) -> object:
        result = copy.copy(value)
        inner.rotate(1)
        return result

    original = [inner]
    with pytest.raises(AssertionError, match="copykit changed the original"):
        run_both(fake_module(copy=copy_and_rotate), lambda module: module.copy(original), original)


def test_list_inside_slice_is_checked_for_originality() -> None:
    original = slice(1, [2], 3)
    kept_inner = slice(1, original.stop, 3)
    with pytest.raises(Mismatch, match="original's object"):
        assert_same_copy(original, copy.deepcopy(original), kept_inner)


def test_method_wrappers_compare_by_their_self() -> None:
    original = [1, [2]].__add__
    assert_same_copy(original, copy.deepcopy(original), copy.deepcopy(original))
