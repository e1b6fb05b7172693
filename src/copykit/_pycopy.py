"""The pure-Python implementation: the readable reference for copykit.

Every function here does what the running interpreter's ``copy`` module does, in the
same order, so that hooks, the memo and error messages see exactly what they would
see under the stdlib. Where this module is faster than the stdlib it is only by doing
the same work with fewer Python calls (atoms are answered inline in the container
loops), never by skipping a step that Python code could observe.

The memo follows stdlib's layout: ``memo[id(original)] = copy`` and the keep-alive list
of originals at ``memo[id(memo)]``.
"""

from __future__ import annotations

import builtins
import copy as _stdlib_copy
import copyreg
import sys
import types
import weakref
from copy import Error

from copykit._replace import replace

TYPE_CHECKING = False  # typing is not imported at run time: it costs import copykit ~10 ms
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Error", "copy", "deepcopy", "replace"]

# A marker no caller can hold: stands for "not in the memo".
_MISSING: Any = object()
# Passed by the container loops to deepcopy: "I have looked this object up already".
_LOOKED_UP: Any = object()

# ---------------------------------------------------------------------------
# Atomic and immutable types
# ---------------------------------------------------------------------------

# What changed in the stdlib, by version (docs/compat.md, "Versions"):
# 3.14 answers atomic types before the memo lookup (a memo entry for an atom is never
# read) and replaced copy's dispatch table with two sets; 3.15 looks the memo up with
# ``in`` and ``[]`` instead of ``get`` and adds the built-in ``frozendict``.
_ATOMS_BYPASS_MEMO = sys.version_info >= (3, 14)
_MEMO_LOOKUP_BY_CONTAINS = sys.version_info >= (3, 15)
_FROZENDICT: type | None = getattr(builtins, "frozendict", None)

if _ATOMS_BYPASS_MEMO:
    # The stdlib's own sets, consulted as they are (3.14's are mutable sets).
    _DEEP_ATOMIC_TYPES: Any = _stdlib_copy._atomic_types  # type: ignore[attr-defined]
    _STDLIB_COPY_ATOMIC_TYPES: Any = _stdlib_copy._copy_atomic_types  # type: ignore[attr-defined]
    _STDLIB_COPY_CONTAINERS: Any = _stdlib_copy._copy_builtin_containers  # type: ignore[attr-defined]
    _STDLIB_COPY_DISPATCH: dict[type, Any] = {}
else:
    # Types that deepcopy returns as they are (stdlib's _deepcopy_atomic entries).
    _DEEP_ATOMIC_TYPES = frozenset(
        {
            type(None),
            type(Ellipsis),
            type(NotImplemented),
            int,
            float,
            bool,
            complex,
            bytes,
            str,
            types.CodeType,
            type,
            range,
            types.BuiltinFunctionType,
            types.FunctionType,
            weakref.ref,
            property,
        }
    )
    _STDLIB_COPY_ATOMIC_TYPES = frozenset()
    _STDLIB_COPY_CONTAINERS = frozenset()
    # Consulted for types other than the built-ins: programs may register copiers there.
    _STDLIB_COPY_DISPATCH = _stdlib_copy._copy_dispatch  # type: ignore[attr-defined]

# Before 3.14: types that copy returns as they are (stdlib's _copy_immutable entries).
_SHALLOW_IMMUTABLE_TYPES = frozenset(_DEEP_ATOMIC_TYPES | {tuple, frozenset, slice})


def _copy_immutable(x: Any) -> Any:
    return x


# Before 3.14: built-in types' shallow copiers, the object itself or the type's own
# ``copy``; the same shape as the stdlib's table, so a built-in costs what it costs there.
_SHALLOW_DISPATCH: dict[type, Any] = dict.fromkeys(_SHALLOW_IMMUTABLE_TYPES, _copy_immutable)
_SHALLOW_DISPATCH.update(
    {list: list.copy, dict: dict.copy, set: set.copy, bytearray: bytearray.copy}
)

