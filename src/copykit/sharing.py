"""What two structures still share: ``shared()`` and ``assert_independent()``.

A shallow copy shares every mutable object beneath the top level with its original; a
deep copy shares none. ``shared(a, b)`` lists the mutable objects reachable from both
``a`` and ``b``, with the path from each root, so that a leak such as::

    config = DEFAULT_CONFIG.copy()          # shallow!
    config["database"]["user"] = "alice"    # ...and DEFAULT_CONFIG changed too

shows up as ``a['database'] is b['database']``.

What counts as mutable
    Numbers, strings, bytes, ``None``, ``range``, ``Ellipsis``, functions, classes, modules,
    code objects, properties, weak references, enum members and the immutable values of the
    standard library (``datetime``, ``Decimal``, ``Fraction``, ``UUID``, ``PurePath``,
    compiled patterns) never count and are not looked into: ``copy.deepcopy`` keeps them
    too. Tuples, frozensets, 3.15's frozendicts, named tuples, frozen dataclasses and bound
    methods never count themselves but are looked through, so the lists inside a
    shallow-copied tuple or frozendict are found (subclasses of tuple, frozenset and
    frozendict too, unless their instances have a ``__dict__``, which can change).
    Everything else counts: lists, dicts, sets, deques, bytearrays, instances of classes.

What is looked into
    Items of lists, tuples and deques; keys and values of dicts and frozendicts; members of
    sets and frozensets; instance ``__dict__`` and ``__slots__`` (inherited ones too); and, for
    classes that customise pickling or keep their state out of sight (C types), the parts
    of ``obj.__reduce_ex__(4)``. A ``__reduce_ex__`` that raises makes the object a leaf.

How paths read
    Like the Python expression that reaches the object from its root: ``['database']``
    (dict or frozendict value, key shown with ``repr``), ``[3]`` (list, tuple or deque
    item), ``.points`` (attribute or slot), ``.keys(){Node(1)}`` (a dict or frozendict key
    itself) and ``{Tag('x')}`` (a member of a set or frozenset: sets have no index, so the
    member is named by its repr).
    State reached only through pickling reads ``.__reduce_ex__(4)[2]['name']``. The empty
    path is the root itself. Long reprs are shortened with ``…``.

Only the outermost shared object on each path is reported: once ``a['x'] is b['x']``,
nothing beneath ``a['x']`` is listed again. The walk is iterative (no recursion limit) and
handles cycles; it visits each object once.

What is shared by design: ``keep=``
    ``shared()`` and ``assert_independent()`` take the ``keep`` of ``copykit.deepcopy``: a
    type or tuple of types, matched as by ``isinstance``, or a predicate
    ``keep(obj) -> bool``. An object it matches is neither reported nor looked into, on
    either side: what a kept object holds is shared by design. So after
    ``b = copykit.deepcopy(a, keep=Client)``, ``assert_independent(a, b, keep=Client)``
    passes, even when a client holds an object that ``a`` also reaches another way: an
    object is reported only when both roots reach it without passing through a kept
    object. Atoms (as above, and ``copy.deepcopy``'s own) and classes are never offered
    to ``keep``; every other object the walk reaches is offered once per call, even when
    both roots reach it. ``keep`` is checked before anything is walked; what the
    predicate raises propagates.
"""

from __future__ import annotations

import argparse
import builtins
import dataclasses
import enum
import reprlib
import sys
import types
import weakref
from collections import deque
from collections.abc import Callable, Container, Iterator, Sequence
from typing import Any

from copykit._pycopy import _DEEP_ATOMIC_TYPES, _keep_policy, _KeepPolicy

__all__ = ["SharedObject", "add_parser", "assert_independent", "shared"]

# ---------------------------------------------------------------- classification

#: Types whose instances are immutable leaves, checked by exact type on the hot path.
ATOMIC_TYPES: frozenset[type] = frozenset(
    {
        type(None),
        type(Ellipsis),
        type(NotImplemented),
        bool,
        int,
        float,
        complex,
        str,
        bytes,
        range,
        slice,
        type,
        property,
        weakref.ref,
        types.BuiltinFunctionType,
        types.CodeType,
        types.FunctionType,
        types.MethodDescriptorType,
        types.MethodWrapperType,
        types.ModuleType,
        types.WrapperDescriptorType,
    }
)

