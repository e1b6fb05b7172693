"""shared() and assert_independent(): which mutable objects two structures still share."""

from __future__ import annotations

import array
import builtins
import copy
import dataclasses
import datetime
import functools
import re
import types
from collections import OrderedDict, deque, namedtuple
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from copykit.__main__ import main
from copykit.sharing import SharedObject, assert_independent, shared, short_repr

DEFAULT_CONFIG: dict[str, Any] = {
    "name": "service",
    "database": {"host": "localhost", "credentials": {"user": "admin", "password": "x"}},
    "features": ["search"],
    "retries": 3,
}


def paths(records: list[SharedObject]) -> list[tuple[str, str]]:
    return [(record.path_a, record.path_b) for record in records]


class Slotted:
    __slots__ = ("items", "__private")

    def __init__(self) -> None:
        self.items = [1, 2]
        self.__private = {"secret": 1}


class SlottedChild(Slotted):
    __slots__ = ("extra",)

    def __init__(self) -> None:
        super().__init__()
        self.extra = {3}


class Point:
    def __init__(self, x: int, y: int) -> None:
        self.x, self.y = x, y
        self.history: list[tuple[int, int]] = []

    def __repr__(self) -> str:
        return f"Point({self.x}, {self.y})"


class Polygon:
    def __init__(self, points: list[Point]) -> None:
        self.points = points


class ExplodingReduce:
    def __reduce_ex__(self, protocol: object) -> Any:
        raise RuntimeError("no reduce for you")


class CustomState:
    """Keeps its data out of __dict__ and hands it out only through pickling."""

    __slots__ = ()
    _store: dict[int, list[int]] = {}

    def __reduce__(self) -> Any:
        return (CustomState, (), {"data": self._store.setdefault(id(self), [1])})


class CountingBuffer(bytearray):
    reduce_calls = 0

    def __reduce_ex__(self, protocol: Any) -> Any:
        CountingBuffer.reduce_calls += 1
        return super().__reduce_ex__(protocol)


class Hostile:
    def __getattribute__(self, name: str) -> Any:
        raise RuntimeError(f"no attribute {name} for you")


class HostileList(list[Any]):
    def __getattribute__(self, name: str) -> Any:
        raise RuntimeError(f"no attribute {name} for you")


class BadRepr:
    def __repr__(self) -> str:
        raise ValueError("no repr")


@dataclasses.dataclass(frozen=True)
class FrozenBox:
    content: list[int]


Pair = namedtuple("Pair", ["left", "right"])

leaves = st.one_of(st.integers(), st.text(max_size=3), st.none(), st.floats(allow_nan=False))
structures = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(max_size=3), inner, max_size=4),
        st.tuples(inner, inner),
    ),
    max_leaves=25,
)
containers = st.one_of(st.lists(structures, max_size=3), st.dictionaries(st.text(), structures))


# ---------------------------------------------------------------- the config leak


def test_shallow_config_copy_shares_nested_dicts() -> None:
    user_config = DEFAULT_CONFIG.copy()
    assert paths(shared(user_config, DEFAULT_CONFIG)) == [
        ("['database']", "['database']"),
        ("['features']", "['features']"),
    ]


def test_deep_config_copy_shares_nothing() -> None:
    assert shared(copy.deepcopy(DEFAULT_CONFIG), DEFAULT_CONFIG) == []


def test_partial_deep_copy_reports_only_the_still_shared_level() -> None:
    user_config = {**DEFAULT_CONFIG, "database": dict(DEFAULT_CONFIG["database"])}
    user_config["features"] = list(DEFAULT_CONFIG["features"])
    assert paths(shared(user_config, DEFAULT_CONFIG)) == [
        ("['database']['credentials']", "['database']['credentials']")
    ]


def test_record_holds_the_shared_object() -> None:
    user_config = DEFAULT_CONFIG.copy()
    assert shared(user_config, DEFAULT_CONFIG)[0].obj is DEFAULT_CONFIG["database"]