# The stdlib's deepcopy registry, consulted for types other than the built-ins above:
# programs may register their own copiers there, and the stdlib honours them.
_STDLIB_DEEPCOPY_DISPATCH: dict[type, Any] = _stdlib_copy._deepcopy_dispatch  # type: ignore[attr-defined]

# Path notes (PEP 678) exist from 3.11 on.
_ADD_PATH_NOTES = sys.version_info >= (3, 11)


# ---------------------------------------------------------------------------
# Shallow copy
# ---------------------------------------------------------------------------


def copy(x: Any) -> Any:
    """Return a shallow copy of ``x``, exactly as ``copy.copy`` does.

    Raises ``copy.Error`` for objects that offer no way to be copied, and whatever the
    object's own ``__copy__`` or ``__reduce_ex__`` raises.
    """
    cls = type(x)
    if _ATOMS_BYPASS_MEMO:
        # 3.14+: the stdlib's two sets, asked as it asks them (a program may add to them).
        if cls in _STDLIB_COPY_ATOMIC_TYPES:
            return x
        if cls in _STDLIB_COPY_CONTAINERS:
            return cls.copy(x)
    else:
        copier = _SHALLOW_DISPATCH.get(cls)
        if copier is not None:
            return copier(x)
        copier = _STDLIB_COPY_DISPATCH.get(cls)
        if copier:
            return copier(x)
    if issubclass(cls, type):
        return x
    copier = getattr(cls, "__copy__", None)
    if copier is not None:
        return copier(x)
    # The reduce lookup is written out here and in deepcopy, as in the stdlib, where
    # the two differ in one test: copy uses a registered reducer that is not None,
    # deepcopy one that is true.
    reductor = _DISPATCH_TABLE.get(cls)
    if reductor is not None:
        rv = reductor(x)
    else:
        reductor = getattr(x, "__reduce_ex__", None)
        if reductor is not None:
            rv = reductor(4)
        else:
            reductor = getattr(x, "__reduce__", None)
            if not reductor:
                raise Error("un(shallow)copyable object of type %s" % cls)  # noqa: UP031 - str(), as stdlib
            rv = reductor()
    if isinstance(rv, str):
        return x
    return _reconstruct(x, None, *rv)


# ---------------------------------------------------------------------------
# Deep copy
# ---------------------------------------------------------------------------


def deepcopy(x: Any, memo: dict[int, Any] | None = None, _nil: Any = _MISSING) -> Any:
    """Return a deep copy of ``x``, exactly as ``copy.deepcopy`` does.

    ``memo`` is the dictionary of objects already copied (``id(original) -> copy``,
    plus the keep-alive list at ``memo[id(memo)]``); pass one to share it across calls
    or to pre-seed copies. Raises ``copy.Error`` for objects that cannot be copied and
    whatever the objects' own hooks raise; on Python 3.11+ a failure inside a
    structure carries a note naming the path to the failing object.
    """
    # This is the one recursive entry point, and every path through it uses no more
    # Python frames per level of nesting than the stdlib does, so structures nest as
    # deep here as there before RecursionError. Container loops look their items up
    # themselves (a memo hit then costs no call; atoms never get here from them) and say
    # so by calling _deepcopy_looked_up(x, memo, _LOOKED_UP), this very function;
    # ``_nil`` is otherwise, as in the stdlib before 3.15, the "not in the memo" marker.
    if memo is None:
        # A fresh memo is empty, so the stdlib's lookup cannot find anything.
        if type(x) in _DEEP_ATOMIC_TYPES:
            return x
        memo = {}
    elif _nil is not _LOOKED_UP:
        if _ATOMS_BYPASS_MEMO and type(x) in _DEEP_ATOMIC_TYPES:
            return x  # 3.14+: atoms are answered before the memo is read
        if type(memo) is dict or not _MEMO_LOOKUP_BY_CONTAINS:
            y = memo.get(id(x), _nil)
            if y is not _nil:
                return y
        elif id(x) in memo:
            return memo[id(x)]
    cls = type(x)
    # The stdlib's registry, looked up once as the stdlib does (a metaclass's __hash__
    # and __eq__ run as often); its own copiers run as ours.
    copier = _STDLIB_DEEPCOPY_DISPATCH.get(cls)
    if copier is not None:
        y = _STDLIB_TO_OWN_COPIERS.get(copier, copier)(x, memo)
    elif issubclass(cls, type):
        y = x
    else:
        copier = getattr(x, "__deepcopy__", None)
        if copier is not None:
            y = copier(memo)
        else:
            reductor = _DISPATCH_TABLE.get(cls)
            if reductor:
                rv = reductor(x)
            else:
                reductor = getattr(x, "__reduce_ex__", None)
                if reductor is not None:
                    rv = reductor(4)
                else:
                    reductor = getattr(x, "__reduce__", None)
                    if not reductor:
                        raise Error("un(deep)copyable object of type %s" % cls)  # noqa: UP031 - str(), as stdlib
                    rv = reductor()
            y = x if isinstance(rv, str) else _reconstruct(x, memo, *rv)
    # An object that is its own copy is not memoised; the original is kept alive
    # (stdlib's _keep_alive, inlined) so that its id cannot be reused meanwhile.
    if y is not x:
        memo[id(x)] = y
        try:
            memo[id(memo)].append(x)
        except KeyError:
            memo[id(memo)] = [x]
    return y


