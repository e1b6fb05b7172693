"""template(x): every call returns exactly what deepcopy(snapshot) returns.

The snapshot is private, so the oracle compares ``t()`` with ``copy.deepcopy(x)`` while
``x`` is as it was when the template was made: the snapshot is ``deepcopy(x)``, and a deep
copy of a deep copy keeps, shares and calls exactly what the deep copy of ``x`` does.
"""

from __future__ import annotations

import copy as stdlib_copy
import copyreg
import dataclasses
import gc
import sys
import tracemalloc
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from copykit.sharing import shared
from oracle import HookRecorder, assert_same_copy
from samples import ATOMS, MORE_STDLIB, SHALLOW_IMMUTABLES, VALUES, Plain
from test_leaks import allocated_blocks, live_objects

recorder = HookRecorder()
SAMPLES = {**ATOMS, **SHALLOW_IMMUTABLES, **VALUES, **MORE_STDLIB}


def uncopyable_by_stdlib(value: object) -> BaseException | None:
    try:
        stdlib_copy.deepcopy(value)
    except Exception as exc:  # noqa: BLE001 - the sample is then checked for the same error
        return exc
    return None


@dataclasses.dataclass
class Point:
    x: int
    tags: list[str]


@dataclasses.dataclass(slots=True)
class SlotPoint:
    x: int
    tags: list[str]


class Recorded:
    """Records each __deepcopy__ call with its tag."""

    def __init__(self, tag: int, payload: object = None) -> None:
        self.tag = tag
        self.payload = payload

    def __deepcopy__(self, memo: dict[int, Any]) -> Recorded:
        recorder.record("__deepcopy__", self.tag)
        return Recorded(self.tag, stdlib_copy.deepcopy(self.payload, memo))


class Hooked:
    def __init__(self, payload: object) -> None:
        self.payload = payload

    def __deepcopy__(self, memo: dict[int, Any]) -> Hooked:
        return Hooked(stdlib_copy.deepcopy(self.payload, memo))


class Later:
    """A plain class that tests give hooks after a template was made."""

    def __init__(self, value: object) -> None:
        self.value = value


def json_like() -> dict[str, Any]:
    return {
        "model": "m",
        "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": ""}],
        "options": {"temperature": 0.5, "stop": ["\n"], "tools": []},
        "pair": (1, [2]),
        "constant": (1, ("a", None)),
        "tuple_key": {(1, "a"): [3]},
        "sets": [{1, 2}, frozenset({"x"})],
        "deep": [[[[[1]]]]],
    }


def instances() -> list[object]:
    return [Point(1, ["a"]), SlotPoint(2, ["b"]), Plain([1, {"a": 2}]), {"p": Point(3, [])}]


# --- results match deepcopy ----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample_copies_as_deepcopy(impl: ModuleType, name: str) -> None:
    original = SAMPLES[name]()
    error = uncopyable_by_stdlib(original)
    if error is not None:
        with pytest.raises(type(error)):
            impl.template(original)
        return
    made = impl.template(original)
    assert_same_copy(original, stdlib_copy.deepcopy(original), made())


@pytest.mark.parametrize("factory", [json_like, instances], ids=["json", "instances"])
def test_compiled_shapes_copy_as_deepcopy(impl: ModuleType, factory: Callable[[], object]) -> None:
    original = factory()
    made = impl.template(original)
    for _ in range(3):
        assert_same_copy(original, stdlib_copy.deepcopy(original), made())


def test_json_like_is_compiled(impl: ModuleType) -> None:
    original = json_like()
    del original["sets"]  # the twin compiles dicts, lists and tuples only
    made = impl.template(original)
    assert "compiled" in repr(made)
    assert_same_copy(original, stdlib_copy.deepcopy(original), made._by_plan())


def graph() -> dict[str, Any]:
    """Shared parts and cycles through lists, dicts, instances, slots and tuples."""
    shared_list = [1, [2]]
    point = Point(1, ["a"])
    slot_point = SlotPoint(2, ["b"])
    cyclic: list[Any] = [point]
    cyclic.append(cyclic)
    holder = Plain(None)
    holder.value = {"self": holder, "points": [point, point], "slot": slot_point}
    return {
        "a": shared_list,
        "b": (shared_list, shared_list),
        "c": {"again": shared_list, "point": point, "slots": [slot_point, slot_point]},
        "cyclic": cyclic,
        "holder": holder,
        "pair": (point, [point]),
        "frozen": [frozenset({1}), frozenset({1})],
    }


