"""The package's public surface: names, the implementation choice, lazy tools."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import types
from pathlib import Path

import copykit
from copykit import _pycopy

# Child interpreters import the very copykit under test, installed or not.
PACKAGE_ROOT = str(Path(copykit.__file__).resolve().parent.parent)


def run_python(*arguments: str, **extra_env: str) -> str:
    env = {**os.environ, **extra_env, "PYTHONPATH": PACKAGE_ROOT}
    result = subprocess.run(
        [sys.executable, *arguments], env=env, capture_output=True, text=True, check=True
    )
    return result.stdout


def test_error_is_the_stdlib_class() -> None:
    assert copykit.Error is copy.Error
    assert copykit.error is copy.Error


def test_all_names_resolve() -> None:
    missing = [name for name in copykit.__all__ if not hasattr(copykit, name)]
    assert missing == []


def test_implementation_names_the_loaded_functions() -> None:
    expected_module = "copykit._ccopy" if copykit.IMPLEMENTATION == "c" else "copykit._pycopy"
    assert copykit.IMPLEMENTATION in ("c", "python")
    assert sys.modules[expected_module].deepcopy is copykit.deepcopy


def test_diagram_is_the_function_not_the_module() -> None:
    assert callable(copykit.diagram)
    assert not isinstance(copykit.diagram, types.ModuleType)


def test_sharing_tools_are_exported() -> None:
    # The None return is what is checked.
    assert copykit.assert_independent([1], [1]) is None  # type: ignore[func-returns-value]
    assert copykit.shared([[1]], [[1]]) == []


def test_purepython_environment_variable_forces_the_twin() -> None:
    code = "import copykit; print(copykit.IMPLEMENTATION, copykit.deepcopy.__module__)"
    output = run_python("-c", code, COPYKIT_PUREPYTHON="1")
    assert output.split() == ["python", _pycopy.deepcopy.__module__]


def test_command_line_lists_every_subcommand() -> None:
    output = run_python("-m", "copykit", "--help")
    assert all(command in output for command in ("bench", "diagram", "shared"))
