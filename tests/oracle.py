"""The oracle: compare what copykit does with what the running interpreter's ``copy`` does.

``assert_same_copy`` walks two results of the same copy operation in lockstep and checks
that they have the same types, equal values, the same internal sharing pattern and keep
the very same objects from the original. ``run_both`` runs one operation with stdlib and
with an implementation and compares results, or exception types and messages.
``HookRecorder`` records hook calls so that tests can compare their order.
"""

from __future__ import annotations

import copy as stdlib_copy
import types
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

Path = str

KEEP_ALIVE = "<keep-alive>"

# Values whose identity carries no meaning unless they come from the original: the
# interpreter caches some of them (small ints, interned strings) and not others.
SCALAR_TYPES: tuple[type, ...] = (
    int,
    float,
    complex,
    str,
    bytes,
    bool,
    type(None),
    type(Ellipsis),
    type(NotImplemented),
)
# Compared by == (or identity); their insides are not walked.
LEAF_TYPES: tuple[type, ...] = (
    types.FunctionType,
    types.BuiltinFunctionType,
    types.BuiltinMethodType,
    types.ModuleType,
    types.CodeType,
    types.WrapperDescriptorType,
    types.MethodDescriptorType,
    types.ClassMethodDescriptorType,
    types.GetSetDescriptorType,
    types.MemberDescriptorType,
    weakref.ReferenceType,
    property,
    range,
    bytearray,
    type,
)
CONTAINER_BASES: tuple[type, ...] = (list, tuple, dict, set, frozenset)


class Mismatch(AssertionError):
    """The two results differ; the message names the path of the first difference."""


def _fail(path: Path, what: str) -> Mismatch:
    return Mismatch(f"at {path or '<root>'}: {what}")


# --- enumerating an object's parts -------------------------------------------------------


REDUCE_HOOKS = (
    "__reduce_ex__",
    "__reduce__",
    "__getstate__",
    "__getnewargs__",
    "__getnewargs_ex__",
)


def _reduces_natively(cls: type) -> bool:
    """True when reducing ``cls`` runs no Python-level hook (no side effects on test hooks)."""
    return not any(
        isinstance(getattr(cls, name, None), types.FunctionType) for name in REDUCE_HOOKS
    )


def _slot_names(cls: type) -> Iterator[str]:
    for klass in cls.__mro__:
        slots = vars(klass).get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if name in ("__dict__", "__weakref__"):
                continue
            if name.startswith("__") and not name.endswith("__"):
                yield f"_{klass.__name__.lstrip('_')}{name}"
            else:
                yield name


def _instance_dict(obj: object) -> dict[str, Any] | None:
    try:
        state = object.__getattribute__(obj, "__dict__")
    except (AttributeError, TypeError):
        return None
    return state if isinstance(state, dict) else None


def _reduce_parts(obj: object) -> list[tuple[Path, object]]:
    """The parts of ``obj.__reduce_ex__(4)``, iterators turned into lists; [] if it fails."""
    try:
        reduced = obj.__reduce_ex__(4)
    except Exception:  # noqa: BLE001 - an object that cannot reduce has no reduce parts
        return []
    if not isinstance(reduced, tuple):
        return []
    parts: list[tuple[Path, object]] = []
    for index, part in enumerate(reduced):
        if isinstance(part, Iterator):
            part = list(part)
        parts.append((f"<reduce {index}>", part))
    return parts


def _object_parts(obj: object) -> list[tuple[Path, object]]:
    """Named parts of an instance: its __dict__, its slots and, for C types, reduce parts."""
    cls = type(obj)
    parts: list[tuple[Path, object]] = []
    state = _instance_dict(obj)
    if state is not None:
        parts.append((".__dict__", state))
    missing = object()
    for name in _slot_names(cls):
        value = getattr(obj, name, missing)
        parts.append((f".{name}", "<unset slot>" if value is missing else value))
    if _reduces_natively(cls):
        # C types keep their state out of sight (deque items, partial args, ...).
        parts.extend(_reduce_parts(obj))
    return parts