@pytest.mark.parametrize("factory", [instances, graph], ids=["instances", "graph"])
def test_instances_and_graphs_are_compiled_in_c(factory: Callable[[], object]) -> None:
    from copykit import _ccopy

    original = factory()
    _ccopy.deepcopy(original)  # plans are learnt from a first copy
    made = _ccopy.template(original)
    assert "compiled" in repr(made)
    expected = stdlib_copy.deepcopy(original)
    assert_same_copy(original, expected, made._by_plan())
    assert_same_copy(original, expected, made())


def test_many_references_to_one_object_are_not_compiled_in_c() -> None:
    """A node per reference would outweigh the snapshot (pyperformance's deepcopy_memo)."""
    from copykit import _ccopy

    shared = [1] * 100
    original = {"a": (shared, shared, shared), "b": [shared] * 1000}
    made = _ccopy.template(original)
    assert "deepcopy on each call" in repr(made)
    result = made()
    assert_same_copy(original, stdlib_copy.deepcopy(original), result)
    assert all(item is result["a"][0] for item in result["b"])


def test_by_plan_refuses_without_a_plan(impl: ModuleType) -> None:
    with pytest.raises(LookupError):
        impl.template([Hooked([1])])._by_plan()


def test_tuple_in_a_cycle_falls_back_to_deepcopy() -> None:
    from copykit import _ccopy

    inner: list[Any] = []
    loop = (inner,)
    inner.append(loop)
    made = _ccopy.template(loop)
    assert_same_copy(loop, stdlib_copy.deepcopy(loop), made())
    with pytest.raises(LookupError):
        made._by_plan()


def test_instance_state_reached_elsewhere_falls_back_to_deepcopy() -> None:
    from copykit import _ccopy

    class ExposesState:
        """Deep-copies to a plain list holding the copied point's own __dict__."""

        def __init__(self, target: Point) -> None:
            self.target = target

        def __deepcopy__(self, memo: dict[int, Any]) -> list[object]:
            return ["state", vars(stdlib_copy.deepcopy(self.target, memo))]

    point = Point(1, ["a"])
    original: list[Any] = [point, ExposesState(point)]
    snapshot: list[Any] = stdlib_copy.deepcopy(original)  # as the template's own
    assert snapshot[1][1] is vars(snapshot[0])
    _ccopy.deepcopy(snapshot)
    made = _ccopy.template(original)
    assert_same_copy(snapshot, stdlib_copy.deepcopy(snapshot), made())
    with pytest.raises(LookupError):
        made._by_plan()


def test_atom_template_returns_the_atom(impl: ModuleType) -> None:
    text = "x" * 100
    assert impl.template(text)() is text


def test_tuple_of_atoms_is_its_own_copy(impl: ModuleType) -> None:
    value = (1, ("a", None))
    assert impl.template(value)() is value


def test_cyclic_snapshot(impl: ModuleType) -> None:
    original: list[object] = [1, {"k": []}]
    original.append(original)
    made = impl.template(original)
    assert_same_copy(original, stdlib_copy.deepcopy(original), made())


def test_shared_snapshot(impl: ModuleType) -> None:
    inner = [1, 2]
    original = {"a": inner, "b": inner, "c": (inner,)}
    result = impl.template(original)()
    assert_same_copy(original, stdlib_copy.deepcopy(original), result)
    assert result["a"] is result["b"] is result["c"][0]


def test_deep_snapshot(impl: ModuleType) -> None:
    original: list[object] = []
    node = original
    for _ in range(300):  # past both twins' plan depth, within the stdlib's recursion
        child: list[object] = []
        node.append(child)
        node = child
    assert_same_copy(original, stdlib_copy.deepcopy(original), impl.template(original)())


# --- snapshot and independence -------------------------------------------------------------


def test_later_changes_to_x_do_not_show(impl: ModuleType) -> None:
    original = json_like()
    expected = stdlib_copy.deepcopy(original)
    made = impl.template(original)
    original["messages"][0]["content"] = "changed"
    original["options"]["stop"].append("x")
    original["new"] = 1
    assert made() == expected


def test_changing_a_result_changes_no_other(impl: ModuleType) -> None:
    made = impl.template(json_like())
    first, second = made(), made()
    first["messages"][0]["content"] = "changed"
    first["deep"][0][0].append(2)
    assert second == json_like()
    assert made() == json_like()


@pytest.mark.parametrize("factory", [json_like, instances], ids=["json", "instances"])
def test_results_share_nothing(impl: ModuleType, factory: Callable[[], object]) -> None:
    original = factory()
    made = impl.template(original)
    first, second = made(), made()
    assert shared(first, second) == []
    assert shared(first, original) == shared(stdlib_copy.deepcopy(original), original)


