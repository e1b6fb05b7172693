"""Make each allocation in turn fail during copy and deepcopy; report what happened.

    python scripts/nomemory_sweep.py --impl copykit._ccopy [--thorough]

For every workload and operation the sweep first finds N, the number of allocations one
call makes (the first persistent-failure start at which the call succeeds), then runs the
call N more times, failing only allocation k (k = 1..N), and N times failing every
allocation from k on (a burst of 16). After each armed call the hooks are removed and
the same call is made again unarmed: it must give the right result. Every outcome is
recorded by type: "ok", MemoryError, or the error the workload raises anyway (the
"failing" workloads); anything else (SystemError: "error return without exception set")
is a bug.

The whole sweep runs twice; the second round must not leave more live objects or allocated
blocks than the first (a leak on an error path shows up once per failure). One JSON object
goes to stdout at the end, after the hooks are removed (with them active even printing can
fail). A crash is the exit status, seen by the parent.
"""

from __future__ import annotations

import _testcapi
import argparse
import gc
import importlib
import json
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any


class Plain:
    def __init__(self, **attributes: object) -> None:
        self.__dict__.update(attributes)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.__dict__ == self.__dict__

    __hash__ = None  # type: ignore[assignment]


class Slotted:
    __slots__ = ("left", "right")

    def __init__(self, left: object, right: object) -> None:
        self.left = left
        self.right = right

    def __eq__(self, other: object) -> bool:
        return type(other) is Slotted and other.left == self.left and other.right == self.right

    __hash__ = None  # type: ignore[assignment]


class Hooked:
    """Copies its payload itself, with the memo, from ``__deepcopy__``."""

    def __init__(self, payload: object) -> None:
        self.payload = payload

    def __deepcopy__(self, memo: dict[int, Any]) -> Hooked:
        return Hooked(MODULE.deepcopy(self.payload, memo))

    def __copy__(self) -> Hooked:
        return Hooked(self.payload)

    def __eq__(self, other: object) -> bool:
        return type(other) is Hooked and other.payload == self.payload

    __hash__ = None  # type: ignore[assignment]


class ReduceIterators:
    """A reduce value with a state, a list iterator and a dict iterator."""

    def __init__(self, items: list[object], mapping: dict[str, object]) -> None:
        self.items = items
        self.mapping = mapping

    def __reduce_ex__(self, protocol: int) -> object:
        return (
            _rebuild,
            (),
            {"tag": ["state"]},
            iter(self.items),
            iter(self.mapping.items()),
        )

    def append(self, item: object) -> None:
        self.items.append(item)

    def __setitem__(self, key: str, value: object) -> None:
        self.mapping[key] = value

    def __setstate__(self, state: dict[str, object]) -> None:
        self.tag = state["tag"]

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is ReduceIterators
            and other.items == self.items
            and other.mapping == self.mapping
        )

    __hash__ = None  # type: ignore[assignment]


def _rebuild() -> ReduceIterators:
    return ReduceIterators([], {})


def _recursive() -> object:
    items: list[object] = [1, "two", [3.0]]
    items.append(items)
    mapping: dict[str, object] = {"self": None, "items": items}
    mapping["self"] = mapping
    return [items, mapping, (items, mapping)]


def _recursive_ok(original: object, result: Any) -> bool:
    items, mapping, pair = result
    return (
        items[3] is items
        and mapping["self"] is mapping
        and pair[0] is items
        and pair[1] is mapping
        and items is not original[0]  # type: ignore[index]
    )


class Unreducible:
    """Copying it fails the ordinary way: its ``__reduce_ex__`` raises TypeError."""

    def __reduce_ex__(self, protocol: int) -> object:
        raise TypeError("cannot reduce Unreducible")


class Malformed:
    """Its state is a 3-tuple: ``_reconstruct`` fails (ValueError from dict.update)."""

    def __reduce_ex__(self, protocol: int) -> object:
        return (Plain, (), ({"a": [1]}, None, None))


