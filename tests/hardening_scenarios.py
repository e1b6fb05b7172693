"""Hostile scenarios: hooks and objects that misbehave while they are being copied.

Each scenario builds its input afresh (hooks mutate it), copies it with the module it is
given and returns ``(original, result)``; hooks append what they see to ``log``. Running a
scenario against stdlib ``copy`` and against an implementation must give the same result (or
the same exception, type and message) and the same log.

Run as a script (``python hardening_scenarios.py MODULE [FIRST]``) it runs every scenario
against MODULE from index FIRST on, printing ``BEGIN name`` before each, so a parent process
can tell which scenario crashed the interpreter.
"""

from __future__ import annotations

import copy as stdlib_copy
import copyreg
import gc
import importlib
import sys
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any, NoReturn, SupportsIndex, TypeVar, cast

T = TypeVar("T")

Log = list[object]
Scenario = Callable[[ModuleType, Log], tuple[object, object]]
SCENARIOS: dict[str, Scenario] = {}


# The log of the scenario now running, for hooks that live on classes shared by all runs.
ACTIVE_LOG: Log = []


def note(entry: object) -> None:
    ACTIVE_LOG.append(entry)


def noting(entry: object, result: T) -> T:
    """note(entry), then result: for hooks written as one-line lambdas."""
    note(entry)
    return result


def set_attribute(target: object, name: str, value: object) -> None:
    """setattr: hooks put on classes and instances mid-scenario (mypy sees methods there)."""
    setattr(target, name, value)


def attributes(obj: object) -> dict[Any, Any]:
    """obj.__dict__, for scenarios that put keys of any type in it."""
    return cast(dict[Any, Any], obj.__dict__)


def register(name: str, function: Scenario) -> None:
    def run(module: ModuleType, log: Log) -> tuple[object, object]:
        global ACTIVE_LOG
        ACTIVE_LOG = log
        return function(module, log)

    SCENARIOS[name] = run


def scenario(function: Scenario) -> Scenario:
    register(function.__name__, function)
    return function


class Custom(BaseException):
    """A BaseException that is neither Exception nor one the interpreter knows."""


RAISED_TYPES: dict[str, type[BaseException]] = {
    "ValueError": ValueError,
    "KeyboardInterrupt": KeyboardInterrupt,
    "SystemExit": SystemExit,
    "GeneratorExit": GeneratorExit,
    "MemoryError": MemoryError,
    "RecursionError": RecursionError,
    "Custom": Custom,
}


# --- building blocks -------------------------------------------------------------------


class Hooked:
    """Its ``__deepcopy__`` logs, runs ``action(memo)`` once, then returns a fresh Hooked."""

    def __init__(self, label: str, log: Log, action: Callable[[Any], object] | None = None):
        self.label = label
        self.log = log
        self.action = action

    def __deepcopy__(self, memo: dict[int, Any]) -> Hooked:
        self.log.append(("__deepcopy__", self.label, len(memo)))
        action, self.action = self.action, None
        if action is not None:
            action(memo)
        return type(self)(self.label + "'", self.log)

    def __copy__(self) -> Hooked:
        self.log.append(("__copy__", self.label))
        action, self.action = self.action, None
        if action is not None:
            action(None)
        return type(self)(self.label + "'", self.log)


class LabelHashed(Hooked):
    """A Hooked with a hash that does not depend on its address (stable set order)."""

    def __hash__(self) -> int:
        return hash(self.label)


class Plain:
    """An ordinary instance, copied through ``__reduce_ex__``."""

    def __init__(self, **attributes: object) -> None:
        self.__dict__.update(attributes)


class Reducing:
    """``__reduce_ex__`` returns whatever ``make()`` builds; the call is logged."""

    def __init__(self, log: Log, make: Callable[[], object]) -> None:
        self.log = log
        self.make = make

    # Returns whatever make() builds, malformed values included, on purpose.
    def __reduce_ex__(self, protocol: SupportsIndex) -> object:  # type: ignore[override]
        self.log.append(("__reduce_ex__", protocol))
        return self.make()


class Raising:
    """Raises ``error`` from ``__deepcopy__`` and ``__copy__``."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def __deepcopy__(self, memo: dict[int, Any]) -> object:
        raise self.error

    def __copy__(self) -> object:
        raise self.error


def raise_(error: BaseException) -> Callable[[Any], object]:
    def action(memo: Any) -> object:
        raise error

    return action


def deep(module: ModuleType, original: object) -> tuple[object, object]:
    return original, module.deepcopy(original)


def shallow(module: ModuleType, original: object) -> tuple[object, object]:
    return original, module.copy(original)


# --- containers changed while they are copied -------------------------------------------


@scenario
def list_hook_appends_to_list(module: ModuleType, log: Log) -> tuple[object, object]:
    items: list[object] = [1, [0]]
    items.insert(1, Hooked("h", log, lambda memo: items.extend([3, [4], Plain(a=[5])])))
    return deep(module, items)


@scenario
def list_hook_appends_runs_past_the_room(module: ModuleType, log: Log) -> tuple[object, object]:
    shared = [9]
    items: list[object] = [shared, shared, 7, 7]
    items.insert(2, Hooked("h", log, lambda memo: items.extend([7] * 5 + [shared] * 4)))
    return deep(module, items)


@scenario
def list_hook_clears_list(module: ModuleType, log: Log) -> tuple[object, object]:
    items: list[object] = [[1], 2]
    items.insert(1, Hooked("h", log, lambda memo: items.clear()))
    return deep(module, items)


@scenario
def list_hook_truncates_list(module: ModuleType, log: Log) -> tuple[object, object]:
    items: list[object] = [[1], [2], [3], [4]]
    items.insert(1, Hooked("h", log, lambda memo: items.__delitem__(slice(2, None))))
    return deep(module, items)


@scenario
def list_hook_replaces_later_item(module: ModuleType, log: Log) -> tuple[object, object]:
    items: list[object] = [[1], [2], [3]]

    def replace(memo: Any) -> None:
        items[2] = Plain(replaced=[9])

    items.insert(1, Hooked("h", log, replace))
    return deep(module, items)


@scenario
def list_hook_deletes_own_slot(module: ModuleType, log: Log) -> tuple[object, object]:
    items: list[object] = [[1], [2], [3]]
    items.insert(1, Hooked("h", log, lambda memo: items.__delitem__(1)))
    return deep(module, items)


@scenario
def dict_hook_adds_key(module: ModuleType, log: Log) -> tuple[object, object]:
    data: dict[object, object] = {"a": [1]}
    data["h"] = Hooked("h", log, lambda memo: data.__setitem__("new", [2]))
    data["z"] = [3]
    return deep(module, data)


@scenario
def dict_hook_deletes_key(module: ModuleType, log: Log) -> tuple[object, object]:
    data: dict[object, object] = {"a": [1]}
    data["h"] = Hooked("h", log, lambda memo: data.__delitem__("a"))
    data["z"] = [3]
    return deep(module, data)


@scenario
def dict_hook_replaces_later_value(module: ModuleType, log: Log) -> tuple[object, object]:
    data: dict[object, object] = {"a": [1]}
    data["h"] = Hooked("h", log, lambda memo: data.__setitem__("z", Plain(new=[7])))
    data["z"] = [3]
    return deep(module, data)


@scenario
def dict_hook_swaps_a_key(module: ModuleType, log: Log) -> tuple[object, object]:
    data: dict[object, object] = {"a": [1]}

    def swap(memo: Any) -> None:
        del data["z"]
        data["y"] = [4]

    data["h"] = Hooked("h", log, swap)
    data["z"] = [3]
    return deep(module, data)


@scenario
def dict_hook_clears_dict(module: ModuleType, log: Log) -> tuple[object, object]:
    data: dict[object, object] = {"a": [1]}
    data["h"] = Hooked("h", log, lambda memo: data.clear())
    data["z"] = [3]
    return deep(module, data)


@scenario
def dict_hook_pops_and_readds_same_key(module: ModuleType, log: Log) -> tuple[object, object]:
    data: dict[object, object] = {"a": [1]}

    def readd(memo: Any) -> None:
        data["a"] = data.pop("a")

    data["h"] = Hooked("h", log, readd)
    data["z"] = [3]
    return deep(module, data)


class LoggingKey:
    """A dict key whose ``__hash__``/``__eq__`` log and may act (once, via ``actions``)."""

    def __init__(self, name: str, log: Log, actions: dict[str, Callable[[], object]]):
        self.name = name
        self.log = log
        self.actions = actions

    def __hash__(self) -> int:
        self.log.append(("__hash__", self.name))
        action = self.actions.pop("hash", None)
        if action is not None:
            action()
        return 42

    def __eq__(self, other: object) -> bool:
        self.log.append(("__eq__", self.name, type(other).__name__))
        action = self.actions.pop("eq", None)
        if action is not None:
            action()
        return isinstance(other, LoggingKey) and other.name == self.name


@scenario
def dict_key_hash_mutates_original(module: ModuleType, log: Log) -> tuple[object, object]:
    data: dict[object, object] = {}
    actions: dict[str, Callable[[], object]] = {}
    data[LoggingKey("k", log, actions)] = [1]
    data["z"] = [2]
    actions["hash"] = lambda: data.__setitem__("added", 3)
    return deep(module, data)


@scenario
def dict_key_eq_on_collision_clears_original(module: ModuleType, log: Log) -> tuple[object, object]:
    data: dict[object, object] = {}
    actions: dict[str, Callable[[], object]] = {}
    data[LoggingKey("k1", log, actions)] = [1]
    data[LoggingKey("k2", log, actions)] = [2]
    data["z"] = [3]
    log.clear()
    actions["eq"] = data.clear
    return deep(module, data)


@scenario
def dict_key_hash_raises_keyboard_interrupt(module: ModuleType, log: Log) -> tuple[object, object]:
    actions: dict[str, Callable[[], object]] = {}
    data: dict[object, object] = {LoggingKey("k", log, actions): [1], "z": [2]}
    log.clear()
    actions["hash"] = raise_(KeyboardInterrupt("in __hash__"))  # type: ignore[assignment]
    return deep(module, data)


# --- dict copies that start as clones (C: plain keys, private memo) ------------------------
# C copies a dict whose keys are all plain atoms by cloning it and replacing the values that
# are not atoms; before foreign code runs, before a hook sees the memo, and when the original
# changed, the clone is cut back to the items copied so far. These check that nobody can tell.


def partial_copies(memo: Any) -> list[object]:
    """The dicts in the memo as (keys, value type names): stdlib's half-built copies."""
    return [
        (list(value), [type(item).__name__ for item in value.values()])
        for key, value in memo.items()
        if key != id(memo) and type(value) is dict
    ]