# The container loops' entry: deepcopy itself, called with _LOOKED_UP in third place.
_deepcopy_looked_up = deepcopy
if _MEMO_LOOKUP_BY_CONTAINS:
    # 3.15 dropped deepcopy's third parameter. The loops keep theirs (a second function
    # on the same code: as fast, and no deeper); the public one takes it by keyword
    # only, so that a third positional argument is refused with the stdlib's TypeError.
    _deepcopy_looked_up = types.FunctionType(
        deepcopy.__code__, globals(), "deepcopy", deepcopy.__defaults__
    )
    _deepcopy_looked_up.__qualname__ = "deepcopy"
    deepcopy.__code__ = deepcopy.__code__.replace(co_argcount=2, co_kwonlyargcount=1)
    deepcopy.__defaults__ = (None,)
    deepcopy.__kwdefaults__ = {"_nil": _MISSING}


def _deepcopy_atomic(x: Any, memo: dict[int, Any]) -> Any:
    return x


# The container loops below repeat one pattern rather than share a helper: a helper
# would put a Python frame between each level of nesting, which the stdlib does not.
# An atom is its own copy unless the memo says otherwise (a caller may pre-seed it);
# anything else is looked up here, so a memo hit costs no call. The ``try`` wraps the
# recursive call only: it is free until something fails, and then names the place.


def _deepcopy_list(x: list[Any], memo: dict[int, Any]) -> list[Any]:
    y: list[Any] = []
    memo[id(x)] = y
    append = y.append
    memo_get = memo.get if type(memo) is dict else _foreign_memo_get(memo)
    atom_get = _NO_ATOMS_GET if _ATOMS_BYPASS_MEMO else memo_get
    for item in x:
        if type(item) in _DEEP_ATOMIC_TYPES:
            append(atom_get(id(item), item))
            continue
        copied = memo_get(id(item), _MISSING)
        if copied is _MISSING:
            try:
                copied = _deepcopy_looked_up(item, memo, _LOOKED_UP)
            except BaseException as exc:
                _note_failure(exc, _Index(len(y)), item)
                raise
        append(copied)
    return y


def _deepcopy_tuple(x: tuple[Any, ...], memo: dict[int, Any]) -> tuple[Any, ...]:
    copies: list[Any] = []
    append = copies.append
    memo_get = memo.get if type(memo) is dict else _foreign_memo_get(memo)
    atom_get = _NO_ATOMS_GET if _ATOMS_BYPASS_MEMO else memo_get
    for item in x:
        if type(item) in _DEEP_ATOMIC_TYPES:
            append(atom_get(id(item), item))
            continue
        copied = memo_get(id(item), _MISSING)
        if copied is _MISSING:
            try:
                copied = _deepcopy_looked_up(item, memo, _LOOKED_UP)
            except BaseException as exc:
                _note_failure(exc, _Index(len(copies)), item)
                raise
        append(copied)
    # The tuple is never memoised before its items are copied, but a recursive
    # structure may have copied it meanwhile; that copy wins. The stdlib asks by
    # subscription, which only a dict subclass used as memo can tell from get.
    if type(memo) is dict:
        copied_meanwhile = memo_get(id(x), _MISSING)
        if copied_meanwhile is not _MISSING:
            return copied_meanwhile  # type: ignore[no-any-return]
    else:
        try:
            return memo[id(x)]  # type: ignore[no-any-return]
        except KeyError:
            pass
    for original, copied in zip(x, copies, strict=True):
        if original is not copied:
            return tuple(copies)
    return x