# Checked with isinstance on the slow path (subclasses, metaclasses, and so on).
_ATOMIC_BASES: tuple[type, ...] = (
    type,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.ModuleType,
    enum.Enum,
    int,
    float,
    complex,
    str,
    bytes,
)

# Immutable value types of the standard library, by module: only modules already imported
# can have instances, so looking them up in sys.modules costs no imports.
_VALUE_TYPE_NAMES: dict[str, tuple[str, ...]] = {
    "datetime": ("date", "time", "timedelta", "tzinfo"),
    "decimal": ("Decimal",),
    "fractions": ("Fraction",),
    "uuid": ("UUID",),
    "pathlib": ("PurePath",),
    "re": ("Pattern", "Match"),
    "ipaddress": ("IPv4Address", "IPv6Address", "IPv4Network", "IPv6Network"),
}

ATOM = "atom"  # immutable leaf: never counts, never looked into
FROZEN = "frozen"  # immutable container: never counts, looked through
MUTABLE = "mutable"  # counts when reachable from both roots

#: 3.15's built-in immutable mapping (not a dict subclass), or None before 3.15.
FROZENDICT: type | None = getattr(builtins, "frozendict", None)
_FROZENDICT_TYPES: tuple[type, ...] = () if FROZENDICT is None else (FROZENDICT,)

_MAPPING_TYPES: tuple[type, ...] = (dict, *_FROZENDICT_TYPES)
_FROZEN_CONTAINER_TYPES: tuple[type, ...] = (tuple, frozenset, *_FROZENDICT_TYPES)
_CONTAINER_TYPES: tuple[type, ...] = (list, tuple, dict, set, frozenset, deque, *_FROZENDICT_TYPES)


def _imported_value_types() -> tuple[type, ...]:
    """Return the immutable stdlib value types whose modules are already imported."""
    found: list[type] = []
    for module_name, type_names in _VALUE_TYPE_NAMES.items():
        module = sys.modules.get(module_name)
        for type_name in type_names:
            value_type = getattr(module, type_name, None)
            if isinstance(value_type, type):
                found.append(value_type)
    return tuple(found)


def _is_frozen_dataclass(cls: type) -> bool:
    params = getattr(cls, "__dataclass_params__", None)
    return bool(getattr(params, "frozen", False))


def _classify_type(cls: type, value_types: tuple[type, ...]) -> str:
    """Say whether instances of ``cls`` are atoms, frozen containers or mutable."""
    if cls in ATOMIC_TYPES or issubclass(cls, _ATOMIC_BASES + value_types):
        return ATOM
    if cls is object:
        return ATOM  # a bare object() is a sentinel: it has no state to share
    if cls in _FROZEN_CONTAINER_TYPES or cls is types.MethodType:
        return FROZEN
    if issubclass(cls, _FROZEN_CONTAINER_TYPES) and not cls.__dictoffset__:
        return FROZEN
    if _is_frozen_dataclass(cls):
        return FROZEN
    return MUTABLE


class Classifier:
    """Classify objects by type, caching per type for the duration of one walk."""

    def __init__(self) -> None:
        self._value_types = _imported_value_types()
        self.known_kinds: dict[type, str] = {list: MUTABLE, dict: MUTABLE, set: MUTABLE}
        self.known_kinds.update({tuple: FROZEN, frozenset: FROZEN, deque: MUTABLE})
        self.known_kinds.update(dict.fromkeys(_FROZENDICT_TYPES, FROZEN))
        self._plain: dict[type, bool] = {}

    def is_plain(self, cls: type) -> bool:
        """True for classes whose instances hold everything in their ``__dict__``: no
        slots, no container base, no custom pickling."""
        plain = self._plain.get(cls)
        if plain is None:
            plain = bool(
                cls.__dictoffset__
                and not hasattr(cls, "__slots__")
                and not issubclass(cls, _CONTAINER_TYPES)
                and _has_default_reduce(cls)
            )
            self._plain[cls] = plain
        return plain

    def kind(self, obj: object) -> str:
        """Return ``ATOM``, ``FROZEN`` or ``MUTABLE`` for ``obj``."""
        cls = type(obj)
        kind = self.known_kinds.get(cls)
        if kind is None:
            kind = ATOM if cls in ATOMIC_TYPES else _classify_type(cls, self._value_types)
            self.known_kinds[cls] = kind
        return kind