@scenario
def clone_hook_sees_half_built_dicts(module: ModuleType, log: Log) -> tuple[object, object]:
    inner: dict[object, object] = {"c": [2], "n": 5}
    inner["h"] = Hooked("h", log, lambda memo: log.append(("dicts", partial_copies(memo))))
    inner["d"] = [3]
    inner["m"] = 6
    data = {"a": [1], "x": 1, "b": inner, "y": 2, "e": [4], "f": {"g": [5]}}
    return deep(module, data)


@scenario
def clone_hook_replaces_processed_and_later_values(
    module: ModuleType, log: Log
) -> tuple[object, object]:
    data: dict[object, object] = {"a": [1], "n": 1}

    def replace(memo: Any) -> None:
        data["a"] = "changed"
        data["n"] = 2
        data["z"] = 3
        data["w"] = [9]

    data["h"] = Hooked("h", log, replace)
    data["z"] = 0
    data["w"] = [4]
    return deep(module, data)


@scenario
def clone_reducer_replaces_later_atom(module: ModuleType, log: Log) -> tuple[object, object]:
    data: dict[object, object] = {"a": [1]}

    def make() -> object:
        data["z"] = 99
        data["l"] = (7,)
        return (Plain, ())

    data["r"] = Reducing(log, make)
    data["z"] = 3
    data["l"] = [8]
    return deep(module, [data, {"k": data}])


class CollidesWithDeepcopy:
    """An instance-dict key that collides with "__deepcopy__": its ``__eq__`` runs during the
    attribute lookup, before anything that hands the memo out, and acts once."""

    def __init__(self, action: Callable[[], object]) -> None:
        self.action: Callable[[], object] | None = action

    def __hash__(self) -> int:
        return hash("__deepcopy__")

    def __eq__(self, other: object) -> bool:
        note(("__eq__", other))
        action, self.action = self.action, None
        if action is not None:
            action()
        return other is self


@scenario
def clone_attribute_lookup_replaces_later_atom(
    module: ModuleType, log: Log
) -> tuple[object, object]:
    module.deepcopy(Plain(warm=[0]))  # C learns its plan for Plain before the copy below
    data: dict[object, object] = {"a": [1]}
    key = CollidesWithDeepcopy(lambda: data.update(z=99, t=[5]))
    plain = Plain(v=[2])
    attributes: dict[Any, Any] = plain.__dict__
    attributes[key] = 1
    data["p"] = plain
    data["z"] = 3
    data["t"] = 4
    # the key is copied (and memoised) first, so that copying plain's state runs no hook
    return deep(module, [key, data])


@scenario
def clone_weakref_keys_compare_referents(module: ModuleType, log: Log) -> tuple[object, object]:
    import weakref

    actions: dict[str, Callable[[], object]] = {}
    first, second = LoggingKey("k1", log, actions), LoggingKey("k2", log, actions)
    data = {weakref.ref(first): [1], weakref.ref(second): [2], "z": [3]}
    log.clear()
    original, result = deep(module, data)
    return (original, first, second), result


@scenario
def clone_instance_attribute_dict(module: ModuleType, log: Log) -> tuple[object, object]:
    plain = Plain(a=[1], b=2, c={"d": [3]})
    return deep(module, [vars(plain), plain])


class SlotStateChanger:
    """Its slot state is the class's ``live_state`` dict; ``__setattr__`` (on the copy, as
    ``_reconstruct`` applies that state item by item with ``setattr``) runs ``change`` on
    it first."""

    __slots__ = ("a", "b", "c", "d", "z")
    live_state: dict[str, object] = {}
    change: Callable[[dict[str, object]], object] | None = None

    def __getstate__(self) -> tuple[None, dict[str, object]]:
        return None, SlotStateChanger.live_state

    def __setattr__(self, name: str, value: object) -> None:
        note(("__setattr__", name))
        if SlotStateChanger.change is not None:
            SlotStateChanger.change(SlotStateChanger.live_state)
        object.__setattr__(self, name, value)


def slot_state_changer(change: Callable[[dict[str, object]], object] | None) -> SlotStateChanger:
    SlotStateChanger.change = None
    obj = SlotStateChanger()
    SlotStateChanger.live_state = {"a": 1, "b": 2, "c": 3}
    SlotStateChanger.change = change
    return obj


