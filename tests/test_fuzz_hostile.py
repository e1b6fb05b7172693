"""Differential fuzzing with hostile inputs: Hypothesis builds structures whose hooks mutate
containers, touch the memo, re-enter deepcopy and raise any exception at the Nth hook call,
and whose ``__reduce_ex__`` returns well-formed and malformed values. Each case is built
twice from its description, copied by stdlib ``copy`` and by the implementation, and the
results (oracle comparison) or exceptions (type and message) and the hook call logs must
agree.
"""

from __future__ import annotations

import copy as stdlib_copy
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hardening_support import Captured, capture
from oracle import assert_same_copy

Description = tuple[Any, ...]


class Custom(BaseException):
    pass


EXCEPTIONS: dict[str, type[BaseException]] = {
    "ValueError": ValueError,
    "KeyError": KeyError,
    "RecursionError": RecursionError,
    "KeyboardInterrupt": KeyboardInterrupt,
    "SystemExit": SystemExit,
    "Custom": Custom,
}


@dataclass
class Context:
    """The run in progress: the module under test, the hook log, the failure plan."""

    module: Any
    raise_at: int
    exception: type[BaseException]
    calls: int = 0
    log: list[object] = field(default_factory=list)
    lists: list[list[Any]] = field(default_factory=list)
    dicts: list[dict[Any, Any]] = field(default_factory=list)
    built: list[object] = field(default_factory=list)
    saved_memos: list[dict[int, Any]] = field(default_factory=list)

    def hook_called(self, hook: str, label: int, memo: dict[int, Any] | None) -> None:
        self.calls += 1
        self.log.append((hook, label, None if memo is None else len(memo)))
        if self.calls == self.raise_at:
            raise self.exception(f"fuzz: {hook} call {self.calls}")


CONTEXT: Context


def run_action(action: tuple[str, int], memo: dict[int, Any] | None, child: object) -> None:
    """What a hook does besides copying: change containers or the memo, or re-enter."""
    kind, index = action
    context = CONTEXT
    if kind == "append" and context.lists:
        context.lists[index % len(context.lists)].append(index)
    elif kind == "clear" and context.lists:
        context.lists[index % len(context.lists)].clear()
    elif kind == "dict_add" and context.dicts:
        context.dicts[index % len(context.dicts)][f"added{index}"] = index
    elif kind == "dict_replace" and context.dicts:
        target = context.dicts[index % len(context.dicts)]
        for key in list(target)[:1]:
            target[key] = [index]
    elif memo is not None:
        run_memo_action(kind, index, memo, child)


def run_memo_action(kind: str, index: int, memo: dict[int, Any], child: object) -> None:
    context = CONTEXT
    if kind == "memo_clear":
        memo.clear()
    elif kind == "memo_corrupt":
        memo[id(memo)] = ("not", "a", "list")
    elif kind == "memo_seed" and context.built:
        memo[id(context.built[index % len(context.built)])] = f"seeded{index}"
    elif kind == "memo_keep":
        context.saved_memos.append(memo)
    elif kind == "reenter_same":
        context.log.append(("reentered", type(context.module.deepcopy(child, memo)).__name__))
    elif kind == "reenter_foreign":
        context.log.append(("foreign", type(context.module.deepcopy(child, {})).__name__))


class HookNode:
    def __init__(self, label: int, action: tuple[str, int], child: object) -> None:
        self.label = label
        self.action = action
        self.child = child

    def __deepcopy__(self, memo: dict[int, Any]) -> HookNode:
        CONTEXT.hook_called("__deepcopy__", self.label, memo)
        run_action(self.action, memo, self.child)
        return HookNode(self.label, self.action, CONTEXT.module.deepcopy(self.child, memo))

    def __copy__(self) -> HookNode:
        CONTEXT.hook_called("__copy__", self.label, None)
        run_action(self.action, None, self.child)
        return HookNode(self.label, self.action, self.child)


class ReduceNode:
    def __init__(self, label: int, variant: str, child: object) -> None:
        self.label = label
        self.variant = variant
        self.child = child

    def __reduce_ex__(self, protocol: int) -> object:
        CONTEXT.hook_called("__reduce_ex__", self.label, None)
        return REDUCE_VARIANTS[self.variant](self)

    def __setstate__(self, state: object) -> None:
        CONTEXT.hook_called("__setstate__", self.label, None)
        self.__dict__["state"] = state


class Rebuilt:
    """A target without ``__setstate__``: the copy module sets its dict and slots."""

    __slots__ = ("__dict__", "slot")


class Grower(list):  # type: ignore[type-arg]
    pass


def _failing_iterator(node: ReduceNode) -> Any:
    yield node.child
    CONTEXT.hook_called("iterator", node.label, None)
    yield node.label