def _is_leaf(obj: object) -> bool:
    return type(obj) in LEAF_TYPES or issubclass(type(obj), type)


def _subclass_parts(obj: object) -> list[tuple[Path, object]]:
    return [] if type(obj) in CONTAINER_BASES else _object_parts(obj)


def _container_base(obj: object) -> type | None:
    for base in CONTAINER_BASES:
        if issubclass(type(obj), base):
            return base
    return None


def _scalar_base(obj: object) -> type | None:
    for base in SCALAR_TYPES:
        if issubclass(type(obj), base):
            return base
    return None


def _equal_values(expected: object, actual: object) -> bool:
    """== that treats objects not equal to themselves (NaN) as equal to each other."""
    try:
        if expected == actual:
            return True
        return bool(expected != expected and actual != actual)
    except Exception:  # noqa: BLE001 - e.g. signalling Decimal NaN: compare spellings
        return repr(expected) == repr(actual)


def _fresh_functions_alike(expected: object, actual: object) -> bool:
    """Two functions made by the same code at run time (closures) count as equal."""
    return (
        isinstance(expected, types.FunctionType)
        and isinstance(actual, types.FunctionType)
        and expected.__code__ is actual.__code__
    )


def _has_own_eq(cls: type) -> bool:
    return getattr(cls, "__eq__", object.__eq__) is not object.__eq__


# --- positions of the original's objects -------------------------------------------------


class Walker:
    """Visits every reachable part once, keeping each alive so that ids stay unique."""

    def __init__(self) -> None:
        self.first_path: dict[int, Path] = {}
        self.alive: list[object] = []

    def visit(self, obj: object, path: Path) -> None:
        if id(obj) in self.first_path:
            return
        self.first_path[id(obj)] = path
        self.alive.append(obj)
        for child_path, child in children(obj):
            self.visit(child, path + child_path)


def children(obj: object) -> list[tuple[Path, object]]:
    """Every part of ``obj`` that a copy would carry, with its path suffix."""
    if _is_leaf(obj) or type(obj) in SCALAR_TYPES:
        return []
    if type(obj) is types.MethodType:
        return [(".__func__", obj.__func__), (".__self__", obj.__self__)]
    parts: list[tuple[Path, object]] = []
    base = _container_base(obj)
    if base in (list, tuple, set, frozenset):
        label = "[{}]" if base in (list, tuple) else "<member {}>"
        sequence: Iterable[object] = obj  # type: ignore[assignment]
        parts.extend((label.format(index), item) for index, item in enumerate(sequence))
    elif base is dict:
        mapping: dict[object, object] = obj  # type: ignore[assignment]
        for index, (key, value) in enumerate(dict.items(mapping)):
            parts.append((f"<key {index}>", key))
            parts.append((f"<value {index}>", value))
    if type(obj) not in CONTAINER_BASES:
        parts.extend(_object_parts(obj))
    return parts


def original_positions(original: object) -> tuple[dict[int, Path], list[object]]:
    """id -> first path of every object reachable from ``original`` (and the keep-alive)."""
    walker = Walker()
    walker.visit(original, "")
    return walker.first_path, walker.alive


# --- the lockstep comparison -------------------------------------------------------------


