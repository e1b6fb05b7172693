"""``replace()`` with the behaviour of Python 3.13's ``copy.replace`` on every supported version.

``copy.replace`` (new in 3.13) looks ``__replace__`` up on the object's class and calls it.
On 3.13 the stdlib classes below define ``__replace__``; on 3.10-3.12 they do not, so this
module recognises them by type and reproduces what their 3.13 ``__replace__`` does, results
and error messages alike, without touching the classes themselves:

- named tuples (``collections.namedtuple`` and ``typing.NamedTuple``),
- dataclasses,
- ``datetime.date``, ``datetime.time`` and ``datetime.datetime`` (the C implementation),
- ``types.SimpleNamespace``,
- code objects,
- ``inspect.Signature`` and ``inspect.Parameter``,
- struct sequences (``time.struct_time``, ``os.terminal_size``, ``sys.flags``, ...).

The class hierarchy is searched in method resolution order, so a ``__replace__`` defined by
a class ahead of the stdlib class wins, exactly as the 3.13 attribute lookup would find it.
See docs/replace.md for the details and the few differences that cannot be reproduced.
"""

from __future__ import annotations

import collections
import datetime
import operator
import struct
import sys
import types
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, Final

__all__ = ["replace"]

Replacer = Callable[..., Any]
"""A ``__replace__``-like callable: ``replacer(obj, **changes)`` returns the new object."""


def replace(obj: Any, /, **changes: Any) -> Any:
    """Return a new object replacing specified fields with new values.

    This is especially useful for immutable objects, like named tuples or
    frozen dataclasses.

    Creates a new object of the same type as *obj*, replacing fields with values
    from *changes*, as defined by the class's ``__replace__()`` method.
    Raises :exc:`TypeError` if the class of *obj* does not support ``replace()``.
    """
    cls = obj.__class__
    func = _find_replacer(cls)
    if func is None:
        raise TypeError(f"replace() does not support {cls.__name__} objects")
    return func(obj, **changes)


if sys.version_info >= (3, 13):

    def _find_replacer(cls: Any) -> Replacer | None:
        """The class's ``__replace__``, or None: the stdlib classes define their own."""
        func: Replacer | None = getattr(cls, "__replace__", None)
        return func

else:

    def _find_replacer(cls: Any) -> Replacer | None:
        """What 3.13 would find as ``cls.__replace__``, or None.

        Walks the method resolution order: a class that defines ``__replace__`` ends the
        walk (the ordinary attribute lookup takes over); a stdlib class that gained
        ``__replace__`` in 3.13 yields its emulation.
        """
        if isinstance(cls, type):
            for klass in cls.__mro__:
                namespace = vars(klass)
                if "__replace__" in namespace:
                    break
                replacer = _stdlib_replacer(klass, namespace)
                if replacer is not None:
                    return replacer
        func: Replacer | None = getattr(cls, "__replace__", None)
        return func


def _stdlib_replacer(klass: type, namespace: Mapping[str, Any]) -> Replacer | None:
    """The emulated 3.13 ``__replace__`` that *klass* defines itself, or None."""
    by_class = _REPLACERS_BY_CLASS.get(klass)
    if by_class is not None:
        return by_class
    if _is_struct_sequence(klass, namespace):
        return _replace_struct_sequence
    if _is_namedtuple_class(namespace):
        return partial(_replace_namedtuple, namespace["_fields"])
    if "__dataclass_fields__" in namespace and "__dataclass_params__" in namespace:
        return _replace_dataclass
    return _inspect_replacer(klass)


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


_REPLACERS_BY_CLASS: Final[Mapping[type, Replacer]] = {
    **{base: partial(_replace_datetime, base) for base in _DATETIME_PARAMETERS},
    types.SimpleNamespace: _replace_namespace,
    types.CodeType: _replace_code,
}


# --- inspect.Signature, inspect.Parameter ---------------------------------------------------


def _inspect_replacer(klass: type) -> Replacer | None:
    """``klass.replace`` if *klass* is ``inspect.Signature`` or ``inspect.Parameter``.

    3.13 makes ``__replace__`` an alias of ``replace`` in these two classes (the function is
    the same on 3.10-3.12). The base method is used even when a subclass overrides ``replace``.
    Only an imported ``inspect`` can have made instances, so it is looked up, never imported.
    """
    inspect = sys.modules.get("inspect")
    if inspect is None or klass not in (inspect.Signature, inspect.Parameter):
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
        klass.__bases__ == (tuple,)
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


def _type_name(cls: type) -> str:
    """The C-level ``tp_name`` of *cls*: dotted with its module, unless that is builtins."""
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


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
    """``PyStructSequence_New(cls)`` filled with *values* by ``PyStructSequence_SetItem``."""
    import ctypes

    api = ctypes.pythonapi
    api.PyStructSequence_New.argtypes = [ctypes.py_object]
    api.PyStructSequence_New.restype = ctypes.py_object
    api.PyStructSequence_SetItem.argtypes = [ctypes.py_object, ctypes.c_ssize_t, ctypes.py_object]
    api.PyStructSequence_SetItem.restype = None
    api.Py_IncRef.argtypes = [ctypes.py_object]
    api.Py_IncRef.restype = None
    result = api.PyStructSequence_New(cls)
    for index, value in enumerate(values):
        api.Py_IncRef(value)  # PyStructSequence_SetItem steals a reference
        api.PyStructSequence_SetItem(result, index, value)
    return result