# --- hooks, reduce, registries --------------------------------------------------------------


def test_hooks_run_on_every_call_in_order(impl: ModuleType) -> None:
    original = [Recorded(1), {"a": Recorded(2, [Recorded(3)])}]
    made = impl.template(original)
    with recorder.capturing() as expected:
        stdlib_copy.deepcopy(original)
    for _ in range(2):
        with recorder.capturing() as calls:
            made()
        assert calls == expected


def test_uncopyable_fails_at_template(impl: ModuleType) -> None:
    original = [1, {"lock": sys._getframe()}]
    error = uncopyable_by_stdlib(original)
    assert error is not None
    with pytest.raises(type(error)) as raised:
        impl.template(original)
    assert str(raised.value) == str(error)


def test_hook_added_to_the_class_later_runs(impl: ModuleType) -> None:
    class Changing(Later):
        pass

    impl.deepcopy(Changing([1]))
    made = impl.template({"a": Changing([1])})
    calls: list[int] = []

    def hook(self: Changing, memo: dict[int, Any]) -> str:
        calls.append(1)
        return "hooked"

    Changing.__deepcopy__ = hook  # type: ignore[attr-defined]
    assert made() == {"a": "hooked"}
    assert calls == [1]


def reduce_to_text(obj: object) -> tuple[object, ...]:
    return (str, ("reduced",))


def test_reductor_registered_later_runs(impl: ModuleType) -> None:
    class Registered(Later):
        pass

    impl.deepcopy(Registered([1]))
    made = impl.template([Registered([1])])
    copyreg.pickle(Registered, reduce_to_text)  # type: ignore[arg-type]
    try:
        assert made() == ["reduced"]
    finally:
        del copyreg.dispatch_table[Registered]
    assert type(made()[0]) is Registered


def test_copier_registered_later_runs(impl: ModuleType) -> None:
    class Dispatched(Later):
        pass

    impl.deepcopy(Dispatched([1]))
    made = impl.template([Dispatched([1])])
    registry = stdlib_copy._deepcopy_dispatch  # type: ignore[attr-defined]
    registry[Dispatched] = lambda obj, memo: "dispatched"
    try:
        assert made() == ["dispatched"]
    finally:
        del registry[Dispatched]


# --- keep= ---------------------------------------------------------------------------------


def test_keep_shares_in_every_result(impl: ModuleType) -> None:
    kept = bytearray(b"shared")
    original = {"k": kept, "l": [kept, [1]]}
    made = impl.template(original, keep=bytearray)
    first, second = made(), made()
    assert first["k"] is second["k"] is kept
    assert first["l"][0] is kept
    assert first["l"][1] is not second["l"][1]


def test_keep_predicate_runs_on_every_call(impl: ModuleType) -> None:
    seen: list[str] = []

    def keep(obj: object) -> bool:
        seen.append(type(obj).__name__)
        return False

    made = impl.template([[1]], keep=keep)
    seen.clear()
    made()
    assert seen == ["list", "list"]


class Resource:
    """Stands for what keep= shares: a client, a lock, a loaded model."""


class SubResource(Resource):
    pass


class Reparented:
    pass


def deepcopy_keeping(original: object, *kept: object) -> object:
    """The stdlib's deepcopy with a memo pre-seeded with the kept objects (keep's oracle)."""
    return stdlib_copy.deepcopy(original, {id(obj): obj for obj in kept})


def test_keep_of_classes_is_compiled_in_c() -> None:
    from copykit import _ccopy

    resource, sub = Resource(), SubResource()
    kept_list = [resource]
    original = {
        "a": [resource, sub, resource],
        "b": (resource, 1),
        "c": {"x": [1], "y": kept_list},
        "d": Point(1, ["a"]),
    }
    _ccopy.deepcopy(original)  # plans are learnt from a first copy
    made = _ccopy.template(original, keep=(Resource, tuple))
    assert "compiled" in repr(made)
    expected = deepcopy_keeping(original, resource, sub, original["b"])
    result = made._by_plan()
    assert_same_copy(original, expected, result)
    assert result["a"][0] is resource and result["b"] is original["b"]
    assert result["c"]["y"] is not kept_list and result["c"]["y"][0] is resource


def test_keep_with_a_predicate_or_an_abc_is_not_compiled() -> None:
    import collections.abc

    from copykit import _ccopy

    for keep in (lambda obj: False, collections.abc.Sequence):
        made = _ccopy.template([[1]], keep=keep)
        with pytest.raises(LookupError):
            made._by_plan()