@dataclass
class Comparator:
    """Compares a stdlib result with a copykit result, position by position."""

    expected_originals: dict[int, Path]
    actual_originals: dict[int, Path]
    expected_seen: dict[int, Path] = field(default_factory=dict)
    actual_seen: dict[int, Path] = field(default_factory=dict)
    alive: list[object] = field(default_factory=list)
    # Backtracking over ambiguous set pairings: which option to take at each choice point,
    # and how many options each choice point met had (see assert_same_copy).
    script: list[int] = field(default_factory=list)
    options: list[int] = field(default_factory=list)

    def choose(self, count: int) -> int:
        """The option to take at the next choice point among ``count`` (0 by default)."""
        point = len(self.options)
        self.options.append(count)
        return self.script[point] if point < len(self.script) else 0

    def compare(self, expected: object, actual: object, path: Path) -> None:
        self.alive.extend((expected, actual))
        if type(expected) is not type(actual):
            raise _fail(path, f"type {type(expected)!r} expected, got {type(actual)!r}")
        self._check_originality(expected, actual, path)
        if self._check_sharing(expected, actual, path) or expected is actual:
            return
        if type(expected) in SCALAR_TYPES or _is_leaf(expected):
            self._check_equal(expected, actual, path)
            return
        scalar = _scalar_base(expected)
        if scalar is not None:
            spell = cast("Callable[[object], str]", scalar.__repr__)
            self._check_equal(spell(expected), spell(actual), path)
        self._compare_children(expected, actual, path)

    def _check_originality(self, expected: object, actual: object, path: Path) -> None:
        expected_origin = self.expected_originals.get(id(expected))
        actual_origin = self.actual_originals.get(id(actual))
        if expected_origin == actual_origin:
            return
        if expected_origin is None and type(expected) in SCALAR_TYPES:
            return  # a fresh scalar in stdlib's result; copykit may reuse an equal one
        raise _fail(
            path,
            f"stdlib result holds {_origin_text(expected_origin)}, "
            f"copykit result holds {_origin_text(actual_origin)} ({actual!r:.80})",
        )

    def _check_sharing(self, expected: object, actual: object, path: Path) -> bool:
        """True when this pair was reached before (and sharing agrees)."""
        if type(expected) in SCALAR_TYPES:
            return False
        expected_first = self.expected_seen.get(id(expected))
        actual_first = self.actual_seen.get(id(actual))
        if expected_first != actual_first:
            raise _fail(
                path,
                f"stdlib result's object here was first seen at {expected_first}, "
                f"copykit's at {actual_first} (sharing differs)",
            )
        if expected_first is not None:
            return True
        self.expected_seen[id(expected)] = path
        self.actual_seen[id(actual)] = path
        return False

    def _check_equal(self, expected: object, actual: object, path: Path) -> None:
        if not _equal_values(expected, actual) and not _fresh_functions_alike(expected, actual):
            raise _fail(path, f"{expected!r:.80} expected, got unequal {actual!r:.80}")

    def _compare_children(self, expected: object, actual: object, path: Path) -> None:
        if _container_base(expected) in (set, frozenset):
            # Same type was checked in compare(), so both are sets of one kind.
            self._compare_members(cast("set[Any]", expected), cast("set[Any]", actual), path)
            expected_parts = _subclass_parts(expected)
            actual_parts = _subclass_parts(actual)
        else:
            expected_parts, actual_parts = children(expected), children(actual)
        opaque = not expected_parts and _container_base(expected) is None
        if opaque and _has_own_eq(type(expected)):
            self._check_equal(expected, actual, path)
        expected_names = [name for name, _ in expected_parts]
        actual_names = [name for name, _ in actual_parts]
        if expected_names != actual_names:
            raise _fail(path, f"parts {expected_names} expected, got {actual_names}")
        for (name, expected_part), (_, actual_part) in zip(
            expected_parts, actual_parts, strict=True
        ):
            self.compare(expected_part, actual_part, path + name)

    def _compare_members(
        self, expected: set[Any] | frozenset[Any], actual: set[Any] | frozenset[Any], path: Path
    ) -> None:
        if len(expected) != len(actual):
            raise _fail(path, f"{len(expected)} members expected, got {len(actual)}")
        for index, (expected_member, actual_member) in enumerate(
            self._pair_members(expected, actual, path)
        ):
            self.compare(expected_member, actual_member, f"{path}<member {index}>")

    def _pair_members(
        self, expected: set[Any] | frozenset[Any], actual: set[Any] | frozenset[Any], path: Path
    ) -> list[tuple[Any, Any]]:
        """Pair members: by equal value when hashing finds one, else by structure.

        Members hashed by identity (plain instances) can match several candidates; which
        pairing is right shows only later (sharing), so that choice is a choice point.
        """
        by_value = {member: member for member in actual}
        unmatched = list(actual)
        pairs: list[tuple[Any, Any]] = []
        for member in expected:
            partner = by_value.get(member, _NO_PARTNER)
            if partner is _NO_PARTNER or not any(partner is m for m in unmatched):
                partner = self._structural_partner(member, unmatched, path)
            unmatched = [m for m in unmatched if m is not partner]
            pairs.append((member, partner))
        return pairs

    def _structural_partner(self, member: object, candidates: list[Any], path: Path) -> object:
        matches = [candidate for candidate in candidates if self._matches(member, candidate, path)]
        if not matches:
            raise _fail(path, f"no member of copykit's set matches {member!r:.80}")
        return matches[self.choose(len(matches)) if len(matches) > 1 else 0]

    def _matches(self, member: object, candidate: object, path: Path) -> bool:
        trial = Comparator(
            self.expected_originals,
            self.actual_originals,
            dict(self.expected_seen),
            dict(self.actual_seen),
        )
        try:
            trial.compare(member, candidate, path + "<member>")
        except Mismatch:
            return False
        return True


