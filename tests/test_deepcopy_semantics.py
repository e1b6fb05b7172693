"""copy.deepcopy: every kind of object, hooks and recursion, compared with the stdlib."""

from __future__ import annotations

import copy
import copyreg
import gc
from collections.abc import Iterator
from types import ModuleType
from typing import Any, SupportsIndex

import pytest

import samples
from oracle import HookRecorder, run_both
from samples import ATOMS, MORE_STDLIB, SHALLOW_IMMUTABLES, VALUES, Factory, Plain

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
    __reduce_ex__ = None  # type: ignore[assignment]  # disabled on purpose
    __reduce__ = None  # type: ignore[assignment]  # disabled on purpose


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


def reduce_registered(obj: Registered) -> tuple[type[Registered], tuple[list[int]]]:
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
    # Builds the base class; never called, as the __deepcopy__ hook wins.
    copyreg.pickle(HookAndRegistered, reduce_registered)  # type: ignore[arg-type]
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

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[object, ...]:
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


class Growing:
    """A hook that appends to the list being copied, while it is being copied."""

    def __init__(self, target: list[object], grow_by: int) -> None:
        self.target = target
        self.grow_by = grow_by

    def __deepcopy__(self, memo: dict[int, Any]) -> str:
        recorder.record("__deepcopy__", len(self.target))
        if self.grow_by:
            self.grow_by -= 1
            self.target.append(len(self.target))
        return "grown"


def test_list_growing_during_deepcopy(impl: ModuleType) -> None:
    def run(module: Any) -> object:
        target: list[object] = [1]
        target.append(Growing(target, 3))
        return module.deepcopy(target)

    expected, _ = run_both(impl, run, None, recorder)
    assert len(expected.result) > 2


class DictGrowing:
    def __init__(self, target: dict[object, object]) -> None:
        self.target = target

    def __deepcopy__(self, memo: dict[int, Any]) -> str:
        self.target[len(self.target)] = "new"
        return "grown"


def test_dict_growing_during_deepcopy(impl: ModuleType) -> None:
    def run(module: Any) -> object:
        target: dict[object, object] = {"a": 1}
        target["hook"] = DictGrowing(target)
        return module.deepcopy(target)

    expected, _ = run_both(impl, run, None)
    assert isinstance(expected.error, RuntimeError)


class ReturnsSelf:
    def __deepcopy__(self, memo: dict[int, Any]) -> ReturnsSelf:
        recorder.record("__deepcopy__", len(memo))
        return self


def test_hook_returning_self_is_not_memoized(impl: ModuleType) -> None:
    hooked = ReturnsSelf()
    original = [hooked, hooked, (hooked,)]
    expected, _ = run_both(impl, lambda module: module.deepcopy(original), original, recorder)
    assert len(expected.calls) == 3


class MemoMeddler:
    """A hook that removes and adds memo entries."""

    def __init__(self, victim: object) -> None:
        self.victim = victim

    def __deepcopy__(self, memo: dict[int, Any]) -> str:
        memo.pop(id(self.victim), None)
        memo[id(self)] = "meddled"
        return "meddler"


def test_hook_editing_the_memo(impl: ModuleType) -> None:
    shared = [1]
    meddler = MemoMeddler(shared)
    original = [shared, meddler, shared, meddler]
    expected, _ = run_both(impl, lambda module: module.deepcopy(original), original)
    assert expected.result[0] is not expected.result[2]


class NonCallableHook:
    __deepcopy__ = 42


def test_non_callable_deepcopy_hook_raises(impl: ModuleType) -> None:
    expected, _ = run_both(impl, lambda module: module.deepcopy(NonCallableHook()))
    assert isinstance(expected.error, TypeError)


class NoneHooks:
    """__copy__/__deepcopy__ set to None: skipped, the reduce protocol is used."""

    __copy__ = None
    __deepcopy__ = None

    def __init__(self) -> None:
        self.items = [1]


@pytest.mark.parametrize("operation", ["copy", "deepcopy"])
def test_none_hooks_fall_back_to_reduce(impl: ModuleType, operation: str) -> None:
    original = NoneHooks()
    expected, _ = run_both(impl, lambda module: getattr(module, operation)(original), original)
    assert expected.result is not original


