"""The 3.10-3.12 half of ``replace``: what 3.13's stdlib classes gained as ``__replace__``.

Imported by ``copykit._replace`` on the first ``replace`` call that needs it, so that
``import copykit`` does not pay for datetime, functools and friends.
"""

from __future__ import annotations

import collections
import datetime
import operator
import struct
import sys
import types
from collections.abc import Callable, Mapping
from functools import cache, partial
from typing import Any, Final

Replacer = Callable[..., Any]
"""A ``__replace__``-like callable: ``replacer(obj, **changes)`` returns the new object."""


def find_replacer(cls: Any) -> Replacer | None:
    """What 3.13 would find as ``cls.__replace__``, or None.

    Walks the method resolution order: a class that defines ``__replace__`` ends the
    walk (the ordinary attribute lookup takes over); a stdlib class that gained
    ``__replace__`` in 3.13 yields its emulation. A data descriptor on the metaclass
    comes before them all, as in any class attribute lookup.
    """
    if isinstance(cls, type) and not _metaclass_has_data_descriptor(cls):
        for klass in cls.__mro__:
            namespace = vars(klass)
            if "__replace__" in namespace:
                break
            replacer = _stdlib_replacer(klass, namespace)
            if replacer is not None:
                return replacer
    func: Replacer | None = getattr(cls, "__replace__", None)
    return func


def _metaclass_has_data_descriptor(cls: type) -> bool:
    """Whether ``type(cls)`` has a ``__replace__`` data descriptor, which shadows the classes."""
    metaclass: type = type(cls)
    for meta in metaclass.__mro__:
        if "__replace__" in vars(meta):
            kind = type(vars(meta)["__replace__"])
            return hasattr(kind, "__get__") and (
                hasattr(kind, "__set__") or hasattr(kind, "__delete__")
            )
    return False


def _stdlib_replacer(klass: type, namespace: Mapping[str, Any]) -> Replacer | None:
    """The emulated 3.13 ``__replace__`` that *klass* defines itself, or None."""
    # Identity only: hashing or comparing a class could run its metaclass's code.
    for owner, replacer in _C_METHOD_REPLACERS:
        if klass is owner:
            return partial(_call_as_c_method, owner, replacer)
    if _is_struct_sequence(klass, namespace):
        return partial(_call_as_c_method, klass, _replace_struct_sequence)
    if _is_namedtuple_class(namespace):
        return partial(_replace_namedtuple, namespace["_fields"])
    if "__dataclass_fields__" in namespace and "__dataclass_params__" in namespace:
        return _replace_dataclass
    return _inspect_replacer(klass)


def _call_as_c_method(owner: type, replacer: Replacer, obj: Any, /, **changes: Any) -> Any:
    """``replacer(obj, **changes)``, refused as 3.13's C method of *owner* refuses strangers.

    The method descriptor checks the real type, so an object that only claims to be an
    *owner* through ``__class__`` (``unittest.mock.Mock(spec=date)``) is refused.
    """
    if not issubclass(type(obj), owner):
        raise TypeError(
            f"descriptor '__replace__' for '{_type_name(owner)}' objects "
            f"doesn't apply to a '{_object_type_name(obj)}' object"
        )
    return replacer(obj, **changes)


def _type_name(cls: type) -> str:
    """The ``tp_name`` of a C type: dotted with its module, unless that is builtins."""
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


_TPFLAGS_HEAPTYPE: Final = 1 << 9


def _object_type_name(obj: Any) -> str:
    """The ``tp_name`` of ``type(obj)``: a class statement's is its bare ``__name__``."""
    cls = type(obj)
    return cls.__name__ if cls.__flags__ & _TPFLAGS_HEAPTYPE else _type_name(cls)


# --- clinic-style keyword checks ------------------------------------------------------------
#
# 3.13's C methods parse their keywords with Argument Clinic, whose wording changed in 3.13
# ("got an unexpected keyword argument" instead of "is an invalid keyword argument for").


