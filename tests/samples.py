"""Objects of every kind the copy module treats specially, built fresh by name.

``ATOMS`` are returned unchanged by stdlib's deepcopy (and copy); ``VALUES`` covers
containers, subclasses of builtins, classes with state and stdlib value types. Each entry
is a zero-argument factory so that every test (and each side of a comparison) can build its
own instance.
"""

from __future__ import annotations

import array
import builtins
import collections
import contextvars
import dataclasses
import datetime
import decimal
import enum
import fractions
import functools
import io
import ipaddress
import itertools
import logging
import operator
import pathlib
import re
import string
import sys
import threading
import time
import types
import typing
import uuid
import weakref
from collections.abc import Callable
from typing import Any, NamedTuple

Factory = Callable[[], Any]


def module_function(value: int) -> int:
    return value + 1


class Meta(type):
    """A metaclass: its instances are classes, which copy treats as atoms."""


class WithMeta(metaclass=Meta):
    pass


class Plain:
    def __init__(self, value: object = None) -> None:
        self.value = value

    def method(self) -> object:
        return self.value


class Slotted:
    __slots__ = ("left", "right")

    def __init__(self, left: object, right: object) -> None:
        self.left = left
        self.right = right


class SlottedChild(Slotted):
    __slots__ = ("extra", "__private")

    def __init__(self, left: object, right: object, extra: object) -> None:
        super().__init__(left, right)
        self.extra = extra
        self.__private = [left]


class SlotsAndDict(Slotted):
    """Inherits slots and, having no __slots__ of its own, also has a __dict__."""

    def __init__(self, left: object, right: object) -> None:
        super().__init__(left, right)
        self.in_dict = [right]


class PartlySlotted:
    __slots__ = ("set_slot", "unset_slot", "__weakref__")

    def __init__(self) -> None:
        self.set_slot = [1]


class ListSubclass(list):  # type: ignore[type-arg]
    pass


class ListSubclassWithAttrs(list):  # type: ignore[type-arg]
    def __init__(self, items: object = ()) -> None:
        super().__init__(items)  # type: ignore[call-overload]
        self.label = ["label"]


class DictSubclass(dict):  # type: ignore[type-arg]
    pass


class DictSubclassWithAttrs(dict):  # type: ignore[type-arg]
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.label = ["label"]


class IntSubclass(int):
    pass


class IntSubclassWithAttrs(int):
    label: list[str]

    def __new__(cls, value: int) -> IntSubclassWithAttrs:
        self = super().__new__(cls, value)
        self.label = ["label"]
        return self


class StrSubclass(str):
    pass


class StrSubclassWithAttrs(str):
    label: list[str]

    def __new__(cls, value: str) -> StrSubclassWithAttrs:
        self = super().__new__(cls, value)
        self.label = ["label"]
        return self


class TupleSubclass(tuple):  # type: ignore[type-arg]
    pass


class SetSubclass(set):  # type: ignore[type-arg]
    pass


class FrozensetSubclass(frozenset):  # type: ignore[type-arg]
    pass


class BytearraySubclass(bytearray):
    pass


class FloatSubclass(float):
    pass


@dataclasses.dataclass
class Point:
    x: object
    y: object


@dataclasses.dataclass(frozen=True)
class FrozenPoint:
    x: object
    y: object


@dataclasses.dataclass(slots=True)
class SlotPoint:
    x: object
    y: object


class Pair(NamedTuple):
    first: object
    second: object


CollectionsPair = collections.namedtuple("CollectionsPair", "first second")


class Color(enum.Enum):
    RED = 1
    GREEN = [2]


class Permission(enum.IntFlag):
    READ = 4
    WRITE = 2


class CustomError(Exception):
    def __init__(self, message: str, payload: object) -> None:
        super().__init__(message, payload)
        self.payload = payload


class WeakHolder:
    """Holds a weak reference to another object and a strong one to it."""

    def __init__(self) -> None:
        self.target = Plain([1])
        self.ref = weakref.ref(self.target)