class HookedMeta(type):
    def __copy__(cls) -> Any:
        recorder.record("metaclass __copy__", cls.__name__)
        return "copied class"

    def __deepcopy__(cls, memo: dict[int, Any]) -> Any:
        recorder.record("metaclass __deepcopy__", cls.__name__)
        return "deep-copied class"


class WithHookedMeta(metaclass=HookedMeta):
    pass


@pytest.mark.parametrize("operation", ["copy", "deepcopy"])
def test_class_whose_metaclass_has_hooks_is_an_atom(impl: ModuleType, operation: str) -> None:
    expected, _ = run_both(
        impl, lambda module: getattr(module, operation)(WithHookedMeta), WithHookedMeta, recorder
    )
    assert expected.result is WithHookedMeta


class Proxy:
    """Records every attribute lookup that falls through to __getattr__."""

    def __init__(self, payload: object) -> None:
        self.payload = payload

    def __getattr__(self, name: str) -> Any:
        recorder.record("__getattr__", name)
        raise AttributeError(name)


@pytest.mark.parametrize("operation", ["copy", "deepcopy"])
def test_attribute_lookups_match_stdlib(impl: ModuleType, operation: str) -> None:
    original = Proxy([1])
    expected, _ = run_both(
        impl, lambda module: getattr(module, operation)(original), original, recorder
    )
    looked_up = "__setstate__" if operation == "copy" else "__deepcopy__"
    assert ("__getattr__", looked_up) in expected.calls


class AnsweringProxy:
    """__getattr__ answers every name: the copy module calls what it gets for hooks."""

    def __init__(self) -> None:
        self.payload = [1]

    def __getattr__(self, name: str) -> Any:
        recorder.record("__getattr__", name)
        return lambda *args: f"{name} answered"


@pytest.mark.parametrize("operation", ["copy", "deepcopy"])
def test_proxy_answering_every_attribute(impl: ModuleType, operation: str) -> None:
    original = AnsweringProxy()
    expected, _ = run_both(
        impl, lambda module: getattr(module, operation)(original), original, recorder
    )
    looked_up = "__setstate__" if operation == "copy" else "__deepcopy__"
    assert ("__getattr__", looked_up) in expected.calls


class StaticCopyHook:
    @staticmethod
    def __copy__(obj: object = "no argument") -> object:
        recorder.record("static __copy__", obj is not None)
        return ["static", obj]


def test_static_copy_hook_gets_the_object(impl: ModuleType) -> None:
    original = StaticCopyHook()
    expected, _ = run_both(impl, lambda module: module.copy(original), original, recorder)
    assert expected.result[1] is original


@pytest.fixture
def reducer_for_list() -> Iterator[None]:
    copyreg.pickle(list, reduce_registered)  # type: ignore[arg-type]
    yield
    del copyreg.dispatch_table[list]


@pytest.mark.usefixtures("reducer_for_list")
@pytest.mark.parametrize("operation", ["copy", "deepcopy"])
def test_dispatch_table_entry_for_list_is_ignored(impl: ModuleType, operation: str) -> None:
    original = [[1], 2]
    expected, _ = run_both(
        impl, lambda module: getattr(module, operation)(original), original, recorder
    )
    assert expected.calls == []


class RegisteredChild(Registered):
    pass


@pytest.mark.usefixtures("registered_reducer")
def test_dispatch_table_is_looked_up_by_exact_type(impl: ModuleType) -> None:
    original = RegisteredChild([1])
    expected, _ = run_both(impl, lambda module: module.deepcopy(original), original, recorder)
    assert expected.calls == []


@pytest.mark.parametrize("memo", [[], "memo", 5], ids=["list", "str", "int"])
def test_non_dict_memo_fails_like_stdlib(impl: ModuleType, memo: object) -> None:
    expected, _ = run_both(impl, lambda module: module.deepcopy([1], memo))
    assert expected.error is not None


def test_dict_subclass_memo_is_used(impl: ModuleType) -> None:
    class MemoDict(dict):  # type: ignore[type-arg]
        pass

    shared = [1]
    original = [shared, shared]

    def run(module: Any) -> object:
        memo = MemoDict()
        return module.deepcopy(original, memo), list(memo.values())

    expected, _ = run_both(impl, run, original)
    assert expected.result[0][0] is expected.result[0][1]


