"""The benchmark runner and its workloads: deterministic, exact, and reported with every column."""

from __future__ import annotations

import copy
import gc
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from copykit import __main__ as cli
from copykit import _bench
from copykit._workloads import (
    Workload,
    available_workloads,
    build_pyperf_memo,
    build_service_config,
    select,
)
from oracle import assert_same_copy

WORKLOADS = available_workloads()
NAMES = [workload.name for workload in WORKLOADS]
REAL = available_workloads(real=True)
REAL_NAMES = [workload.name for workload in REAL]
JSON_LIKE = [workload for workload in WORKLOADS if workload.json_like]
TINY_RUN = ["bench", "--quick", "--only", "service_config", "--repeat", "2", "--sample-ms", "0.2"]
YARDSTICK_SETUP = Path(__file__).resolve().parents[1] / "benchmarks" / "yardstick" / "setup.py"


def run_bench(capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    status = cli.main([*TINY_RUN, *extra])
    assert status == 0
    return capsys.readouterr().out


def header_cells(table: str) -> list[str]:
    return [cell.strip() for cell in table.splitlines()[0].strip("|").split("|")]


# --- the runner ----------------------------------------------------------------------------


def test_quick_run_prints_a_median_column_per_implementation(
    capsys: pytest.CaptureFixture[str],
) -> None:
    cells = header_cells(run_bench(capsys))
    assert cells[:4] == ["workload", "op", "stdlib µs", "python µs"] and "pickle µs" in cells


def test_quick_run_prints_one_row_for_the_selected_workload(
    capsys: pytest.CaptureFixture[str],
) -> None:
    rows = [line for line in run_bench(capsys).splitlines() if line.startswith("| service")]
    assert len(rows) == 1


def test_quick_run_prints_a_geomean_row(capsys: pytest.CaptureFixture[str]) -> None:
    assert "| **geomean** |" in run_bench(capsys)


def test_json_output_has_a_result_for_every_column(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "bench.json"
    run_bench(capsys, "--json", str(path))
    data = json.loads(path.read_text())
    (workload,) = data["workloads"]
    assert set(workload["results"]) == set(data["columns"]) >= {"stdlib", "python", "pickle"}


def test_json_output_has_a_median_and_speedup_per_column(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "bench.json"
    run_bench(capsys, "--json", str(path))
    results = json.loads(path.read_text())["workloads"][0]["results"]
    assert all(
        result["median_us"] > 0 and result["speedup_vs_stdlib"] > 0 for result in results.values()
    )


def test_json_output_records_the_command(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "bench.json"
    run_bench(capsys, "--json", str(path))
    assert json.loads(path.read_text())["command"].startswith("python -m copykit bench --quick")


def test_in_process_run_times_the_same_columns(capsys: pytest.CaptureFixture[str]) -> None:
    isolated = header_cells(run_bench(capsys))
    assert header_cells(run_bench(capsys, "--in-process")) == isolated


def test_unknown_workload_exits_with_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["bench", "--only", "no_such_workload"]) == 2


def test_shallow_copy_workloads_have_no_pickle_column() -> None:
    (workload,) = select(["dataclass_shallow"])
    modules = _bench.load_implementations(yardstick=None)
    assert "pickle" not in _bench.clones_for(workload, modules)


def test_speedup_is_stdlib_median_over_column_median() -> None:
    (workload,) = select(["service_config"])
    columns = {
        "stdlib": _bench.ColumnResult(samples=[3e-6, 3e-6, 9e-6]),
        "python": _bench.ColumnResult(samples=[1e-6, 1e-6, 1e-6]),
    }
    assert _bench.WorkloadResult(workload, columns).speedup("python") == pytest.approx(3.0)


def test_calibration_gives_faster_columns_more_calls_per_sample() -> None:
    data = list(range(1000))
    numbers = _bench.calibrate({"slow": copy.deepcopy, "fast": copy.copy}, data, 0.002)
    assert numbers["fast"] > 10 * numbers["slow"]


def test_warm_up_object_is_copied_by_every_column_before_timing() -> None:
    warm_up_object = ["warm"]
    copied: list[tuple[str, object]] = []

    def recording(column: str) -> _bench.Clone:
        def clone(obj: object) -> object:
            copied.append((column, obj))
            return copy.deepcopy(obj)

        return clone

    workload = Workload("w", lambda: [1], "deepcopy", "test", warm_up=lambda: warm_up_object)
    clones = {"stdlib": recording("stdlib"), "python": recording("python")}
    _bench.measure(workload, clones, _bench.Settings(1, 0.0001, quick=True))
    assert [column for column, obj in copied if obj is warm_up_object] == ["stdlib", "python"]


def test_every_sample_starts_after_a_full_collection() -> None:
    full_collections: list[int] = []

    def count_full_collections(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 2:
            full_collections.append(1)

    workload = Workload("w", lambda: [1], "deepcopy", "test")
    clones: dict[str, _bench.Clone] = {"stdlib": copy.deepcopy, "python": copy.deepcopy}
    gc.callbacks.append(count_full_collections)
    try:
        _bench.measure(workload, clones, _bench.Settings(3, 0.0001, quick=True))
    finally:
        gc.callbacks.remove(count_full_collections)
    assert len(full_collections) >= 3 * len(clones)


# --- the correctness guard -----------------------------------------------------------------


def test_guard_accepts_stdlib_against_itself() -> None:
    (workload,) = select(["object_graph"])
    original = workload.build()
    expected, actual = copy.deepcopy(original), copy.deepcopy(original)
    assert _bench.check_result(original, expected, actual) is None


def test_guard_flags_a_copy_that_loses_sharing() -> None:
    original = build_pyperf_memo()
    unshared = {"a": tuple(list(item) for item in original["a"]), "b": original["b"]}
    reason = _bench.check_result(original, copy.deepcopy(original), copy.deepcopy(unshared))
    assert reason is not None and "shared differently" in reason


def test_guard_flags_a_copy_that_returns_the_original() -> None:
    original = build_service_config()
    assert _bench.check_result(original, copy.deepcopy(original), original) is not None


def test_guard_flags_a_different_value() -> None:
    original = build_service_config()
    changed = copy.deepcopy(original)
    changed["server"]["port"] = 8081
    reason = _bench.check_result(original, copy.deepcopy(original), changed)
    assert reason == "$[1]['server']['port']: 8080 != 8081"


def test_guard_marks_the_implementation_that_differs() -> None:
    (workload,) = select(["service_config"])
    clones = {"stdlib": copy.deepcopy, "broken": lambda obj: obj}
    results = _bench.guard(workload, workload.build(), clones)
    assert [name for name, result in results.items() if result.mismatch] == ["broken"]


# --- the workloads -------------------------------------------------------------------------


@pytest.mark.parametrize("workload", WORKLOADS, ids=NAMES)
def test_workload_builder_is_deterministic(workload: Workload) -> None:
    assert _bench.Equivalence().mismatch(workload.build(), workload.build()) is None


@pytest.mark.parametrize("workload", WORKLOADS, ids=NAMES)
def test_copykit_agrees_with_stdlib_on_workload(workload: Workload, impl: ModuleType) -> None:
    original = workload.build()
    expected = getattr(copy, workload.operation)(original)
    assert_same_copy(original, expected, getattr(impl, workload.operation)(original))


@pytest.fixture(scope="module")
def yardstick(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """The yardstick extension, compiled into a temporary directory."""
    pytest.importorskip("setuptools")
    build = tmp_path_factory.mktemp("yardstick")
    command = [sys.executable, str(YARDSTICK_SETUP), "--quiet", "build_ext"]
    command += ["--build-lib", str(build), "--build-temp", str(build / "tmp")]
    subprocess.run(command, check=True, capture_output=True)
    return _bench.load_yardstick([build])


@pytest.mark.parametrize("workload", JSON_LIKE, ids=[workload.name for workload in JSON_LIKE])
def test_yardstick_clone_agrees_with_stdlib_on_json_like_workload(
    workload: Workload, yardstick: ModuleType
) -> None:
    original = workload.build()
    assert _bench.check_result(original, copy.deepcopy(original), yardstick.clone(original)) is None


# --- --real -------------------------------------------------------------------------------


def real_operation(module: ModuleType, workload: Workload) -> Callable[[object], object]:
    if workload.operation == "deepcopy_memo":
        return lambda obj: module.deepcopy(obj, {})
    return getattr(module, workload.operation)  # type: ignore[no-any-return]


@pytest.mark.parametrize("patched", [False, True], ids=["unpatched", "patched"])
@pytest.mark.parametrize("workload", REAL, ids=REAL_NAMES)
def test_copykit_agrees_with_stdlib_on_real_workload(
    workload: Workload, impl: ModuleType, patched: bool
) -> None:
    """The real libraries' objects, checked as the runner checks them (numpy arrays and xml
    Elements compare by their reductions), with the hooks' own copies copykit's or not."""
    from copykit import patch

    original = workload.build()
    expected = real_operation(copy, workload)(original)
    if patched:
        with patch.patched():
            actual = real_operation(impl, workload)(original)
    else:
        actual = real_operation(impl, workload)(original)
    assert _bench.check_result(original, expected, actual) is None


def test_real_run_times_each_row_unpatched_and_patched(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = cli.main(
        [
            "bench",
            "--real",
            "--quick",
            "--only",
            "forwarding_hooks",
            "--repeat",
            "2",
            "--sample-ms",
            "0.2",
        ]
    )
    assert status == 0
    cells = header_cells(capsys.readouterr().out)
    assert cells[:5] == ["workload", "op", "stdlib µs", "c µs", "c patched µs"]


def test_patched_column_runs_the_stdlib_function_with_the_patch_on() -> None:
    from copykit import patch

    seen: list[bool] = []

    class Probe:
        def __deepcopy__(self, memo: dict[int, object]) -> Probe:
            seen.append(patch.enabled())
            return Probe()

    clone = _bench.PatchedClone("deepcopy")
    _bench.time_sample(clone, [Probe()], 3)
    clone([Probe()])
    assert seen == [True] * 4 and not patch.enabled()


def test_result_check_tells_numpy_arrays_apart() -> None:
    numpy = pytest.importorskip("numpy")
    original = {"a": numpy.arange(4.0)}
    changed = copy.deepcopy(original)
    changed["a"][0] = 9.0
    assert _bench.check_result(original, copy.deepcopy(original), copy.deepcopy(original)) is None
    assert _bench.check_result(original, copy.deepcopy(original), changed) is not None


# --- --templates ---------------------------------------------------------------------------


def test_template_run_times_the_factories_beside_c_deepcopy(
    capsys: pytest.CaptureFixture[str],
) -> None:
    has_c = _bench._import_optional(_bench.MODULES["c"]) is not None
    table = run_bench(capsys, "--templates")
    cells = header_cells(table)
    expected = ["workload", "op", "stdlib µs"]
    if has_c:
        expected += ["c µs", "c template µs"]
    assert cells[: len(expected) + 1] == [*expected, "python template µs"]
    (row,) = [line for line in table.splitlines() if line.startswith("| service_config")]
    assert "≠" not in row  # every template column returned what stdlib deepcopy returns
    assert ("python template vs c (geomean" in table) == has_c


def test_template_run_leaves_out_shallow_workloads(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([*TINY_RUN[:3], "int_list_shallow", "--repeat", "2", "--templates"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| int_")]
    assert rows == []


def test_factory_columns_time_the_factory_alone() -> None:
    made: list[object] = []
    calls: list[None] = []

    def make(obj: object) -> Callable[[], object]:
        made.append(obj)
        return lambda: calls.append(None)

    clone = _bench.FactoryClone(make)
    data = [1]
    _bench.time_sample(clone, data, 5)
    _bench.time_sample(clone, data, 5)
    assert made == [data] and len(calls) == 10  # one factory, made outside the timed calls