# ---------------------------------------------------------------- children

# A step from a container to one thing it holds: (kind of step, key). Kinds render as:
INDEX = "index"  # [3]
KEY = "key"  # ['name']   (the value stored under a dict key)
DICT_KEY = "dict_key"  # .keys(){'name'}   (the key object itself)
MEMBER = "member"  # {Tag('x')}
ATTR = "attr"  # .name
REDUCE = "reduce"  # .__reduce_ex__(4)[2]['name']   (key is the ready-made text)

Child = tuple[str, Any, object]  # (step kind, key, the object held)


class _Shortener(reprlib.Repr):
    """``reprlib.Repr`` that also shortens 3.15's frozendict, as the dict it wraps."""

    def repr_frozendict(self, obj: Any, level: int) -> str:
        """``frozendict({...})`` with the dict part cut as ``repr_dict`` cuts a dict."""
        return f"{type(obj).__name__}({self.repr_dict(obj, level)})"


def _make_repr(max_level: int) -> reprlib.Repr:
    shortener = _Shortener()
    shortener.maxlevel = max_level
    shortener.maxstring = shortener.maxother = 40
    shortener.maxlist = shortener.maxtuple = shortener.maxdict = 4
    shortener.maxset = shortener.maxfrozenset = 4
    return shortener


_KEY_REPR = _make_repr(3)  # dict keys and set members in paths: precise
_SUMMARY_REPR = _make_repr(1)  # a glimpse of a shared object: nested containers as {…}


def short_repr(obj: object, *, summary: bool = False) -> str:
    """Return ``repr(obj)`` cut to about 40 characters with ``…``; never raises.

    ``summary=True`` also shows containers nested in ``obj`` as ``[…]`` and ``{…}``.
    """
    try:
        text = (_SUMMARY_REPR if summary else _KEY_REPR).repr(obj)
    except Exception:
        text = f"<{type(obj).__name__} object at {id(obj):#x}>"
    text = text.replace("...", "…")
    return text if len(text) <= 44 else text[:43] + "…"


def render_step(kind: str, key: Any) -> str:
    """Return the path text of one step, e.g. ``['name']``, ``[3]`` or ``.attr``."""
    if kind == INDEX:
        return f"[{key}]"
    if kind == KEY:
        return f"[{short_repr(key)}]"
    if kind == ATTR:
        return f".{key}"
    if kind == MEMBER:
        return "{" + short_repr(key) + "}"
    if kind == DICT_KEY:
        return ".keys(){" + short_repr(key) + "}"
    return str(key)


def _slot_descriptors(cls: type) -> list[tuple[str, Any]]:
    """Return (name, member descriptor) for every ``__slots__`` entry of ``cls`` and its bases."""
    found: list[tuple[str, Any]] = []
    if not hasattr(cls, "__slots__"):
        return found
    for klass in reversed(cls.__mro__):
        slots = klass.__dict__.get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if name in ("__dict__", "__weakref__"):
                continue
            if name.startswith("__") and not name.endswith("__"):
                name = f"_{klass.__name__.lstrip('_')}{name}"  # private names are mangled
            descriptor = klass.__dict__.get(name)
            if isinstance(descriptor, types.MemberDescriptorType):
                found.append((name, descriptor))
    return found


def _has_default_reduce(cls: type) -> bool:
    reduce_ex: Any = cls.__reduce_ex__
    reduce: Any = cls.__reduce__
    return reduce_ex is object.__reduce_ex__ and reduce is object.__reduce__