class FalsyReducer:
    """A dispatch_table reducer that is callable but falsy: deepcopy tests truthiness."""

    def __call__(self, obj: object) -> object:
        recorder.record("falsy reducer", None)
        return (dict, ())

    def __bool__(self) -> bool:
        return False


class FalsyRegistered:
    def __init__(self) -> None:
        self.items = [1]


@pytest.fixture
def falsy_reducer() -> Iterator[None]:
    # Rebuilds a dict, not a FalsyRegistered: only its falsiness matters here.
    copyreg.pickle(FalsyRegistered, FalsyReducer())  # type: ignore[arg-type]
    yield
    del copyreg.dispatch_table[FalsyRegistered]


@pytest.mark.usefixtures("falsy_reducer")
@pytest.mark.parametrize("operation", ["copy", "deepcopy"])
def test_falsy_dispatch_table_reducer(impl: ModuleType, operation: str) -> None:
    original = FalsyRegistered()
    expected, _ = run_both(
        impl, lambda module: getattr(module, operation)(original), original, recorder
    )
    assert expected.calls == ([("falsy reducer", None)] if operation == "copy" else [])


class PrivatelyRegistered:
    def __init__(self) -> None:
        self.items = [1]

    def copy(self) -> str:  # what 3.14+ calls for a type in copy._copy_builtin_containers
        recorder.record("_copy_builtin_containers entry", None)
        return "from the registry"


def private_deep_copier(obj: PrivatelyRegistered, memo: dict[int, Any]) -> str:
    recorder.record("_deepcopy_dispatch entry", len(memo))
    return "from the registry"


def private_shallow_copier(obj: PrivatelyRegistered) -> str:
    recorder.record("_copy_dispatch entry", None)
    return "from the registry"


# Where copy() lets a program register a type: a dict of copiers before 3.14, a mutable
# set of types that have a copy() method on 3.14, nowhere on 3.15 (frozensets).
SHALLOW_REGISTRY: Any = getattr(copy, "_copy_dispatch", None)
if SHALLOW_REGISTRY is None and isinstance(getattr(copy, "_copy_builtin_containers", None), set):
    SHALLOW_REGISTRY = copy._copy_builtin_containers  # type: ignore[attr-defined]
REGISTERING_OPERATIONS = ["copy", "deepcopy"] if SHALLOW_REGISTRY is not None else ["deepcopy"]


@pytest.fixture
def private_registration() -> Iterator[None]:
    copy._deepcopy_dispatch[PrivatelyRegistered] = private_deep_copier  # type: ignore[attr-defined]
    if isinstance(SHALLOW_REGISTRY, dict):
        SHALLOW_REGISTRY[PrivatelyRegistered] = private_shallow_copier
    elif SHALLOW_REGISTRY is not None:
        SHALLOW_REGISTRY.add(PrivatelyRegistered)
    yield
    del copy._deepcopy_dispatch[PrivatelyRegistered]  # type: ignore[attr-defined]
    if isinstance(SHALLOW_REGISTRY, set):
        SHALLOW_REGISTRY.remove(PrivatelyRegistered)
    elif SHALLOW_REGISTRY is not None:
        del SHALLOW_REGISTRY[PrivatelyRegistered]


@pytest.mark.usefixtures("private_registration")
@pytest.mark.parametrize("operation", REGISTERING_OPERATIONS)
def test_type_registered_in_stdlib_dispatch_is_used(impl: ModuleType, operation: str) -> None:
    original = [PrivatelyRegistered()]
    expected, _ = run_both(
        impl, lambda module: getattr(module, operation)(original[0]), original[0], recorder
    )
    assert expected.result == "from the registry"


ATOMIC_SETS = {
    name: getattr(copy, name)
    for name in ("_atomic_types", "_copy_atomic_types")
    if isinstance(getattr(copy, name, None), set)  # 3.14 only: 3.15 freezes them
}