class Referee:
    pass


def code_object() -> types.CodeType:
    return module_function.__code__


def recursive_list() -> list[object]:
    items: list[object] = [1]
    items.append(items)
    return items


def recursive_dict() -> dict[str, object]:
    mapping: dict[str, object] = {"a": [1]}
    mapping["self"] = mapping
    return mapping


def tuple_through_list() -> tuple[object, ...]:
    inner: list[object] = []
    outer = (inner, 1)
    inner.append(outer)
    return outer


def self_referring_instance() -> Plain:
    node = Plain()
    node.value = {"me": node, "list": [node]}
    return node


def shared_children() -> list[object]:
    shared = [1, [2]]
    return [shared, (shared,), {"k": shared}, Plain(shared)]


def weak_key_dictionary() -> weakref.WeakKeyDictionary[Any, Any]:
    referee = Referee()
    table: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
    table[referee] = [1]
    table.keep = referee  # type: ignore[attr-defined]
    return table


ATOMS: dict[str, Factory] = {
    "None": lambda: None,
    "int": lambda: 10**30,
    "float": lambda: 1.5,
    "nan": lambda: float("nan"),
    "bool": lambda: True,
    "complex": lambda: 1 + 2j,
    "str": lambda: "text" * 3,
    "bytes": lambda: b"bytes" * 3,
    "code": code_object,
    "class": lambda: Plain,
    "builtin class": lambda: int,
    "metaclass": lambda: Meta,
    "class with metaclass": lambda: WithMeta,
    "range": lambda: range(3, 30, 3),
    "builtin function": lambda: len,
    "function": lambda: module_function,
    "lambda": lambda: lambda: 1,
    "weakref.ref": lambda: weakref.ref(Plain),
    "property": lambda: property(Plain.method),
    "Ellipsis": lambda: Ellipsis,
    "NotImplemented": lambda: NotImplemented,
}

# Returned unchanged by copy() (not by deepcopy unless their contents are atoms).
SHALLOW_IMMUTABLES: dict[str, Factory] = {
    "tuple": lambda: (1, [2]),
    "empty tuple": lambda: (),
    "frozenset": lambda: frozenset({1, (2, 3)}),
    "slice": lambda: slice(1, [2], 3),
}

