"""Shared fixtures: every test that takes ``impl`` runs on both implementations."""

from __future__ import annotations

import importlib
import os
import sys
import warnings
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, settings

IMPLEMENTATION_MODULES = {"python": "copykit._pycopy", "c": "copykit._ccopy"}

# Test this checkout's sources, whatever copykit an editable install elsewhere points at.
SOURCE_DIR = str(Path(__file__).resolve().parent.parent / "src")
if SOURCE_DIR not in sys.path:
    sys.path.insert(0, SOURCE_DIR)


def load_implementation(name: str) -> ModuleType:
    """Import one implementation by name; a missing C module skips, or fails under REQUIRE_C.

    The pure-Python twin always exists, so failing to import it is a failure, never a skip.
    """
    try:
        return importlib.import_module(IMPLEMENTATION_MODULES[name])
    except ImportError as exc:
        if name != "c" or os.environ.get("COPYKIT_REQUIRE_C") == "1":
            pytest.fail(f"C implementation required but not importable: {exc}")
        pytest.skip(f"C implementation not built: {exc}")


@pytest.fixture(params=sorted(IMPLEMENTATION_MODULES))
def impl(request: pytest.FixtureRequest) -> ModuleType:
    """The implementation module under test: exposes copy, deepcopy, replace, Error."""
    return load_implementation(request.param)


# --- Hypothesis profiles -----------------------------------------------------------------
# HYPOTHESIS_PROFILE selects one: "dev" (default, quick and random), "ci" (derandomized:
# the same examples on every run, so a red CI run is reproducible from its log alone and a
# green one cannot turn red without a code change), "thorough" (many random examples, for
# hunting bugs locally before a release).
settings.register_profile("dev", max_examples=60, deadline=None)
settings.register_profile(
    "ci",
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough",
    max_examples=3000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

# On a failure, Hypothesis imports its patch writer, whose optional dependencies (libcst,
# where installed) warn on import; with warnings as errors that would hide the failure
# behind an INTERNALERROR. Import it once here, quietly.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    try:
        importlib.import_module("hypothesis.extra._patching")
    except Exception:  # noqa: BLE001 - optional: without it Hypothesis writes no patch
        pass