@pytest.mark.parametrize("set_name", sorted(ATOMIC_SETS))
@pytest.mark.parametrize("memo_holds_it", [False, True])
def test_type_added_to_an_atomic_set_is_returned_as_is(
    impl: ModuleType, set_name: str, memo_holds_it: bool
) -> None:
    """3.14: a type a program adds to copy's atomic sets is its own copy, memo or not."""
    original = PrivatelyRegistered()
    operation = "deepcopy" if set_name == "_atomic_types" else "copy"

    def run(module: Any) -> object:
        if operation == "copy":
            return [module.copy(original), module.copy([original])]
        memo = {id(original): "from the memo"} if memo_holds_it else {}
        copies = [module.deepcopy(original, memo), module.deepcopy([original], memo)]
        return [*copies, memo.get(id(original), "not memoised")]

    ATOMIC_SETS[set_name].add(PrivatelyRegistered)
    try:
        expected, _ = run_both(impl, run, original)
    finally:
        ATOMIC_SETS[set_name].remove(PrivatelyRegistered)
    assert expected.result[0] is original


def test_memo_inside_the_copied_structure(impl: ModuleType) -> None:
    """stdlib's keep-alive note: deepcopying the memo itself finds the keep-alive list."""
    first = [Plain(1)]

    def run(module: Any) -> object:
        memo: dict[int, Any] = {}
        module.deepcopy(first, memo)
        result = module.deepcopy([memo, [2]], memo)
        return result[0] is memo[id(memo)], result[1]

    expected, _ = run_both(impl, run, first)
    assert expected.result[0] is True


class UnhashableMeta(type):
    """Classes made by this metaclass cannot be hashed: dispatch lookups by type fail."""

    def __eq__(cls, other: object) -> bool:
        return cls is other

    __hash__ = None  # type: ignore[assignment]


class UnhashableType(metaclass=UnhashableMeta):
    def __init__(self) -> None:
        self.items = [1]


class PosingAsInt(type):
    """Classes made by this metaclass hash and compare equal to int."""

    def __eq__(cls, other: object) -> bool:
        return other is int or cls is other

    def __hash__(cls) -> int:
        return hash(int)


class LooksLikeInt(metaclass=PosingAsInt):
    def __init__(self) -> None:
        self.items = [1]


@pytest.mark.parametrize("operation", ["copy", "deepcopy"])
@pytest.mark.parametrize("where", ["alone", "in a list"])
def test_object_of_unhashable_type(impl: ModuleType, operation: str, where: str) -> None:
    instance = UnhashableType()
    original = instance if where == "alone" else [instance]
    expected, _ = run_both(impl, lambda module: getattr(module, operation)(original), original)
    assert isinstance(expected.error, TypeError) or where == "in a list"


@pytest.mark.parametrize("operation", ["copy", "deepcopy"])
@pytest.mark.parametrize("where", ["alone", "in a list"])
def test_object_whose_type_poses_as_int(impl: ModuleType, operation: str, where: str) -> None:
    instance = LooksLikeInt()
    original = instance if where == "alone" else [instance]
    expected, _ = run_both(impl, lambda module: getattr(module, operation)(original), original)
    assert expected.error is None


@pytest.mark.parametrize("factory", MORE_STDLIB.values(), ids=MORE_STDLIB.keys())
def test_other_stdlib_object_deepcopies_as_stdlib(impl: ModuleType, factory: Factory) -> None:
    original = factory()
    run_both(impl, lambda module: module.deepcopy([original, original]), [original, original])


CALLS: dict[str, Any] = {
    "copy by keyword": lambda module: module.copy(x=[1]),
    "deepcopy by keyword": lambda module: module.deepcopy(x=[1]),
    "deepcopy memo by keyword": lambda module: module.deepcopy([1], memo={}),
    "deepcopy memo None by keyword": lambda module: module.deepcopy([1], memo=None),
    "copy without argument": lambda module: module.copy(),
    "deepcopy without argument": lambda module: module.deepcopy(),
    "copy with two arguments": lambda module: module.copy([1], {}),
    "deepcopy with three arguments": lambda module: module.deepcopy([1], {}, []),
    "deepcopy with four arguments": lambda module: module.deepcopy([1], {}, [], 4),
    "copy with unknown keyword": lambda module: module.copy([1], depth=2),
    "deepcopy with unknown keyword": lambda module: module.deepcopy([1], depth=2),
}


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
def test_calling_convention_matches_stdlib(impl: ModuleType, call: Any) -> None:
    run_both(impl, call)


