"""``python -m copykit bench``: every implementation timed side by side, in one run.

Each workload runs in a fresh interpreter. There the runner first checks that every
implementation's result matches the stdlib's (same values, same sharing, same independence from
the original), then times them round-robin: each repeat takes one sample of every
implementation, in a rotating order, so machine noise hits all alike. Samples are calibrated to
last equally long for every implementation and count this thread's CPU time by default. It
reports medians in microseconds and speedups over stdlib (stdlib time / implementation time:
above 1 is faster), with geometric means per implementation.
"""

from __future__ import annotations

import argparse
import copy as stdlib_copy
import datetime as dt
import gc
import importlib
import itertools
import json
import math
import os
import pickle
import platform
import statistics
import subprocess
import sys
import time
import types
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from copykit._workloads import Workload, select

Clone = Callable[[object], object]

COLUMNS = ("stdlib", "python", "c", "copium", "pickle", "yardstick")
MODULES = {"python": "copykit._pycopy", "c": "copykit._ccopy", "copium": "copium"}
# --templates: a factory made once from the workload (not timed), then called per sample;
# "c" stays copykit's C deepcopy, the baseline the template rows are read against.
TEMPLATE_COLUMNS = ("stdlib", "c", "c template", "python template", "duper")
TEMPLATE_FACTORIES = {
    "c template": ("copykit._ccopy", "template"),
    "python template": ("copykit._pycopy", "template"),
    "duper": ("duper", "deepdups"),
}
# --real: the objects of real libraries; "c patched" runs the stdlib's copy.deepcopy with
# copykit.patch enabled, so that the copies the objects' own hooks make are copykit's too.
REAL_COLUMNS = ("stdlib", "c", "c patched", "copium")
YARDSTICK_MODULE = "_yardstick"
YARDSTICK_BUILD = "python benchmarks/yardstick/setup.py build_ext --inplace"

TIMERS: dict[str, Callable[[], float]] = {"cpu": time.thread_time, "wall": time.perf_counter}


@dataclass(frozen=True)
class Settings:
    repeat: int
    sample_seconds: float
    quick: bool
    timer: str = "cpu"  # a key of TIMERS


QUICK = Settings(repeat=11, sample_seconds=0.0015, quick=True)
FULL = Settings(repeat=51, sample_seconds=0.003, quick=False)


# --- the correctness guard -------------------------------------------------------------------

ATOMIC_TYPES: tuple[type, ...] = (
    type(None),
    bool,
    int,
    float,
    complex,
    str,
    bytes,
    type,
    range,
    types.BuiltinFunctionType,
    types.FunctionType,
    types.EllipsisType,
)


def _slot_names(cls: type) -> Iterable[str]:
    for klass in cls.__mro__:
        slots = klass.__dict__.get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if name in ("__dict__", "__weakref__"):
                continue
            mangled = name.startswith("__") and not name.endswith("__")
            yield f"_{klass.__name__.lstrip('_')}{name}" if mangled else name