WORKLOADS: dict[str, Callable[[], object]] = {
    "atoms": lambda: [1, "a", 2.5, None, True, b"b", 10**30, (1, 2), frozenset({3})],
    "containers": lambda: {
        "list": [1, [2, [3]]],
        "tuple": ([4], (5, "x")),
        "set": {6, 7},
        "bytearray": bytearray(b"xyz"),
        "nested": {"k": {"k": [8, 9]}},
    },
    "instances": lambda: [
        Plain(a=[1], b={"k": (2, [3])}),
        Slotted([4], {"five": 5}),
        Plain(shared=(shared := [6]), again=shared),
    ],
    "hooks": lambda: [Hooked([1, {"k": [2]}]), ReduceIterators([[3], 4], {"m": [5]})],
    "recursive": _recursive,
    "failing_hook": lambda: [[1], {"k": [2]}, Unreducible()],
    "failing_reduce": lambda: [(1, [2]), Malformed()],
    # 300 containers: past the memo's inline storage and its first heap size, with parts
    # shared after it grew (the C memo indexes lazily: the first lookup after a growth
    # builds the new index)
    "grown_memo": lambda: (
        [{"i": i, "l": [i]} for i in range(150)] + [(shared := {"s": [1]}), [shared], shared]
    ),
}

# The exception a workload's deepcopy raises without any allocation failing.
EXPECTED_ERRORS = {"failing_hook": "TypeError", "failing_reduce": "ValueError"}


def unarmed_outcome(workload: str, operation_name: str) -> str:
    if operation_name == "deepcopy":
        return EXPECTED_ERRORS.get(workload, "ok")
    return "ok"


class Forwarding:
    """A forwarding hook: memoise the new instance, then copy the state with the memo (C:
    the table mirrors the memo dict the hook was given, and the nested call shares it).
    The state is set attribute by attribute: ``new.__dict__.update(...)`` under injected
    failures leaks in CPython 3.13 itself (both twins, thousands of objects a round)."""

    def __init__(self, payload: object) -> None:
        self.payload = payload

    def __deepcopy__(self, memo: dict[int, Any]) -> Forwarding:
        new = Forwarding.__new__(Forwarding)
        memo[id(self)] = new
        new.payload = MODULE.deepcopy(self.payload, memo)
        return new

    def __eq__(self, other: object) -> bool:
        return type(other) is Forwarding and other.payload == self.payload

    __hash__ = None  # type: ignore[assignment]


class MemoChanging:
    """A hook that deletes a memo entry and adds a foreign one (the mirror ends), then
    copies with a memo of its own (a caller's empty memo, mirrored from the start)."""

    def __init__(self, payload: object) -> None:
        self.payload = payload

    def __deepcopy__(self, memo: dict[int, Any]) -> MemoChanging:
        memo.pop(next(iter(memo)))
        memo[id(self.payload)] = self.payload
        return MemoChanging(MODULE.deepcopy(self.payload, {}))

    def __eq__(self, other: object) -> bool:
        return type(other) is MemoChanging and other.payload == self.payload

    __hash__ = None  # type: ignore[assignment]


def _mirrored() -> object:
    shared = {"s": [1, 2]}
    hooks = [Forwarding({"i": i, "tags": [i, str(i)], "shared": shared}) for i in range(40)]
    return [hooks, shared, hooks[3], {"after": [shared, (shared, [3])]}]


# Swept for the C twin only: C clones dicts whose keys are plain atoms and cuts the clone
# back at a hook, at a reducer, at a key that is not a plain atom, each step allocating.
# Run through Python code (stdlib, the pure twin) these crash CPython itself under
# injected failures on 3.10-3.13, so they cannot serve there.
C_ONLY_WORKLOADS: dict[str, Callable[[], object]] = {
    "dict_clones": lambda: {
        "a": [1],
        "n": 2,
        "h": Hooked([3]),
        "z": [5],
        "inner": {"b": [6], "r": ReduceIterators([7], {"m": [8]}), "c": {"d": [9]}},
    },
    "dict_key_not_plain": lambda: {"e": [10], (11,): [13], frozenset([12]): [14], "f": [15]},
    # the memo after a hook: mirrored, shared by nested calls, ended by a hook's changes
    "mirrored_memo": _mirrored,
    "mirror_ended": lambda: [[1, {"k": [2]}], MemoChanging(("p", [3])), {"after": [4]}],
    # uuid.UUID copied without its Python __getstate__/__setstate__ (private memo)
    "uuids": lambda: [uuid.UUID(int=1), uuid.UUID(int=2**90, is_safe=uuid.SafeUUID.safe)] * 2,
}