def test_assert_independent_raises_with_the_shared_paths() -> None:
    user_config = DEFAULT_CONFIG.copy()
    with pytest.raises(AssertionError) as caught:
        assert_independent(user_config, DEFAULT_CONFIG, names=("user_config", "DEFAULT_CONFIG"))
    assert str(caught.value).splitlines() == [
        "user_config and DEFAULT_CONFIG share 2 mutable objects:",
        "  user_config['database'] is DEFAULT_CONFIG['database']  # dict {'credentials': {…},"
        " 'host': 'localhost'}",
        "  user_config['features'] is DEFAULT_CONFIG['features']  # list ['search']",
    ]


def test_assert_independent_passes_after_deepcopy(impl: ModuleType) -> None:
    assert_independent(impl.deepcopy(DEFAULT_CONFIG), DEFAULT_CONFIG)  # raises if not


def test_assert_independent_caps_the_list() -> None:
    inner = [[index] for index in range(25)]
    with pytest.raises(AssertionError, match=r"\n  \.\.\. and 15 more$"):
        assert_independent(inner, list(inner))


def test_assert_independent_respects_limit() -> None:
    inner = [[index] for index in range(5)]
    with pytest.raises(AssertionError) as caught:
        assert_independent(inner, list(inner), limit=2)
    assert str(caught.value).splitlines()[1:] == [
        "  a[0] is b[0]  # list [0]",
        "  a[1] is b[1]  # list [1]",
        "  ... and 3 more",
    ]


# ---------------------------------------------------------------- what counts


def test_tuple_of_lists_shallow_copy_shares_every_list() -> None:
    original = ([1], [2])
    assert paths(shared(original, copy.copy(original))) == [("[0]", "[0]"), ("[1]", "[1]")]


def test_tuple_of_lists_deep_copy_shares_nothing() -> None:
    original = ([1], [2])
    assert shared(original, copy.deepcopy(original)) == []


def test_identical_immutables_are_not_reported() -> None:
    text, number, nothing = "shared string", 10**30, None
    left = [text, number, nothing, b"bytes", (1, 2), frozenset({3}), range(4), 1j]
    right = [text, number, nothing, left[3], left[4], left[5], left[6], left[7]]
    assert shared(left, right) == []


def test_functions_classes_and_modules_are_not_reported() -> None:
    left = [len, Point, copy, paths, datetime.date(2020, 1, 1)]
    assert shared(left, list(left)) == []


def test_root_itself_shared_has_empty_paths() -> None:
    config: dict[str, int] = {}
    assert paths(shared(config, config)) == [("", "")]


def test_only_outermost_shared_object_is_reported() -> None:
    inner: list[int] = [1]
    middle = [inner]
    assert paths(shared([middle], [middle])) == [("[0]", "[0]")]


def test_object_reached_twice_is_reported_on_its_unshared_path_too() -> None:
    inner: list[int] = [1]
    middle = [inner]
    assert paths(shared([middle, inner], [middle])) == [("[0]", "[0]"), ("[1]", "[0][0]")]


def test_paths_may_differ_between_the_two_sides() -> None:
    inner = [1]
    assert paths(shared({"x": inner}, [[inner]])) == [("['x']", "[0][0]")]


def test_frozen_dataclass_is_looked_through() -> None:
    box = FrozenBox([1])
    assert paths(shared(box, copy.copy(box))) == [(".content", ".content")]


def test_namedtuple_fields_read_as_attributes() -> None:
    pair = Pair([1], 2)
    assert paths(shared(pair, copy.copy(pair))) == [(".left", ".left")]


def test_bytearray_counts_as_mutable() -> None:
    buffer = bytearray(b"x")
    assert paths(shared([buffer], [buffer])) == [("[0]", "[0]")]


# ---------------------------------------------------------------- containers and objects


def test_self_referencing_list_shared_with_itself() -> None:
    loop: list[Any] = [1]
    loop.append(loop)
    assert paths(shared(loop, loop)) == [("", "")]


def test_self_referencing_list_independent_of_its_deep_copy() -> None:
    loop: list[Any] = [1]
    loop.append(loop)
    assert shared(loop, copy.deepcopy(loop)) == []


def test_cycle_back_to_the_root_reports_the_root() -> None:
    first, second = Point(0, 0), Point(1, 1)
    vars(first)["partner"], vars(second)["partner"] = second, first
    assert paths(shared(first, copy.copy(first))) == [("", ".partner.partner")]