class Equivalence:
    """Structural equality that also demands the same sharing: objects pair up one to one."""

    def __init__(self) -> None:
        self.forward: dict[int, int] = {}
        self.backward: dict[int, int] = {}
        self.keep_alive: list[object] = []

    def mismatch(self, left: object, right: object, path: str = "$") -> str | None:
        """None when ``left`` and ``right`` are equivalent, else where and how they differ."""
        if type(left) is not type(right):
            return f"{path}: type {type(left).__name__} != {type(right).__name__}"
        if type(left) in ATOMIC_TYPES:
            return None if _atoms_equal(left, right) else f"{path}: {left!r} != {right!r}"
        pairing = self._pair(left, right)
        if pairing != "new":
            return None if pairing == "seen" else f"{path}: shared differently"
        return self._compare_contents(left, right, path)

    def _pair(self, left: object, right: object) -> str:
        left_id, right_id = id(left), id(right)
        if left_id in self.forward or right_id in self.backward:
            same = self.forward.get(left_id) == right_id and self.backward.get(right_id) == left_id
            return "seen" if same else "conflict"
        self.forward[left_id], self.backward[right_id] = right_id, left_id
        self.keep_alive += (left, right)
        return "new"

    def _compare_contents(self, left: Any, right: Any, path: str) -> str | None:
        if isinstance(left, (list, tuple)):
            return self._compare_sequences(left, right, path)
        if isinstance(left, dict):
            return self._compare_dicts(left, right, path)
        has_state = hasattr(left, "__dict__") or any(True for _ in _slot_names(type(left)))
        if not has_state or isinstance(left, (set, frozenset, *ATOMIC_TYPES)):
            if _values_differ(left, right):  # sets, datetimes...; atoms' subclasses by value
                return self._compare_reduced(left, right, path)
        return self._compare_state(left, right, path) if has_state else None

    def _compare_reduced(self, left: Any, right: Any, path: str) -> str | None:
        """Objects that compare by identity (xml Elements) or not to a bool (numpy arrays):
        the same when their pickle reductions (beyond the callable) are."""
        try:
            reduced = left.__reduce_ex__(4)[1:], right.__reduce_ex__(4)[1:]
        except Exception:  # noqa: BLE001 - not reducible: they differ
            return f"{path}: {left!r} != {right!r}"
        return Equivalence().mismatch(*reduced, f"{path}<reduce>")

    def _compare_sequences(self, left: Any, right: Any, path: str) -> str | None:
        if len(left) != len(right):
            return f"{path}: length {len(left)} != {len(right)}"
        for index, (item, other) in enumerate(zip(left, right, strict=True)):
            if reason := self.mismatch(item, other, f"{path}[{index}]"):
                return reason
        return self._compare_state(left, right, path) if hasattr(left, "__dict__") else None

    def _compare_dicts(self, left: Any, right: Any, path: str) -> str | None:
        if list(left) != list(right):
            return f"{path}: keys differ"
        if getattr(left, "default_factory", None) != getattr(right, "default_factory", None):
            return f"{path}: default_factory differs"
        for key in left:
            if reason := self.mismatch(left[key], right[key], f"{path}[{key!r}]"):
                return reason
        return self._compare_state(left, right, path) if hasattr(left, "__dict__") else None

    def _compare_state(self, left: object, right: object, path: str) -> str | None:
        missing = object()
        for name in _slot_names(type(left)):
            left_value = getattr(left, name, missing)
            right_value = getattr(right, name, missing)
            if (left_value is missing) != (right_value is missing):
                return f"{path}.{name}: set on one side only"
            if left_value is not missing:
                if reason := self.mismatch(left_value, right_value, f"{path}.{name}"):
                    return reason
        left_vars = getattr(left, "__dict__", {})
        right_vars = getattr(right, "__dict__", {})
        if list(left_vars) != list(right_vars):
            return f"{path}: attributes differ"
        for name in left_vars:
            if reason := self.mismatch(left_vars[name], right_vars[name], f"{path}.{name}"):
                return reason
        return None


def _values_differ(left: object, right: object) -> bool:
    try:
        return bool(left != right)
    except Exception:  # noqa: BLE001 - an array's == is not a bool
        return True


def _atoms_equal(left: object, right: object) -> bool:
    if isinstance(left, float) and isinstance(right, float) and math.isnan(left):
        return math.isnan(right)
    return left == right


def check_result(original: object, expected: object, actual: object) -> str | None:
    """None when ``actual`` matches ``expected`` in values, sharing and independence from
    ``original`` (both are compared as copies of it), else the first difference found."""
    return Equivalence().mismatch((original, expected), (original, actual))


# --- the implementations ---------------------------------------------------------------------


