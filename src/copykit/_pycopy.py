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
from abc import ABCMeta
from copy import Error

from copykit._replace import replace

TYPE_CHECKING = False  # typing is not imported at run time: it costs import copykit ~10 ms
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["Error", "Template", "copy", "deepcopy", "replace", "template"]

# A marker no caller can hold: stands for "not in the memo".
_MISSING: Any = object()
# Passed by the container loops to deepcopy: "I have looked this object up already".
_LOOKED_UP: Any = object()
# Passed for a part of a reduce value that is not a part of the structure (an instance's
# state, a set's temporary list of items): looked up as usual, but never offered to keep.
_UNOFFERED: Any = object()

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


def deepcopy(
    x: Any,
    memo: dict[int, Any] | None = None,
    _nil: Any = _MISSING,
    *,
    keep: type | tuple[type, ...] | Callable[[Any], object] | None = None,
) -> Any:
    """Return a deep copy of ``x``, exactly as ``copy.deepcopy`` does.

    ``memo`` is the dictionary of objects already copied (``id(original) -> copy``,
    plus the keep-alive list at ``memo[id(memo)]``); pass one to share it across calls
    or to pre-seed copies. Raises ``copy.Error`` for objects that cannot be copied and
    whatever the objects' own hooks raise; on Python 3.11+ a failure inside a
    structure carries a note naming the path to the failing object.

    ``keep`` (copykit's own; the stdlib has no such argument) names what the copy shares
    with the original instead of copying: a type or tuple of types (matched as by
    ``isinstance``) or a predicate ``keep(obj) -> bool``. Every object the copy would
    copy is offered, except atoms and classes; a matched one is the copy of itself,
    wherever it occurs. A ``keep`` of any other kind raises ``TypeError`` before
    anything is copied. See docs/keep.md.
    """
    if keep is not None:
        return _deepcopy_keeping(x, memo, _nil, keep)
    # This is the one recursive entry point, and every path through it uses no more
    # Python frames per level of nesting than the stdlib does, so structures nest as
    # deep here as there before RecursionError. Container loops look their items up
    # themselves (a memo hit then costs no call; atoms never get here from them) and say
    # so by calling _deepcopy_inner(x, memo, _LOOKED_UP), this very function;
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
    if _KEEP_POLICIES and _nil is not _UNOFFERED:
        # Inside deepcopy(..., keep=) with this memo: the policy's remembered answer for
        # the type, or ask it.
        policy = _KEEP_POLICIES.get(id(memo))
        if policy is not None:
            kept = policy.answers.get(id(cls))
            if kept is None:
                kept = _kept(x, policy)
            if kept:
                return x  # shared, not copied (and not memoised: each occurrence is asked)
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


# The twin's own recursive calls go to _deepcopy_inner: deepcopy itself (a second function
# on the same code: as fast, and no deeper) taking every parameter by position, keep
# included. A call to a function with keyword-only parameters takes CPython's slower
# argument path (about 50 ns more per call), and keep comes from _KEEP_POLICIES in the
# recursion anyway. The container loops pass _LOOKED_UP in third place.
_deepcopy_inner: Callable[..., Any] = types.FunctionType(
    deepcopy.__code__.replace(co_argcount=4, co_kwonlyargcount=0),
    globals(),
    "deepcopy",
    (None, _MISSING, None),
)
_deepcopy_inner.__qualname__ = "deepcopy"
if _MEMO_LOOKUP_BY_CONTAINS:
    # 3.15 dropped deepcopy's third parameter: the public one takes it by keyword only,
    # so that a third positional argument is refused with the stdlib's TypeError.
    deepcopy.__code__ = deepcopy.__code__.replace(co_argcount=2, co_kwonlyargcount=2)
    deepcopy.__defaults__ = (None,)
    deepcopy.__kwdefaults__ = {"_nil": _MISSING, "keep": None}


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
                copied = _deepcopy_inner(item, memo, _LOOKED_UP)
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
                copied = _deepcopy_inner(item, memo, _LOOKED_UP)
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
                    value_copy = _deepcopy_inner(value, memo, _LOOKED_UP)
                except BaseException as exc:
                    _note_failure(exc, _Key(key), value)
                    raise
        if type(key) in _DEEP_ATOMIC_TYPES:
            key_copy = atom_get(id(key), key)
        else:
            key_copy = memo_get(id(key), _MISSING)
            if key_copy is _MISSING:
                try:
                    key_copy = _deepcopy_inner(key, memo, _LOOKED_UP)
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
            value_copy = _deepcopy_inner(value, memo)
        except BaseException as exc:
            _note_failure(exc, _Key(key), value)
            raise
        try:
            key_copy = _deepcopy_inner(key, memo)
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
        bound_to = _deepcopy_inner(x.__self__, memo)
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
# keep=: what the copy shares with the original
# ---------------------------------------------------------------------------
#
# deepcopy(x, keep=...) registers its policy under id(memo) for the length of the call;
# every deepcopy with that memo (the recursion here, the C twin's, and copykit's or the
# patched copy.deepcopy inside a __deepcopy__ hook that passes the memo on) asks it
# about each object it would copy. The memo itself stays the stdlib's plain dict.

