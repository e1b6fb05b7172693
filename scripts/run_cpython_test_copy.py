#!/usr/bin/env python3
"""Run the installed interpreter's own test/test_copy.py against copykit.

The stdlib ``copy`` module's public functions (``copy``, ``deepcopy`` and, where the
interpreter has it, ``replace``) are replaced by the chosen copykit implementation's before
the suite is imported. test_copy.py only ever reaches them as ``copy.<name>`` at call time
(this script checks that, by reading the suite's source, before it runs anything), so every
test — including hooks that call ``copy.deepcopy(..., memo)`` and tests that register into
``copyreg.dispatch_table`` — exercises copykit. A profiler counts the calls that reach copykit
to prove it. Exits 0 when every test passed, 1 otherwise.

Usage: run_cpython_test_copy.py [--impl python|c] [-v]
"""

from __future__ import annotations

import argparse
import copy
import importlib
import importlib.util
import io
import re
import sys
import sysconfig
import tokenize
import unittest
from collections.abc import Iterator
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any

IMPLEMENTATION_MODULES = {"python": "copykit._pycopy", "c": "copykit._ccopy"}
SWAPPED_NAMES = ("copy", "deepcopy", "replace")
# Names of the copy module the suite may touch without bypassing the swap.
ALLOWED_NAMES = frozenset({*SWAPPED_NAMES, "Error", "error"})
# Tests about the copy module's own definition, not about copying: swapping the functions
# changes their __module__, which check__all__ reads to decide what copy.py defines.
EXCLUDED_TESTS = {"MiscTestCase.test__all__": "inspects copy.py's own definitions"}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impl", choices=sorted(IMPLEMENTATION_MODULES), default="python")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser.parse_args(argv)


def locate_suite() -> Path:
    """The installed test/test_copy.py; refuse a file from anywhere but the stdlib."""
    spec = importlib.util.find_spec("test.test_copy")
    if spec is None or spec.origin is None:
        raise SystemExit("this interpreter has no test/test_copy.py (no test package)")
    origin = Path(spec.origin).resolve()
    stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve()
    if stdlib not in origin.parents:
        raise SystemExit(f"test.test_copy resolved to {origin}, outside the stdlib {stdlib}")
    return origin


def check_suite_touches_only_public_names(suite_path: Path) -> None:
    """Fail loudly if the suite reaches copy internals that the swap would not cover."""
    source = suite_path.read_text(encoding="utf-8")
    if re.search(r"^\s*from\s+copy\s+import", source, re.MULTILINE):
        raise SystemExit(f"{suite_path} imports names from copy: the swap would miss them")
    touched = attributes_of_copy(source)
    unexpected = sorted(touched - ALLOWED_NAMES)
    if unexpected:
        raise SystemExit(f"{suite_path} touches copy.{unexpected}: the swap would miss them")


def attributes_of_copy(source: str) -> set[str]:
    """Every NAME in ``copy.NAME`` in the code (comments and strings do not count)."""
    tokens = [
        token
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type in (tokenize.NAME, tokenize.OP)
    ]
    return {
        third.string
        for first, second, third in zip(tokens, tokens[1:], tokens[2:], strict=False)
        if first.string == "copy" and second.string == "." and third.type == tokenize.NAME
    }


def swap_in(implementation: ModuleType) -> list[str]:
    """Point the stdlib copy module's functions at ``implementation``; return the names."""
    if implementation.Error is not copy.Error:
        raise SystemExit(f"{implementation.__name__}.Error is not copy.Error")
    swapped = []
    for name in SWAPPED_NAMES:
        if hasattr(copy, name):
            setattr(copy, name, getattr(implementation, name))
            swapped.append(name)
    return swapped


def load_tests(verbose: bool) -> tuple[unittest.TestSuite, list[str]]:
    """test.test_copy's tests, minus the excluded ones (returned by id)."""
    module = importlib.import_module("test.test_copy")
    loaded = unittest.defaultTestLoader.loadTestsFromModule(module)
    kept = unittest.TestSuite()
    excluded = []
    for test in iterate_tests(loaded):
        short_id = test.id().removeprefix("test.test_copy.")
        if short_id in EXCLUDED_TESTS:
            excluded.append(f"{short_id} ({EXCLUDED_TESTS[short_id]})")
        else:
            kept.addTest(test)
    return kept, excluded


def iterate_tests(suite: unittest.TestSuite) -> Iterator[unittest.TestCase]:
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            yield from iterate_tests(item)
        else:
            yield item


class CallCounter:
    """Counts entries into the implementation's functions (Python frames or C calls)."""

    def __init__(self, implementation: ModuleType, names: list[str]) -> None:
        functions = [getattr(implementation, name) for name in names]
        self.codes = {getattr(function, "__code__", None) for function in functions} - {None}
        self.c_functions = [function for function in functions if not hasattr(function, "__code__")]
        self.count = 0

    def __call__(self, frame: FrameType, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code in self.codes:
            self.count += 1
        elif event == "c_call" and any(arg is function for function in self.c_functions):
            self.count += 1


def run(args: argparse.Namespace) -> int:
    suite_path = locate_suite()
    check_suite_touches_only_public_names(suite_path)
    implementation = importlib.import_module(IMPLEMENTATION_MODULES[args.impl])
    swapped = swap_in(implementation)
    tests, excluded = load_tests(args.verbose)
    counter = CallCounter(implementation, swapped)
    runner = unittest.TextTestRunner(verbosity=2 if args.verbose else 1, stream=sys.stdout)
    sys.setprofile(counter)
    try:
        result = runner.run(tests)
    finally:
        sys.setprofile(None)
    return report(args.impl, suite_path, swapped, excluded, result, counter.count)


def report(
    impl: str,
    suite_path: Path,
    swapped: list[str],
    excluded: list[str],
    result: unittest.TestResult,
    calls: int,
) -> int:
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    skipped = len(result.skipped)
    passed = result.testsRun - failed - skipped
    version = ".".join(map(str, sys.version_info[:3]))
    print(f"suite: {suite_path}")
    print(
        f"copy.{{{', '.join(swapped)}}} -> {IMPLEMENTATION_MODULES[impl]}; {calls} calls reached it"
    )
    for test_id in excluded:
        print(f"excluded: {test_id}")
    print(
        f"cpython {version} test_copy, impl={impl}: {passed} passed, {failed} failed, "
        f"{skipped} skipped"
    )
    if calls == 0:
        print("error: no call reached copykit; the swap did not take effect")
        return 1
    return 0 if failed == 0 and result.testsRun > 0 else 1


def main(argv: list[str] | None = None) -> int:
    return run(parse_args(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