def _container_children(obj: Any) -> Iterator[Child]:
    # issubclass(type(obj), ...), not isinstance: isinstance may consult a __class__ that
    # a hostile __getattribute__ makes raise.
    cls = type(obj)
    if issubclass(cls, _MAPPING_TYPES):
        for key, value in obj.items():
            yield DICT_KEY, key, key
            yield KEY, key, value
    elif issubclass(cls, (set, frozenset)):
        for member in obj:
            yield MEMBER, member, member
    elif issubclass(cls, tuple) and isinstance(fields := getattr(cls, "_fields", None), tuple):
        for name, item in zip(fields, obj, strict=False):
            yield ATTR, name, item
    elif issubclass(cls, (list, tuple, deque)):
        for index, item in enumerate(obj):
            yield INDEX, index, item


def _attribute_children(obj: object) -> Iterator[Child]:
    try:
        namespace = object.__getattribute__(obj, "__dict__")
    except (AttributeError, TypeError):
        namespace = None
    if isinstance(namespace, dict):
        for name, value in namespace.items():
            yield ATTR, name, value
    for name, descriptor in _slot_descriptors(type(obj)):
        try:
            yield ATTR, name, descriptor.__get__(obj, type(obj))
        except AttributeError:
            continue  # an empty slot


def _reduce_children(obj: object) -> Iterator[Child]:
    """Yield the parts of ``obj.__reduce_ex__(4)``; nothing when reduce raises."""
    try:
        reduced = obj.__reduce_ex__(4)
    except Exception:
        return
    if not isinstance(reduced, tuple):
        return
    parts = list(reduced) + [None] * (5 - len(reduced))
    args, state, list_items, dict_items = parts[1:5]
    if isinstance(args, tuple):
        for index, arg in enumerate(args):
            yield REDUCE, f".__reduce_ex__(4)[1][{index}]", arg
    yield from _reduce_state_children(state)
    yield from _reduce_items_children(list_items, dict_items)


def _reduce_state_children(state: object) -> Iterator[Child]:
    prefix = ".__reduce_ex__(4)[2]"
    parts = state if isinstance(state, tuple) and len(state) == 2 else (state,)
    for part_index, part in enumerate(parts):
        part_prefix = prefix if parts is not state else f"{prefix}[{part_index}]"
        if isinstance(part, dict):  # a frozendict state is yielded whole: it is looked through
            for name, value in part.items():
                yield REDUCE, f"{part_prefix}[{short_repr(name)}]", value
        elif part is not None:
            yield REDUCE, part_prefix, part


def _reduce_items_children(list_items: Any, dict_items: Any) -> Iterator[Child]:
    try:
        if list_items is not None:
            for index, item in enumerate(list_items):
                yield INDEX, index, item
        if dict_items is not None:
            for key, value in dict_items:
                yield DICT_KEY, key, key
                yield KEY, key, value
    except Exception:
        return


def children(obj: object) -> list[Child]:
    """Return ``(step kind, key, child)`` for everything ``obj`` holds, atoms included.

    Parts of ``__reduce_ex__(4)`` are asked for only when the object keeps its state out of
    sight or customises pickling, and are left out when already reached another way.
    """
    cls = type(obj)
    if cls in _CONTAINER_TYPES:
        return list(_container_children(obj))
    if cls is types.MethodType:  # final: cannot be subclassed
        return [(ATTR, "__self__", obj.__self__)]  # type: ignore[attr-defined]
    found = list(_container_children(obj))
    found.extend(_attribute_children(obj))
    if _worth_reducing(obj, found):
        seen = {id(child) for _, _, child in found}
        seen.add(id(obj))
        found.extend(c for c in _reduce_children(obj) if id(c[2]) not in seen)
    return found


def _worth_reducing(obj: object, found: list[Child]) -> bool:
    """True when pickling may show references that the attributes did not."""
    if issubclass(type(obj), _CONTAINER_TYPES) or _holds_raw_bytes(obj):
        return False
    return not found or not _has_default_reduce(type(obj))


def _holds_raw_bytes(obj: object) -> bool:
    """True for buffers (bytearray, array.array, numeric arrays): their reduce would copy
    the data only to show bytes, which hold no references."""
    try:
        memoryview(obj).release()  # type: ignore[arg-type]
    except Exception:
        return False
    return True


# ---------------------------------------------------------------- the walk


