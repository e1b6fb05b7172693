"""template(x): a factory of deep copies of one snapshot, the pure-Python twin of the C
module's (``_template.h``).

``template(x, keep=keep)`` deep-copies ``x`` once into a private snapshot; every call of
the template returns exactly what ``deepcopy(snapshot, keep=keep)`` returns. When the
snapshot is a tree of exact dicts, lists and tuples whose other parts are atoms, the
copy is compiled into a few builders (``dict.copy`` for a dict of atoms, a slice for a
list of atoms, constant tuples as they are), checked on every call against the registries
deepcopy consults; anything else is copied by ``deepcopy(snapshot)`` on each call.
"""

from __future__ import annotations

import operator
import weakref

from copykit import _pycopy

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    _Builder = Callable[[], Any]
    _Keep = type | tuple[type, ...] | Callable[[Any], object] | None

__all__ = ["Template", "template"]

# Deeper snapshots are copied by deepcopy (the builders recurse in Python).
_MAX_DEPTH = 100
_CONTAINERS = (dict, list, tuple)


class _Unsupported(Exception):
    """The snapshot is not a tree of plain containers and atoms: copy it by deepcopy."""


def _stdlib_copiers() -> tuple[Any, ...]:
    """What deepcopy's registry holds for the containers now (the builders assume these)."""
    registry = _pycopy._STDLIB_DEEPCOPY_DISPATCH
    return tuple(registry.get(cls) for cls in _CONTAINERS)


def _containers_are_atoms() -> bool:
    """Has a program added a container type to deepcopy's atomic types (3.14+)?"""
    return any(cls in _pycopy._DEEP_ATOMIC_TYPES for cls in _CONTAINERS)


def _is_atom(value: Any) -> bool:
    return type(value) in _pycopy._DEEP_ATOMIC_TYPES


def _is_plain_key(key: Any, depth: int = 0) -> bool:
    """Is ``key`` its own deep copy, hashed without running Python code?"""
    if type(key) is tuple and depth < _MAX_DEPTH:
        return all(_is_plain_key(item, depth + 1) for item in key)
    return _is_atom(key) and type(key) is not weakref.ref


class _Compiler:
    """Turns a snapshot into a builder; raises _Unsupported for anything but a tree."""

    def __init__(self) -> None:
        self.seen: set[int] = set()

    def compile(self, value: Any, depth: int) -> _Builder | None:
        """A builder of ``deepcopy(value)``, or None when ``value`` is its own copy."""
        if _is_atom(value):
            return None
        if type(value) not in _CONTAINERS or depth > _MAX_DEPTH:
            raise _Unsupported
        if type(value) is tuple:
            return self._tuple(value, depth)
        self._see(value)
        if type(value) is list:
            return self._list(value, depth)
        return self._dict(value, depth)

    def _see(self, value: Any) -> None:
        if id(value) in self.seen:
            raise _Unsupported  # shared or cyclic: the memo matters
        self.seen.add(id(value))

    def _parts(self, values: list[Any], depth: int) -> list[tuple[int, _Builder]]:
        builders = [(index, self.compile(item, depth + 1)) for index, item in enumerate(values)]
        return [(index, builder) for index, builder in builders if builder is not None]

    def _list(self, value: list[Any], depth: int) -> _Builder:
        parts = self._parts(value, depth)
        if not parts:
            return value.copy
        return _rebuilder(value.copy, parts)

    def _dict(self, value: dict[Any, Any], depth: int) -> _Builder:
        if not all(_is_plain_key(key) for key in value):
            raise _Unsupported
        parts = [(key, self.compile(item, depth + 1)) for key, item in value.items()]
        compound = [(key, builder) for key, builder in parts if builder is not None]
        if not compound:
            return value.copy
        return _rebuilder(value.copy, compound)

    def _tuple(self, value: tuple[Any, ...], depth: int) -> _Builder | None:
        parts = self._parts(list(value), depth)
        if not parts:
            return None  # every item is its own copy: so is the tuple
        self._see(value)
        return _tuple_builder(value, dict(parts))