def test_cycle_between_objects_independent_of_its_deep_copy() -> None:
    first, second = Point(0, 0), Point(1, 1)
    vars(first)["partner"], vars(second)["partner"] = second, first
    assert shared(first, copy.deepcopy(first)) == []


def test_attribute_paths_read_like_python() -> None:
    polygon = Polygon([Point(index, index) for index in range(5)])
    clone = Polygon(list(polygon.points))
    assert paths(shared(polygon, clone))[3] == (".points[3]", ".points[3]")


def test_slots_including_inherited_and_private_are_followed() -> None:
    original = SlottedChild()
    assert paths(shared(original, copy.copy(original))) == [
        (".items", ".items"),
        ("._Slotted__private", "._Slotted__private"),
        (".extra", ".extra"),
    ]


def test_empty_slot_is_skipped() -> None:
    original = Slotted.__new__(Slotted)
    original.items = [1]
    assert paths(shared(original, copy.copy(original))) == [(".items", ".items")]


def test_mutable_dict_key_is_reported_with_keys_notation() -> None:
    key = Point(1, 2)
    original = {key: "value"}
    assert paths(shared(original, dict(original))) == [
        (".keys(){Point(1, 2)}", ".keys(){Point(1, 2)}")
    ]


def test_dict_value_path_shows_key_repr() -> None:
    original = {("a", 1): [1], 2: [2]}
    assert paths(shared(original, dict(original))) == [
        ("[('a', 1)]", "[('a', 1)]"),
        ("[2]", "[2]"),
    ]


def test_set_member_path_uses_braces() -> None:
    member = Point(3, 4)
    original = {"tags": {member}}
    assert paths(shared(original, {"tags": set(original["tags"])})) == [
        ("['tags']{Point(3, 4)}", "['tags']{Point(3, 4)}")
    ]


def test_frozenset_is_looked_through() -> None:
    member = Point(0, 0)
    original = frozenset({member})
    assert paths(shared(original, frozenset(original))) == [("{Point(0, 0)}", "{Point(0, 0)}")]


def test_deque_items_are_indexed() -> None:
    original = deque([[1], [2]])
    assert paths(shared(original, copy.copy(original))) == [("[0]", "[0]"), ("[1]", "[1]")]


def test_ordered_dict_values_are_found() -> None:
    original = OrderedDict(a=[1])
    assert paths(shared(original, copy.copy(original))) == [("['a']", "['a']")]


def test_simple_namespace_attributes_are_found() -> None:
    original = types.SimpleNamespace(items=[1])
    assert paths(shared(original, copy.copy(original))) == [(".items", ".items")]


def test_reduce_state_is_followed_for_custom_pickling() -> None:
    original = CustomState()
    data = CustomState._store.setdefault(id(original), [1])
    assert [record.obj for record in shared([original], [data])] == [data]


def test_reduce_path_reads_as_the_reduce_call() -> None:
    original = functools.partial(print, [1])
    assert (".__reduce_ex__(4)[2][1][0]", ".__reduce_ex__(4)[2][1][0]") in paths(
        shared(original, copy.copy(original))
    )


def test_object_whose_reduce_raises_is_a_leaf() -> None:
    leaf = ExplodingReduce()
    assert paths(shared([leaf], [leaf])) == [("[0]", "[0]")]


def test_buffers_are_not_reduced() -> None:
    buffer = CountingBuffer(b"data")
    shared([buffer], [buffer])
    assert CountingBuffer.reduce_calls == 0


def test_key_whose_repr_raises_gets_a_fallback_name() -> None:
    key = BadRepr()
    path = shared({key: 1}, {key: 2})[0].path_a
    assert re.fullmatch(r"\.keys\(\)\{<BadRepr instance at 0x[0-9a-f]+>\}", path)


def test_hostile_getattribute_object_is_a_leaf() -> None:
    hostile = Hostile()
    assert paths(shared({"h": hostile}, [hostile])) == [("['h']", "[0]")]


def test_hostile_list_subclass_is_still_walked() -> None:
    hostile = HostileList([[1]])
    assert paths(shared(hostile, list.copy(hostile))) == [("[0]", "[0]")]