def _import_optional(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _pickle_round_trip(obj: object) -> object:
    return pickle.loads(pickle.dumps(obj, pickle.HIGHEST_PROTOCOL))


def load_yardstick(search: Sequence[Path] = ()) -> ModuleType:
    """The memo-less C yardstick; raises ImportError (with the build command) when not built."""
    candidates = [
        *search,
        Path.cwd() / "benchmarks" / "yardstick",
        Path(__file__).resolve().parents[2] / "benchmarks" / "yardstick",
    ]
    for directory in reversed(candidates):  # the first candidate ends up first on sys.path
        if any(directory.glob(f"{YARDSTICK_MODULE}*.so")) and str(directory) not in sys.path:
            sys.path.insert(0, str(directory))
    try:
        return importlib.import_module(YARDSTICK_MODULE)
    except ImportError as exc:
        raise ImportError(f"yardstick not built; run: {YARDSTICK_BUILD}") from exc


def load_implementations(yardstick: ModuleType | None) -> dict[str, ModuleType | None]:
    """Every column's module (None for stdlib and pickle, which need no import); columns whose
    module is not importable are left out."""
    found: dict[str, ModuleType | None] = {"stdlib": stdlib_copy}
    for column, module_name in MODULES.items():
        module = _import_optional(module_name)
        if module is not None:
            found[column] = module
    found["pickle"] = None
    if yardstick is not None:
        found["yardstick"] = yardstick
    return found


class FactoryClone:
    """Times a factory of copies: ``make(obj)`` once per object (not in the sample's time
    but for a check that the object is the same), then the factory's call."""

    def __init__(self, make: Callable[[object], Callable[[], object]]) -> None:
        self.make = make
        self.source: object = None
        self.factory: Callable[[], object] | None = None

    def factory_for(self, obj: object) -> Callable[[], object]:
        """The factory made from ``obj`` (made now unless it was the last one made)."""
        if self.factory is None or obj is not self.source:
            self.source, self.factory = obj, self.make(obj)
        return self.factory

    def __call__(self, obj: object) -> object:
        return self.factory_for(obj)()


class PatchedClone:
    """Times the stdlib's own ``copy.deepcopy`` (or ``deepcopy(x, {})``) with copykit's
    patch enabled for the whole sample, as a program that enabled it at start-up runs."""

    def __init__(self, operation: str) -> None:
        self.run = _operation(stdlib_copy, operation)

    def __call__(self, obj: object) -> object:
        from copykit import patch

        with patch.patched():
            return self.run(obj)


def _operation(module: Any, operation: str) -> Clone:
    """The function a column times: the module's copy/deepcopy, or deepcopy(x, {})."""
    if operation == "deepcopy_memo":
        deepcopy = module.deepcopy
        return lambda obj: deepcopy(obj, {})
    return getattr(module, operation)  # type: ignore[no-any-return]


def real_clones(workload: Workload) -> dict[str, Clone]:
    """The --real columns: stdlib, C unpatched and patched, copium where installed."""
    clones: dict[str, Clone] = {"stdlib": _operation(stdlib_copy, workload.operation)}
    c_module = _import_optional(MODULES["c"])
    if c_module is not None:
        clones["c"] = _operation(c_module, workload.operation)
        clones["c patched"] = PatchedClone(workload.operation)
    copium = _import_optional(MODULES["copium"])
    if copium is not None:
        clones["copium"] = _operation(copium, workload.operation)
    return clones


def template_clones(workload: Workload) -> dict[str, Clone]:
    """The --templates columns for a deepcopy workload: stdlib and C deepcopy, then the
    factories (copykit's templates, duper's deepdups) that can be imported."""
    clones: dict[str, Clone] = {"stdlib": stdlib_copy.deepcopy}
    c_module = _import_optional(MODULES["c"])
    if workload.operation != "deepcopy" or c_module is None:
        return clones
    clones["c"] = c_module.deepcopy
    for column, (module_name, function) in TEMPLATE_FACTORIES.items():
        module = _import_optional(module_name)
        if module is not None:
            clones[column] = FactoryClone(getattr(module, function))
    return clones


def clones_for(
    workload: Workload, modules: dict[str, ModuleType | None], templates: bool = False
) -> dict[str, Clone]:
    """The function each column times on this workload."""
    if templates:
        return template_clones(workload)
    if workload.real:
        return real_clones(workload)
    clones: dict[str, Clone] = {}
    for column, module in modules.items():
        if column == "pickle":
            if workload.operation == "deepcopy":
                clones[column] = _pickle_round_trip
        elif column == "yardstick":
            if workload.json_like and workload.operation == "deepcopy" and module is not None:
                clones[column] = module.clone
        elif module is not None:
            clones[column] = _operation(module, workload.operation)
    return clones


# --- timing ----------------------------------------------------------------------------------


@dataclass
class ColumnResult:
    mismatch: str | None = None
    error: str | None = None
    number: int = 0  # calls per sample
    samples: list[float] = field(default_factory=list)  # seconds per call

    @property
    def median_us(self) -> float | None:
        return statistics.median(self.samples) * 1e6 if self.samples else None


@dataclass
class WorkloadResult:
    workload: Workload
    columns: dict[str, ColumnResult]

    def speedup(self, column: str) -> float | None:
        """stdlib median / this column's median: above 1 means faster than stdlib."""
        base = self.columns["stdlib"].median_us
        value = self.columns[column].median_us if column in self.columns else None
        return base / value if base and value else None


def time_sample(clone: Clone, obj: object, number: int, timer: str = "cpu") -> float:
    """Seconds per call of ``clone(obj)``, averaged over ``number`` calls. The ``"cpu"`` timer
    counts this thread's CPU time only, so time spent descheduled (another process on a shared
    core) is left out; ``"wall"`` counts elapsed time."""
    clock = TIMERS[timer]
    if isinstance(clone, PatchedClone):  # the patch on for the whole sample, not per call
        from copykit import patch

        with patch.patched():
            start = clock()
            for _ in itertools.repeat(None, number):
                clone.run(obj)
            return (clock() - start) / number
    if isinstance(clone, FactoryClone):  # called as its users call it: factory()
        factory = clone.factory_for(obj)
        start = clock()
        for _ in itertools.repeat(None, number):
            factory()
        return (clock() - start) / number
    start = clock()
    for _ in itertools.repeat(None, number):
        clone(obj)
    return (clock() - start) / number


def seconds_per_call(clone: Clone, obj: object, budget: float, timer: str = "cpu") -> float:
    """A rough time for one call of ``clone(obj)``: the best of three loops of at least
    ``budget`` seconds."""
    number = 1
    while time_sample(clone, obj, number, timer) * number < budget and number < 1 << 20:
        number *= 4
    return max(min(time_sample(clone, obj, number, timer) for _ in range(3)), 1e-9)


def calibrate(
    clones: dict[str, Clone], obj: object, sample_seconds: float, timer: str = "cpu"
) -> dict[str, int]:
    """Calls per sample for each column, so that every column's samples last equally long
    (``sample_seconds``, or one call of the slowest column): on a shared machine a long
    sample is more likely to be disturbed than a short one, which would favour fast columns."""
    per_call = {
        column: seconds_per_call(clone, obj, sample_seconds / 4, timer)
        for column, clone in clones.items()
    }
    target = max(sample_seconds, *per_call.values())
    return {column: max(1, round(target / seconds)) for column, seconds in per_call.items()}


def guard(workload: Workload, obj: object, clones: dict[str, Clone]) -> dict[str, ColumnResult]:
    """Run each clone once against stdlib's result; the ones that raise are not timed."""
    expected = clones["stdlib"](obj)
    results: dict[str, ColumnResult] = {}
    for column, clone in clones.items():
        result = ColumnResult()
        try:
            result.mismatch = check_result(obj, expected, clone(obj))
        except Exception as exc:  # noqa: BLE001 - any failure is reported, not fatal
            result.error = f"{type(exc).__name__}: {exc}"
        results[column] = result
    return results


def measure(workload: Workload, clones: dict[str, Clone], settings: Settings) -> WorkloadResult:
    """Guard, calibrate, then take ``settings.repeat`` round-robin samples of every column."""
    obj = workload.build()
    results = guard(workload, obj, clones)
    timed = {column: clone for column, clone in clones.items() if results[column].error is None}
    if workload.warm_up is not None:
        warm_up_object = workload.warm_up()
        for clone in timed.values():
            clone(warm_up_object)
        del warm_up_object
    for column, number in calibrate(timed, obj, settings.sample_seconds, settings.timer).items():
        results[column].number = number
    order = list(timed)
    for repeat in range(settings.repeat):
        shift = repeat % len(order)
        for column in order[shift:] + order[:shift]:
            result = results[column]
            # A full collection first (not timed): the sample then pays for the collections
            # its own allocations trigger, not for one that other columns' survivors made due.
            gc.collect()
            sample = time_sample(timed[column], obj, result.number, settings.timer)
            result.samples.append(sample)
    return WorkloadResult(workload, results)


def measure_in_subprocess(
    workload: Workload, settings: Settings, yardstick: bool, templates: bool = False
) -> WorkloadResult:
    """:func:`measure` in a fresh interpreter, so that no workload inherits the state (memo
    tables, caches, heap) that an earlier one left in an implementation."""
    command = [
        sys.executable,
        "-m",
        "copykit",
        "bench",
        "--worker",
        "--only",
        workload.name,
        "--repeat",
        str(settings.repeat),
        "--sample-ms",
        repr(settings.sample_seconds * 1e3),
    ]
    command += ["--timer", settings.timer]
    command += ["--quick"] * settings.quick + ["--yardstick"] * yardstick
    command += ["--templates"] * templates + ["--real"] * workload.real
    package_root = str(Path(__file__).resolve().parents[1])
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])),
    )
    completed = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"worker for {workload.name} failed:\n{completed.stderr}")
    return result_from_json(workload, json.loads(completed.stdout))