class RecordingKey:
    """A dict key / set member whose hashing and comparing are recorded."""

    def __init__(self, name: str, bucket: int = 0) -> None:
        self.name = name
        self.bucket = bucket

    def __hash__(self) -> int:
        recorder.record("__hash__", self.name)
        return self.bucket

    def __eq__(self, other: object) -> bool:
        recorder.record("__eq__", (self.name, getattr(other, "name", None)))
        return isinstance(other, RecordingKey) and other.name == self.name


def colliding_keys() -> list[RecordingKey]:
    return [RecordingKey(name) for name in ("a", "b", "c")]


CONTAINERS_OF_KEYS: dict[str, Any] = {
    "dict": lambda keys: {key: [index] for index, key in enumerate(keys)},
    "set": set,
    "frozenset": frozenset,
    "dict subclass": lambda keys: samples.DictSubclass((key, 1) for key in keys),
}


@pytest.mark.parametrize("operation", ["copy", "deepcopy"])
@pytest.mark.parametrize("build", CONTAINERS_OF_KEYS.values(), ids=CONTAINERS_OF_KEYS.keys())
def test_hash_and_eq_calls_on_keys(impl: ModuleType, build: Any, operation: str) -> None:
    original = build(colliding_keys())
    run_both(impl, lambda module: getattr(module, operation)(original), original, recorder)
    assert recorder.calls or operation == "copy"


def test_large_containers_deepcopy_as_stdlib(impl: ModuleType) -> None:
    shared = [0]
    items: list[object] = [index if index % 3 else shared for index in range(10_000)]
    mapping = {index: items[index] for index in range(0, 10_000, 2)}
    original = [items, mapping, tuple(items), set(range(5_000))]
    assert_deepcopy_agrees(impl, original)


class HookAsProperty:
    """__deepcopy__ and __reduce_ex__ are properties: reading them runs code."""

    @property
    def __deepcopy__(self) -> Any:
        recorder.record("read __deepcopy__", None)
        return lambda memo: "from the property"

    @property
    def __copy__(self) -> Any:
        recorder.record("read __copy__", None)
        return lambda: "never called: copy reads __copy__ from the class"


@pytest.mark.parametrize("operation", ["copy", "deepcopy"])
def test_hooks_defined_as_properties(impl: ModuleType, operation: str) -> None:
    original = HookAsProperty()
    expected, _ = run_both(
        impl, lambda module: getattr(module, operation)(original), original, recorder
    )
    assert expected.error is not None or expected.result == "from the property"


class LyingClass(Plain):
    """Claims to be a list through __class__; the copy module goes by type()."""

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        return list


@pytest.mark.parametrize("operation", ["copy", "deepcopy"])
def test_object_lying_about_its_class(impl: ModuleType, operation: str) -> None:
    original = LyingClass([1])
    expected, _ = run_both(impl, lambda module: getattr(module, operation)(original), original)
    assert type(expected.result) is LyingClass


class Meddler:
    """A __deepcopy__ hook that runs ``action(parent, memo)`` on the structure being copied."""

    def __init__(self, parent: Any, action: Any) -> None:
        self.parent = parent
        self.action = action

    def __deepcopy__(self, memo: dict[int, Any]) -> str:
        recorder.record("meddle", len(memo))
        self.action(self.parent, memo)
        return "meddled"


def shrink_list(parent: list[object], memo: object) -> None:
    del parent[2:]


def replace_later_item(parent: list[object], memo: object) -> None:
    parent[-1] = ["replaced"]


def swap_dict_key(parent: dict[object, object], memo: object) -> None:
    del parent["last"]
    parent["other"] = 1


def replace_dict_value(parent: dict[object, object], memo: object) -> None:
    parent["last"] = ["replaced"]


def clear_memo(parent: object, memo: dict[int, Any]) -> None:
    memo.clear()


def drop_parent_from_memo(parent: object, memo: dict[int, Any]) -> None:
    memo.pop(id(parent), None)


def spoil_keep_alive(parent: object, memo: dict[int, Any]) -> None:
    memo[id(memo)] = ("not", "a", "list")