REDUCE_VARIANTS: dict[str, Any] = {
    "state": lambda node: (ReduceNode, (node.label, node.variant, None), {"kept": node.child}),
    "args": lambda node: (ReduceNode, (node.label, "state", node.child)),
    "dict_and_slots": lambda node: (Rebuilt, (), ({"a": node.child}, {"slot": node.label})),
    "listiter": lambda node: (Grower, (), None, iter([node.child, node.label])),
    "dictiter": lambda node: (dict, (), None, None, iter([("k", node.child)])),
    "failing_iterator": lambda node: (Grower, (), None, _failing_iterator(node)),
    "string": lambda node: "ReduceNode",
    "malformed_state": lambda node: (Rebuilt, (), ({"a": 1}, None, None)),
    "slots_not_dict": lambda node: (Rebuilt, (), (None, [node.child])),
    "not_callable": lambda node: (node.label, (node.child,)),
    "args_not_iterable": lambda node: (list, node.label),
    "too_short": lambda node: (list,),
    "not_a_tuple": lambda node: node.label,
}

ATOMS = st.one_of(st.integers(-5, 5), st.text(max_size=3), st.none(), st.floats(allow_nan=False))
ACTIONS = st.tuples(
    st.sampled_from(
        [
            "none",
            "append",
            "clear",
            "dict_add",
            "dict_replace",
            "memo_clear",
            "memo_corrupt",
            "memo_seed",
            "memo_keep",
            "reenter_same",
            "reenter_foreign",
        ]
    ),
    st.integers(0, 7),
)


def extend(children: st.SearchStrategy[Description]) -> st.SearchStrategy[Description]:
    labels = st.integers(0, 99)
    return st.one_of(
        st.tuples(st.just("list"), st.lists(children, max_size=4)),
        st.tuples(st.just("tuple"), st.lists(children, max_size=3)),
        st.tuples(st.just("dict"), st.lists(st.tuples(ATOMS, children), max_size=3)),
        st.tuples(st.just("hook"), labels, ACTIONS, children),
        st.tuples(st.just("reduce"), labels, st.sampled_from(sorted(REDUCE_VARIANTS)), children),
        st.tuples(st.just("ref"), st.integers(0, 20)),
    )


DESCRIPTIONS = st.recursive(
    st.one_of(
        st.tuples(st.just("atom"), ATOMS),
        st.tuples(st.just("frozenset"), st.frozensets(st.integers(0, 9), max_size=3)),
    ),
    extend,
    max_leaves=10,
)


def build(description: Description) -> object:
    """The structure a description stands for; containers are recorded in CONTEXT."""
    kind = description[0]
    context = CONTEXT
    built: object
    if kind == "atom":
        return description[1]
    if kind == "frozenset":
        built = frozenset(description[1])
    elif kind == "ref":
        return context.built[description[1] % len(context.built)] if context.built else None
    elif kind == "list":
        built = [build(child) for child in description[1]]
        context.lists.append(built)  # type: ignore[arg-type]
    elif kind == "tuple":
        built = tuple(build(child) for child in description[1])
    elif kind == "dict":
        built = {key: build(child) for key, child in description[1]}
        context.dicts.append(built)  # type: ignore[arg-type]
    elif kind == "hook":
        built = HookNode(description[1], description[2], build(description[3]))
    else:
        built = ReduceNode(description[1], description[2], build(description[3]))
    context.built.append(built)
    return built


@dataclass(frozen=True)
class Case:
    description: Description
    operation: str
    raise_at: int
    exception: str


CASES = st.builds(
    Case,
    description=DESCRIPTIONS,
    operation=st.sampled_from(["deepcopy", "deepcopy", "deepcopy_memo", "copy"]),
    raise_at=st.integers(0, 6),
    exception=st.sampled_from(sorted(EXCEPTIONS)),
)


def run_case(case: Case, module: ModuleType) -> tuple[object, Captured, list[object]]:
    global CONTEXT
    CONTEXT = Context(module, case.raise_at, EXCEPTIONS[case.exception])
    original = build(case.description)

    def operation() -> object:
        if case.operation == "copy":
            return module.copy(original)
        if case.operation == "deepcopy_memo":
            memo: dict[int, Any] = {}
            return module.deepcopy(original, memo), len(memo)
        return module.deepcopy(original)

    outcome = capture(operation)
    return original, outcome, CONTEXT.log


def assert_same_as_stdlib(case: Case, impl: ModuleType) -> None:
    expected_original, expected, expected_log = run_case(case, stdlib_copy)
    actual_original, actual, actual_log = run_case(case, impl)
    assert actual.signature() == expected.signature()
    assert actual_log == expected_log
    if expected.error is None:
        assert_same_copy(expected_original, expected.result, actual.result, actual_original)


# The ``impl`` fixture only hands out a module: nothing to reset between examples.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=CASES)
def test_hostile_structures_match_stdlib(impl: ModuleType, case: Case) -> None:
    assert_same_as_stdlib(case, impl)


def test_fuzzer_reaches_exceptions_and_results() -> None:
    """The strategy is not vacuous: one fixed case raises at a hook, one succeeds."""
    raising = Case(("hook", 1, ("none", 0), ("list", [("atom", 1)])), "deepcopy", 1, "Custom")
    quiet = Case(("hook", 1, ("none", 0), ("list", [("atom", 1)])), "deepcopy", 0, "Custom")
    assert run_case(raising, stdlib_copy)[1].signature() == ("Custom", "fuzz: __deepcopy__ call 1")
    assert run_case(quiet, stdlib_copy)[1].error is None