VALUES: dict[str, Factory] = {
    "list": lambda: [1, [2], {"a": [3]}],
    "empty list": lambda: [],
    "dict": lambda: {"a": [1], 2: (3, [4]), (5, 6): "b"},
    "set": lambda: {1, "a", (2, 3), frozenset({4})},
    "frozenset of tuples": lambda: frozenset({(1, 2), ("a", frozenset())}),
    "bytearray": lambda: bytearray(b"abc"),
    "tuple of atoms": lambda: (1, "a", None, (2.5, b"b")),
    "tuple holding a list": lambda: (1, [2], "a"),
    "nested tuples holding a list": lambda: ((1, ([2],)), 3),
    "slice holding a list": lambda: slice(1, [2], 3),
    "list subclass": lambda: ListSubclass([1, [2]]),
    "list subclass with attrs": lambda: ListSubclassWithAttrs([1, [2]]),
    "dict subclass": lambda: DictSubclass(a=[1]),
    "dict subclass with attrs": lambda: DictSubclassWithAttrs(a=[1]),
    "int subclass": lambda: IntSubclass(7),
    "int subclass with attrs": lambda: IntSubclassWithAttrs(7),
    "str subclass": lambda: StrSubclass("s"),
    "str subclass with attrs": lambda: StrSubclassWithAttrs("s"),
    "tuple subclass": lambda: TupleSubclass((1, [2])),
    "set subclass": lambda: SetSubclass({1, 2}),
    "frozenset subclass": lambda: FrozensetSubclass({1, 2}),
    "bytearray subclass": lambda: BytearraySubclass(b"xy"),
    "float subclass nan": lambda: FloatSubclass("nan"),
    "bound method": lambda: Plain([1]).method,
    "builtin bound method": lambda: [1, 2].append,
    "plain instance": lambda: Plain([1, {"a": 2}]),
    "slotted instance": lambda: Slotted([1], (2, [3])),
    "inherited slots": lambda: SlottedChild([1], [2], [3]),
    "slots and dict": lambda: SlotsAndDict([1], [2]),
    "unset slot": lambda: PartlySlotted(),
    "dataclass": lambda: Point([1], {"y": 2}),
    "frozen dataclass": lambda: FrozenPoint([1], 2),
    "slots dataclass": lambda: SlotPoint([1], 2),
    "typing namedtuple": lambda: Pair([1], 2),
    "collections namedtuple": lambda: CollectionsPair(1, [2]),
    "enum member": lambda: Color.GREEN,
    "int flag": lambda: Permission.READ | Permission.WRITE,
    "OrderedDict": lambda: collections.OrderedDict([("b", [1]), ("a", 2)]),
    "defaultdict": lambda: collections.defaultdict(list, {"a": [1]}),
    "deque": lambda: collections.deque([1, [2], 3], maxlen=5),
    "Counter": lambda: collections.Counter("abracadabra"),
    "ChainMap": lambda: collections.ChainMap({"a": [1]}, {"b": 2}),
    "datetime": lambda: datetime.datetime(2024, 2, 29, 12, 30, tzinfo=datetime.timezone.utc),
    "date": lambda: datetime.date(2024, 1, 1),
    "timedelta": lambda: datetime.timedelta(days=1, seconds=5),
    "Decimal": lambda: decimal.Decimal("3.14159"),
    "Decimal NaN": lambda: decimal.Decimal("NaN"),
    "Fraction": lambda: fractions.Fraction(3, 7),
    "UUID": lambda: uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "array": lambda: array.array("i", [1, 2, 3]),
    "re.Pattern": lambda: re.compile(r"a+b", re.IGNORECASE),
    # A mutable argument for the copy to share; the partial is never called.
    "partial": lambda: functools.partial(module_function, [1]),  # type: ignore[arg-type]
    "partial with keywords": lambda: functools.partial(dict, a=[1]),
    "SimpleNamespace": lambda: types.SimpleNamespace(a=[1], b=2),
    "exception": lambda: ValueError("bad", [1]),
    "custom exception": lambda: CustomError("bad", [1]),
    "weakref holder": WeakHolder,
    "WeakKeyDictionary": weak_key_dictionary,
    "recursive list": recursive_list,
    "recursive dict": recursive_dict,
    "tuple through list": tuple_through_list,
    "self-referring instance": self_referring_instance,
    "shared children": shared_children,
}

# 3.15's built-in frozendict: copy() returns it, deepcopy builds a new one every time.
FROZENDICT: Any = getattr(builtins, "frozendict", None)
if FROZENDICT is not None:

    class FrozendictSubclass(FROZENDICT):  # type: ignore[misc]
        pass

    def frozendict_in_its_own_list() -> Any:
        """frozendict -> list -> the same frozendict: the copy closes the cycle."""
        inner: list[object] = []
        outer = FROZENDICT(items=inner, n=1)
        inner.append(outer)
        return outer

    SHALLOW_IMMUTABLES["frozendict"] = lambda: FROZENDICT(a=[1], b=2)
    VALUES.update(
        {
            "frozendict of atoms": lambda: FROZENDICT(a=1, b="x"),
            "empty frozendict": lambda: FROZENDICT(),
            "frozendict holding a list": lambda: FROZENDICT({"a": [1], (2, 3): {"b": 4}}),
            "frozendict keyed by a tuple": lambda: FROZENDICT({(1, 2): 3}),
            "frozendict subclass": lambda: FrozendictSubclass(a=[1]),
            "frozendict in its own list": frozendict_in_its_own_list,
            "list sharing a frozendict": lambda: [FROZENDICT(a=[1])] * 2,
        }
    )