class Kept:
    """Holds a lock, so copying it fails: deepcopy(..., keep=) must share it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()


def _kept_everywhere() -> object:
    kept = Kept()
    return {
        "list": [1, kept, (kept, [2])],
        kept: "as a key",
        "set": {kept, 3},
        "instance": Plain(k=kept, l=[4]),
        "slots": Slotted([kept], {"x": kept}),
        "hook": Hooked([kept, [5]]),
        "reduce": ReduceIterators([kept], {"m": kept}),
    }


def deepcopy_keep_types(original: object) -> object:
    return MODULE.deepcopy(original, keep=KEPT_TYPES)


def _is_kept(obj: object) -> bool:
    return type(obj) is Kept


# Module-level callables and a prebuilt tuple: making a function or a tuple while
# allocations fail crashes CPython 3.12/3.13 itself (stdlib code too), before copykit runs.
KEPT_TYPES = (Kept, bytearray)


def deepcopy_keep_predicate(original: object) -> object:
    return MODULE.deepcopy(original, keep=_is_kept)


# Swept for the C twin only, with the two keep operations instead of copy and deepcopy:
# the policy's registration, the per-type answers and the predicate call all allocate.
KEEP_WORKLOADS: dict[str, Callable[[], object]] = {"kept": _kept_everywhere}
KEEP_OPERATIONS: dict[str, Callable[[object], object]] = {
    "deepcopy_keep_types": deepcopy_keep_types,
    "deepcopy_keep_predicate": deepcopy_keep_predicate,
}


def template_calls(original: object) -> object:
    """template(x) (snapshot and plan) and two calls of it; the second call's result."""
    made = MODULE.template(original)
    made()
    return made()


def template_keep_calls(original: object) -> object:
    """template_calls with keep= of a class (compiled: kept objects are constants)."""
    made = MODULE.template(original, keep=Slotted)
    made()
    return made()


def _shared_graph() -> object:
    """Shared parts and a cycle, which a plan copies through its per-call memo."""
    shared = [1, {"k": [2]}]
    cyclic: list[object] = [shared]
    cyclic.append(cyclic)
    slotted = Slotted([3], {"four": 4})
    return {"a": shared, "b": (shared, slotted), "c": cyclic, "d": [slotted, slotted]}


def _shared_graph_ok(original: Any, result: Any) -> bool:
    """The graph's sharing and cycle, as deepcopy makes them (== would recurse forever)."""
    shared, slotted = result["a"], result["d"][0]
    return (
        shared == [1, {"k": [2]}]
        and shared is not original["a"]
        and result["b"][0] is shared
        and result["b"][1] is slotted
        and result["c"][0] is shared
        and result["c"][1] is result["c"]
        and result["d"][1] is slotted
        and slotted == original["d"][0]
    )


# Swept for the C twin only, with the template operation instead of copy and deepcopy: a
# snapshot compiled to a plan (dict clones, slices, constant tuples, sets, plain and slotted
# instances), and one deepcopy takes on every call (a hook). A plan that fails mid-call
# gives way to deepcopy, which then fails, or not, as it would.
# CPython 3.13 itself leaks when an allocation fails while an instance with a __dict__ is
# copied (deepcopy alone shows it, a few objects a failure; a template copies it three times):
# there the plan's instances are slotted only, lest its leaks drown copykit's in the count.
_DICT_INSTANCES_LEAK = sys.version_info[:2] == (3, 13)
TEMPLATE_WORKLOADS: dict[str, Callable[[], object]] = {
    "template_plan": lambda: {
        "list": [1, [2, {"k": [3]}], (4, [5]), (6, (7, "x"))],
        "sets": [{8, 9}, frozenset({10})],
        "instances": [
            *([] if _DICT_INSTANCES_LEAK else [Plain(a=[1], b={"k": (2, [3])})]),
            Slotted([4], {"five": 5}),
        ],
    },
    "template_hook": lambda: [[1], Hooked([2, {"k": [3]}])],
    "template_graph": _shared_graph,
}
TEMPLATE_OPERATIONS: dict[str, Callable[[object], object]] = {
    "template": template_calls,
    "template_keep": template_keep_calls,
}
# keep= compiles into plans; with a hook below, it is deepcopy(..., keep=) each call, which
# the main sweep's keep workload covers already.
TEMPLATE_KEEP_WORKLOADS = ("template_plan", "template_graph")