@scenario
def slot_state_grows_while_applied(module: ModuleType, log: Log) -> tuple[object, object]:
    return shallow(module, slot_state_changer(lambda state: state.setdefault("d", 4)))


@scenario
def slot_state_keys_change_while_applied(module: ModuleType, log: Log) -> tuple[object, object]:
    calls: list[None] = []

    def swap(state: dict[str, object]) -> None:
        calls.append(None)
        if len(calls) == 2:  # while setting b: a (already applied) goes, z comes after c
            del state["a"]
            state["z"] = 0

    return shallow(module, slot_state_changer(swap))


@scenario
def slot_state_applied_unchanged(module: ModuleType, log: Log) -> tuple[object, object]:
    return shallow(module, slot_state_changer(None))


class ListOnCopy:
    """A hashable key whose deep copy is an unhashable list."""

    def __hash__(self) -> int:
        return 1

    def __deepcopy__(self, memo: dict[int, Any]) -> object:
        note("key __deepcopy__")
        return [1]


@scenario
def dict_key_copy_is_unhashable(module: ModuleType, log: Log) -> tuple[object, object]:
    return deep(module, {"a": [0], ListOnCopy(): [2]})


class SetClearingMember:
    """Clears the set it belongs to while it is being copied."""

    def __init__(self, members: set[object]) -> None:
        self.members = members

    def __hash__(self) -> int:
        return 7

    def __deepcopy__(self, memo: dict[int, Any]) -> object:
        note(("member __deepcopy__", len(self.members)))
        self.members.clear()
        return 8


@scenario
def set_member_hook_clears_set(module: ModuleType, log: Log) -> tuple[object, object]:
    members: set[object] = {1, 2, (3, 4)}
    members.add(SetClearingMember(members))
    return deep(module, members)


@scenario
def frozenset_of_frozensets_with_hooks(module: ModuleType, log: Log) -> tuple[object, object]:
    inner = frozenset({1, LabelHashed("h", log), (2, "x")})
    return deep(module, frozenset({inner, frozenset({inner, (4, LabelHashed("g", log))})}))


@scenario
def tuple_hook_mutates_inner_list(module: ModuleType, log: Log) -> tuple[object, object]:
    inner = [1, [2]]
    return deep(module, (Hooked("h", log, lambda memo: inner.clear()), inner))


@scenario
def tuple_hook_copies_the_tuple_reentrantly(module: ModuleType, log: Log) -> tuple[object, object]:
    holder: list[object] = []

    def reenter(memo: Any) -> None:
        log.append(("inner copy", type(module.deepcopy(holder[0], memo)).__name__))

    outer = (Hooked("h", log, reenter), [1])
    holder.append(outer)
    return deep(module, outer)


@scenario
def instance_attribute_hook_adds_attribute(module: ModuleType, log: Log) -> tuple[object, object]:
    target = Plain(a=[1])
    target.h = Hooked("h", log, lambda memo: setattr(target, "later", 2))  # type: ignore[attr-defined]
    target.z = [3]  # type: ignore[attr-defined]
    return deep(module, target)


class GrowingList(list):  # type: ignore[type-arg]
    pass


class GrowingDict(dict):  # type: ignore[type-arg]
    pass


@scenario
def list_subclass_listiter_grows(module: ModuleType, log: Log) -> tuple[object, object]:
    items = GrowingList([[1]])
    items.append(Hooked("h", log, lambda memo: items.append([5])))
    items.append([2])
    return deep(module, items)


@scenario
def dict_subclass_dictiter_grows(module: ModuleType, log: Log) -> tuple[object, object]:
    data = GrowingDict(a=[1])
    data["h"] = Hooked("h", log, lambda memo: data.__setitem__("new", 1))
    return deep(module, data)


class StateGrowsAfterReduce:
    def __init__(self) -> None:
        self.a = [1]

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[object, ...]:
        note(("__reduce_ex__", protocol))
        state = self.__dict__
        self.b = 2  # the state dict grows after it was handed out
        return (StateGrowsAfterReduce, (), state)


@scenario
def shallow_copy_hook_mutates_state(module: ModuleType, log: Log) -> tuple[object, object]:
    return shallow(module, StateGrowsAfterReduce())


# --- exceptions of every kind at every hook ---------------------------------------------


def _raising_hook_scenarios() -> None:
    for name, error_type in RAISED_TYPES.items():
        for place, build in _RAISING_PLACES.items():
            register(f"raise_{name}_in_{place}", _raising_scenario(error_type, build))


def _raising_scenario(
    error_type: type[BaseException], build: Callable[[BaseException, Log], object]
) -> Scenario:
    def run(module: ModuleType, log: Log) -> tuple[object, object]:
        original = build(error_type(f"raised by a hook: {error_type.__name__}"), log)
        return deep(module, original)

    return run


class RaisingSetstate:
    def __init__(self, error: BaseException) -> None:
        self.error = error

    def __setstate__(self, state: object) -> None:
        raise self.error


class RaisingGetattr:
    def __init__(self, error: BaseException) -> None:
        self.error = error

    def __getattr__(self, name: str) -> object:
        raise object.__getattribute__(self, "error")


class RaisingReduce:
    def __init__(self, error: BaseException) -> None:
        self.error = error

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[object, ...]:
        raise self.error


def _raising_args_iterator(error: BaseException) -> Iterator[object]:
    yield [1]
    raise error


_RAISING_PLACES: dict[str, Callable[[BaseException, Log], object]] = {
    "list_item": lambda error, log: [[1], Raising(error), [2]],
    "dict_value": lambda error, log: {"a": [1], "b": Raising(error)},
    "dict_key": lambda error, log: {"a": [1], (Raising(error),): 2},
    "tuple_item": lambda error, log: ([1], (Raising(error), [2])),
    "instance_attribute": lambda error, log: Plain(a=[1], b=Raising(error)),
    "setstate": lambda error, log: [RaisingSetstate(error)],
    "getattr": lambda error, log: {"x": RaisingGetattr(error)},
    "reduce_ex": lambda error, log: [[0], RaisingReduce(error)],
    "reduce_args_iterator": lambda error, log: Reducing(
        log, lambda: (list, _raising_args_iterator(error))
    ),
    "reduce_listiter": lambda error, log: Reducing(
        log, lambda: (list, (), None, _raising_args_iterator(error))
    ),
    "reduce_dictiter": lambda error, log: Reducing(
        log, lambda: (dict, (), None, None, iter([("a", Raising(error))]))
    ),
    "reduce_state": lambda error, log: Reducing(log, lambda: (Plain, (), {"a": Raising(error)})),
    "reduce_args": lambda error, log: Reducing(log, lambda: (Plain, ([1], Raising(error)))),
}

_raising_hook_scenarios()


@scenario
def shallow_copy_hook_raises_system_exit(module: ModuleType, log: Log) -> tuple[object, object]:
    return shallow(module, Raising(SystemExit(3)))


class Grumpy:
    def __getattr__(self, name: str) -> object:
        note(("__getattr__", name))
        raise RuntimeError(f"no {name} here")


class Liar:
    def __getattr__(self, name: str) -> object:
        note(("__getattr__", name))
        return 42


class Obliging:
    def __getattr__(self, name: str) -> object:
        note(("__getattr__", name))
        if name.startswith("__") and name != "__deepcopy__":
            raise AttributeError(name)
        return lambda *arguments: ("made by", name, len(arguments))


