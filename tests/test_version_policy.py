"""What copykit does on a CPython newer than the newest it was tested on (3.15).

The twins mirror each tested version's copy.py, so on an unknown one copykit uses the stdlib's
own functions (exact, not faster) and says so once with a RuntimeWarning, unless
COPYKIT_UNTESTED_PYTHON=twin opts in to the twins (or =stdlib silences the warning).
``copykit.patch.enable()`` then leaves the stdlib as it is. A newer CPython is simulated in a
child interpreter by setting ``sys.version_info`` before ``import copykit``.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import copykit
from copykit import _select_implementations, _untested_python_warning

# Child interpreters import the very copykit under test, installed or not.
PACKAGE_ROOT = str(Path(copykit.__file__).resolve().parent.parent)
POLICY_VARIABLES = ("COPYKIT_UNTESTED_PYTHON", "COPYKIT_PUREPYTHON", "COPYKIT_PATCH")

UNTESTED_WARNING = (
    "copykit 0.1.0 has not been tested on CPython 3.16 and uses the stdlib copy module there "
    "(exact, not faster) until a release that knows CPython 3.16. Set "
    "COPYKIT_UNTESTED_PYTHON=twin to use copykit's own implementation anyway, or "
    "COPYKIT_UNTESTED_PYTHON=stdlib to keep the stdlib's without this warning."
)

# Run in the child: import copykit (optionally claiming to be CPython 3.16 first), try the
# patch, and print what happened as JSON. Everything copykit's import might consult is
# imported before sys.version_info changes, and the real one is back once copykit is
# imported, so only copykit's import sees the fake version.
CHILD = """
import contextlib, copy, json, sys, typing, warnings
import collections.abc

real_version_info = sys.version_info
if sys.argv[1] == "3.16":
    sys.version_info = (3, 16, 0, "final", 0)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import copykit
    import copykit.patch
sys.version_info = real_version_info
report = {
    "implementation": copykit.IMPLEMENTATION,
    "warnings": [(w.category.__name__, str(w.message), w.filename) for w in caught],
    "copy_is_stdlib": copykit.copy is copy.copy,
    "deepcopy_is_stdlib": copykit.deepcopy is copy.deepcopy,
    "replace_is_stdlib": copykit.replace is getattr(copy, "replace", copykit.replace),
    "twins_imported": sorted(
        name for name in ("copykit._pycopy", "copykit._ccopy") if name in sys.modules
    ),
}
deepcopy_code = copy.deepcopy.__code__
try:
    copykit.patch.enable()
    report["enabled_after_enable"] = copykit.patch.enabled()
    report["stdlib_code_kept"] = copy.deepcopy.__code__ is deepcopy_code
    report["deepcopy_works"] = copy.deepcopy([[1]]) == [[1]]
    with copykit.patch.patched():
        report["enabled_in_patched"] = copykit.patch.enabled()
    copykit.patch.disable()
    report["stdlib_code_kept_after_disable"] = copy.deepcopy.__code__ is deepcopy_code
except RuntimeError as exc:  # the patch refuses a copy.py it does not know
    report["patch_error"] = str(exc)