_Parent = tuple[int, str, Any] | None  # (id of the container, step kind, key)


class _Walk:
    """A breadth-first walk from one root, remembering how each object was reached."""

    def __init__(self, root: object, classifier: Classifier) -> None:
        self.classifier = classifier
        self.parents: dict[int, _Parent] = {id(root): None}
        self.order: list[object] = [root]  # the BFS queue; also keeps every id unique
        self.stopped_at: list[object] = []

    def run(self, stop_at: Container[int] = frozenset(), kept: _KeptObjects | None = None) -> None:
        """Visit everything reachable; a mutable object whose id is in ``stop_at`` is
        recorded in ``stopped_at`` and not looked into; an object ``kept`` matches is
        neither recorded nor looked into."""
        order = self.order
        known_kinds, kind_of = self.classifier.known_kinds, self.classifier.kind
        for obj in order:  # grows while we iterate: a queue that never shrinks
            kind = known_kinds.get(type(obj)) or kind_of(obj)
            if kind is ATOM:
                continue  # never offered to keep (classes are atoms here too)
            if kept is not None and kept.matches(obj):
                continue
            obj_id = id(obj)
            if kind is MUTABLE and obj_id in stop_at:
                self.stopped_at.append(obj)
                continue
            self._enqueue(obj, obj_id)

    def _enqueue(self, obj: Any, obj_id: int) -> None:
        """Queue what ``obj`` holds, skipping atoms (exact type) and objects already seen.

        Lists, tuples, dicts, sets and plain instances are inlined: this is the hot loop of
        the walk. Everything else goes through ``children()``, which gives the same steps.
        """
        parents, order, atomic = self.parents, self.order, ATOMIC_TYPES
        cls = type(obj)
        if cls is list or cls is tuple:
            for index, child in enumerate(obj):
                if type(child) not in atomic and id(child) not in parents:
                    parents[id(child)] = (obj_id, INDEX, index)
                    order.append(child)
        elif cls is dict:
            for key, child in obj.items():
                if type(key) not in atomic and id(key) not in parents:
                    parents[id(key)] = (obj_id, DICT_KEY, key)
                    order.append(key)
                if type(child) not in atomic and id(child) not in parents:
                    parents[id(child)] = (obj_id, KEY, key)
                    order.append(child)
        elif cls is set or cls is frozenset:
            for child in obj:
                if type(child) not in atomic and id(child) not in parents:
                    parents[id(child)] = (obj_id, MEMBER, child)
                    order.append(child)
        elif self.classifier.is_plain(cls):
            for name, child in object.__getattribute__(obj, "__dict__").items():
                if type(child) not in atomic and id(child) not in parents:
                    parents[id(child)] = (obj_id, ATTR, name)
                    order.append(child)
        else:
            for step_kind, key, child in children(obj):
                if type(child) not in atomic and id(child) not in parents:
                    parents[id(child)] = (obj_id, step_kind, key)
                    order.append(child)

    def path(self, obj: object) -> str:
        """Return the path from the root to ``obj`` (which the walk must have reached)."""
        steps: list[str] = []
        parent = self.parents[id(obj)]
        while parent is not None:
            parent_id, step_kind, key = parent
            steps.append(render_step(step_kind, key))
            parent = self.parents[parent_id]
        return "".join(reversed(steps))


class _KeptObjects:
    """The keep policy's answers for one ``shared()`` call, remembered by id so that each
    object is offered at most once (the walks hold every object they reach, so ids stay
    unique while the answers are in use)."""

    __slots__ = ("policy", "answers")

    def __init__(self, policy: _KeepPolicy) -> None:
        self.policy = policy
        self.answers: dict[int, bool] = {}

    def matches(self, obj: object) -> bool:
        """Is ``obj`` shared by design? Atoms and classes are never offered to the policy,
        as ``deepcopy`` never offers them; what the policy raises propagates."""
        answer = self.answers.get(id(obj))
        if answer is None:
            cls = type(obj)
            answer = (
                cls not in _DEEP_ATOMIC_TYPES
                and not issubclass(cls, type)
                and self.policy.matches(obj)
            )
            self.answers[id(obj)] = answer
        return answer