def _rebuilder(clone: _Builder, parts: list[tuple[Any, _Builder]]) -> _Builder:
    """Clone, then put the copies of the compound parts in their places."""

    def build() -> Any:
        copy = clone()
        for where, builder in parts:
            copy[where] = builder()
        return copy

    return build


def _tuple_builder(value: tuple[Any, ...], parts: dict[int, _Builder]) -> _Builder:
    def build() -> tuple[Any, ...]:
        return tuple(
            parts[index]() if index in parts else item for index, item in enumerate(value)
        )

    return build


class Template:
    """A factory of deep copies of one snapshot, made by ``copykit.template(x)``.

    Calling it returns what ``copy.deepcopy(x)`` returned when it was made; ``many(n)``
    returns a list of ``n`` such copies.
    """

    __slots__ = ("_snapshot", "_keep", "_build", "_copiers", "_atom_count")

    def __init__(self, snapshot: Any, keep: _Keep, build: _Builder | None) -> None:
        self._snapshot = snapshot
        self._keep = keep
        self._build = build
        self._copiers = _stdlib_copiers()
        self._atom_count = len(_pycopy._DEEP_ATOMIC_TYPES)

    def __call__(self) -> Any:
        build = self._build
        if build is not None and self._plan_holds():
            return build()
        return _pycopy.deepcopy(self._snapshot, keep=self._keep)

    def _by_plan(self) -> Any:
        """The copy the compiled builders make, with no fallback to deepcopy (for tests).

        Raises ``LookupError`` when there are no builders or they no longer hold.
        """
        if self._build is None or not self._plan_holds():
            raise LookupError("the template has no plan that holds")
        return self._build()

    def _plan_holds(self) -> bool:
        """Does deepcopy still copy the containers as the builders do?"""
        return (
            _stdlib_copiers() == self._copiers
            and len(_pycopy._DEEP_ATOMIC_TYPES) == self._atom_count
            and not _containers_are_atoms()
        )

    def many(self, n: int, /) -> list[Any]:
        """Return a list of ``n`` deep copies of the snapshot, made one after another.

        Raises ``TypeError`` if ``n`` is not an integer and ``ValueError`` if it is negative.
        """
        count = operator.index(n)
        if count < 0:
            raise ValueError(f"n must be >= 0, not {count!r}")
        return [self() for _ in range(count)]

    def __copy__(self) -> Template:
        return self  # an immutable factory

    def __deepcopy__(self, memo: Any) -> Template:
        return self

    def __reduce__(self) -> Any:
        raise TypeError(f"cannot pickle {'copykit.Template'!r} object")

    def __repr__(self) -> str:
        if self._build is None:
            how = "deepcopy on each call"
        elif getattr(self._build, "constant", False):
            how = "its own copy"
        else:
            how = "compiled"
        keep = ", with keep" if self._keep is not None else ""
        return f"<copykit.Template of {type(self._snapshot).__name__}, {how}{keep}>"


def template(x: Any, *, keep: _Keep = None) -> Template:
    """Return a Template: calling it returns a deep copy of ``x`` as ``x`` was now.

    ``x`` is deep-copied once (``deepcopy(x, keep=keep)``) into a private snapshot; each
    call returns exactly what ``deepcopy(snapshot, keep=keep)`` returns, hooks and all,
    so later changes to ``x`` do not show. Raises what ``deepcopy(x, keep=keep)`` raises.
    """
    snapshot = _pycopy.deepcopy(x, keep=keep)
    return Template(snapshot, keep, _compile(snapshot) if keep is None else None)


def _compile(snapshot: Any) -> _Builder | None:
    """The builder for a tree of plain containers, or None: deepcopy on each call."""
    try:
        build = _Compiler().compile(snapshot, 0)
    except _Unsupported:
        return None
    return build if build is not None else _constant(snapshot)


def _constant(snapshot: Any) -> _Builder:
    """The builder of a snapshot that is its own deep copy (an atom, a tuple of atoms)."""

    def build() -> Any:
        return snapshot

    build.constant = True  # type: ignore[attr-defined]
    return build