print(json.dumps(report))
"""


def run_child(version: str, **policy: str) -> dict[str, Any]:
    """Import copykit in a fresh interpreter claiming ``version`` ("3.16" or "real")."""
    env = {key: value for key, value in os.environ.items() if key not in POLICY_VARIABLES}
    env.update(policy, PYTHONPATH=PACKAGE_ROOT)
    result = subprocess.run(
        [sys.executable, "-c", CHILD, version], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def patch_result(report: dict[str, Any], key: str) -> object:
    """The patch's outcome ``key`` from a child's report, or the error the patch raised."""
    return report.get(key, f"patch error: {report.get('patch_error')}")


def c_module_is_built() -> bool:
    try:
        importlib.import_module("copykit._ccopy")
    except ImportError:
        return False
    return True


@pytest.fixture(scope="module")
def on_3_16() -> dict[str, Any]:
    """What a child claiming to be CPython 3.16 reports, with no policy variable set."""
    return run_child("3.16")


@pytest.fixture(scope="module")
def on_this_python() -> dict[str, Any]:
    """What a child on this (tested) interpreter reports, with no policy variable set."""
    return run_child("real")


# ---------------------------------------------------------------- the selection, unit tests


@pytest.mark.parametrize("minor", range(10, 16))
def test_tested_version_tries_c_then_the_twin(minor: int) -> None:
    assert _select_implementations((3, minor), {}) == ("c", "python")


def test_purepython_on_a_tested_version_selects_the_twin() -> None:
    assert _select_implementations((3, 15), {"COPYKIT_PUREPYTHON": "1"}) == ("python",)


def test_purepython_zero_is_ignored() -> None:
    assert _select_implementations((3, 13), {"COPYKIT_PUREPYTHON": "0"}) == ("c", "python")


@pytest.mark.parametrize("version", [(3, 16), (3, 20), (4, 0)])
def test_untested_version_selects_the_stdlib(version: tuple[int, int]) -> None:
    assert _select_implementations(version, {}) == ("stdlib",)


def test_purepython_alone_does_not_opt_in_on_an_untested_version() -> None:
    assert _select_implementations((3, 16), {"COPYKIT_PUREPYTHON": "1"}) == ("stdlib",)


@pytest.mark.parametrize("value", ["twin", "TWIN", " Twin "])
def test_untested_python_twin_opts_in(value: str) -> None:
    environ = {"COPYKIT_UNTESTED_PYTHON": value}
    assert _select_implementations((3, 16), environ) == ("c", "python")


def test_untested_python_twin_with_purepython_selects_the_twin() -> None:
    environ = {"COPYKIT_UNTESTED_PYTHON": "twin", "COPYKIT_PUREPYTHON": "1"}
    assert _select_implementations((3, 16), environ) == ("python",)


@pytest.mark.parametrize("value", ["stdlib", "", "twins", "1"])
def test_other_untested_python_values_keep_the_stdlib(value: str) -> None:
    environ = {"COPYKIT_UNTESTED_PYTHON": value}
    assert _select_implementations((3, 16), environ) == ("stdlib",)


def test_untested_python_variable_changes_nothing_on_a_tested_version() -> None:
    environ = {"COPYKIT_UNTESTED_PYTHON": "stdlib"}
    assert _select_implementations((3, 15), environ) == ("c", "python")


def test_untested_version_warning_names_the_version_and_the_way_out() -> None:
    assert _untested_python_warning((3, 16), {}) == UNTESTED_WARNING


@pytest.mark.parametrize("minor", range(10, 16))
def test_no_warning_on_a_tested_version(minor: int) -> None:
    assert _untested_python_warning((3, minor), {}) is None


@pytest.mark.parametrize("value", ["twin", "stdlib"])
def test_no_warning_once_the_user_has_chosen(value: str) -> None:
    assert _untested_python_warning((3, 16), {"COPYKIT_UNTESTED_PYTHON": value}) is None


def test_unrecognised_choice_still_warns() -> None:
    environ = {"COPYKIT_UNTESTED_PYTHON": "twins"}
    assert _untested_python_warning((3, 16), environ) == UNTESTED_WARNING


def test_this_process_used_the_first_selected_implementation_that_imports() -> None:
    selected = _select_implementations(sys.version_info[:2], os.environ)
    assert copykit.IMPLEMENTATION in selected


# ---------------------------------------------------------------- a simulated CPython 3.16


def test_untested_version_uses_the_stdlib(on_3_16: dict[str, Any]) -> None:
    assert on_3_16["implementation"] == "stdlib"


def test_untested_version_warns_once_at_import(on_3_16: dict[str, Any]) -> None:
    assert [(category, message) for category, message, _ in on_3_16["warnings"]] == [
        ("RuntimeWarning", UNTESTED_WARNING)
    ]


def test_untested_version_warning_comes_from_copykit(on_3_16: dict[str, Any]) -> None:
    # So that `-W ignore::RuntimeWarning:copykit` (or pytest's filterwarnings) can hide it.
    filename = on_3_16["warnings"][0][2]
    assert Path(filename).parts[-2:] == ("copykit", "__init__.py")


def test_untested_version_deepcopy_is_the_stdlib_function(on_3_16: dict[str, Any]) -> None:
    assert on_3_16["deepcopy_is_stdlib"] is True


def test_untested_version_copy_is_the_stdlib_function(on_3_16: dict[str, Any]) -> None:
    assert on_3_16["copy_is_stdlib"] is True


@pytest.mark.skipif(sys.version_info < (3, 13), reason="copy.replace is new in 3.13")
def test_untested_version_replace_is_the_stdlib_function(on_3_16: dict[str, Any]) -> None:
    assert on_3_16["replace_is_stdlib"] is True


def test_untested_version_imports_neither_twin(on_3_16: dict[str, Any]) -> None:
    assert on_3_16["twins_imported"] == []


def test_untested_version_patch_enable_is_a_no_op(on_3_16: dict[str, Any]) -> None:
    assert patch_result(on_3_16, "enabled_after_enable") is False


def test_untested_version_patch_leaves_the_stdlib_code(on_3_16: dict[str, Any]) -> None:
    assert patch_result(on_3_16, "stdlib_code_kept") is True


def test_untested_version_patched_block_leaves_the_stdlib(on_3_16: dict[str, Any]) -> None:
    assert patch_result(on_3_16, "enabled_in_patched") is False


def test_untested_version_patch_disable_is_harmless(on_3_16: dict[str, Any]) -> None:
    assert patch_result(on_3_16, "stdlib_code_kept_after_disable") is True


def test_untested_version_copies_still_work(on_3_16: dict[str, Any]) -> None:
    assert patch_result(on_3_16, "deepcopy_works") is True


# The twin reads the internals of the copy.py it mirrors by version (3.14's _atomic_types,
# ...): claiming 3.16 only works on an interpreter that has the newest of them.
needs_newest_tested = pytest.mark.skipif(
    sys.version_info < (3, 15), reason="the twin under a fake 3.16 needs 3.15's copy module"
)


@needs_newest_tested
def test_untested_version_twin_opt_in_uses_the_twins_without_warning() -> None:
    report = run_child("3.16", COPYKIT_UNTESTED_PYTHON="twin", COPYKIT_PUREPYTHON="1")
    assert (report["implementation"], report["warnings"]) == ("python", [])


@needs_newest_tested
def test_untested_version_twin_opt_in_patches_the_stdlib() -> None:
    report = run_child("3.16", COPYKIT_UNTESTED_PYTHON="twin", COPYKIT_PUREPYTHON="1")
    enabled = patch_result(report, "enabled_after_enable")
    assert (enabled, patch_result(report, "stdlib_code_kept")) == (True, False)


def test_untested_version_stdlib_choice_is_silent() -> None:
    report = run_child("3.16", COPYKIT_UNTESTED_PYTHON="stdlib")
    assert (report["implementation"], report["warnings"]) == ("stdlib", [])


# ---------------------------------------------------------------- this, tested, interpreter


def test_tested_version_gives_no_warning(on_this_python: dict[str, Any]) -> None:
    assert on_this_python["warnings"] == []


def test_tested_version_uses_c_when_built(on_this_python: dict[str, Any]) -> None:
    expected = "c" if c_module_is_built() else "python"
    assert on_this_python["implementation"] == expected


def test_tested_version_purepython_uses_the_twin() -> None:
    report = run_child("real", COPYKIT_PUREPYTHON="1")
    assert (report["implementation"], report["warnings"]) == ("python", [])
