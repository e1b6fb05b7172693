"""__reduce_ex__/__reduce__ values of every shape, well-formed and malformed.

Each case makes an object whose ``__reduce_ex__(4)`` returns a given value and checks that
copy and deepcopy reconstruct it (or fail, with the same exception type and message) exactly
as the stdlib does.
"""

from __future__ import annotations

import copyreg
from collections.abc import Callable
from types import ModuleType
from typing import Any, SupportsIndex

import pytest

from oracle import HookRecorder, run_both

recorder = HookRecorder()
ReduceValue = Callable[["Reducible"], object]


class Target:
    """What a reduce function builds: an ordinary instance with a __dict__."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        recorder.record("Target.__init__", (len(args), sorted(kwargs)))
        self.args = args
        self.kwargs = kwargs


class Stateful(Target):
    def __setstate__(self, state: object) -> None:
        recorder.record("__setstate__", type(state).__name__)
        self.state = state


class SlotTarget:
    __slots__ = ("a", "b", "__dict__")


class SlotOnly:
    __slots__ = ("a",)


class ListTarget(list):  # type: ignore[type-arg]
    def append(self, item: object) -> None:
        recorder.record("append", type(item).__name__)
        super().append(item)


class DictTarget(dict):  # type: ignore[type-arg]
    def __setitem__(self, key: object, value: object) -> None:
        recorder.record("__setitem__", type(value).__name__)
        super().__setitem__(key, value)


def build_target(*args: object) -> Target:
    return Target(*args)


def failing_constructor(*args: object) -> object:
    raise RuntimeError(f"cannot build from {len(args)} args")


class Reducible:
    """Reduces to whatever its ``shape`` says, computed afresh at each call."""

    def __init__(self, shape: ReduceValue) -> None:
        self.shape = shape
        self.payload = [1, [2]]

    # Returns any value, malformed ones included, on purpose.
    def __reduce_ex__(self, protocol: SupportsIndex) -> object:  # type: ignore[override]
        recorder.record("__reduce_ex__", protocol)
        return self.shape(self)


def pairs(obj: Reducible) -> object:
    return iter([("a", obj.payload), ("b", 2)])


WELL_FORMED: dict[str, ReduceValue] = {
    "string": lambda obj: "module_global_name",
    "func and empty args": lambda obj: (Target, ()),
    "func and args": lambda obj: (build_target, (obj.payload, 5, obj.payload)),
    "args as a list": lambda obj: (Target, [obj.payload]),
    "args as an iterator": lambda obj: (Target, iter([obj.payload, 3])),
    "empty args list": lambda obj: (Target, []),
    "reduce value as a list": lambda obj: [Target, (obj.payload,)],
    "state dict": lambda obj: (Target, (), {"payload": obj.payload}),
    "empty state dict": lambda obj: (Target, (), {}),
    "state None": lambda obj: (Target, (), None),
    "state via __setstate__": lambda obj: (Stateful, (), [obj.payload]),
    "falsy state via __setstate__": lambda obj: (Stateful, (), 0),
    "dict and slot state": lambda obj: (SlotTarget, (), ({"d": obj.payload}, {"a": obj.payload})),
    "None and slot state": lambda obj: (SlotTarget, (), (None, {"b": [3]})),
    "dict and None slot state": lambda obj: (SlotTarget, (), ({"d": 1}, None)),
    "list items": lambda obj: (ListTarget, (), None, iter([obj.payload, 2, obj.payload])),
    "list items from a list": lambda obj: (ListTarget, (), None, [obj.payload]),
    "dict items": lambda obj: (DictTarget, (), None, None, pairs(obj)),
    "None in every optional position": lambda obj: (Target, (), None, None, None),
    "state and list items": lambda obj: (ListTarget, (), {"x": obj.payload}, iter([obj.payload])),
    "everything": lambda obj: (DictTarget, (), {"x": [1]}, None, pairs(obj)),
    # copyreg.__newobj__ and __newobj_ex__ exist at run time but not in typeshed's stub.
    "newobj": lambda obj: (
        copyreg.__newobj__,  # type: ignore[attr-defined]
        (Target, obj.payload),
        {"kept": obj.payload},
    ),
    "newobj_ex": lambda obj: (
        copyreg.__newobj_ex__,  # type: ignore[attr-defined]
        (Target, (obj.payload,), {"key": obj.payload}),
        None,
    ),
    "state as a list of pairs": lambda obj: (Target, (), [("k", obj.payload)]),
    "reduce value as a dict": lambda obj: {Target: 1, (): 2},
    "func returning the original": lambda obj: (lambda: obj, ()),
    "self in state": lambda obj: (Target, (), {"me": obj, "payload": obj.payload}),
    "self in list items": lambda obj: (ListTarget, (), None, iter([obj])),
}

MALFORMED: dict[str, ReduceValue] = {
    "empty tuple": lambda obj: (),
    "one-tuple": lambda obj: (Target,),
    "six-tuple": lambda obj: (Target, (), None, None, None, print),
    "seven-tuple": lambda obj: (Target, (), None, None, None, None, None),
    "int": lambda obj: 42,
    "None": lambda obj: None,
    "non-iterable args": lambda obj: (Target, 5),
    "None args": lambda obj: (Target, None),
    "non-callable func": lambda obj: (5, ()),
    "func raising": lambda obj: (failing_constructor, (1, 2)),
    "non-dict state without __setstate__": lambda obj: (Target, (), 5),
    "three-tuple state": lambda obj: (Target, (), (1, 2, 3)),
    "non-dict slot state": lambda obj: (SlotTarget, (), (None, 5)),
    "dict state for slots-only object": lambda obj: (SlotOnly, (), {"a": 1}),
    "unknown slot in slot state": lambda obj: (SlotOnly, (), (None, {"zzz": 1})),
    "non-iterable list items": lambda obj: (ListTarget, (), None, 5),
    "list items without append": lambda obj: (Target, (), None, iter([1])),
    "dict items that are not pairs": lambda obj: (DictTarget, (), None, None, iter([1])),
    "dict items of wrong length": lambda obj: (DictTarget, (), None, None, iter([(1, 2, 3)])),
    "dict items without __setitem__": lambda obj: (Target, (), None, None, iter([(1, 2)])),
    "non-iterable dict items": lambda obj: (DictTarget, (), None, None, 7),
}

OPERATIONS = ("copy", "deepcopy")


def compare_reduce(
    impl: ModuleType, shape: ReduceValue, operation: str, hooks: HookRecorder | None = recorder
) -> Any:
    original = Reducible(shape)

    # deepcopy gets a list so that sharing with the payload is exercised too.
    subject = original if operation == "copy" else [original, original.payload]

    def run(module: Any) -> object:
        return getattr(module, operation)(subject)

    expected, _ = run_both(impl, run, subject, hooks)
    return expected


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("shape", WELL_FORMED.values(), ids=WELL_FORMED.keys())
def test_well_formed_reduce_value(impl: ModuleType, shape: ReduceValue, operation: str) -> None:
    expected = compare_reduce(impl, shape, operation)
    assert expected.error is None


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("shape", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_reduce_value(impl: ModuleType, shape: ReduceValue, operation: str) -> None:
    expected = compare_reduce(impl, shape, operation)
    assert expected.error is not None


class ReduceOnly:
    """__reduce_ex__ is None: the copy module must fall back to __reduce__."""

    __reduce_ex__ = None  # type: ignore[assignment]  # disabled on purpose

    def __init__(self) -> None:
        self.payload = [1]

    def __reduce__(self) -> tuple[object, ...]:
        recorder.record("__reduce__", None)
        return (Target, (self.payload,))


@pytest.mark.parametrize("operation", OPERATIONS)
def test_reduce_used_when_reduce_ex_is_none(impl: ModuleType, operation: str) -> None:
    original = ReduceOnly()
    run_both(impl, lambda module: getattr(module, operation)(original), original, recorder)
    assert recorder.calls[0] == ("__reduce__", None)


class FalsyReduce:
    """__reduce_ex__ None and __reduce__ falsy: the object is uncopyable."""

    __reduce_ex__ = None  # type: ignore[assignment]  # disabled on purpose
    __reduce__ = 0  # type: ignore[assignment]  # falsy on purpose


@pytest.mark.parametrize("operation", OPERATIONS)
def test_falsy_reduce_means_uncopyable(impl: ModuleType, operation: str) -> None:
    expected, _ = run_both(impl, lambda module: getattr(module, operation)(FalsyReduce()))
    assert expected.error is not None


class RaisingReduce:
    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[object, ...]:
        raise TypeError(f"cannot reduce with protocol {protocol}")


@pytest.mark.parametrize("operation", OPERATIONS)
def test_exception_from_reduce_ex_propagates(impl: ModuleType, operation: str) -> None:
    expected, _ = run_both(impl, lambda module: getattr(module, operation)(RaisingReduce()))
    assert isinstance(expected.error, TypeError)


class GetstateRecorder:
    """Default reduce with Python-level __getstate__/__setstate__ hooks."""

    def __init__(self) -> None:
        self.payload = [1]

    def __getstate__(self) -> object:
        recorder.record("__getstate__", None)
        return {"payload": self.payload, "extra": (self.payload,)}

    def __setstate__(self, state: dict[str, object]) -> None:
        recorder.record("__setstate__", sorted(state))
        self.__dict__.update(state)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_getstate_and_setstate_hooks(impl: ModuleType, operation: str) -> None:
    original = GetstateRecorder()
    run_both(impl, lambda module: getattr(module, operation)(original), original, recorder)
    assert ("__getstate__", None) in recorder.calls


def test_self_in_args_recurses_without_end(impl: ModuleType) -> None:
    """The object's reduce args hold the object: both recurse until RecursionError.

    Hook calls are not compared: how deep each gets before the error may differ.
    """
    shape: ReduceValue = lambda obj: (build_target, (obj, obj.payload))  # noqa: E731
    expected = compare_reduce(impl, shape, "deepcopy", hooks=None)
    assert isinstance(expected.error, RecursionError)


class Tracked:
    """Records each deep copy of itself, so the order of reconstruction steps shows."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __deepcopy__(self, memo: dict[int, Any]) -> Tracked:
        recorder.record("__deepcopy__", self.name)
        return Tracked(self.name)

    def __hash__(self) -> int:
        return hash(self.name)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tracked) and other.name == self.name