class MissingAttribute(AttributeError):
    pass


class Sparse:
    def __init__(self) -> None:
        self.a = [1]

    def __getattr__(self, name: str) -> object:
        note(("__getattr__", name))
        raise MissingAttribute(name)


class Watched:
    def __init__(self) -> None:
        self.a = [1]

    def __getattribute__(self, name: str) -> object:
        note(("__getattribute__", name))
        return object.__getattribute__(self, name)


class WatchedSlots:
    __slots__ = ("a", "b", "__dict__")

    def __init__(self) -> None:
        self.a = [1]

    def __getattribute__(self, name: str) -> object:
        note(("__getattribute__", name))
        return object.__getattribute__(self, name)


class Pretender:
    def __init__(self) -> None:
        self.a = [1]

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # noqa: N802
        note("__class__ read")
        return Plain


@scenario
def getattr_raises_for_every_name(module: ModuleType, log: Log) -> tuple[object, object]:
    return deep(module, [Grumpy()])


@scenario
def getattr_supplies_non_callable_deepcopy(module: ModuleType, log: Log) -> tuple[object, object]:
    return deep(module, [Liar()])


@scenario
def getattr_supplies_everything(module: ModuleType, log: Log) -> tuple[object, object]:
    return deep(module, [Obliging()])


@scenario
def getattr_raises_attribute_error_subclass(module: ModuleType, log: Log) -> tuple[object, object]:
    return deep(module, Sparse())


@scenario
def getattribute_logs_every_lookup(module: ModuleType, log: Log) -> tuple[object, object]:
    return deep(module, [Watched(), Watched()])


@scenario
def shallow_getattribute_logs_every_lookup(module: ModuleType, log: Log) -> tuple[object, object]:
    return shallow(module, WatchedSlots())


@scenario
def class_attribute_lies(module: ModuleType, log: Log) -> tuple[object, object]:
    return deep(module, [Pretender()])


class NoDeepcopyHook:
    __deepcopy__ = None

    def __init__(self) -> None:
        self.a = [1]


class NoCopyHook:
    __copy__ = None

    def __init__(self) -> None:
        self.a = [1]


class Uncopyable:
    __reduce_ex__ = None  # type: ignore[assignment]  # disabled on purpose
    __reduce__ = None  # type: ignore[assignment]  # disabled on purpose


class OldStyleReduce:
    __reduce_ex__ = None  # type: ignore[assignment]  # disabled on purpose

    def __reduce__(self) -> tuple[object, ...]:
        note("__reduce__")
        return (Plain, (), {"a": [1]})


@scenario
def deepcopy_hook_is_none(module: ModuleType, log: Log) -> tuple[object, object]:
    return deep(module, NoDeepcopyHook())


@scenario
def copy_hook_is_none(module: ModuleType, log: Log) -> tuple[object, object]:
    return shallow(module, NoCopyHook())


@scenario
def reduce_hooks_are_none_deep(module: ModuleType, log: Log) -> tuple[object, object]:
    return deep(module, [Uncopyable()])


@scenario
def reduce_hooks_are_none_shallow(module: ModuleType, log: Log) -> tuple[object, object]:
    return shallow(module, Uncopyable())


@scenario
def reduce_ex_none_falls_back_to_reduce(module: ModuleType, log: Log) -> tuple[object, object]:
    return deep(module, OldStyleReduce())


class NeedsInit:
    __slots__ = ("a", "b")
    a: object
    b: object

    def __init__(self) -> None:
        raise AssertionError("never called")


@scenario
def half_built_instance(module: ModuleType, log: Log) -> tuple[object, object]:
    half = object.__new__(NeedsInit)
    half.a = [1]
    return deep(module, [half, object.__new__(Plain)])


class SlotStateNotDict:
    def __getstate__(self) -> object:
        return (None, 5)


class StateThreeTuple:
    def __getstate__(self) -> object:
        return ({"a": 1}, None, None)


class GetstateInterrupted:
    def __getstate__(self) -> object:
        raise KeyboardInterrupt("getstate")


@scenario
def getstate_returns_slot_state_that_is_not_a_dict(
    module: ModuleType, log: Log
) -> tuple[object, object]:
    return deep(module, SlotStateNotDict())


@scenario
def getstate_returns_three_tuple(module: ModuleType, log: Log) -> tuple[object, object]:
    return deep(module, StateThreeTuple())


@scenario
def getstate_raises_keyboard_interrupt(module: ModuleType, log: Log) -> tuple[object, object]:
    return deep(module, [GetstateInterrupted()])


# --- metaclass tricks --------------------------------------------------------------------


class HashRaisingMeta(type):
    def __hash__(cls) -> int:
        raise LookupError(f"no hash for {cls.__name__}")

    def __eq__(cls, other: object) -> bool:
        return cls is other


class CollidingMeta(type):
    def __hash__(cls) -> int:
        note(("meta __hash__", cls.__name__))
        return hash(list)

    def __eq__(cls, other: object) -> bool:
        note(("meta __eq__", getattr(other, "__name__", "?")))
        return cls is other


class CopySupplyingMeta(type):
    def __getattr__(cls, name: str) -> object:
        if name == "__copy__":
            return lambda self: ("copied by metaclass", type(self).__name__)
        raise AttributeError(name)


class DeepcopyOnMeta(type):
    def __deepcopy__(cls, memo: dict[int, Any]) -> object:
        note("meta __deepcopy__")
        return "wrong"


class UnhashableClass(metaclass=HashRaisingMeta):
    pass


class CollidingClass(metaclass=CollidingMeta):
    def __init__(self) -> None:
        self.a = [1]


class SuppliedClass(metaclass=CopySupplyingMeta):
    pass


class KindWithMeta(metaclass=DeepcopyOnMeta):
    pass


class Registered:
    pass


@scenario
def metaclass_hash_raises_deep(module: ModuleType, log: Log) -> tuple[object, object]:
    return deep(module, [UnhashableClass()])


@scenario
def metaclass_hash_raises_shallow(module: ModuleType, log: Log) -> tuple[object, object]:
    return shallow(module, UnhashableClass())


@scenario
def metaclass_hash_collides_with_list(module: ModuleType, log: Log) -> tuple[object, object]:
    return deep(module, CollidingClass())


@scenario
def metaclass_supplies_copy(module: ModuleType, log: Log) -> tuple[object, object]:
    return shallow(module, SuppliedClass())


@scenario
def class_with_metaclass_is_atomic(module: ModuleType, log: Log) -> tuple[object, object]:
    return deep(module, [KindWithMeta, KindWithMeta])


@scenario
def dispatch_table_reducer_raises(module: ModuleType, log: Log) -> tuple[object, object]:
    def reducer(obj: object) -> NoReturn:
        note("dispatch_table reducer")
        raise SystemExit("from reducer")

    copyreg.dispatch_table[Registered] = reducer
    try:
        return deep(module, [Registered()])
    finally:
        del copyreg.dispatch_table[Registered]


# --- the memo kept, shared, cleared, corrupted -------------------------------------------


@scenario
def memo_kept_and_used_after_return(module: ModuleType, log: Log) -> tuple[object, object]:
    saved: list[dict[int, Any]] = []
    shared = [1, 2]
    first = [shared, Hooked("h", log, saved.append)]
    first_copy = module.deepcopy(first)
    second_copy = module.deepcopy([shared, Plain(s=shared)], saved[0])
    return (first, shared), (first_copy, second_copy, len(saved[0]))