def test_keep_follows_a_class_that_changes_its_bases() -> None:
    from copykit import _ccopy

    class Kept(Resource):
        pass

    obj = Kept()
    made = _ccopy.template([obj, [2]], keep=Resource)
    assert made()[0] is obj
    Kept.__bases__ = (Reparented,)  # no longer a Resource: copied from now on
    result = made()
    assert type(result[0]) is Kept and result[0] is not obj
    assert_same_copy([obj, [2]], deepcopy_keeping([obj, [2]]), result)


def test_keep_of_the_wrong_kind(impl: ModuleType) -> None:
    with pytest.raises(TypeError, match="keep must be"):
        impl.template([1], keep=42)


# --- many, repr, copies of templates --------------------------------------------------------


def test_many(impl: ModuleType) -> None:
    made = impl.template({"a": [1]})
    results = made.many(3)
    assert results == [{"a": [1]}] * 3
    assert len({id(result) for result in results}) == 3
    assert made.many(0) == []


@pytest.mark.parametrize(
    ("count", "error", "message"),
    [(-1, ValueError, "n must be >= 0, not -1"), ("3", TypeError, "cannot be interpreted")],
)
def test_many_refuses(
    impl: ModuleType, count: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        impl.template([1]).many(count)


def test_call_takes_no_arguments(impl: ModuleType) -> None:
    with pytest.raises(TypeError):
        impl.template([1])(1)


def test_repr_names_the_snapshot_type(impl: ModuleType) -> None:
    assert repr(impl.template([1])).startswith("<copykit.Template of list")


def test_a_template_is_its_own_copy(impl: ModuleType) -> None:
    made = impl.template([1])
    assert stdlib_copy.copy(made) is made
    assert impl.deepcopy({"t": made})["t"] is made


def test_template_is_exported() -> None:
    import copykit

    assert "template" in copykit.__all__ and "Template" in copykit.__all__
    assert isinstance(copykit.template([1]), copykit.Template)


# --- property: random trees -----------------------------------------------------------------

atoms = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=3))


def trees(leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(st.text(max_size=2), children, max_size=4),
            st.tuples(children, children),
            st.builds(Point, st.integers(), st.lists(st.text(max_size=2), max_size=2)),
            st.builds(Plain, children),
            st.builds(Recorded, st.integers(), children),
            st.frozensets(st.integers(), max_size=3),
        ),
        max_leaves=12,
    )


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(trees(atoms), st.booleans())
def test_random_trees_copy_as_deepcopy(impl: ModuleType, original: object, share: bool) -> None:
    if share:
        original = [original, original]
    made = impl.template(original)
    with recorder.capturing() as expected_calls:
        expected = stdlib_copy.deepcopy(original)
    with recorder.capturing() as calls:
        result = made()
    assert_same_copy(original, expected, result)
    assert calls == expected_calls
    if "compiled" in repr(made):
        assert_same_copy(original, expected, made._by_plan())


# --- memory and leaks -----------------------------------------------------------------------


def traced(make: Callable[[], object]) -> tuple[int, object]:
    """The bytes still allocated by make() when it returns, and its result."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        made = make()
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before, made
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    "factory", [json_like, instances, graph], ids=["json", "instances", "graph"]
)
def test_template_memory_at_most_twice_its_snapshot(
    impl: ModuleType, factory: Callable[[], object]
) -> None:
    original = [factory() for _ in range(50)]
    impl.deepcopy(original)  # plans learnt, caches warm
    snapshot_bytes, _snapshot = traced(lambda: impl.deepcopy(original))
    template_bytes, _made = traced(lambda: impl.template(original))
    assert template_bytes - snapshot_bytes <= snapshot_bytes  # template <= 2x snapshot


@pytest.fixture(params=["json", "instances", "hooks", "keep", "cyclic"])
def repeated_call(request: pytest.FixtureRequest, impl: ModuleType) -> Callable[[], object]:
    cyclic: list[object] = [[1]]
    cyclic.append(cyclic)
    impl.deepcopy(instances())
    made = {
        "json": lambda: impl.template(json_like()),
        "instances": lambda: impl.template(instances()),
        "hooks": lambda: impl.template([Hooked([2])]),
        "keep": lambda: impl.template([bytearray(b"k"), [1]], keep=bytearray),
        "cyclic": lambda: impl.template(cyclic),
    }[request.param]()
    return made  # type: ignore[no-any-return]


@pytest.mark.parametrize("measure", [live_objects, allocated_blocks], ids=["objects", "blocks"])
def test_calls_do_not_leak(repeated_call: Callable[[], object], measure: Callable[[], int]) -> None:
    for _ in range(100):
        repeated_call()
    before = measure()
    for _ in range(1000):
        repeated_call()
    assert measure() - before <= 50