def tracked_everywhere(obj: Reducible) -> object:
    return (
        build_target,
        (Tracked("arg 1"), Tracked("arg 2")),
        {"state": Tracked("state")},
        iter([Tracked("item 1"), Tracked("item 2")]),
        iter([(Tracked("key"), Tracked("value"))]),
    )


class ListAndDictTarget(Target):
    def append(self, item: object) -> None:
        recorder.record("append", getattr(item, "name", None))

    def __setitem__(self, key: object, value: object) -> None:
        recorder.record("__setitem__", getattr(value, "name", None))


def build_list_and_dict_target(*args: object) -> ListAndDictTarget:
    return ListAndDictTarget(*args)


def tracked_with_items(obj: Reducible) -> object:
    built = tracked_everywhere(obj)
    return (build_list_and_dict_target, *built[1:])  # type: ignore[index]


@pytest.mark.parametrize("operation", OPERATIONS)
def test_reconstruction_steps_in_stdlib_order(impl: ModuleType, operation: str) -> None:
    expected = compare_reduce(impl, tracked_with_items, operation)
    assert [name for name, _ in expected.calls].count("append") == 2


class SetstateNone(Target):
    __setstate__ = None


@pytest.mark.parametrize("operation", OPERATIONS)
def test_setstate_set_to_none_is_called(impl: ModuleType, operation: str) -> None:
    expected = compare_reduce(impl, lambda obj: (SetstateNone, (), {"a": 1}), operation)
    assert isinstance(expected.error, TypeError)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_non_string_slot_name_fails(impl: ModuleType, operation: str) -> None:
    expected = compare_reduce(impl, lambda obj: (SlotTarget, (), (None, {1: 2})), operation)
    assert isinstance(expected.error, TypeError)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_reduce_to_string_returns_the_object(impl: ModuleType, operation: str) -> None:
    original = Reducible(lambda obj: "some.global")
    expected, _ = run_both(impl, lambda module: getattr(module, operation)(original), original)
    assert expected.result is original
