"""Property tests: random object graphs copied by copykit and by stdlib must agree.

A graph is a random tree of containers, instances of classes with and without hooks,
``__slots__`` classes, dataclasses, reduce-based objects and atoms of every kind, to which
random extra references are then added: the same sub-object at several positions, and
cycles through lists, dicts and instances (also through tuples that hold them).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from types import ModuleType
from typing import Any, NamedTuple, SupportsIndex

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oracle import HookRecorder, Walker, memo_layout, positions_of, run_both
from samples import ATOMS, ListSubclass, Plain, SlotsAndDict, Slotted

recorder = HookRecorder()
MAX_DEPTH = 3
MAX_CHILDREN = 4
MAX_LINKS = 5

# Which module a hook recurses through, and where the original's objects sit (to name
# memo keys by position): set by each side's operation.
current_module: Any = None
current_positions: Walker | None = None


def memo_summary(memo: dict[int, Any]) -> object:
    """What a hook saw in the memo: its key layout in order, or its size."""
    if current_positions is None:
        return len(memo)
    return memo_layout(memo, current_positions)


class DeepHooked:
    def __init__(self, tag: int, payload: object) -> None:
        self.tag = tag
        self.payload = payload

    def __deepcopy__(self, memo: dict[int, Any]) -> DeepHooked:
        recorder.record("__deepcopy__", (self.tag, memo_summary(memo)))
        return DeepHooked(self.tag, current_module.deepcopy(self.payload, memo))


class ShallowHooked:
    def __init__(self, tag: int, payload: object) -> None:
        self.tag = tag
        self.payload = payload

    def __copy__(self) -> ShallowHooked:
        recorder.record("__copy__", self.tag)
        return ShallowHooked(self.tag, self.payload)


def rebuild_reduced(tag: int, first: object) -> ReduceBased:
    recorder.record("rebuild", tag)
    return ReduceBased(tag, first, None)


class ReduceBased:
    """Reduces to (rebuild, (tag, first), {"second": ...}, list items)."""

    def __init__(self, tag: int, first: object, second: object) -> None:
        self.tag = tag
        self.first = first
        self.second = second
        self.items: list[object] = []

    def append(self, item: object) -> None:
        self.items.append(item)

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[object, ...]:
        recorder.record("__reduce_ex__", self.tag)
        return (
            rebuild_reduced,
            (self.tag, self.first),
            {"second": self.second},
            iter(self.items),
        )


class DictSubclass(dict):  # type: ignore[type-arg]
    pass


@dataclasses.dataclass
class Record:
    left: object
    right: object


@dataclasses.dataclass(frozen=True)
class FrozenRecord:
    left: object
    right: object


class Pair(NamedTuple):
    first: object
    second: object


@dataclasses.dataclass
class Graph:
    """The root of a generated graph and every non-atomic node in it, in build order."""

    root: object
    nodes: list[object]

    def __repr__(self) -> str:
        return f"Graph(root={self.root!r:.2000}, {len(self.nodes)} nodes)"


Builder = Callable[[int, list[object]], object]

scalar_atoms = st.one_of(
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.binary(max_size=5),
    st.booleans(),
    st.none(),
    st.complex_numbers(allow_nan=True),
)
other_atoms = st.sampled_from(sorted(ATOMS)).map(lambda name: ATOMS[name]())
atoms = st.one_of(scalar_atoms, other_atoms)
hashable_leaves = st.one_of(
    scalar_atoms.filter(lambda value: not _is_nan_complex(value)),
    st.tuples(scalar_atoms, scalar_atoms),
    st.frozensets(st.integers(), max_size=3),
    st.builds(FrozenRecord, st.integers(), st.text(max_size=2)),
    st.builds(Plain, st.integers()),
)


def _is_nan_complex(value: object) -> bool:
    return isinstance(value, complex) and value != value


@st.composite
def hashables(draw: st.DrawFn, nodes: list[object]) -> object:
    """A hashable value: a fresh one, or an already built hashable node (sharing)."""
    existing = [node for node in nodes if isinstance(node, (tuple, frozenset))]
    # mypy infers draw's type from the left operand of "and".
    if existing and draw(st.booleans()):  # type: ignore[arg-type]
        candidate = draw(st.sampled_from(existing))
        try:
            hash(candidate)
        except TypeError:
            pass
        else:
            return candidate
    return draw(hashable_leaves)


@st.composite
def values(draw: st.DrawFn, depth: int, nodes: list[object]) -> object:
    """An atom, or a node of a random kind whose children are drawn recursively.

    The root is always a node; below it, about one value in three is an atom.
    """
    if depth >= MAX_DEPTH or (depth > 0 and draw(st.integers(0, 2)) == 0):
        return draw(atoms)
    kind = draw(st.sampled_from(sorted(NODE_KINDS)))
    count = draw(st.integers(0, MAX_CHILDREN))
    children = [draw(values(depth + 1, nodes)) for _ in range(count)]
    keys = [draw(hashables(nodes)) for _ in range(count)]
    node = NODE_KINDS[kind](len(nodes), children, keys)
    nodes.append(node)
    return node


def _pad(children: list[object], size: int) -> list[object]:
    return (children + [None] * size)[:size]


NODE_KINDS: dict[str, Callable[[int, list[object], list[object]], object]] = {
    "list": lambda tag, children, keys: list(children),
    "dict": lambda tag, children, keys: dict(zip(keys, children, strict=True)),
    "tuple": lambda tag, children, keys: tuple(children),
    "set": lambda tag, children, keys: set(keys),
    "frozenset": lambda tag, children, keys: frozenset(keys),
    "list subclass": lambda tag, children, keys: ListSubclass(children),
    "dict subclass": lambda tag, children, keys: DictSubclass(zip(keys, children, strict=True)),
    "plain": lambda tag, children, keys: Plain(children),
    "slotted": lambda tag, children, keys: Slotted(*_pad(children, 2)),
    "slots and dict": lambda tag, children, keys: SlotsAndDict(*_pad(children, 2)),
    "dataclass": lambda tag, children, keys: Record(*_pad(children, 2)),
    "namedtuple": lambda tag, children, keys: Pair(*_pad(children, 2)),
    "deep hook": lambda tag, children, keys: DeepHooked(tag, children),
    "shallow hook": lambda tag, children, keys: ShallowHooked(tag, children),
    "reduce": lambda tag, children, keys: ReduceBased(tag, *_pad(children, 2)),
}


def link(source: object, target: object, index: int) -> None:
    """Make ``target`` also refer to ``source`` (sharing, or a cycle if it is an ancestor)."""
    if isinstance(target, list):
        target.append(source)
    elif isinstance(target, dict):
        target[f"link {index}"] = source
    elif isinstance(target, ReduceBased):
        target.append(source)
    else:
        setattr(target, f"link_{index}", source)


def _linkable(node: object) -> bool:
    return isinstance(node, (list, dict, Plain, SlotsAndDict, Record, DeepHooked, ReduceBased))


@st.composite
def graphs(draw: st.DrawFn) -> Graph:
    nodes: list[object] = []
    root = draw(values(0, nodes))
    targets = [node for node in nodes if _linkable(node)]
    if nodes and targets:
        for index in range(draw(st.integers(0, MAX_LINKS))):
            link(draw(st.sampled_from(nodes)), draw(st.sampled_from(targets)), index)
    return Graph(root, nodes)


def with_module(
    operation: Callable[[Any], object], positions: Walker | None = None
) -> Callable[[Any], object]:
    """Route hooks' recursive calls through the module being compared."""

    def run(module: Any) -> object:
        global current_module, current_positions
        current_module, current_positions = module, positions
        return operation(module)

    return run


