"""Packaging, the cheap parts: what the sdist and wheel ship, and setup.py's C fallback.

Builds run ``python -m build --no-isolation`` on a copy of the checkout (a few seconds each),
so they need ``build`` and ``setuptools`` in this interpreter and skip otherwise. The full
round trip (fresh venvs, installing the sdist) is scripts/check_packaging.sh.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGE_DIR = REPO / "src" / "copykit"
BUILD_TIMEOUT_SECONDS = 120
STAND_IN_C_SOURCE = """\
#include <Python.h>
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_ccopy", NULL, 0, NULL};
PyMODINIT_FUNC PyInit__ccopy(void) { return PyModule_Create(&module); }
"""
IGNORED = shutil.ignore_patterns(
    ".git", "build", "dist", "*.egg-info", "__pycache__", "*.so", "*.pyd", ".*_cache", ".hypothesis"
)

# build.__main__, not build: the checkout's own build/ directory (setup.py build_ext's) is
# found as a namespace package named build when the current directory is on sys.path.
pytestmark = pytest.mark.skipif(
    not all(importlib.util.find_spec(name) for name in ("build.__main__", "setuptools")),
    reason="needs the build and setuptools packages",
)


def checkout_copy(destination: Path) -> Path:
    """Copy the checkout, as git would give it, into ``destination``."""
    shutil.copytree(REPO, destination, ignore=IGNORED)
    return destination


def run_build(tree: Path, kind: str, **environment: str) -> subprocess.CompletedProcess[str]:
    """Build an sdist or a wheel of ``tree`` into tree/dist; never raises on failure."""
    env = {**os.environ, **environment}
    for name in ("COPYKIT_REQUIRE_C", "CC"):
        if name not in environment:
            env.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "build", f"--{kind}", "--no-isolation", "-x", "-o", "dist"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_SECONDS,
        check=False,
    )


def built_names(tree: Path, kind: str, **environment: str) -> set[str]:
    """Build ``kind`` and return the member names of the result, sdist prefix removed."""
    completed = run_build(tree, kind, **environment)
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    if kind == "sdist":
        (sdist,) = (tree / "dist").glob("*.tar.gz")
        with tarfile.open(sdist) as archive:
            return {name.split("/", 1)[-1] for name in archive.getnames()}
    (wheel,) = (tree / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


@pytest.fixture(scope="module")
def sdist_names(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    return built_names(checkout_copy(tmp_path_factory.mktemp("sdist") / "tree"), "sdist")


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    return built_names(checkout_copy(tmp_path_factory.mktemp("wheel") / "tree"), "wheel")


@pytest.fixture
def tree_with_c_source(tmp_path: Path) -> Path:
    """A checkout copy with a C source: the real one, or a stand-in until it lands."""
    tree = checkout_copy(tmp_path / "tree")
    c_source = tree / "src" / "copykit" / "_ccopy.c"
    if not c_source.exists():
        c_source.write_text(STAND_IN_C_SOURCE)
    return tree


def package_files(*patterns: str) -> list[str]:
    return sorted(path.name for pattern in patterns for path in PACKAGE_DIR.glob(pattern))


def test_sdist_ships_the_startup_pth(sdist_names: set[str]) -> None:
    assert "src/copykit-patch.pth" in sdist_names


def test_sdist_ships_py_typed(sdist_names: set[str]) -> None:
    assert "src/copykit/py.typed" in sdist_names


def test_sdist_ships_c_sources_and_stubs(sdist_names: set[str]) -> None:
    expected = {f"src/copykit/{name}" for name in package_files("*.c", "*.h", "*.pyi")}
    assert expected <= sdist_names


def test_sdist_ships_the_tests(sdist_names: set[str]) -> None:
    assert "tests/conftest.py" in sdist_names


def test_wheel_puts_the_pth_at_the_site_packages_root(wheel_names: set[str]) -> None:
    assert "copykit-patch.pth" in wheel_names


def test_wheel_ships_py_typed_and_stubs(wheel_names: set[str]) -> None:
    expected = {f"copykit/{name}" for name in ["py.typed", *package_files("*.pyi")]}
    assert expected <= wheel_names


def test_wheel_leaves_out_c_sources(wheel_names: set[str]) -> None:
    assert not [name for name in wheel_names if name.endswith((".c", ".h"))]


def test_broken_compiler_still_builds_a_wheel(tree_with_c_source: Path) -> None:
    completed = run_build(tree_with_c_source, "wheel", CC="/bin/false")
    assert completed.returncode == 0, completed.stderr[-2000:]


def test_broken_compiler_warns_about_the_fallback(tree_with_c_source: Path) -> None:
    completed = run_build(tree_with_c_source, "wheel", CC="/bin/false")
    assert "copykit: C extension could not be built" in completed.stdout + completed.stderr


def test_broken_compiler_wheel_has_no_extension(tree_with_c_source: Path) -> None:
    names = built_names(tree_with_c_source, "wheel", CC="/bin/false")
    assert not [
        name
        for name in names
        if name.startswith("copykit/_ccopy.") and name.endswith((".so", ".pyd"))
    ]


def test_broken_compiler_fails_under_require_c(tree_with_c_source: Path) -> None:
    completed = run_build(tree_with_c_source, "wheel", CC="/bin/false", COPYKIT_REQUIRE_C="1")
    assert completed.returncode != 0 and "CExtensionRequired" in completed.stderr


def test_missing_c_source_fails_under_require_c(tmp_path: Path) -> None:
    tree = checkout_copy(tmp_path / "tree")
    (tree / "src" / "copykit" / "_ccopy.c").unlink(missing_ok=True)
    completed = run_build(tree, "wheel", COPYKIT_REQUIRE_C="1")
    assert completed.returncode != 0 and "CExtensionRequired" in completed.stderr