def _check_keywords(
    function_name: str, parameters: tuple[str, ...], changes: Mapping[str, Any]
) -> None:
    """Raise TypeError as 3.13's Argument Clinic does for keywords outside *parameters*."""
    if len(changes) > len(parameters):
        raise TypeError(
            f"{function_name}() takes at most {len(parameters)} keyword arguments "
            f"({len(changes)} given)"
        )
    for name in changes:
        if name not in parameters:
            raise TypeError(f"{function_name}() got an unexpected keyword argument '{name}'")


_C_INT_MAX: Final = 2 ** (8 * struct.calcsize("i") - 1) - 1
_C_INT_MIN: Final = -_C_INT_MAX - 1


def _as_c_int(value: Any) -> int:
    """*value* converted as a clinic ``int`` parameter converts it, with the same errors."""
    number = operator.index(value)
    if not _C_INT_MIN <= number <= _C_INT_MAX:
        raise OverflowError("Python int too large to convert to C int")
    return number


# --- datetime: date, time, datetime ---------------------------------------------------------

_DATE_FIELDS: Final = ("year", "month", "day")
_TIME_FIELDS: Final = ("hour", "minute", "second", "microsecond", "tzinfo", "fold")
_DATETIME_PARAMETERS: Final[Mapping[type, tuple[str, ...]]] = {
    datetime.date: _DATE_FIELDS,
    datetime.time: _TIME_FIELDS,
    datetime.datetime: _DATE_FIELDS + _TIME_FIELDS,
}


def _replace_datetime(base: type, obj: Any, /, **changes: Any) -> Any:
    """3.13's ``date/time/datetime.__replace__``: build ``type(obj)`` from the new fields.

    Unlike ``replace()`` on 3.10-3.12, 3.13 calls a subclass's constructor with the fields as
    positional arguments (``fold`` as a keyword, only when it is not 0), leaving the range
    checks to the constructor.
    """
    parameters = _DATETIME_PARAMETERS[base]
    _check_keywords("replace", parameters, changes)
    arguments = [_datetime_argument(base, obj, name, changes) for name in parameters]
    fold = arguments.pop() if parameters[-1] == "fold" else 0
    cls = type(obj)
    return cls(*arguments, fold=fold) if fold else cls(*arguments)


def _datetime_argument(base: type, obj: Any, name: str, changes: Mapping[str, Any]) -> Any:
    """The new value of field *name*: converted from *changes*, else read from *obj*."""
    if name not in changes:
        # The base class's descriptor reads the stored field, as the C code does,
        # whatever a subclass makes of the attribute.
        return getattr(base, name).__get__(obj, base)
    value = changes[name]
    return value if name == "tzinfo" else _as_c_int(value)


# --- types.SimpleNamespace ------------------------------------------------------------------

_NAMESPACE_DICT: Final[Any] = vars(types.SimpleNamespace)["__dict__"]


def _replace_namespace(obj: Any, /, **changes: Any) -> Any:
    """3.13's ``SimpleNamespace.__replace__``: ``type(obj)()`` with the attributes updated.

    The attributes go straight into the new namespace's dictionary, as in C: a subclass's
    ``__setattr__`` is not called.
    """
    result = type(obj)()
    attributes = _NAMESPACE_DICT.__get__(result)
    attributes.update(_NAMESPACE_DICT.__get__(obj))
    attributes.update(changes)
    return result


# --- code objects ---------------------------------------------------------------------------

_CODE_PARAMETERS: Final = (
    "co_argcount",
    "co_posonlyargcount",
    "co_kwonlyargcount",
    "co_nlocals",
    "co_stacksize",
    "co_flags",
    "co_firstlineno",
    "co_code",
    "co_consts",
    "co_names",
    "co_varnames",
    "co_freevars",
    "co_cellvars",
    "co_filename",
    "co_name",
    "co_linetable",
) + (("co_qualname", "co_exceptiontable") if sys.version_info >= (3, 11) else ())