# id(memo) -> the _KeepPolicy of the deepcopy(..., keep=...) call using that memo.
_KEEP_POLICIES: dict[int, _KeepPolicy] = {}

# The metaclasses whose isinstance answer depends on the object's type only.
_PER_TYPE_METACLASSES = (type, ABCMeta)
_MRO_OF: Any = type.__dict__["__mro__"].__get__
_NAMESPACE_OF: Any = type.__dict__["__dict__"].__get__


def _type_lookup(cls: type, name: str) -> Any:
    """What ``cls`` provides as ``name`` (its MRO's first namespace that has it), or None;
    no attribute hook runs."""
    for base in _MRO_OF(cls):
        namespace = _NAMESPACE_OF(base)
        if name in namespace:
            return namespace[name]
    return None


_OBJECT_CLASS = _type_lookup(object, "__class__")
_OBJECT_GETATTRIBUTE = _type_lookup(object, "__getattribute__")


# Built-in containers, whose own (C) __getattribute__ is object's generic one.
_GENERIC_ATTRIBUTE_CONTAINERS = frozenset(
    {dict, list, tuple, set, frozenset, bytearray} | ({_FROZENDICT} if _FROZENDICT else set())
)


def _answer_depends_on_type_only(cls: type) -> bool:
    """Is ``isinstance(obj, T)`` the same for every instance of ``cls`` (T of a per-type
    metaclass)? So unless ``obj.__class__`` may tell another class than ``cls``."""
    if cls in _GENERIC_ATTRIBUTE_CONTAINERS:
        return True
    return (
        _type_lookup(cls, "__class__") is _OBJECT_CLASS
        and _type_lookup(cls, "__getattribute__") is _OBJECT_GETATTRIBUTE
        and _type_lookup(cls, "__getattr__") is None
    )


class _KeepPolicy:
    """A validated ``keep``: the types an object must be an instance of, or a predicate."""

    __slots__ = ("types", "predicate", "per_type", "answers", "answered")

    def __init__(self, types: tuple[type, ...], predicate: Callable[[Any], object] | None):
        self.types = types
        self.predicate = predicate
        # Answers are remembered per type when they can only depend on the type. (A loop,
        # not all(<generator>): CPython 3.12/3.13 crash making a generator out of memory,
        # and the C twin calls this under the allocation-failure sweep.)
        self.per_type = True
        for member in types:
            if type(member) not in _PER_TYPE_METACLASSES:
                self.per_type = False
        # id(cls) -> the answer for every instance of cls, when it can only depend on cls
        # (never with a predicate); ``answered`` keeps those classes alive meanwhile.
        self.answers: dict[int, bool] = {}
        self.answered: list[type] = []

    def matches(self, x: Any) -> bool:
        """Should the copy share ``x``? Whatever the predicate or isinstance raises propagates."""
        if self.predicate is not None:
            return bool(self.predicate(x))
        answer = isinstance(x, self.types)
        cls = type(x)
        if self.per_type and _answer_depends_on_type_only(cls):
            self.remember(cls, answer)
        return answer

    def remember(self, cls: type, answer: bool) -> None:
        self.answers[id(cls)] = answer
        self.answered.append(cls)


def _keep_policy(keep: Any) -> _KeepPolicy:
    """Validate ``keep``: a type, a tuple of types, a union of types or a callable."""
    if _is_class(keep):
        return _KeepPolicy((keep,), None)
    if isinstance(keep, (tuple, types.UnionType)):
        members = keep if isinstance(keep, tuple) else keep.__args__
        for member in members:
            if not _is_class(member):
                raise TypeError(
                    "keep must be a type, a tuple of types or a callable; "
                    f"its {type(keep).__name__} holds {member!r}, which is not a type"
                )
        return _KeepPolicy(tuple(members), None)
    if callable(keep) and getattr(keep, "__origin__", None) is None:
        return _KeepPolicy((), keep)
    raise TypeError(
        f"keep must be a type, a tuple of types or a callable, not {type(keep).__name__!r}"
    )


def _is_class(candidate: object) -> bool:
    """A class, not a parameterized generic (which 3.10's isinstance takes for a type)."""
    return issubclass(type(candidate), type)


def _deepcopy_keeping(x: Any, memo: dict[int, Any] | None, nil: Any, keep: object) -> Any:
    """deepcopy(x, memo, keep=keep): the policy is registered for the memo meanwhile."""
    policy = _keep_policy(keep)
    if memo is None:
        memo = {}
    memo_id = id(memo)
    outer = _KEEP_POLICIES.get(memo_id)  # a hook's own deepcopy(..., keep=) nests
    _KEEP_POLICIES[memo_id] = policy
    try:
        return _deepcopy_inner(x, memo, nil)
    finally:
        if outer is None:
            del _KEEP_POLICIES[memo_id]
        else:
            _KEEP_POLICIES[memo_id] = outer