def run_benchmarks(
    workloads: Sequence[Workload],
    settings: Settings,
    yardstick: ModuleType | None,
    in_process: bool,
    templates: bool = False,
) -> list[WorkloadResult]:
    """Measure every workload, each in its own interpreter unless ``in_process``."""
    modules = load_implementations(yardstick)
    results = []
    for workload in workloads:
        print(f"  {workload.name} ...", file=sys.stderr)
        if in_process:
            clones = clones_for(workload, modules, templates)
            results.append(measure(workload, clones, settings))
        else:
            results.append(
                measure_in_subprocess(workload, settings, yardstick is not None, templates)
            )
    return results


# --- reporting -------------------------------------------------------------------------------


def geometric_mean(values: Iterable[float]) -> float | None:
    collected = list(values)
    return math.exp(statistics.fmean(map(math.log, collected))) if collected else None


def geomeans(results: Sequence[WorkloadResult], columns: Sequence[str]) -> dict[str, float | None]:
    """Per column, the geometric mean of its speedups over stdlib across timed workloads."""
    return {
        column: geometric_mean(
            speedup for result in results if (speedup := result.speedup(column)) is not None
        )
        for column in columns
    }


def ratio_vs(results: Sequence[WorkloadResult], column: str, other: str) -> float | None:
    """Geometric mean of other's median / column's median (above 1: ``column`` is faster)."""
    ratios = []
    for result in results:
        mine, theirs = (result.columns.get(name) for name in (column, other))
        if mine and theirs and mine.median_us and theirs.median_us:
            ratios.append(theirs.median_us / mine.median_us)
    return geometric_mean(ratios)


