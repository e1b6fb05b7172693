"""Deeply nested structures, built, compared and freed without recursion (child process).

``python hardening_deep.py MODULE SHAPE DEPTH`` builds SHAPE nested DEPTH levels deep,
deep-copies it with MODULE (``copy`` for stdlib) and prints one JSON line: the outcome
(``ok`` or the exception type), how many levels the copy was checked for and how long the
copy took. A crash shows as the child's exit status instead.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from collections.abc import Callable
from typing import Any


class Node:
    """A plain instance: copied through ``__reduce_ex__`` and its ``__dict__`` state."""

    def __init__(self, child: object) -> None:
        self.child = child


class HookNode:
    """Copies its child from its own ``__deepcopy__``, with the memo it was given."""

    def __init__(self, child: object) -> None:
        self.child = child

    def __deepcopy__(self, memo: dict[int, Any]) -> HookNode:
        return HookNode(MODULE.deepcopy(self.child, memo))


class ArgsNode:
    """Its child travels in the reduce arguments, not in the state."""

    def __init__(self, child: object) -> None:
        self.child = child

    def __reduce_ex__(self, protocol: int) -> object:
        return (ArgsNode, (self.child,))


class SlotNode:
    __slots__ = ("child",)

    def __init__(self, child: object) -> None:
        self.child = child


MODULE: Any = None


def _mixed(level: int, child: object) -> object:
    kind = level % 3
    if kind == 0:
        return [child]
    if kind == 1:
        return {"k": child}
    return (child, level)


WRAPPERS: dict[str, Callable[[int, object], object]] = {
    "list": lambda level, child: [child, level],
    "dict": lambda level, child: {"k": child, level: None},
    "tuple": lambda level, child: (child, level),
    "mixed": _mixed,
    "frozenset": lambda level, child: frozenset({child}),
    "instance": lambda level, child: Node(child),
    "hook": lambda level, child: HookNode(child),
    "reduce_args": lambda level, child: ArgsNode(child),
    "slots": lambda level, child: SlotNode(child),
}


def build(shape: str, depth: int) -> object:
    """``depth`` levels of ``shape`` around a mutable leaf (so every level must be copied)."""
    wrap = WRAPPERS[shape.removeprefix("set_of_")]
    node: object = frozenset({1, 2}) if "frozenset" in shape else [0]
    for level in range(depth):
        node = wrap(level, node)
    return {node} if shape.startswith("set_of_") else node


def children(node: object) -> list[object]:
    if isinstance(node, (list, tuple)):
        return list(node)
    if isinstance(node, dict):
        return [*node.keys(), *node.values()]
    if isinstance(node, (set, frozenset)):
        return sorted(node, key=repr) if len(node) > 1 else list(node)
    if isinstance(node, (Node, HookNode, ArgsNode, SlotNode)):
        return [node.child]
    return []


def compare(original: object, copied: object) -> int:
    """Levels checked; raises AssertionError at the first difference. No recursion."""
    stack = [(original, copied)]
    checked = 0
    while stack:
        left, right = stack.pop()
        checked += 1
        assert type(left) is type(right), (type(left), type(right))
        left_children, right_children = children(left), children(right)
        if isinstance(left, (list, dict, set, Node, HookNode, ArgsNode, SlotNode)):
            assert left is not right, f"mutable {type(left).__name__} shared with original"
        if not left_children:
            assert left == right, (left, right)
        assert len(left_children) == len(right_children)
        stack.extend(zip(left_children, right_children, strict=True))
    return checked


def main(module_name: str, shape: str, depth: int) -> int:
    global MODULE
    MODULE = importlib.import_module(module_name)
    original = build(shape, depth)
    started = time.perf_counter()
    try:
        copied = MODULE.deepcopy(original)
    except RecursionError:
        outcome, checked = "RecursionError", 0
    else:
        outcome, checked = "ok", compare(original, copied)
    elapsed = time.perf_counter() - started
    print(json.dumps({"outcome": outcome, "checked": checked, "seconds": round(elapsed, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
