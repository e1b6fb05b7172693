"""Deep structures: nested a million levels, copied without RecursionError or a crash.

Each case runs ``hardening_deep.py`` in a child interpreter, which builds the structure
iteratively, deep-copies it, compares the copy iteratively and prints the outcome. The C
implementation must copy built-in containers a million levels deep; the pure twin and stdlib
raise RecursionError there, as they must. Instance and hook chains 100,000 deep may raise
RecursionError (as stdlib does) but must never crash either implementation.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from hardening_support import (
    IMPLEMENTATION_MODULES,
    TESTS,
    ChildResult,
    pyenv_interpreters,
    require_importable_in_child,
    run_child,
)

MILLION = 1_000_000
INSTANCE_DEPTH = 100_000
CONTAINER_SHAPES = ("list", "dict", "tuple", "mixed", "frozenset", "set_of_frozenset")
INSTANCE_SHAPES = ("instance", "hook", "reduce_args", "slots")
CHILD_TIMEOUT_SECONDS = 180
INTERPRETERS = pyenv_interpreters()


def run_deep(
    module_name: str, shape: str, depth: int, interpreter: str = sys.executable
) -> dict[str, object]:
    """The child's JSON report; fails the test when the child crashed or said nothing."""
    arguments = [str(TESTS / "hardening_deep.py"), module_name, shape, str(depth)]
    return _report(run_child(arguments, CHILD_TIMEOUT_SECONDS, interpreter=interpreter))


_WITH_LIMIT = (
    "import runpy, sys; sys.setrecursionlimit({limit}); sys.argv = sys.argv[1:]; "
    "runpy.run_path(sys.argv[0], run_name='__main__')"
)


def _report(result: ChildResult) -> dict[str, object]:
    assert result.returncode == 0, result.describe()
    lines = result.stdout.strip().splitlines()
    assert lines, result.describe()
    report: dict[str, object] = json.loads(lines[-1])
    return report


@pytest.mark.parametrize("shape", CONTAINER_SHAPES)
def test_c_copies_million_deep_containers(shape: str) -> None:
    module_name = IMPLEMENTATION_MODULES["c"]
    require_importable_in_child(module_name)
    report = run_deep(module_name, shape, MILLION)
    assert report["outcome"] == "ok", f"C deepcopy of a {MILLION}-deep {shape}: {report}"


@pytest.mark.parametrize("shape", ("list", "dict", "tuple"))
def test_pure_twin_raises_recursion_error_at_million_depth(shape: str) -> None:
    report = run_deep(IMPLEMENTATION_MODULES["python"], shape, MILLION)
    assert report["outcome"] == "RecursionError"


def test_stdlib_raises_recursion_error_at_million_depth() -> None:
    assert run_deep("copy", "list", MILLION)["outcome"] == "RecursionError"


@pytest.mark.parametrize("shape", INSTANCE_SHAPES)
@pytest.mark.parametrize("impl_name", sorted(IMPLEMENTATION_MODULES))
@pytest.mark.parametrize("interpreter", list(INTERPRETERS.values()), ids=list(INTERPRETERS))
def test_deep_instance_chain_never_crashes(interpreter: Path, impl_name: str, shape: str) -> None:
    module_name = IMPLEMENTATION_MODULES[impl_name]
    require_importable_in_child(module_name, str(interpreter))
    report = run_deep(module_name, shape, INSTANCE_DEPTH, str(interpreter))
    assert report["outcome"] in ("ok", "RecursionError")


def deep_child(module_name: str, shape: str, depth: int, recursion_limit: int) -> ChildResult:
    arguments = [str(TESTS / "hardening_deep.py"), module_name, shape, str(depth)]
    arguments = ["-c", _WITH_LIMIT.format(limit=recursion_limit), *arguments]
    return run_child(arguments, timeout=CHILD_TIMEOUT_SECONDS)


SMALL_C_STACK_INTERPRETERS = {
    minor: path for minor, path in INTERPRETERS.items() if minor in ("3.10", "3.11")
}


@pytest.mark.parametrize("shape", INSTANCE_SHAPES)
@pytest.mark.parametrize(
    "interpreter",
    list(SMALL_C_STACK_INTERPRETERS.values()),
    ids=list(SMALL_C_STACK_INTERPRETERS),
)
def test_c_instance_chain_under_raised_limit_never_crashes(interpreter: Path, shape: str) -> None:
    """Before 3.12 only the recursion limit bounds nesting: C must bound its own C stack."""
    module_name = IMPLEMENTATION_MODULES["c"]
    require_importable_in_child(module_name, str(interpreter))
    arguments = [str(TESTS / "hardening_deep.py"), module_name, shape, str(INSTANCE_DEPTH)]
    arguments = ["-c", _WITH_LIMIT.format(limit=MILLION), *arguments]
    result = run_child(arguments, CHILD_TIMEOUT_SECONDS, interpreter=str(interpreter))
    assert _report(result)["outcome"] in ("ok", "RecursionError")


def stdlib_copies_under_raised_limit() -> bool:
    """Whether stdlib copies a 100,000-deep list once the limit is raised (3.11+ can)."""
    result = deep_child("copy", "list", INSTANCE_DEPTH, MILLION)
    return result.returncode == 0 and json.loads(result.stdout)["outcome"] == "ok"


@pytest.mark.parametrize("impl_name", sorted(IMPLEMENTATION_MODULES))
def test_raised_recursion_limit_does_not_crash(impl_name: str) -> None:
    """A program may raise the limit; a list that stdlib copies must not overflow C's stack."""
    module_name = IMPLEMENTATION_MODULES[impl_name]
    require_importable_in_child(module_name)
    if not stdlib_copies_under_raised_limit():
        pytest.skip(f"stdlib itself cannot copy it on {sys.version_info[:2]}")
    result = deep_child(module_name, "list", INSTANCE_DEPTH, MILLION)
    assert result.returncode == 0, result.describe()


@pytest.mark.parametrize("impl_name", sorted(IMPLEMENTATION_MODULES))
def test_raised_recursion_limit_copies_what_stdlib_copies(impl_name: str) -> None:
    """docs/compat.md: a copy that stdlib can make must not fail here (not even by depth)."""
    module_name = IMPLEMENTATION_MODULES[impl_name]
    require_importable_in_child(module_name)
    if not stdlib_copies_under_raised_limit():
        pytest.skip(f"stdlib itself cannot copy it on {sys.version_info[:2]}")
    report = _report(deep_child(module_name, "list", INSTANCE_DEPTH, MILLION))
    assert report["outcome"] == "ok", report