def _deepcopy_dict(x: dict[Any, Any], memo: dict[int, Any]) -> dict[Any, Any]:
    y: dict[Any, Any] = {}
    memo[id(x)] = y
    memo_get = memo.get if type(memo) is dict else _foreign_memo_get(memo)
    atom_get = _NO_ATOMS_GET if _ATOMS_BYPASS_MEMO else memo_get
    for key, value in x.items():
        # As in the stdlib's ``y[deepcopy(key)] = deepcopy(value)``: value first.
        if type(value) in _DEEP_ATOMIC_TYPES:
            value_copy = atom_get(id(value), value)
        else:
            value_copy = memo_get(id(value), _MISSING)
            if value_copy is _MISSING:
                try:
                    value_copy = _deepcopy_looked_up(value, memo, _LOOKED_UP)
                except BaseException as exc:
                    _note_failure(exc, _Key(key), value)
                    raise
        if type(key) in _DEEP_ATOMIC_TYPES:
            key_copy = atom_get(id(key), key)
        else:
            key_copy = memo_get(id(key), _MISSING)
            if key_copy is _MISSING:
                try:
                    key_copy = _deepcopy_looked_up(key, memo, _LOOKED_UP)
                except BaseException as exc:
                    _note_failure(exc, _KeyItself(key), key)
                    raise
        y[key_copy] = value_copy
    return y


def _deepcopy_frozendict(x: Any, memo: dict[int, Any]) -> Any:
    """3.15's frozendict: never memoised mid-walk, and always a new one."""
    copies: dict[Any, Any] = {}
    for key, value in x.items():
        # The stdlib's ``y[deepcopy(key)] = deepcopy(value)``, value first; frozendicts
        # are rare, so this loop calls deepcopy for atoms too, as the stdlib does.
        try:
            value_copy = deepcopy(value, memo)
        except BaseException as exc:
            _note_failure(exc, _Key(key), value)
            raise
        try:
            key_copy = deepcopy(key, memo)
        except BaseException as exc:
            _note_failure(exc, _KeyItself(key), key)
            raise
        copies[key_copy] = value_copy
    # A recursive structure may have copied x meanwhile; that copy wins (as for tuples).
    try:
        return memo[id(x)]
    except KeyError:
        pass
    return _FROZENDICT(copies)  # type: ignore[misc]


def _deepcopy_method(x: types.MethodType, memo: dict[int, Any]) -> types.MethodType:
    function = x.__func__  # read before the copy, as the stdlib does
    try:
        bound_to = deepcopy(x.__self__, memo)
    except BaseException as exc:
        _note_failure(exc, _Attribute("__self__"), x.__self__)
        raise
    return type(x)(function, bound_to)


# Registry entries that are the stdlib's own copiers run as ours (same behaviour).
_STDLIB_TO_OWN_COPIERS: dict[Any, Any] = {
    getattr(_stdlib_copy, name): own
    for name, own in (
        ("_deepcopy_atomic", _deepcopy_atomic),  # gone in 3.14
        ("_deepcopy_list", _deepcopy_list),
        ("_deepcopy_tuple", _deepcopy_tuple),
        ("_deepcopy_dict", _deepcopy_dict),
        ("_deepcopy_method", _deepcopy_method),
        ("_deepcopy_frozendict", _deepcopy_frozendict),  # new in 3.15
    )
    if hasattr(_stdlib_copy, name)
}

# From 3.14 an atom's copy is the atom, whatever the memo holds: this ``get`` says so.
_NO_ATOMS_GET: Any = {}.get