# ---------------------------------------------------------------- public API


@dataclasses.dataclass(frozen=True)
class SharedObject:
    """One mutable object reachable from both roots, with its path from each.

    ``path_a`` and ``path_b`` are Python-like paths (``['db']['user']``, ``.items[0]``);
    the empty string is the root itself. ``obj`` is the shared object; it is left out of
    equality and hashing, so records of unhashable objects can go in sets.
    """

    path_a: str
    path_b: str
    obj: object = dataclasses.field(compare=False)

    def describe(self, name_a: str = "a", name_b: str = "b") -> str:
        """Return one line such as ``a['db'] is b['db']  # dict {'user': 'admin'}``."""
        glimpse = f"{type(self.obj).__name__} {short_repr(self.obj, summary=True)}"
        return f"{name_a}{self.path_a} is {name_b}{self.path_b}  # {glimpse}"

    def __str__(self) -> str:
        return self.describe()


def shared(
    a: object, b: object, *, keep: type | tuple[type, ...] | Callable[[Any], object] | None = None
) -> list[SharedObject]:
    """Return every mutable object reachable from both ``a`` and ``b``.

    The result lists the outermost shared object on each path, in breadth-first order
    from ``a``; it is empty when ``a`` and ``b`` are independent (as after
    ``b = copy.deepcopy(a)``). See the module docstring for what counts as mutable and how
    paths read. Never raises for unusual objects: what cannot be looked into is a leaf.

    ``keep`` names what is shared by design, as in ``copykit.deepcopy(x, keep=...)``: a
    type or tuple of types (matched as by ``isinstance``) or a predicate
    ``keep(obj) -> bool``. An object it matches is neither reported nor looked into, from
    either root, so an object is reported only when both roots reach it without passing
    through a kept one. Atoms and classes are never offered to ``keep``, and no object is
    offered twice. A ``keep`` of any other kind raises ``TypeError`` before anything is
    walked; whatever the predicate raises propagates.
    """
    return _shared(a, b, None if keep is None else _keep_policy(keep))


def _shared(a: object, b: object, policy: _KeepPolicy | None) -> list[SharedObject]:
    """``shared(a, b)`` with ``keep`` already validated (None: nothing is kept)."""
    kept = None if policy is None else _KeptObjects(policy)
    classifier = Classifier()
    walk_b = _Walk(b, classifier)
    walk_b.run(kept=kept)
    walk_a = _Walk(a, classifier)
    walk_a.run(stop_at=walk_b.parents, kept=kept)  # every object reached from b, by id
    return [SharedObject(walk_a.path(obj), walk_b.path(obj), obj) for obj in walk_a.stopped_at]


def format_shared(
    records: Sequence[SharedObject], name_a: str = "a", name_b: str = "b", limit: int = 10
) -> str:
    """Return a report of ``records``: a heading, then one line per record, at most ``limit``."""
    if not records:
        return f"{name_a} and {name_b} are independent: no mutable object is shared."
    noun = "object" if len(records) == 1 else "objects"
    lines = [f"{name_a} and {name_b} share {len(records)} mutable {noun}:"]
    lines.extend("  " + record.describe(name_a, name_b) for record in records[:limit])
    if len(records) > limit:
        lines.append(f"  ... and {len(records) - limit} more")
    return "\n".join(lines)


def assert_independent(
    a: object,
    b: object,
    *,
    keep: type | tuple[type, ...] | Callable[[Any], object] | None = None,
    names: tuple[str, str] = ("a", "b"),
    limit: int = 10,
) -> None:
    """Raise ``AssertionError`` if ``a`` and ``b`` share any mutable object.

    The message lists the shared paths, one per line, at most ``limit`` of them followed
    by ``... and N more``; ``names`` label the two roots. Returns ``None`` when nothing
    mutable is shared. Made for tests: ``assert_independent(user_config, DEFAULT_CONFIG)``.

    ``keep`` exempts what is shared by design, as in ``shared()``: after
    ``b = copykit.deepcopy(a, keep=Client)``, ``assert_independent(a, b, keep=Client)``
    passes. A ``keep`` that is not a type, a tuple of types or a callable raises
    ``TypeError`` before anything is walked; whatever the predicate raises propagates.
    """
    records = shared(a, b, keep=keep)
    if records:
        raise AssertionError(format_shared(records, *names, limit=limit))