def _replace_code(obj: Any, /, **changes: Any) -> Any:
    """3.13's ``code.__replace__``: ``code.replace()`` with 3.13's keyword errors."""
    _check_keywords("replace", _CODE_PARAMETERS, changes)
    return types.CodeType.replace(obj, **changes)


_C_METHOD_REPLACERS: Final[tuple[tuple[type, Replacer], ...]] = (
    *((base, partial(_replace_datetime, base)) for base in _DATETIME_PARAMETERS),
    (types.SimpleNamespace, _replace_namespace),
    (types.CodeType, _replace_code),
)


# --- inspect.Signature, inspect.Parameter ---------------------------------------------------


def _inspect_replacer(klass: type) -> Replacer | None:
    """``klass.replace`` if *klass* is ``inspect.Signature`` or ``inspect.Parameter``.

    3.13 makes ``__replace__`` an alias of ``replace`` in these two classes (the function is
    the same on 3.10-3.12). The base method is used even when a subclass overrides ``replace``.
    Only an imported ``inspect`` can have made instances, so it is looked up, never imported.
    """
    inspect = sys.modules.get("inspect")
    if inspect is None or (klass is not inspect.Signature and klass is not inspect.Parameter):
        return None
    method: Replacer = vars(klass)["replace"]
    return method


# --- named tuples ---------------------------------------------------------------------------

# Every class made by collections.namedtuple() gets fresh functions built from the same code
# objects: sharing one of them marks the class as made by the factory.
_NAMEDTUPLE_CODE: Final = {
    name: getattr(collections.namedtuple("_Reference", ()), name).__code__
    for name in ("_replace", "_asdict", "__getnewargs__", "__repr__")
}


def _is_namedtuple_class(namespace: Mapping[str, Any]) -> bool:
    """Whether the class with this namespace was made by ``collections.namedtuple()``."""
    return "_fields" in namespace and any(
        getattr(namespace.get(name), "__code__", None) is code
        for name, code in _NAMEDTUPLE_CODE.items()
    )


def _replace_namedtuple(field_names: tuple[str, ...], obj: Any, /, **changes: Any) -> Any:
    """3.13's named tuple ``__replace__`` (its ``_replace``, raising TypeError, not ValueError)."""
    result = obj._make(map(changes.pop, field_names, obj))
    if changes:
        raise TypeError(f"Got unexpected field names: {list(changes)!r}")
    return result


# --- dataclasses ----------------------------------------------------------------------------


def _replace_dataclass(obj: Any, /, **changes: Any) -> Any:
    """3.13's dataclass ``__replace__``: ``dataclasses.replace()`` raising TypeError.

    3.10-3.12's ``dataclasses.replace()`` raises ValueError for init=False fields and for
    missing InitVars, and checks that *obj* is a dataclass instance; 3.13's ``__replace__``
    raises TypeError and does not check.
    """
    return obj.__class__(**_dataclass_init_arguments(obj, changes))


def _dataclass_init_arguments(obj: Any, changes: dict[str, Any]) -> dict[str, Any]:
    """*changes* completed with the current values of the other ``__init__`` fields."""
    import dataclasses  # already imported: obj is a dataclass instance

    kinds = vars(dataclasses)
    for field in obj.__dataclass_fields__.values():
        if field._field_type is kinds["_FIELD_CLASSVAR"]:
            continue
        if not field.init:
            if field.name in changes:
                raise TypeError(
                    f"field {field.name} is declared with init=False, "
                    "it cannot be specified with replace()"
                )
            continue
        if field.name not in changes:
            if (
                field._field_type is kinds["_FIELD_INITVAR"]
                and field.default is dataclasses.MISSING
            ):
                raise TypeError(f"InitVar {field.name!r} must be specified with replace()")
            changes[field.name] = getattr(obj, field.name)
    return changes