BIG_WORKLOADS: dict[str, Callable[[], object]] = {
    "big": lambda: [WORKLOADS[name]() for name in ("containers", "instances", "hooks")] * 4,
}

MODULE: Any = None


def _unarmed_correct(workload: str, operation: Callable[[object], object], name: str) -> bool:
    original = _build(workload)
    try:
        result = operation(original)
    except BaseException as exc:  # noqa: BLE001 - compared with the expected error
        _forget(exc)
        return type(exc).__name__ == unarmed_outcome(workload, name)
    return _correct(workload, name, original, result)


def _build(workload: str) -> object:
    return {
        **WORKLOADS,
        **C_ONLY_WORKLOADS,
        **KEEP_WORKLOADS,
        **TEMPLATE_WORKLOADS,
        **BIG_WORKLOADS,
    }[workload]()


def _correct(workload: str, operation_name: str, original: Any, result: Any) -> bool:
    if operation_name == "copy" and type(original) is list:
        return type(result) is list and all(
            left is right for left, right in zip(original, result, strict=True)
        )
    if workload == "recursive":
        return _recursive_ok(original, result)
    if workload == "template_graph":
        return _shared_graph_ok(original, result)
    return bool(result == original)


def call_armed(
    operation: Callable[[object], object], original: object, start: int, stop: int
) -> tuple[str, object]:
    """(status, result): the call with allocations ``start < n <= stop`` failing."""
    try:
        return "ok", _armed(operation, original, start, stop)
    except BaseException as exc:  # noqa: BLE001 - every outcome is recorded
        if type(exc) is SystemError:
            SYSTEM_ERRORS.add(str(exc)[:200])
        _forget(exc)
        return type(exc).__name__, None


# What SystemErrors said: the interpreter's own error paths raise some under failed
# allocations (stdlib shows them too), so the parent compares messages with stdlib's.
SYSTEM_ERRORS: set[str] = set()


def _forget(exc: BaseException) -> None:
    """Drop what a raised exception holds: MemoryError instances are reused from a free
    list, and a traceback left on one would keep frames alive (noise in the leak count)."""
    exc.__traceback__ = None
    exc.__context__ = None
    exc.__cause__ = None
    vars(exc).clear()


def _armed(
    operation: Callable[[object], object], original: object, start: int, stop: int
) -> object:
    # The hooks go before anything else runs: with every allocation failing, even an
    # except clause's bookkeeping could fail.
    _testcapi.set_nomemory(start, stop)
    try:
        return operation(original)
    finally:
        _testcapi.remove_mem_hooks()


# "Every allocation from k on fails" is bounded to a burst: CPython 3.11 spins forever when
# an except clause at a bytecode offset above 255 is entered while no int can be allocated
# (the handler's saved offset is an int object), and 3.10 aborts ("Cannot recover from
# MemoryErrors while normalizing exceptions") after 32 failures in a row while normalizing.
PERSISTENT_FAILURES = 16
MODES = ("single", "burst")


def allocations_needed(operation: Callable[[object], object], workload: str) -> int:
    """The smallest k such that the call ends as unarmed when every allocation after k fails."""
    unarmed = unarmed_outcome(workload, operation.__name__)
    for start in range(100_000):
        status, _ = call_armed(operation, _build(workload), start, start + PERSISTENT_FAILURES)
        if status == unarmed:
            return start
    raise RuntimeError("the call never succeeded")