class ForeignMemo:
    """Its ``__deepcopy__`` copies ``shared`` with a fresh memo of its own."""

    def __init__(self, module: ModuleType, shared: object) -> None:
        self.module = module
        self.shared = shared

    def __deepcopy__(self, memo: dict[int, Any]) -> object:
        note(("foreign", len(memo)))
        return self.module.deepcopy(self.shared, {})


@scenario
def memo_foreign_used_by_hook(module: ModuleType, log: Log) -> tuple[object, object]:
    shared = [1]
    return deep(module, [shared, ForeignMemo(module, shared), shared])


@scenario
def memo_preseeded_by_hook(module: ModuleType, log: Log) -> tuple[object, object]:
    shared = [1]

    def seed(memo: Any) -> None:
        memo[id(shared)] = "seeded"

    return deep(module, [Hooked("h", log, seed), shared, (shared,), {"k": shared}])


@scenario
def memo_cleared_by_hook(module: ModuleType, log: Log) -> tuple[object, object]:
    shared = [1]
    items: list[object] = [shared, (shared,)]
    items.append(Hooked("h", log, lambda memo: memo.clear()))
    items.extend([shared, (shared,), items])
    return deep(module, items)


@scenario
def memo_keep_alive_replaced_with_string(module: ModuleType, log: Log) -> tuple[object, object]:
    def corrupt(memo: Any) -> None:
        memo[id(memo)] = "not a list"

    return deep(module, [Hooked("h", log, corrupt), [1], Plain(a=1)])


@scenario
def memo_keep_alive_replaced_with_tuple(module: ModuleType, log: Log) -> tuple[object, object]:
    def corrupt(memo: Any) -> None:
        memo[id(memo)] = ()

    return deep(module, {"h": Hooked("h", log, corrupt), "x": ([1],)})


@scenario
def memo_keep_alive_deleted(module: ModuleType, log: Log) -> tuple[object, object]:
    def delete(memo: Any) -> None:
        del memo[id(memo)]

    return deep(module, [[0], Hooked("h", log, delete), [1], Plain(a=[2])])


@scenario
def memo_layout_seen_by_hook(module: ModuleType, log: Log) -> tuple[object, object]:
    def inspect(memo: Any) -> None:
        keep_alive = memo.get(id(memo), [])
        log.append(("memo", len(memo), [type(value).__name__ for value in memo.values()]))
        log.append(("keep-alive", [type(value).__name__ for value in keep_alive]))

    shared = [1]
    original = [
        Reducing(log, lambda: (Plain, ([shared], (2, [3])), {"s": shared})),
        ([4], "atom", shared),
        {"k": (5,)},
        Hooked("h", log, inspect),
    ]
    return deep(module, original)


class LoggingMemo(dict):  # type: ignore[type-arg]
    """A memo that logs every lookup and store (stdlib calls them through the dict API)."""

    def get(self, key: Any, default: Any = None) -> Any:
        note("memo.get")
        return super().get(key, default)

    def __setitem__(self, key: Any, value: Any) -> None:
        note("memo[...] =")
        super().__setitem__(key, value)

    def __getitem__(self, key: Any) -> Any:
        note("memo[...]")
        return super().__getitem__(key)


@scenario
def memo_is_a_dict_subclass(module: ModuleType, log: Log) -> tuple[object, object]:
    original = [[1], (2, [3]), {"k": Plain(a=[4])}]
    return original, module.deepcopy(original, LoggingMemo())


@scenario
def memo_is_a_list(module: ModuleType, log: Log) -> tuple[object, object]:
    return [1], module.deepcopy([1], [])


@scenario
def memo_is_a_list_for_an_atom(module: ModuleType, log: Log) -> tuple[object, object]:
    return 5, module.deepcopy(5, [])


class ReturnsItself:
    def __deepcopy__(self, memo: dict[int, Any]) -> object:
        note(("itself", len(memo)))
        return self


class ReturnsNone:
    def __deepcopy__(self, memo: dict[int, Any]) -> object:
        note(("nothing", len(memo)))
        return None


@scenario
def hook_returns_the_original(module: ModuleType, log: Log) -> tuple[object, object]:
    one = ReturnsItself()
    return deep(module, [one, one, (one,)])


@scenario
def hook_returns_none(module: ModuleType, log: Log) -> tuple[object, object]:
    one = ReturnsNone()
    return deep(module, [one, one, {"k": one}])


# --- the garbage collector looking at copies under construction --------------------------


def touch_everything_the_collector_sees(memo: Any) -> None:
    """Walk every container gc knows: a half-built copy must be valid if it is visible."""
    gc.collect()
    touched = 0
    for obj in gc.get_objects():
        if type(obj) in (list, tuple):
            touched += sum(1 for _ in obj)
        elif type(obj) is dict:
            touched += sum(1 for _ in obj.items())
    note(("gc walked", touched > 0))


@scenario
def hook_walks_gc_objects_mid_list(module: ModuleType, log: Log) -> tuple[object, object]:
    shared = [1, {"k": (2, [3])}]
    items: list[object] = [[0] * 5, shared, (shared, [4])]
    items.append(Hooked("h", log, touch_everything_the_collector_sees))
    items.extend([[5, 6], {"z": shared}, items])
    return deep(module, {"outer": items, "tuple": ([7], Hooked("g", log))})


@scenario
def hook_walks_gc_objects_mid_reduce(module: ModuleType, log: Log) -> tuple[object, object]:
    hooked = Hooked("h", log, touch_everything_the_collector_sees)
    return deep(
        module,
        [Reducing(log, lambda: (GrowingList, (), {"a": [1]}, iter([[2], hooked, (3, [4])])))],
    )


class CycleMaker:
    """Its ``__deepcopy__`` leaves a garbage cycle behind and collects it at once."""

    def __deepcopy__(self, memo: dict[int, Any]) -> object:
        cycle: list[object] = []
        cycle.append(cycle)
        del cycle
        note(("collected", gc.collect() > 0))
        return "collected"


@scenario
def hook_collects_garbage_cycles(module: ModuleType, log: Log) -> tuple[object, object]:
    shared = [1]
    return deep(module, [shared, {"a": CycleMaker(), "b": (shared, [2])}, CycleMaker(), shared])


# --- Python reduce hooks reached without bound methods ----------------------------------
# The classes live at module level (the oracle compares result types by identity);
# scenarios that change them put them back afterwards.


class ByReduce:
    """A Python ``__reduce__`` (reached through object.__reduce_ex__), logged."""

    def __init__(self, value: object) -> None:
        self.value = value

    def __reduce__(self) -> tuple[object, ...]:
        note(("ByReduce.__reduce__", type(self).__name__))
        return (type(self), (self.value,))


class ByReduceEx:
    """A Python ``__reduce_ex__`` and ``__setstate__``, logged."""

    def __init__(self, value: object) -> None:
        self.value = value

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[object, ...]:
        note(("ByReduceEx.__reduce_ex__", protocol))
        return (copyreg.__newobj__, (type(self),), {"value": self.value})  # type: ignore[attr-defined]

    def __setstate__(self, state: dict[str, object]) -> None:
        note(("ByReduceEx.__setstate__", sorted(state)))
        self.__dict__.update(state)


class ChangedByReduce(ByReduce):
    pass


class ChangedByReduceEx(ByReduceEx):
    pass