def _foreign_memo_get(memo: Any) -> Any:
    """``memo.get`` for a memo that is not a plain dict; ``in`` and ``[]`` on 3.15+."""
    if not _MEMO_LOOKUP_BY_CONTAINS:
        return memo.get

    def lookup(key: int, default: Any) -> Any:
        if key in memo:
            return memo[key]
        return default

    return lookup


# ---------------------------------------------------------------------------
# Reduce and reconstruct
# ---------------------------------------------------------------------------


def _reconstruct(
    x: Any,
    memo: dict[int, Any] | None,
    func: Any,
    args: Any,
    state: Any = None,
    listiter: Any = None,
    dictiter: Any = None,
) -> Any:
    """Build the copy of ``x`` from its reduce value, copying every part when ``memo`` is given."""
    # Long on purpose: state, list items and dict items are copied right here, as in
    # the stdlib, so that nesting through reduce costs no extra Python frame.
    deep = memo is not None
    if deep and args:
        if type(args) is tuple and len(args) == 1 and type(args[0]) in _DEEP_ATOMIC_TYPES:
            # The usual (cls,): an atom is its own copy unless the memo says otherwise.
            atom = args[0]
            args = [atom if _ATOMS_BYPASS_MEMO else memo.get(id(atom), atom)]  # type: ignore[union-attr]
        else:
            args = _deepcopy_args(args, memo)  # type: ignore[arg-type]
    if func is _COPYREG_NEWOBJ and type(args) in (list, tuple) and args:
        # What copyreg.__newobj__(cls, *rest) does, without its Python frame.
        y = args[0].__new__(*args)
    else:
        y = func(*args)
    if deep:
        memo[id(x)] = y  # type: ignore[index]
    if state is not None:
        if deep:
            try:
                state = deepcopy(state, memo)
            except BaseException as exc:
                _note_state_failure(exc, state)
                raise
        if hasattr(y, "__setstate__"):
            y.__setstate__(state)
        elif type(state) is dict:
            y.__dict__.update(state)  # the usual state, without the helper's call
        else:
            _set_dict_and_slot_state(y, state)
    if listiter is not None:
        position = 0
        for item in listiter:
            if deep:
                try:
                    item = deepcopy(item, memo)
                except BaseException as exc:
                    _note_failure(exc, _Index(position), item)
                    raise
                position += 1
            y.append(item)
    if dictiter is not None:
        for key, value in dictiter:
            if deep:
                key, value = _deepcopy_dict_item(key, value, memo)  # type: ignore[arg-type]
            y[key] = value
    return y


# The registry the stdlib's copy module holds: bound at import, as there.
_DISPATCH_TABLE: dict[type, Any] = copyreg.dispatch_table

# The function object.__reduce_ex__ names as the constructor of plain instances.
_COPYREG_NEWOBJ = copyreg.__newobj__  # type: ignore[attr-defined]

# The stdlib's messages for a malformed reduce value name ``copy._reconstruct()``.
_reconstruct.__module__ = "copy"


def _deepcopy_args(args: Any, memo: dict[int, Any]) -> list[Any]:
    copies: list[Any] = []
    atom_get = _NO_ATOMS_GET if _ATOMS_BYPASS_MEMO else memo.get
    for arg in args:
        try:
            if type(arg) in _DEEP_ATOMIC_TYPES:
                copies.append(atom_get(id(arg), arg))
            else:
                copies.append(deepcopy(arg, memo))
        except BaseException as exc:
            _note_failure(exc, _ReduceArgument(len(copies)), arg)
            raise
    return copies


def _set_dict_and_slot_state(y: Any, state: Any) -> None:
    """Apply a state without ``__setstate__``: a dict, or a ``(dict, slot dict)`` pair."""
    if isinstance(state, tuple) and len(state) == 2:
        state, slotstate = state
    else:
        slotstate = None
    if state is not None:
        y.__dict__.update(state)
    if slotstate is not None:
        for key, value in slotstate.items():
            setattr(y, key, value)