def sweep_one(
    workload: str, operation_name: str, stride: int, modes: tuple[str, ...]
) -> dict[str, object]:
    operation = {**KEEP_OPERATIONS, **TEMPLATE_OPERATIONS}.get(operation_name) or getattr(
        MODULE, operation_name
    )
    needed = allocations_needed(operation, workload)
    statuses: dict[str, int] = {}
    wrong_after = 0
    wrong_ok = 0
    for start in range(0, needed, stride):
        stops = {"single": start + 1, "burst": start + PERSISTENT_FAILURES}
        for stop in (stops[mode] for mode in modes):
            original = _build(workload)
            status, result = call_armed(operation, original, start, stop)
            statuses[status] = statuses.get(status, 0) + 1
            if status == "ok" and not _correct(workload, operation_name, original, result):
                wrong_ok += 1
            del result
            if not _unarmed_correct(workload, operation, operation_name):
                wrong_after += 1
    return {
        "allocations": needed,
        "statuses": statuses,
        "wrong_results_when_ok": wrong_ok,
        "wrong_results_after": wrong_after,
    }


def live_counts() -> tuple[int, int]:
    gc.collect()
    gc.collect()
    return len(gc.get_objects()), sys.getallocatedblocks()


def run_round(
    workloads: list[str], stride: int, modes: tuple[str, ...]
) -> dict[str, dict[str, object]]:
    report: dict[str, dict[str, object]] = {}
    for workload in workloads:
        operations: Iterable[str] = ("copy", "deepcopy")
        if workload in KEEP_WORKLOADS:
            operations = KEEP_OPERATIONS
        elif workload in TEMPLATE_WORKLOADS:
            operations = [
                name
                for name in TEMPLATE_OPERATIONS
                if name != "template_keep" or workload in TEMPLATE_KEEP_WORKLOADS
            ]
        for operation_name in operations:
            outcome = sweep_one(workload, operation_name, stride, modes)
            report[f"{workload}/{operation_name}"] = outcome
    return report


def main(argv: list[str]) -> int:
    global MODULE
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impl", required=True, help="copy, copykit._pycopy, copykit._ccopy")
    parser.add_argument(
        "--workload",
        action="append",
        choices=sorted(
            {
                **WORKLOADS,
                **C_ONLY_WORKLOADS,
                **KEEP_WORKLOADS,
                **TEMPLATE_WORKLOADS,
                **BIG_WORKLOADS,
            }
        ),
    )
    parser.add_argument("--stride", type=int, default=1, help="fail every Nth allocation")
    parser.add_argument("--rounds", type=int, default=4, help="the first one only warms up")
    parser.add_argument("--mode", action="append", choices=MODES, help="default: both")
    parser.add_argument("--thorough", action="store_true", help="add the big workloads")
    parser.add_argument(
        "--templates", action="store_true", help="sweep the template workloads only (C)"
    )
    arguments = parser.parse_args(argv)
    MODULE = importlib.import_module(arguments.impl)
    # The template workloads are a sweep of their own (--templates): their settling caches
    # and the main sweep's are measured each against the same limits, not added up.
    workloads = arguments.workload or (
        [*TEMPLATE_WORKLOADS]
        if arguments.templates
        else [
            *WORKLOADS,
            *(C_ONLY_WORKLOADS if arguments.impl == "copykit._ccopy" else ()),
            *(KEEP_WORKLOADS if arguments.impl == "copykit._ccopy" else ()),
            *(BIG_WORKLOADS if arguments.thorough else ()),
        ]
    )
    started = time.perf_counter()
    modes = tuple(arguments.mode or MODES)
    run_round(workloads, arguments.stride, modes)  # warms caches, interned names, free lists
    before = live_counts()
    report: dict[str, dict[str, object]] = {}
    for _ in range(arguments.rounds - 1):
        report = run_round(workloads, arguments.stride, modes)
    after = live_counts()
    print(
        json.dumps(
            {
                "impl": arguments.impl,
                "python": sys.version.split()[0],
                "sweeps": report,
                "expected_errors": EXPECTED_ERRORS,
                "measured_rounds": arguments.rounds - 1,
                "system_errors": sorted(SYSTEM_ERRORS),
                "object_growth": after[0] - before[0],
                "block_growth": after[1] - before[1],
                "seconds": round(time.perf_counter() - started, 2),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