def restoring(cls: type, function: Scenario) -> Scenario:
    """Run ``function`` and give ``cls`` its own attributes back afterwards."""

    def run(module: ModuleType, log: Log) -> tuple[object, object]:
        saved = dict(vars(cls))
        try:
            return function(module, log)
        finally:
            for name in set(vars(cls)) - set(saved):
                delattr(cls, name)
            for name, value in saved.items():
                if name not in ("__dict__", "__weakref__") and vars(cls).get(name) is not value:
                    setattr(cls, name, value)

    return run


@scenario
def python_reduce_hooks_shadowed_by_instance(module: ModuleType, log: Log) -> tuple[object, object]:
    odd_reduce, odd_reduce_ex = ByReduce([1]), ByReduceEx([2])
    set_attribute(odd_reduce, "__reduce__", lambda: noting("instance __reduce__", (list, ([3],))))
    set_attribute(
        odd_reduce_ex, "__reduce_ex__", lambda protocol: noting(("instance", protocol), (list, ()))
    )
    plain = [ByReduce([4]), ByReduceEx([5])]
    return deep(module, [*plain, odd_reduce, odd_reduce_ex, *plain, ByReduce([6])])


@scenario
def python_reduce_shadowed_by_none_on_instance(
    module: ModuleType, log: Log
) -> tuple[object, object]:
    odd = ByReduce([1])
    set_attribute(odd, "__reduce__", None)  # object.__reduce_ex__ calls it: TypeError
    return deep(module, [ByReduce([2]), odd])


def _hooks_replaced_on_class_mid_copy(module: ModuleType, log: Log) -> tuple[object, object]:
    def replace(memo: Any) -> None:
        note("replacing the class hooks")
        set_attribute(
            ChangedByReduce, "__reduce__", lambda self: noting("new __reduce__", (tuple, ([7],)))
        )
        set_attribute(
            ChangedByReduceEx, "__reduce_ex__", lambda self, protocol: noting("new ex", (set, ()))
        )

    before = [ChangedByReduce([1]), ChangedByReduceEx([2])]
    module.deepcopy(before)  # copies before the change
    return deep(module, [*before, Hooked("h", log, replace), *before, ChangedByReduceEx([3])])


register(
    "python_reduce_hooks_replaced_on_class_mid_copy",
    restoring(ChangedByReduce, restoring(ChangedByReduceEx, _hooks_replaced_on_class_mid_copy)),
)


def _reduce_removed_from_class_mid_copy(module: ModuleType, log: Log) -> tuple[object, object]:
    def remove(memo: Any) -> None:
        set_attribute(
            ChangedByReduce, "__reduce__", object.__reduce__
        )  # object's own reduction from now on
        set_attribute(
            ChangedByReduceEx,
            "__setstate__",
            lambda self, state: note(("new setstate", sorted(state))),
        )

    items = [ChangedByReduce([1]), ChangedByReduce([2]), ChangedByReduceEx([3])]
    module.deepcopy(items)
    return deep(module, [*items, Hooked("h", log, remove), *items, ChangedByReduceEx([4])])


register(
    "python_reduce_removed_from_class_mid_copy",
    restoring(ChangedByReduce, restoring(ChangedByReduceEx, _reduce_removed_from_class_mid_copy)),
)


@scenario
def python_reduce_registered_reductor_mid_copy(
    module: ModuleType, log: Log
) -> tuple[object, object]:
    def register_reductors(memo: Any) -> None:
        copyreg.dispatch_table[ByReduce] = lambda obj: noting("reductor", (list, ()))
        copyreg.dispatch_table[ByReduceEx] = lambda obj: noting("reductor ex", (set, ()))

    items = [ByReduce([1]), ByReduceEx([2])]
    module.deepcopy(items)  # the classes are known, missing from the table
    try:
        later = [ByReduce([3]), ByReduceEx([4])]
        return deep(module, [*items, Hooked("h", log, register_reductors), *later])
    finally:
        copyreg.dispatch_table.pop(ByReduce, None)
        copyreg.dispatch_table.pop(ByReduceEx, None)


class LoggingMeta(type):
    def __getattribute__(cls, name: str) -> object:
        if name in ("__reduce__", "__reduce_ex__", "__setstate__"):
            note(("LoggingMeta.__getattribute__", name))
        return super().__getattribute__(name)


class MetaLogged(ByReduce, metaclass=LoggingMeta):
    pass


@scenario
def python_reduce_under_logging_metaclass(module: ModuleType, log: Log) -> tuple[object, object]:
    return deep(module, [MetaLogged([1]), MetaLogged([2])])


def _meta_reduce(cls: type) -> object:
    note(("meta property", cls.__name__))
    return object.__reduce__


class PropertyMeta(type):
    __reduce__: Any = property(_meta_reduce)


class MetaShadowed(ByReduce, metaclass=PropertyMeta):
    pass


@scenario
def python_reduce_under_metaclass_data_descriptor(
    module: ModuleType, log: Log
) -> tuple[object, object]:
    return deep(module, [MetaShadowed([1]), MetaShadowed([2])])


class Colliding:
    """A dict key hashing like ``name`` whose ``__eq__`` logs, runs ``action``, says no."""

    def __init__(self, name: str, action: Callable[[], object]) -> None:
        self.name = name
        self.action = action

    def __hash__(self) -> int:
        return hash(self.name)

    def __eq__(self, other: object) -> bool:
        note(("__eq__", other))
        self.action()
        return False


def _instance_key_replaces_class_reduce(module: ModuleType, log: Log) -> tuple[object, object]:
    odd = ChangedByReduce([1])

    def replace() -> None:
        set_attribute(ChangedByReduce, "__reduce__", lambda self: noting("replacement", (list, ())))

    attributes(odd)[Colliding("__reduce__", replace)] = "value"
    module.deepcopy([ChangedByReduce([0])])
    return deep(module, [ChangedByReduce([2]), odd, ChangedByReduce([3])])


register(
    "python_reduce_instance_key_replaces_class_reduce",
    restoring(ChangedByReduce, _instance_key_replaces_class_reduce),
)


def _instance_key_resets_class_reduce(module: ModuleType, log: Log) -> tuple[object, object]:
    odd = ChangedByReduce([1])

    def reset() -> None:
        set_attribute(ChangedByReduce, "__reduce__", object.__reduce__)

    attributes(odd)[Colliding("__reduce__", reset)] = "value"
    module.deepcopy([ChangedByReduce([0])])
    return deep(module, [ChangedByReduce([2]), odd, ChangedByReduce([3])])


register(
    "python_reduce_instance_key_resets_class_reduce",
    restoring(ChangedByReduce, _instance_key_resets_class_reduce),
)


@scenario
def setstate_set_on_the_copy_by_a_hook(module: ModuleType, log: Log) -> tuple[object, object]:
    original = ByReduceEx(None)

    def give_setstate(memo: Any) -> None:
        copy = memo[id(original)]
        copy.__setstate__ = lambda state: note(("instance __setstate__", sorted(state)))

    original.value = Hooked("h", log, give_setstate)
    plain = ByReduceEx([1])
    return deep(module, [plain, original, plain, ByReduceEx([2])])


def _setstate_getter(self: object) -> object:
    note("__setstate__ read")
    if getattr(type(self), "hidden", False):
        raise AttributeError("__setstate__")
    return lambda state: note(("property setstate", sorted(state)))


class SetstateProperty(ByReduceEx):
    __setstate__: Any = property(_setstate_getter)


class SetstateHidden(SetstateProperty):
    hidden = True


def _static_setstate(state: object) -> None:
    note(("staticmethod", sorted(state)))  # type: ignore[call-overload]