def _cell(result: WorkloadResult, column: str) -> str:
    outcome = result.columns.get(column)
    if outcome is None:
        return "-"
    if outcome.error is not None:
        return "error"
    mark = " ≠" if outcome.mismatch else ""
    if column == "stdlib":
        return f"{_microseconds(outcome.median_us)}{mark}"
    return f"{_microseconds(outcome.median_us)} ({_fmt(result.speedup(column))}){mark}"


def _microseconds(value: float | None) -> str:
    """Three significant figures for small times, whole microseconds for large ones."""
    if value is None:
        return "-"
    if value < 1:
        return f"{value:.3f}"
    if value < 10:
        return f"{value:.2f}"
    if value < 100:
        return f"{value:.1f}"
    return f"{value:,.0f}"


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def render_table(results: Sequence[WorkloadResult], columns: Sequence[str]) -> str:
    """A markdown table: median µs per column and, in brackets, the speedup over stdlib."""
    header = ["workload", "op", *(f"{column} µs" for column in columns)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for result in results:
        cells = [
            result.workload.name,
            result.workload.operation,
            *(_cell(result, column) for column in columns),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    means = geomeans(results, columns)
    lines.append(
        "| **geomean** | | " + " | ".join(_fmt(means[column]) for column in columns) + " |"
    )
    return "\n".join(lines)


def render_notes(results: Sequence[WorkloadResult], columns: Sequence[str]) -> str:
    """Geomean ratios against copium and every guard failure, one per line."""
    lines = [
        "speedup = stdlib median / column median (above 1 is faster); "
        "≠ = result differs from stdlib (values, sharing or identity)"
    ]
    lines += [
        f"{column} vs copium (geomean, >1 = {column} faster): "
        f"{_fmt(ratio_vs(results, column, 'copium'))}"
        for column in ("c", "c patched", "python")
        if column in columns and "copium" in columns
    ]
    lines += [
        f"{column} vs {other} (geomean, >1 = {column} faster): "
        f"{_fmt(ratio_vs(results, column, other))}"
        for column in ("c template", "python template")
        for other in ("c", "duper")
        if column in columns and other in columns
    ]
    for result in results:
        for column, outcome in result.columns.items():
            if outcome.mismatch or outcome.error:
                lines.append(
                    f"≠ {result.workload.name} [{column}]: {outcome.mismatch or outcome.error}"
                )
    return "\n".join(lines)


def to_json(
    results: Sequence[WorkloadResult],
    columns: Sequence[str],
    settings: Settings,
    argv: Sequence[str],
) -> dict[str, object]:
    """Everything needed to quote the run: environment, command, per-column medians, ratios."""
    return {
        "command": " ".join(["python -m copykit", *argv]),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "python": sys.version,
        "platform": platform.platform(),
        "settings": {
            "repeat": settings.repeat,
            "sample_seconds": settings.sample_seconds,
            "quick": settings.quick,
            "timer": settings.timer,
        },
        "columns": list(columns),
        "workloads": [_workload_json(result) for result in results],
        "geomean_speedup": geomeans(results, columns),
        "c_vs_copium": ratio_vs(results, "c", "copium"),
        "python_vs_copium": ratio_vs(results, "python", "copium"),
    }


def _workload_json(result: WorkloadResult) -> dict[str, object]:
    return {
        "name": result.workload.name,
        "operation": result.workload.operation,
        "results": {
            column: {
                "median_us": outcome.median_us,
                "speedup_vs_stdlib": result.speedup(column),
                "matches_stdlib": outcome.mismatch is None and outcome.error is None,
                "mismatch": outcome.mismatch,
                "error": outcome.error,
                "number": outcome.number,
                "samples_us": [sample * 1e6 for sample in outcome.samples],
            }
            for column, outcome in result.columns.items()
        },
    }


def result_from_json(workload: Workload, data: dict[str, Any]) -> WorkloadResult:
    """The inverse of the per-workload JSON that a worker prints."""
    columns = {
        column: ColumnResult(
            mismatch=fields["mismatch"],
            error=fields["error"],
            number=fields["number"],
            samples=[sample / 1e6 for sample in fields["samples_us"]],
        )
        for column, fields in data["results"].items()
    }
    return WorkloadResult(workload, columns)


# --- command line ----------------------------------------------------------------------------


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the ``bench`` subcommand."""
    parser = subparsers.add_parser(
        "bench",
        help="time copy implementations side by side on realistic workloads",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="few short samples (< 1 minute)")
    parser.add_argument(
        "--only", action="append", metavar="NAME", help="run only this workload (repeatable)"
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    parser.add_argument("--repeat", type=int, help="samples per implementation")
    parser.add_argument("--sample-ms", type=float, help="target milliseconds per sample")
    parser.add_argument(
        "--timer",
        choices=sorted(TIMERS),
        default="cpu",
        help="cpu: this thread's CPU time, immune to being descheduled (default); wall: elapsed",
    )
    parser.add_argument(
        "--yardstick",
        action="store_true",
        help="add the memo-less C clone as a column on JSON-like workloads",
    )
    parser.add_argument(
        "--templates",
        action="store_true",
        help="time template(x)() (and duper's deepdups when installed) against C deepcopy",
    )
    parser.add_argument(
        "--real",
        action="store_true",
        help="the objects of real libraries (pydantic, attrs, numpy, xml.etree, networkx, "
        "torch, forwarding hooks, stdlib reduce types), each unpatched and patched",
    )
    parser.add_argument("--list", action="store_true", help="list the workloads and exit")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run every workload in this process (default: a fresh interpreter per workload)",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.set_defaults(run=run)


def _settings(args: argparse.Namespace) -> Settings:
    base = QUICK if args.quick else FULL
    repeat = args.repeat if args.repeat else base.repeat
    seconds = args.sample_ms / 1000 if args.sample_ms else base.sample_seconds
    return Settings(max(1, repeat), seconds, base.quick, args.timer)


def _list_workloads(real: bool = False) -> int:
    for workload in select(None, real):
        print(f"{workload.name:<18} {workload.operation:<8} {workload.description}")
    return 0


def run(args: argparse.Namespace, argv: Sequence[str] = ()) -> int:
    """Run the ``bench`` subcommand; returns the exit status."""
    if args.list:
        return _list_workloads(args.real)
    try:
        workloads = select(args.only, args.real)
        yardstick = load_yardstick() if args.yardstick else None
    except (KeyError, ImportError) as exc:
        print(f"copykit bench: {exc}", file=sys.stderr)
        return 2
    settings = _settings(args)
    if args.worker:
        return _run_worker(workloads, settings, yardstick, args.templates)
    if args.templates:
        workloads = tuple(workload for workload in workloads if workload.operation == "deepcopy")
        columns = _template_columns()
    elif args.real:
        columns = [column for column in REAL_COLUMNS if column in real_clones(workloads[0])]
    else:
        columns = [column for column in COLUMNS if column in load_implementations(yardstick)]
    print(
        f"Python {platform.python_version()} on {platform.machine()}; "
        f"columns: {', '.join(columns)}; repeat={settings.repeat}; timer={settings.timer}",
        file=sys.stderr,
    )
    results = run_benchmarks(workloads, settings, yardstick, args.in_process, args.templates)
    print(render_table(results, columns))
    print()
    print(render_notes(results, columns))
    if args.json:
        args.json.write_text(json.dumps(to_json(results, columns, settings, argv), indent=2))
    return 0


def _template_columns() -> list[str]:
    """The --templates columns whose modules import here."""
    present = {"stdlib"} | {
        column
        for column, (module_name, _function) in TEMPLATE_FACTORIES.items()
        if _import_optional(module_name) is not None
    }
    if _import_optional(MODULES["c"]) is not None:
        present.add("c")
    return [column for column in TEMPLATE_COLUMNS if column in present]


def _run_worker(
    workloads: Sequence[Workload],
    settings: Settings,
    yardstick: ModuleType | None,
    templates: bool = False,
) -> int:
    """Measure one workload in this process and print its result as JSON on stdout."""
    (workload,) = workloads
    clones = clones_for(workload, load_implementations(yardstick), templates)
    print(json.dumps(_workload_json(measure(workload, clones, settings))))
    return 0
