"""Shared fixtures: every test that takes ``impl`` runs on both implementations."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest

IMPLEMENTATION_MODULES = {"python": "copykit._pycopy", "c": "copykit._ccopy"}


def load_implementation(name: str) -> ModuleType:
    """Import one implementation by name; a missing C module skips, or fails under REQUIRE_C."""
    try:
        return importlib.import_module(IMPLEMENTATION_MODULES[name])
    except ImportError as exc:
        if os.environ.get("COPYKIT_REQUIRE_C") == "1":
            pytest.fail(f"C implementation required but not importable: {exc}")
        pytest.skip(f"C implementation not built: {exc}")


@pytest.fixture(params=sorted(IMPLEMENTATION_MODULES))
def impl(request: pytest.FixtureRequest) -> ModuleType:
    """The implementation module under test: exposes copy, deepcopy, replace, Error."""
    return load_implementation(request.param)