def _class_setstate(cls: type, state: object) -> None:
    note(("classmethod", cls.__name__, sorted(state)))  # type: ignore[call-overload]


class SetstateStatic(ByReduceEx):
    __setstate__: Any = staticmethod(_static_setstate)


class SetstateClassmethod(ByReduceEx):
    __setstate__: Any = classmethod(_class_setstate)


@scenario
def setstate_is_a_logged_property(module: ModuleType, log: Log) -> tuple[object, object]:
    return deep(module, [SetstateProperty([1]), SetstateHidden([2]), SetstateProperty([3])])


@scenario
def setstate_is_a_staticmethod_or_classmethod(
    module: ModuleType, log: Log
) -> tuple[object, object]:
    return deep(module, [SetstateStatic([1]), SetstateClassmethod([2]), SetstateStatic([3])])


def _static_reduce_ex(protocol: object) -> object:
    note(("static __reduce_ex__", protocol))
    return (list, ([1],))


def _class_reduce_ex(cls: type, protocol: object) -> object:
    note(("class __reduce_ex__", cls.__name__, protocol))
    return (list, ([2],))


def _class_reduce(cls: type) -> object:
    note(("class __reduce__", cls.__name__))
    return (list, ([3],))


class ReduceExStatic:
    __reduce_ex__ = staticmethod(_static_reduce_ex)  # type: ignore[assignment]


class ReduceExClassmethod:
    __reduce_ex__: Any = classmethod(_class_reduce_ex)


class ReduceClassmethod:
    __reduce__: Any = classmethod(_class_reduce)


@scenario
def reduce_hooks_are_staticmethods_or_classmethods(
    module: ModuleType, log: Log
) -> tuple[object, object]:
    return deep(
        module, [ReduceExStatic(), ReduceExClassmethod(), ReduceClassmethod(), ReduceExStatic()]
    )


# --- slots classes with a Python __getstate__ (no instance dict: found on the class) -----


class SlotsGetstate:
    """Like uuid.UUID: slots only, a Python ``__getstate__`` and ``__setstate__``, logged."""

    __slots__ = ("value", "__weakref__")

    def __init__(self, value: object) -> None:
        self.value = value

    def __getstate__(self) -> object:
        note(("SlotsGetstate.__getstate__", type(self).__name__))
        return {"value": self.value}

    def __setstate__(self, state: Any) -> None:
        note(("SlotsGetstate.__setstate__", type(self).__name__, sorted(state)))
        self.value = state["value"]


class ChangedSlotsGetstate(SlotsGetstate):
    __slots__ = ()


class SlotsGetstateOnly:
    """A Python ``__getstate__`` returning a (None, slots) pair; no ``__setstate__``."""

    __slots__ = ("a", "b")

    def __init__(self, a: object, b: object) -> None:
        self.a, self.b = a, b

    def __getstate__(self) -> object:
        note("SlotsGetstateOnly.__getstate__")
        return (None, {"a": self.a, "b": self.b})


def _getstate_plan_class_changed_mid_copy(module: ModuleType, log: Log) -> tuple[object, object]:
    cls = ChangedSlotsGetstate

    def change(memo: Any) -> None:
        note("changing the class")
        set_attribute(cls, "__getstate__", lambda self: noting("new __getstate__", [self.value]))
        set_attribute(cls, "__setstate__", lambda self, state: note(("new __setstate__", state)))

    items = [cls([1]), cls([2])]
    module.deepcopy(items)  # the plan is learnt
    return deep(module, [*items, Hooked("h", log, change), *items, cls([3])])


register(
    "getstate_plan_class_changed_mid_copy",
    restoring(ChangedSlotsGetstate, _getstate_plan_class_changed_mid_copy),
)


@scenario
def getstate_plan_new_replaced_by_getstate(module: ModuleType, log: Log) -> tuple[object, object]:
    # A fresh class per run (its __new__ cannot be put back cleanly), so the scenario
    # returns plain data: the oracle compares result types by identity.
    class Fresh(SlotsGetstate):
        __slots__ = ()

    def logged_new(klass: type, *args: object) -> object:
        note(("__new__", klass.__name__, args))
        return object.__new__(klass)

    def getstate(self: Any) -> object:
        if self.value == [2]:
            note("getstate installs __new__")
            Fresh.__new__ = staticmethod(logged_new)  # type: ignore[assignment]
        return {"value": self.value}

    Fresh.__getstate__ = getstate  # type: ignore[method-assign]
    module.deepcopy([Fresh([0]), Fresh([0])])  # the plan is learnt
    original = [Fresh([1]), Fresh([2]), Fresh([3])]
    result = module.deepcopy(original)
    return [item.value for item in original], [(type(item) is Fresh, item.value) for item in result]


def _getstate_plan_hooks_removed_or_odd(module: ModuleType, log: Log) -> tuple[object, object]:
    cls = ChangedSlotsGetstate

    def change(memo: Any) -> None:
        set_attribute(
            cls, "__getstate__", lambda self: None
        )  # no state: __setstate__ is not called
        cls.__setstate__ = property(lambda self: note("setstate property read"))  # type: ignore[assignment]

    def change_again(memo: Any) -> None:
        set_attribute(
            cls, "__getstate__", lambda self: noting("getstate again", (None, {"value": 9}))
        )
        del cls.__setstate__  # SlotsGetstate's again

    items = [cls([1]), cls([2])]
    module.deepcopy(items)
    return deep(
        module,
        [*items, Hooked("h", log, change), *items, Hooked("i", log, change_again), *items],
    )


register(
    "getstate_plan_hooks_removed_or_odd",
    restoring(ChangedSlotsGetstate, _getstate_plan_hooks_removed_or_odd),
)


@scenario
def getstate_plan_registered_reductor_mid_copy(
    module: ModuleType, log: Log
) -> tuple[object, object]:
    def register_reductor(memo: Any) -> None:
        copyreg.dispatch_table[SlotsGetstate] = lambda obj: noting("reductor", (list, ()))

    items = [SlotsGetstate([1]), SlotsGetstateOnly([2], 3)]
    module.deepcopy(items)
    try:
        later = [SlotsGetstate([3]), SlotsGetstateOnly([4], 5)]
        return deep(module, [*items, Hooked("h", log, register_reductor), *later, *items])
    finally:
        copyreg.dispatch_table.pop(SlotsGetstate, None)


@scenario
def getstate_plan_state_shared_and_failing(module: ModuleType, log: Log) -> tuple[object, object]:
    shared = [1]
    items = [SlotsGetstate(shared), SlotsGetstateOnly(shared, [shared]), SlotsGetstate(shared)]
    module.deepcopy(items)
    failing = SlotsGetstate([Raising(ValueError("in the state"))])
    return deep(module, [*items, items[0], failing])


class FailingGetstate(SlotsGetstate):
    __slots__ = ()

    def __getstate__(self) -> object:
        note("failing __getstate__")
        raise KeyError("no state")


@scenario
def getstate_plan_getstate_raising(module: ModuleType, log: Log) -> tuple[object, object]:
    items = [SlotsGetstate([1]), SlotsGetstate([2])]
    module.deepcopy(items)
    try:
        module.deepcopy([FailingGetstate(0)])
    except KeyError:
        note("first failure")
    return deep(module, [*items, FailingGetstate(3)])


class DictGetstate:
    """A Python ``__getstate__`` on a class with instance dicts (which may shadow it)."""

    def __init__(self, value: object) -> None:
        self.value = value

    def __getstate__(self) -> object:
        note(("DictGetstate.__getstate__", self.value))
        return {"value": self.value}