# ---------------------------------------------------------------- command line


def run_snippet(source: str) -> dict[str, Any]:
    """Execute ``source`` with the stdlib ``copy`` module imported; return its namespace."""
    import copy

    namespace: dict[str, Any] = {"__name__": "__copykit_snippet__", "copy": copy}
    exec(compile(source, "<snippet>", "exec"), namespace)
    return namespace


def snippet_variables(namespace: dict[str, Any]) -> dict[str, Any]:
    """Return the plain variables of a snippet: no dunders, modules, functions or classes."""
    skipped = (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, type)
    return {
        name: value
        for name, value in namespace.items()
        if not name.startswith("_") and not isinstance(value, skipped)
    }


def read_snippet(text: str) -> str:
    """Return the snippet text, reading standard input when ``text`` is ``-``."""
    return sys.stdin.read() if text == "-" else text


def _evaluate_names(namespace: dict[str, Any], expressions: list[str]) -> dict[str, Any]:
    if not expressions:
        return snippet_variables(namespace)
    return {text: eval(text, namespace) for text in expressions}


def _shared_command(args: argparse.Namespace, argv: list[str]) -> int:
    """Run the subcommand; ``argv`` (the raw arguments) is unused."""
    try:
        namespace = run_snippet(read_snippet(args.snippet))
        roots = _evaluate_names(namespace, args.names)
    except Exception as exc:
        print(f"error: the snippet raised {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    if len(roots) < 2:
        print(f"error: need two objects to compare, got {sorted(roots)}", file=sys.stderr)
        return 2
    try:
        keep = None if args.keep is None else eval(args.keep, namespace)
        policy = None if keep is None else _keep_policy(keep)
    except Exception as exc:
        print(f"error: --keep raised {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    names = list(roots)
    any_shared = False
    for index, name_a in enumerate(names):
        for name_b in names[index + 1 :]:
            try:
                records = _shared(roots[name_a], roots[name_b], policy)
            except Exception as exc:  # only the keep predicate raises
                print(f"error: --keep raised {type(exc).__name__}: {exc}", file=sys.stderr)
                return 2
            any_shared = any_shared or bool(records)
            print(format_shared(records, name_a, name_b, limit=args.limit))
    return 1 if any_shared else 0


SHARED_DESCRIPTION = """\
Run a Python snippet (with `copy` imported) and print which mutable objects its
variables share, with the path to each from both sides. Exit status: 0 when nothing
is shared, 1 when something is, 2 on error.

examples:
  python -m copykit shared "a = [1, [2, 3]]; b = copy.copy(a)"
      a and b share 1 mutable object:
        a[1] is b[1]  # list [2, 3]
  python -m copykit shared "d = {'db': {}}; c = dict(d); e = copy.deepcopy(d)" d c
  python -m copykit shared - config DEFAULTS < snippet.py
  python -m copykit shared --keep set "a = {'tags': {'x'}, 'ids': [1]}; b = dict(a)"
      a and b share 1 mutable object:
        a['ids'] is b['ids']  # list [1]
"""


def add_parser(subparsers: Any) -> None:
    """Register the ``shared`` subcommand on an ``argparse`` subparsers object."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "shared",
        help="show which mutable objects the variables of a snippet share",
        description=SHARED_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("snippet", help="Python code to run, or - to read it from stdin")
    parser.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help="variables or expressions to compare, pairwise (default: every variable)",
    )
    parser.add_argument(
        "--limit", type=int, default=20, help="most paths to print per pair (default: 20)"
    )
    parser.add_argument(
        "--keep",
        metavar="EXPR",
        help="what is shared by design, as deepcopy's keep=: a type, a tuple of types or a"
        " predicate, evaluated in the snippet's namespace; matches are neither reported"
        " nor looked into",
    )
    run: Callable[[argparse.Namespace, list[str]], int] = _shared_command
    parser.set_defaults(run=run)