def _kept(x: Any, policy: _KeepPolicy) -> bool:
    """Does ``policy`` share ``x``? Atoms and classes are never offered; an exception from
    the policy gets a path note saying so."""
    cls = type(x)
    if cls in _DEEP_ATOMIC_TYPES or issubclass(cls, type):
        if policy.predicate is None:
            policy.remember(cls, False)  # never offered: the answer is no, for the type
        return False
    try:
        return policy.matches(x)
    except BaseException as exc:
        _note_keep_failure(exc, x)
        raise


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
            # A set's one argument is the list that carries its items: not a part of
            # the structure, so never offered to keep (its items are).
            carrier = issubclass(type(x), (set, frozenset))
            args = _deepcopy_args(args, memo, carrier)  # type: ignore[arg-type]
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
                if _KEEP_POLICIES and type(state) is tuple and len(state) == 2:
                    state = _deepcopy_pair_state(state, memo)  # type: ignore[arg-type]
                else:
                    # The state carries y's parts: they are offered to keep, not it.
                    state = _deepcopy_inner(state, memo, _UNOFFERED)
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
                    item = _deepcopy_inner(item, memo)
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


def _deepcopy_args(args: Any, memo: dict[int, Any], first_is_carrier: bool) -> list[Any]:
    copies: list[Any] = []
    atom_get = _NO_ATOMS_GET if _ATOMS_BYPASS_MEMO else memo.get
    for arg in args:
        try:
            if type(arg) in _DEEP_ATOMIC_TYPES:
                copies.append(atom_get(id(arg), arg))
            elif first_is_carrier and not copies:
                copies.append(_deepcopy_inner(arg, memo, _UNOFFERED))
            else:
                copies.append(_deepcopy_inner(arg, memo))
        except BaseException as exc:
            _note_failure(exc, _ReduceArgument(len(copies)), arg)
            raise
    return copies


def _deepcopy_pair_state(state: tuple[Any, Any], memo: dict[int, Any]) -> tuple[Any, Any]:
    """A ``(instance dict, slot values)`` state under keep=: neither the pair nor its two
    dicts are offered, only what they hold (they carry the object's parts)."""
    copies = []
    for position, part in enumerate(state):
        try:
            copies.append(_deepcopy_inner(part, memo, _UNOFFERED))
        except BaseException as exc:
            _note_failure(exc, _Index(position), part)
            raise
    if copies[0] is state[0] and copies[1] is state[1]:
        return state
    return (copies[0], copies[1])


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
        key_copy = _deepcopy_inner(key, memo)
    except BaseException as exc:
        _note_failure(exc, _KeyItself(key), key)
        raise
    try:
        return key_copy, _deepcopy_inner(value, memo)
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


# What a path note says about its object: copying it failed, copying it failed in a way
# keep= can avoid (the note then names the fix), or the keep policy raised for it.
_FAILED = "failed"
_FAILED_KEEPABLE = "failed, keepable"
_KEEP_RAISED = "keep raised"


class _PathNote(str):
    """A PEP 678 note that also remembers its path, so outer levels can extend it."""

    __slots__ = ("segments", "leaf_type", "kind")
    segments: tuple[str, ...]
    leaf_type: str
    kind: str

    @classmethod
    def build(cls, segments: tuple[str, ...], leaf_type: str, kind: str) -> _PathNote:
        where = f"root{''.join(segments)} ({leaf_type})"
        if kind == _KEEP_RAISED:
            text = f"copykit: keep raised at {where}"
        elif kind == _FAILED_KEEPABLE:
            text = (
                f"copykit: failed at {where}; copykit.deepcopy(x, keep={leaf_type}) "
                "shares it instead of copying"
            )
        else:
            text = f"copykit: failed at {where}"
        note = cls(text)
        note.segments = segments
        note.leaf_type = leaf_type
        note.kind = kind
        return note

    def extended(self, segments: tuple[str, ...]) -> _PathNote:
        """The same note for the path ``segments``."""
        return _PathNote.build(segments, self.leaf_type, self.kind)


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
            notes[-1] = note.extended((segment, *note.segments))
        else:
            # What cannot be copied fails with TypeError or copy.Error: keep= avoids it.
            kind = _FAILED_KEEPABLE if isinstance(exc, (TypeError, Error)) else _FAILED
            BaseException.add_note(exc, _PathNote.build((segment,), _type_name(child), kind))  # type: ignore[attr-defined]
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
        notes[-1] = note.extended(segments)


def _note_keep_failure(exc: BaseException, offered: Any) -> None:
    """Start the path note of an exception the keep policy raised for ``offered``."""
    if not _ADD_PATH_NOTES:
        return
    try:
        BaseException.add_note(exc, _PathNote.build((), _type_name(offered), _KEEP_RAISED))  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - a note must never replace the real error
        return


# template(x): compiled deep copies of a snapshot (its own module; it builds on the above)
from copykit._pytemplate import Template, template  # noqa: E402