@scenario
def getstate_class_with_instance_dict_shadowed(
    module: ModuleType, log: Log
) -> tuple[object, object]:
    items = [DictGetstate([1]), DictGetstate([2])]
    module.deepcopy(items)
    by_getstate, by_reduce_ex, by_hook = DictGetstate([3]), DictGetstate([4]), DictGetstate([5])
    set_attribute(
        by_getstate, "__getstate__", lambda: noting("instance __getstate__", {"value": 0})
    )
    set_attribute(by_reduce_ex, "__reduce_ex__", lambda protocol: noting("instance ex", (list, ())))
    set_attribute(by_hook, "__deepcopy__", lambda memo: noting("instance hook", "hooked"))
    return deep(module, [*items, by_getstate, by_reduce_ex, by_hook, *items])


class MetaLoggedSlots(SlotsGetstate, metaclass=LoggingMeta):
    __slots__ = ()


@scenario
def getstate_plan_under_logging_metaclass(module: ModuleType, log: Log) -> tuple[object, object]:
    return deep(module, [MetaLoggedSlots([1]), MetaLoggedSlots([2]), MetaLoggedSlots([3])])


# --- malformed __reduce_ex__ results, for copy and deepcopy -------------------------------


def _from_noniterable_args() -> Iterator[object]:
    yield [1]
    yield [2]


MALFORMED_REDUCE: dict[str, Callable[[], object]] = {
    "none": lambda: None,
    "int": lambda: 5,
    "empty_tuple": lambda: (),
    "one_tuple": lambda: (list,),
    "seven_tuple": lambda: (list, (), None, None, None, None),
    "list_instead_of_tuple": lambda: [list, ([1],)],
    "dict_instead_of_tuple": lambda: {list: ()},
    "unknown_global_name": lambda: "no_such_global",
    "func_not_callable": lambda: (5, ([1],)),
    "func_returns_none": lambda: (lambda *args: None, ([1],), {"a": 1}),
    "func_raises": lambda: (int, ("not a number",)),
    "args_int": lambda: (list, 5),
    "args_none": lambda: (list, None),
    "args_empty_string": lambda: (list, ""),
    "args_string": lambda: (list, "ab"),
    "args_dict": lambda: (Plain.__new__, {Plain: 1}),
    "args_list": lambda: (list, [[1, [2]]]),
    "args_generator": lambda: (list, (item for item in [[1, [2]]])),
    "args_iterator_raises_midway": lambda: (list, _raising_args_iterator(ValueError("midway"))),
    "args_too_many": lambda: (list, ([1], [2])),
    "state_three_tuple": lambda: (Plain, (), ({"a": 1}, None, None)),
    "state_slotstate_not_dict": lambda: (Plain, (), ({"a": 1}, 5)),
    "state_dict_not_dict": lambda: (Plain, (), (5, None)),
    "state_both_none": lambda: (Plain, (), (None, None)),
    "state_string": lambda: (Plain, (), "ab"),
    "state_pairs": lambda: (Plain, (), [("a", 1), ("b", [2])]),
    "state_false_values": lambda: (Plain, (), {}),
    "state_on_dictless_target": lambda: (int, (5,), {"a": 1}),
    "state_on_slot_target_bad_name": lambda: (_Slotted, (), (None, {"missing": 1})),
    "state_setstate_on_int": lambda: (complex, (1, 2), (None, {"real": 3})),
    "listiter_not_iterable": lambda: (list, (), None, 5),
    "listiter_without_append": lambda: (tuple, (), None, iter([1])),
    "listiter_iterable_not_iterator": lambda: (list, (), None, [1, [2]]),
    "dictiter_items_not_pairs": lambda: (dict, (), None, None, iter([1])),
    "dictiter_items_triples": lambda: (dict, (), None, None, iter([(1, 2, 3)])),
    "dictiter_unhashable_key": lambda: (dict, (), None, None, iter([([1], 2)])),
    "dictiter_target_not_subscriptable": lambda: (tuple, (), None, None, iter([(1, 2)])),
    "dictiter_iterable_not_iterator": lambda: (dict, (), None, None, [("a", [1])]),
    "newobj_with_non_class": lambda: (copyreg.__newobj__, (5,)),  # type: ignore[attr-defined]
    "newobj_with_no_args": lambda: (copyreg.__newobj__, ()),  # type: ignore[attr-defined]
    "newobj_with_list_args": lambda: (copyreg.__newobj__, [Plain]),  # type: ignore[attr-defined]
    "newobj_ex_bad_kwargs": lambda: (copyreg.__newobj_ex__, (Plain, (), 5)),  # type: ignore[attr-defined]
    "tuple_subclass": lambda: _TupleSubclass((Plain, (), {"a": [1]})),
}


class _Slotted:
    __slots__ = ("a",)


class _TupleSubclass(tuple):  # type: ignore[type-arg]
    pass


def _malformed_reduce_scenarios() -> None:
    for name, make in MALFORMED_REDUCE.items():
        for kind, run in (("deep", deep), ("shallow", shallow)):
            register(f"reduce_{name}_{kind}", _malformed_scenario(make, run))


def _malformed_scenario(
    make: Callable[[], object], run: Callable[[ModuleType, object], tuple[object, object]]
) -> Scenario:
    def scenario_run(module: ModuleType, log: Log) -> tuple[object, object]:
        return run(module, [Reducing(log, make)])

    return scenario_run


_malformed_reduce_scenarios()


# --- running in a child process ----------------------------------------------------------


def outcome(name: str, module: ModuleType) -> tuple[Any, list[object], object, object]:
    """(error signature or None, log, original, result) of one scenario run."""
    log: list[object] = []
    try:
        original, result = SCENARIOS[name](module, log)
    except BaseException as exc:  # noqa: BLE001 - hostile hooks raise anything
        return (type(exc).__qualname__, str(exc)), log, None, None
    return None, log, original, result


def mismatch(name: str, module: ModuleType) -> str | None:
    """Why ``module`` differs from stdlib on scenario ``name``, or None."""
    from oracle import Mismatch, assert_same_copy

    expected = outcome(name, stdlib_copy)
    actual = outcome(name, module)
    if expected[:2] != actual[:2]:
        return f"stdlib {expected[:2]!r:.300} != {actual[:2]!r:.300}"
    if expected[0] is None:
        try:
            assert_same_copy(expected[2], expected[3], actual[3], actual[2])
        except Mismatch as exc:
            return str(exc)
    return None


def run_all(module_name: str, first: int, compare: bool) -> int:
    """Run scenarios from index ``first``; print BEGIN/END so a crash can be located, and
    with ``compare`` a MISMATCH line for each scenario that differs from stdlib."""
    module = importlib.import_module(module_name)
    names = list(SCENARIOS)
    for index in range(first, len(names)):
        print(f"BEGIN {index} {names[index]}", flush=True)
        if compare:
            why = mismatch(names[index], module)
            if why is not None:
                print(f"MISMATCH {names[index]}: {why}", flush=True)
        else:
            outcome(names[index], stdlib_copy)
            outcome(names[index], module)
        print(f"END {index}", flush=True)
    return 0


if __name__ == "__main__":
    arguments = [argument for argument in sys.argv[1:] if argument != "--compare"]
    first_index = int(arguments[1]) if len(arguments) > 1 else 0
    sys.exit(run_all(arguments[0], first_index, "--compare" in sys.argv))