_NO_PARTNER = object()


def _origin_text(origin: Path | None) -> str:
    if origin is None:
        return "a new object"
    return f"the original's object at {origin or '<root>'}"


MAX_PAIRING_ATTEMPTS = 500


def _next_script(script: list[int], options: list[int]) -> list[int] | None:
    """The next combination of choices to try (an odometer over ``options``), or None."""
    taken = (script + [0] * len(options))[: len(options)]
    for point in reversed(range(len(options))):
        if taken[point] + 1 < options[point]:
            return taken[:point] + [taken[point] + 1]
    return None


def assert_same_copy(
    original: object,
    stdlib_result: object,
    copykit_result: object,
    copykit_original: object | None = None,
) -> None:
    """Raise Mismatch unless both results agree in types, values, sharing and originals.

    ``copykit_original`` is the input copykit was given when it was built separately from
    ``original`` (the same construction, run twice); by default both copied ``original``.
    """
    expected_originals, keep_expected = original_positions(original)
    if copykit_original is None:
        actual_originals, keep_actual = expected_originals, keep_expected
    else:
        actual_originals, keep_actual = original_positions(copykit_original)
    script: list[int] | None = []
    first_failure: Mismatch | None = None
    for _attempt in range(MAX_PAIRING_ATTEMPTS):
        if script is None:
            break
        comparator = Comparator(expected_originals, actual_originals, script=script)
        try:
            comparator.compare(stdlib_result, copykit_result, "")
        except Mismatch as failure:
            first_failure = first_failure or failure
            script = _next_script(script, comparator.options)
        else:
            return
    assert first_failure is not None
    raise first_failure


# --- memos -------------------------------------------------------------------------------


def memo_layout(memo: dict[int, Any], positions: Walker) -> list[tuple[str, str]]:
    """Each memo key, in order, as a position: the keep-alive slot, an original, ...

    ``positions`` comes from ``positions_of(original)``, taken before anything is copied:
    walking an object can change it (an exception's __dict__ appears when first read).
    """
    keep_alive = memo.get(id(memo), [])
    keep_alive_ids = {id(item): index for index, item in enumerate(keep_alive)}
    layout: list[tuple[str, str]] = []
    for key, value in memo.items():
        if key == id(memo):
            layout.append(("key", KEEP_ALIVE))
        elif key in positions.first_path:
            layout.append(("original", positions.first_path[key] or "<root>"))
        elif key in keep_alive_ids:
            layout.append(("kept", str(keep_alive_ids[key])))
        elif key == id(value):
            layout.append(("self-copy", type(value).__name__))
        else:
            layout.append(("unknown", type(value).__name__))
    return layout


def positions_of(original: object) -> Walker:
    """Where each object reachable from ``original`` first appears (kept alive)."""
    walker = Walker()
    walker.visit(original, "")
    return walker


def memo_values(memo: dict[int, Any]) -> list[object]:
    """The memo's values in key order, the keep-alive list included."""
    return list(memo.values())