def generator() -> Any:
    yield 1


class WeakTarget:
    def __init__(self) -> None:
        self.items = [1]

    def method(self) -> None:
        pass


# Kept alive for the weak references below.
WEAK_TARGET = WeakTarget()

# Other stdlib objects, copyable or not: each must copy, or fail, exactly as the stdlib.
MORE_STDLIB: dict[str, Factory] = {
    "object()": object,
    "memoryview": lambda: memoryview(b"abc"),
    "generator": generator,
    "threading.Lock": lambda: threading.Lock(),
    "module": lambda: types,
    "frame": lambda: sys._getframe(),
    "list iterator": lambda: iter([1, [2], 3]),
    "partly consumed iterator": lambda: _advanced(iter([1, [2], 3])),
    "dict keys view": lambda: {"a": 1}.keys(),
    "dict items iterator": lambda: iter({"a": [1]}.items()),
    "enumerate": lambda: enumerate([[1], 2]),
    "map": lambda: map(str, [1, 2]),
    "zip": lambda: zip([1], [[2]], strict=False),
    "reversed": lambda: reversed([1, [2]]),
    "range iterator": lambda: iter(range(5)),
    "mappingproxy": lambda: types.MappingProxyType({"a": 1}),
    "staticmethod": lambda: staticmethod(module_function),
    "classmethod": lambda: classmethod(module_function),  # type: ignore[arg-type]  # never bound
    "GenericAlias": lambda: list[int],
    "typing alias": lambda: typing.List[int],  # noqa: UP006 - the typing alias on purpose
    "typing Union": lambda: typing.Optional[int],  # noqa: UP045 - on purpose
    "struct_time": lambda: time.gmtime(0),
    "BytesIO": lambda: io.BytesIO(b"abc"),
    "StringIO": lambda: io.StringIO("abc"),
    "PurePosixPath": lambda: pathlib.PurePosixPath("/a/b"),
    "ip_address": lambda: ipaddress.ip_address("192.0.2.1"),
    "decimal Context": lambda: decimal.Context(prec=5),
    "UserDict": lambda: collections.UserDict({"a": [1]}),
    "UserList": lambda: collections.UserList([[1], 2]),
    "string Template": lambda: string.Template("$a"),
    "Logger": lambda: logging.getLogger("copykit.tests"),
    "lru_cache function": lambda: _cached,  # type: ignore[has-type]  # decorated, defined below
    "itemgetter": lambda: operator.itemgetter(1, "a"),
    "attrgetter": lambda: operator.attrgetter("a.b"),
    "methodcaller": lambda: operator.methodcaller("count", [1]),
    "WeakValueDictionary": lambda: weakref.WeakValueDictionary({"a": WEAK_TARGET}),
    "WeakSet": lambda: weakref.WeakSet([WEAK_TARGET]),
    "weakref proxy": lambda: weakref.proxy(WEAK_TARGET),
    "WeakMethod": lambda: weakref.WeakMethod(WEAK_TARGET.method),
    "re.Match": lambda: re.match(r"a(b)", "ab"),
    "method-wrapper": lambda: [1, [2]].__add__,
    "slot wrapper": lambda: list.__add__,
    "method descriptor": lambda: list.append,
    "complex subclass": lambda: ComplexSubclass(1, 2),
    "bytes subclass": lambda: BytesSubclass(b"ab"),
    "itertools.count": lambda: itertools.count(3),
    "ContextVar": lambda: contextvars.ContextVar("copykit_test"),
    "cached_property": lambda: functools.cached_property(module_function),
}


class ComplexSubclass(complex):
    pass


class BytesSubclass(bytes):
    pass


@functools.lru_cache
def _cached(value: int) -> int:
    return value


def _advanced(iterator: Any) -> Any:
    next(iterator)
    return iterator