def grow_instance_dict(parent: Plain, memo: object) -> None:
    parent.added = [1]  # type: ignore[attr-defined]


def in_list(action: Any) -> Any:
    def build() -> list[object]:
        parent: list[object] = [[0]]
        parent += [Meddler(parent, action), parent, [1], [2]]
        return parent

    return build


def in_dict(action: Any) -> Any:
    def build() -> dict[object, object]:
        parent: dict[object, object] = {"first": [0]}
        parent["hook"] = Meddler(parent, action)
        parent["self"] = parent
        parent["last"] = [2]
        return parent

    return build


def in_instance(action: Any) -> Any:
    def build() -> Plain:
        parent = Plain()
        parent.value = [Meddler(parent, action), parent]
        return parent

    return build


MEDDLING: dict[str, Any] = {
    "list shrinks": in_list(shrink_list),
    "later list item replaced": in_list(replace_later_item),
    "dict key swapped": in_dict(swap_dict_key),
    "dict value replaced": in_dict(replace_dict_value),
    "memo cleared inside a list": in_list(clear_memo),
    "memo cleared inside a dict": in_dict(clear_memo),
    "parent dropped from memo": in_list(drop_parent_from_memo),
    "keep-alive list spoiled": in_list(spoil_keep_alive),
    "instance dict grows": in_instance(grow_instance_dict),
    "instance dropped from memo": in_instance(drop_parent_from_memo),
}


@pytest.mark.parametrize("build", MEDDLING.values(), ids=MEDDLING.keys())
def test_hook_meddling_during_deepcopy(impl: ModuleType, build: Any) -> None:
    def run(module: Any) -> object:
        return module.deepcopy(build())

    expected, _ = run_both(impl, run, None, recorder)
    assert expected.calls


class ReorderingList(list):  # type: ignore[type-arg]
    """Iterates in reverse: the default reduce takes list items from iter(self)."""

    def __iter__(self) -> Iterator[object]:
        recorder.record("__iter__", len(self))
        return reversed(self)


class ItemsOverridingDict(dict):  # type: ignore[type-arg]
    """Overrides items() and __setitem__: the default reduce and rebuild go through them."""

    def items(self) -> Any:
        recorder.record("items", len(self))
        return [(key, value) for key, value in dict.items(self) if key != "hidden"]

    def __setitem__(self, key: object, value: object) -> None:
        recorder.record("__setitem__", key)
        dict.__setitem__(self, key, value)


class AppendingList(list):  # type: ignore[type-arg]
    def append(self, item: object) -> None:
        recorder.record("append", item if isinstance(item, int) else type(item).__name__)
        list.append(self, item)

    def extend(self, items: Any) -> None:
        recorder.record("extend", None)
        list.extend(self, items)


SUBCLASS_OVERRIDES: dict[str, Any] = {
    "list subclass overriding __iter__": lambda: ReorderingList([1, [2], 3]),
    "dict subclass overriding items and __setitem__": lambda: ItemsOverridingDict(
        a=[1], hidden=2, b=3
    ),
    "list subclass overriding append and extend": lambda: AppendingList([1, [2], 3]),
}


@pytest.mark.parametrize("operation", ["copy", "deepcopy"])
@pytest.mark.parametrize("build", SUBCLASS_OVERRIDES.values(), ids=SUBCLASS_OVERRIDES.keys())
def test_subclass_overrides_used_by_reduce(impl: ModuleType, build: Any, operation: str) -> None:
    original = build()
    expected, _ = run_both(
        impl, lambda module: getattr(module, operation)(original), original, recorder
    )
    assert expected.calls


class CollectingHook:
    """Runs the cycle collector mid-copy and records which memo values it tracks."""

    def __deepcopy__(self, memo: dict[int, Any]) -> str:
        gc.collect()
        recorder.record("tracked", [gc.is_tracked(value) for value in memo.values()])
        return "collected"


def test_partial_copies_are_tracked_when_hooks_run(impl: ModuleType) -> None:
    cycle: list[object] = [[1], {"a": [2]}]
    cycle.append(cycle)
    original = [cycle, Plain(cycle), {"k": [cycle, CollectingHook()]}]
    expected, _ = run_both(impl, lambda module: module.deepcopy(original), original, recorder)
    assert expected.calls