# --- hook recording ----------------------------------------------------------------------


class HookRecorder:
    """Collects (hook name, argument summary) pairs in call order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def record(self, hook: str, summary: object = None) -> None:
        self.calls.append((hook, summary))

    @contextmanager
    def capturing(self) -> Iterator[list[tuple[str, object]]]:
        """Start a fresh log; yield it (it fills during the block)."""
        self.calls = []
        yield self.calls


# --- running one operation on both -------------------------------------------------------


@dataclass
class Outcome:
    """What one side did: a result or an exception, and the hook calls it made."""

    result: Any = None  # whatever the operation returned; tests index into it
    error: BaseException | None = None
    calls: list[tuple[str, object]] = field(default_factory=list)

    def error_signature(self) -> tuple[type[BaseException], str] | None:
        """Exception type and message; RecursionError's message says where the limit hit,
        which copykit may reach later than stdlib (a documented difference): type only."""
        if self.error is None:
            return None
        if isinstance(self.error, RecursionError):
            return (type(self.error), "")
        return (type(self.error), str(self.error))


def run_side(
    module: Any, operation: Callable[[Any], object], recorder: HookRecorder | None
) -> Outcome:
    outcome = Outcome()
    recorder = recorder or HookRecorder()
    with recorder.capturing() as calls:
        try:
            outcome.result = operation(module)
        except Exception as exc:  # noqa: BLE001 - the exception is what we compare
            outcome.error = exc
    outcome.calls = list(calls)
    return outcome


def run_both(
    impl: Any,
    operation: Callable[[Any], object],
    original: object = None,
    recorder: HookRecorder | None = None,
) -> tuple[Outcome, Outcome]:
    """Run ``operation(copy)`` then ``operation(impl)``; assert both agree, return both.

    Results are compared with ``assert_same_copy(original, ...)``; exceptions by type and
    message; hook calls recorded by ``recorder`` must be the same list.
    """
    before = fingerprint(original)
    expected = run_side(stdlib_copy, operation, recorder)
    stdlib_left_it_alone = fingerprint(original) == before
    actual = run_side(impl, operation, recorder)
    assert_same_outcome(original, expected, actual)
    if stdlib_left_it_alone:
        assert fingerprint(original) == before, "copykit changed the original; stdlib did not"
    return expected, actual


Fingerprint = list[tuple[str, str, object]]


def fingerprint(original: object) -> Fingerprint:
    """Every reachable part of ``original``: path, type, and identity (or value, for atoms).

    Parts that exist only as the result of a reduce call are fresh objects each time, so
    only their types and values count, not their identities.
    """
    first_path: dict[int, Path] = {}
    alive: list[object] = []
    prints: Fingerprint = []

    def visit(obj: object, path: Path) -> None:
        if id(obj) in first_path:
            prints.append((path, "same as", first_path[id(obj)]))
            return
        first_path[id(obj)] = path
        alive.append(obj)
        value = repr(obj) if type(obj) in SCALAR_TYPES else None
        identity = None if "<reduce" in path else id(obj)
        prints.append((path, type(obj).__qualname__, value if value is not None else identity))
        for child_path, child in children(obj):
            visit(child, path + child_path)

    visit(original, "")
    return prints


def assert_same_outcome(
    original: object, expected: Outcome, actual: Outcome, copykit_original: object | None = None
) -> None:
    """Both raised alike, or both returned results that agree; hook calls agree."""
    assert actual.error_signature() == expected.error_signature(), (
        f"stdlib: {_describe(expected)}; copykit: {_describe(actual)}"
    )
    if expected.error is None:
        assert_same_copy(original, expected.result, actual.result, copykit_original)
    assert actual.calls == expected.calls, (
        f"hook calls differ:\nstdlib:  {expected.calls}\ncopykit: {actual.calls}"
    )


def _describe(outcome: Outcome) -> str:
    if outcome.error is None:
        return f"returned {outcome.result!r:.100}"
    return f"raised {type(outcome.error).__name__}: {outcome.error}"