property_settings = settings(
    suppress_health_check=[*settings().suppress_health_check, HealthCheck.function_scoped_fixture],
)


@property_settings
@given(graph=graphs())
def test_deepcopy_of_random_graph_matches_stdlib(impl: ModuleType, graph: Graph) -> None:
    positions = positions_of(graph.root)
    deepcopy_root = with_module(lambda module: module.deepcopy(graph.root), positions)
    run_both(impl, deepcopy_root, graph.root, recorder)


@property_settings
@given(graph=graphs())
def test_copy_of_every_node_matches_stdlib(impl: ModuleType, graph: Graph) -> None:
    subjects = [graph.root, *graph.nodes]

    def copy_each(module: Any) -> object:
        return [module.copy(node) for node in subjects]

    run_both(impl, with_module(copy_each), subjects, recorder)


@property_settings
@given(graph=graphs())
def test_deepcopy_with_caller_memo_matches_stdlib(impl: ModuleType, graph: Graph) -> None:
    positions = positions_of(graph.root)

    def deepcopy_with_memo(module: Any) -> object:
        memo: dict[int, Any] = {}
        result = module.deepcopy(graph.root, memo)
        return result, list(memo.values()), memo_layout(memo, positions)

    run_both(impl, with_module(deepcopy_with_memo, positions), graph.root, recorder)


@property_settings
@given(graph=graphs(), data=st.data())
def test_deepcopy_of_node_after_root_with_shared_memo(
    impl: ModuleType, graph: Graph, data: st.DataObject
) -> None:
    """A second deepcopy with the same memo reuses the first one's copies, as stdlib does."""
    second = data.draw(st.sampled_from(graph.nodes)) if graph.nodes else graph.root
    positions = positions_of((graph.root, second))

    def twice(module: Any) -> object:
        memo: dict[int, Any] = {}
        copies = (module.deepcopy(graph.root, memo), module.deepcopy(second, memo))
        return copies, list(memo.values()), memo_layout(memo, positions)

    run_both(impl, with_module(twice, positions), (graph.root, second), recorder)


class Exploding:
    """Fails to deep-copy; placed somewhere in a graph to compare partial memos."""

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        recorder.record("exploding", memo_summary(memo))
        raise ValueError("cannot copy this one")


@st.composite
def graphs_with_a_failure(draw: st.DrawFn) -> Graph:
    graph = draw(graphs())
    targets = [node for node in graph.nodes if _linkable(node)]
    if not targets:
        return Graph([graph.root, Exploding()], graph.nodes)
    link(Exploding(), draw(st.sampled_from(targets)), MAX_LINKS)
    return graph


@property_settings
@given(graph=graphs_with_a_failure())
def test_failure_inside_random_graph_leaves_memo_as_stdlib(impl: ModuleType, graph: Graph) -> None:
    positions = positions_of(graph.root)

    def deepcopy_until_failure(module: Any) -> object:
        memo: dict[int, Any] = {}
        try:
            result = module.deepcopy(graph.root, memo)
        except ValueError as exc:
            result = str(exc)
        return result, list(memo.values()), memo_layout(memo, positions)

    run_both(impl, with_module(deepcopy_until_failure, positions), graph.root, recorder)