def test_array_is_mutable_leaf() -> None:
    numbers = array.array("i", [1, 2])
    assert paths(shared({"a": numbers}, {"b": numbers})) == [("['a']", "['b']")]


def test_bound_method_looks_through_to_its_instance() -> None:
    point = Point(0, 0)
    assert paths(shared([point.__repr__], [point])) == [("[0].__self__", "[0]")]


def test_deep_nesting_needs_no_recursion() -> None:
    nested: list[Any] = []
    for _ in range(100_000):
        nested = [nested]
    assert paths(shared(nested, [nested])) == [("", "[0]")]


# ---------------------------------------------------------------- properties


@given(structures)
def test_deep_copy_never_shares(value: object) -> None:
    assert shared(value, copy.deepcopy(value)) == []


@given(st.lists(containers, max_size=5))
def test_shallow_list_copy_shares_exactly_its_items(items: list[object]) -> None:
    expected = [(f"[{index}]", f"[{index}]") for index in range(len(items))]
    assert paths(shared(items, copy.copy(items))) == expected


@given(structures, structures)
def test_paths_evaluate_to_the_shared_object(left: object, right: object) -> None:
    inner: list[object] = [left]
    a, b = [left, {"k": inner}], ({"x": [inner]}, right)
    found = shared(a, b)
    assert all(
        eval(f"a{record.path_a}", {"a": a}) is record.obj
        and eval(f"b{record.path_b}", {"b": b}) is record.obj
        for record in found
    ) and any(record.obj is inner for record in found)


# ---------------------------------------------------------------- the record


def test_record_str_reads_as_identity() -> None:
    record = SharedObject("['db']", "['db']", {"user": "admin"})
    assert str(record) == "a['db'] is b['db']  # dict {'user': 'admin'}"


def test_record_describe_uses_given_names() -> None:
    record = SharedObject(".items", "[0]", [1])
    assert record.describe("left", "right") == "left.items is right[0]  # list [1]"


def test_records_of_unhashable_objects_are_hashable() -> None:
    record = SharedObject("[0]", "[0]", [1])
    assert {record} == {SharedObject("[0]", "[0]", [2])}


def test_record_is_frozen() -> None:
    record = SharedObject("[0]", "[0]", [1])
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.path_a = "[1]"  # type: ignore[misc]


def test_long_repr_is_shortened_in_paths() -> None:
    key = Point(10**60, 0)
    original = {key: 1}
    path_a = shared(original, dict(original))[0].path_a
    assert "…" in path_a and len(path_a) < 60


# ---------------------------------------------------------------- frozendict (CPython 3.15+)

# builtins.frozendict is new in 3.15: immutable and hashable when its values are, but it may
# hold mutable values, and it is not a dict subclass.
FROZENDICT: Any = getattr(builtins, "frozendict", None)
needs_frozendict = pytest.mark.skipif(
    not hasattr(builtins, "frozendict"), reason="builtins.frozendict is new in CPython 3.15"
)


def frozendict_subclasses() -> tuple[type, type]:
    """A frozendict subclass whose instances have a __dict__, and one with no slots at all."""
    with_dict = type("WithDict", (FROZENDICT,), {})
    slotted = type("Slotted", (FROZENDICT,), {"__slots__": ()})
    return with_dict, slotted


@needs_frozendict
def test_frozendict_values_are_looked_through() -> None:
    inner = [1]
    left, right = FROZENDICT(a=inner, b=2), FROZENDICT(a=inner, b=2)
    assert paths(shared(left, right)) == [("['a']", "['a']")]


@needs_frozendict
def test_frozendict_itself_is_never_reported() -> None:
    frozen = FROZENDICT(x=1, y=(2, "three"))
    assert shared([frozen], [frozen]) == []


@needs_frozendict
def test_shared_frozendict_reports_its_mutable_values_by_key() -> None:
    frozen = FROZENDICT(hosts=["a"], port=80, nested=(1, {"deep": True}))
    assert paths(shared({"x": frozen}, {"y": frozen})) == [
        ("['x']['hosts']", "['y']['hosts']"),
        ("['x']['nested'][1]", "['y']['nested'][1]"),
    ]