def _deepcopy_dict_item(key: Any, value: Any, memo: dict[int, Any]) -> tuple[Any, Any]:
    """Copy one item of a reduce dict iterator: the key first, then the value."""
    try:
        key_copy = deepcopy(key, memo)
    except BaseException as exc:
        _note_failure(exc, _KeyItself(key), key)
        raise
    try:
        return key_copy, deepcopy(value, memo)
    except BaseException as exc:
        _note_failure(exc, _Key(key), value)
        raise


# ---------------------------------------------------------------------------
# Path notes: where in the structure a deepcopy failed (3.11+)
# ---------------------------------------------------------------------------
#
# Each copier that recurses catches the failure of a part, prefixes the part's place
# to the exception's path note and re-raises the very same exception. Nothing runs on
# success. No user code runs while a note is built: keys are shown by repr only when
# they are built-in atoms, so the hooks a program sees are exactly the stdlib's.

# Types whose repr is computed by the interpreter alone.
_SAFE_REPR_TYPES = frozenset({type(None), int, float, bool, complex, str, bytes})


def _safe_repr(value: Any) -> str:
    cls = type(value)
    if cls in _SAFE_REPR_TYPES:
        text = repr(value)
        return text if len(text) <= 60 else text[:57] + "..."
    if cls is tuple and all(type(part) in _SAFE_REPR_TYPES for part in value):
        text = repr(value)
        return text if len(text) <= 60 else text[:57] + "..."
    return f"<{_type_name(value)} object>"


def _Index(position: int) -> str:  # noqa: N802 - reads as a segment kind
    return f"[{position}]"


def _Key(key: Any) -> str:  # noqa: N802
    return f"[{_safe_repr(key)}]"


def _KeyItself(key: Any) -> str:  # noqa: N802
    return f"<key {_safe_repr(key)}>"


def _Attribute(name: str) -> str:  # noqa: N802
    return f".{name}"


def _ReduceArgument(position: int) -> str:  # noqa: N802
    return f"<reduce argument {position}>"


class _PathNote(str):
    """A PEP 678 note that also remembers its path, so outer levels can extend it."""

    __slots__ = ("segments", "leaf_type")
    segments: tuple[str, ...]
    leaf_type: str

    @classmethod
    def build(cls, segments: tuple[str, ...], leaf_type: str) -> _PathNote:
        note = cls(f"copykit: failed at root{''.join(segments)} ({leaf_type})")
        note.segments = segments
        note.leaf_type = leaf_type
        return note


def _type_name(obj: Any) -> str:
    cls = type(obj)
    module = getattr(cls, "__module__", None)
    qualname = getattr(cls, "__qualname__", cls.__name__)
    return qualname if module in (None, "builtins") else f"{module}.{qualname}"


def _current_path_note(exc: BaseException) -> tuple[list[Any] | None, _PathNote | None]:
    notes = exc.__dict__.get("__notes__")
    if not isinstance(notes, list) or not notes:
        return notes, None
    last = notes[-1]
    return notes, (last if type(last) is _PathNote else None)


def _note_failure(exc: BaseException, segment: str, child: Any) -> None:
    """Prefix ``segment`` to the path note of ``exc``; start one at the failing ``child``."""
    if not _ADD_PATH_NOTES:
        return
    try:
        notes, note = _current_path_note(exc)
        if note is not None and notes is not None:
            notes[-1] = _PathNote.build((segment, *note.segments), note.leaf_type)
        else:
            BaseException.add_note(exc, _PathNote.build((segment,), _type_name(child)))  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - a note must never replace the real error
        return


def _note_state_failure(exc: BaseException, state: Any) -> None:
    """Rewrite the state's leading segments as attribute access: ``['name']`` -> ``.name``."""
    if not _ADD_PATH_NOTES:
        return
    notes, note = _current_path_note(exc)
    if note is None or notes is None:
        return
    segments = note.segments
    if type(state) is tuple and len(state) == 2 and segments[:1] in (("[0]",), ("[1]",)):
        segments = segments[1:]
    first = segments[0] if segments else ""
    if first.startswith("['") and first.endswith("']") and first[2:-2].isidentifier():
        segments = ("." + first[2:-2], *segments[1:])
        notes[-1] = _PathNote.build(segments, note.leaf_type)