# --- struct sequences -----------------------------------------------------------------------

_TPFLAGS_DISALLOW_INSTANTIATION: Final = 1 << 7


def _is_struct_sequence(klass: type, namespace: Mapping[str, Any]) -> bool:
    """Whether *klass* is a struct sequence type (``PyStructSequence``).

    They are the tuple subclasses that carry their field counts; a Python subclass of tuple
    could imitate the counts but not the member descriptors, so those are required as well.
    """
    return (
        len(klass.__bases__) == 1
        and klass.__bases__[0] is tuple
        and all(
            isinstance(namespace.get(count), int)
            for count in ("n_fields", "n_sequence_fields", "n_unnamed_fields")
        )
        and len(_struct_sequence_fields(namespace))
        == namespace["n_fields"] - namespace["n_unnamed_fields"]
    )


def _struct_sequence_fields(namespace: Mapping[str, Any]) -> list[str]:
    """The named fields, visible then invisible, in index order.

    The type's dictionary holds one member descriptor per named field, inserted in field order.
    """
    return [
        name for name, value in namespace.items() if isinstance(value, types.MemberDescriptorType)
    ]


def _replace_struct_sequence(obj: Any, /, **changes: Any) -> Any:
    """3.13's struct sequence ``__replace__``; types with unnamed fields refuse it."""
    cls = type(obj)
    namespace = vars(cls)
    if namespace["n_unnamed_fields"] > 0:
        raise TypeError(
            f"__replace__() is not supported for {_type_name(cls)} because it has unnamed field(s)"
        )
    values = [
        changes.pop(name) if name in changes else namespace[name].__get__(obj, cls)
        for name in _struct_sequence_fields(namespace)
    ]
    if changes:
        raise TypeError(f"Got unexpected field name(s): {list(changes)!r}")
    return _new_struct_sequence(cls, values)


def _new_struct_sequence(cls: type, values: list[Any]) -> Any:
    """A new *cls* holding *values*, every field in index order.

    The constructor accepts the invisible fields after the visible ones. Some types forbid
    instantiation from Python (``sys.flags``, ``sys.version_info``); 3.13 builds them in C with
    ``PyStructSequence_New``, and so does this function, through ctypes.
    """
    if not cls.__flags__ & _TPFLAGS_DISALLOW_INSTANTIATION:
        return cls(values)
    return _new_struct_sequence_in_c(cls, values)


def _new_struct_sequence_in_c(cls: type, values: list[Any]) -> Any:
    """``PyStructSequence_New(cls)`` filled with *values* by ``PyStructSequence_SetItem``.

    Without ctypes, the constructor is called to raise its TypeError ("cannot create ...").
    """
    try:
        new, set_item, incref = _struct_sequence_api()
    except ImportError:
        return cls(values)
    result = new(cls)
    for index, value in enumerate(values):
        incref(value)  # PyStructSequence_SetItem steals a reference
        set_item(result, index, value)
    return result


@cache
def _struct_sequence_api() -> tuple[Replacer, Replacer, Replacer]:
    """Private ctypes prototypes (the GIL held) of the three C API functions needed.

    Private so that they never disturb the ``argtypes`` of ``ctypes.pythonapi``'s shared ones.
    """
    import ctypes

    def bind(name: str, restype: Any, *argtypes: Any) -> Replacer:
        prototype = ctypes.PYFUNCTYPE(restype, *argtypes)
        function: Replacer = prototype((name, ctypes.pythonapi))
        return function

    return (
        bind("PyStructSequence_New", ctypes.py_object, ctypes.py_object),
        bind(
            "PyStructSequence_SetItem", None, ctypes.py_object, ctypes.c_ssize_t, ctypes.py_object
        ),
        bind("Py_IncRef", None, ctypes.py_object),
    )