@needs_frozendict
def test_frozendict_deep_copy_shares_nothing() -> None:
    frozen = FROZENDICT(hosts=["a"], nested=FROZENDICT(inner={"deep": [1]}))
    assert shared(frozen, copy.deepcopy(frozen)) == []


@needs_frozendict
def test_mutable_key_object_inside_frozendict_key_uses_keys_notation() -> None:
    key = FROZENDICT(point=Point(1, 2))
    assert paths(shared({key: 1}, {key: 2})) == [
        (".keys(){frozendict({'point': Point(1, 2)})}['point']",) * 2
    ]


@needs_frozendict
def test_frozendict_as_dict_key_shows_in_the_value_path() -> None:
    original = {FROZENDICT(a=1): [1]}
    assert paths(shared(original, dict(original))) == [("[frozendict({'a': 1})]",) * 2]


@needs_frozendict
def test_mutable_frozendict_key_is_reported_with_keys_notation() -> None:
    key = Point(3, 4)
    frozen = FROZENDICT({key: "value"})
    assert paths(shared(frozen, FROZENDICT(dict(frozen)))) == [(".keys(){Point(3, 4)}",) * 2]


@needs_frozendict
def test_frozendict_subclass_without_dict_is_looked_through() -> None:
    _, slotted = frozendict_subclasses()
    frozen = slotted(items=[1])
    assert paths(shared([frozen], [frozen])) == [("[0]['items']", "[0]['items']")]


@needs_frozendict
def test_frozendict_subclass_with_dict_counts_as_mutable() -> None:
    with_dict, _ = frozendict_subclasses()
    frozen = with_dict(items=[1])
    assert paths(shared([frozen], [frozen])) == [("[0]", "[0]")]


@needs_frozendict
def test_frozendict_subclass_with_dict_shows_items_and_attributes() -> None:
    with_dict, _ = frozendict_subclasses()
    frozen = with_dict(items=[1])
    frozen.extra = [2]
    clone = with_dict(frozen)
    clone.extra = frozen.extra
    assert paths(shared(frozen, clone)) == [("['items']", "['items']"), (".extra", ".extra")]


@needs_frozendict
def test_frozendict_repr_in_paths_is_shortened_like_a_dict() -> None:
    assert short_repr(FROZENDICT({index: index for index in range(10)})) == (
        "frozendict({0: 0, 1: 1, 2: 2, 3: 3, …})"
    )


@needs_frozendict
def test_assert_independent_names_the_list_inside_a_frozendict() -> None:
    config = {"limits": FROZENDICT(hosts=["a"], retries=3)}
    with pytest.raises(AssertionError) as caught:
        assert_independent(dict(config), config, names=("mine", "DEFAULTS"))
    assert str(caught.value).splitlines() == [
        "mine and DEFAULTS share 1 mutable object:",
        "  mine['limits']['hosts'] is DEFAULTS['limits']['hosts']  # list ['a']",
    ]


@needs_frozendict
def test_command_line_looks_through_frozendict(capsys: pytest.CaptureFixture[str]) -> None:
    snippet = "a = frozendict(x=[1], y=2); b = frozendict(dict(a)); c = copy.deepcopy(a)"
    main(["shared", snippet])
    assert capsys.readouterr().out.splitlines() == [
        "a and b share 1 mutable object:",
        "  a['x'] is b['x']  # list [1]",
        "a and c are independent: no mutable object is shared.",
        "b and c are independent: no mutable object is shared.",
    ]


frozen_structures = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.text(max_size=3), inner, max_size=3),
        st.dictionaries(st.text(max_size=3), inner, max_size=3).map(
            lambda items: FROZENDICT(items)
        ),
    ),
    max_leaves=20,
)


@needs_frozendict
@given(frozen_structures)
def test_deep_copy_of_frozendicts_never_shares(value: object) -> None:
    assert shared(value, copy.deepcopy(value)) == []


@needs_frozendict
@given(st.dictionaries(st.text(max_size=3), containers, max_size=4))
def test_frozendict_rebuilt_shares_exactly_its_values(items: dict[str, object]) -> None:
    frozen = FROZENDICT(items)
    expected = [(f"[{key!r}]", f"[{key!r}]") for key in items]
    assert paths(shared(frozen, FROZENDICT(dict(frozen)))) == expected
