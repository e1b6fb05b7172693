"""copykit.patch: stdlib copy runs copykit while enabled, and exactly the stdlib after."""

from __future__ import annotations

import copy
import inspect
import os
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from types import CodeType, FrameType
from typing import Any

import pytest

import copykit
from copykit import patch

SOURCE_DIR = Path(__file__).resolve().parent.parent / "src"
ORIGINAL_COPY = copy.copy
ORIGINAL_DEEPCOPY = copy.deepcopy
ORIGINAL_CODE = {
    ORIGINAL_COPY: ORIGINAL_COPY.__code__,
    ORIGINAL_DEEPCOPY: ORIGINAL_DEEPCOPY.__code__,
}


@pytest.fixture(autouse=True)
def restore_copy_module() -> Iterator[None]:
    """Leave the stdlib copy module as it was, whatever the test did or however it failed."""
    try:
        yield
    finally:
        patch.disable()
        copy.copy, copy.deepcopy = ORIGINAL_COPY, ORIGINAL_DEEPCOPY
        for function, code in ORIGINAL_CODE.items():
            function.__code__ = code


@pytest.fixture
def fast_thread_switching() -> Iterator[None]:
    """Switch threads as often as possible, so that races have a chance to show."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)


def calls_made_by(action: Callable[[], object]) -> list[object]:
    """Code objects of the Python functions and the C functions that ``action`` calls."""
    called: list[object] = []

    def record(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call":
            called.append(frame.f_code)
        elif event == "c_call":
            called.append(arg)

    sys.setprofile(record)
    try:
        action()
    finally:
        sys.setprofile(None)
    return called


def entry_point(function: Callable[..., Any]) -> object:
    """What ``calls_made_by`` records when ``function`` is called."""
    code: CodeType | None = getattr(function, "__code__", None)
    return function if code is None else code


class Reduced:
    """Copied through __reduce_ex__, with state that needs a deep copy."""

    def __init__(self, payload: object) -> None:
        self.payload = payload

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Reduced) and other.payload == self.payload

    __hash__ = None  # type: ignore[assignment]


def nested_structure() -> object:
    shared = [1, 2.5, "three"]
    return {"list": [shared, shared], "tuple": (shared, {4, 5}), "object": Reduced([shared])}


def test_enable_makes_deepcopy_run_copykit() -> None:
    patch.enable()
    assert entry_point(copykit.deepcopy) in calls_made_by(lambda: copy.deepcopy([[1]]))


def test_enable_makes_copy_run_copykit() -> None:
    patch.enable()
    assert entry_point(copykit.copy) in calls_made_by(lambda: copy.copy(Reduced(1)))


def test_disabled_deepcopy_does_not_run_copykit() -> None:
    patch.enable()
    patch.disable()
    assert entry_point(copykit.deepcopy) not in calls_made_by(lambda: copy.deepcopy([[1]]))


def test_enabled_reports_each_state() -> None:
    states = [patch.enabled()]
    patch.enable()
    states.append(patch.enabled())
    patch.disable()
    states.append(patch.enabled())
    assert states == [False, True, False]


def test_enable_twice_installs_the_same_trampoline() -> None:
    patch.enable()
    trampoline = copy.deepcopy.__code__
    patch.enable()
    assert copy.deepcopy.__code__ is trampoline


def test_one_disable_undoes_repeated_enables() -> None:
    patch.enable()
    patch.enable()
    patch.disable()
    assert copy.deepcopy.__code__ is ORIGINAL_CODE[ORIGINAL_DEEPCOPY]


def test_disable_without_enable_changes_nothing() -> None:
    patch.disable()
    assert [copy.copy.__code__, copy.deepcopy.__code__] == list(ORIGINAL_CODE.values())


def test_disable_restores_the_original_code_objects() -> None:
    patch.enable()
    patch.disable()
    restored = [function.__code__ for function in ORIGINAL_CODE]
    assert all(now is then for now, then in zip(restored, ORIGINAL_CODE.values(), strict=True))


def test_enable_patches_the_functions_in_place() -> None:
    patch.enable()
    assert (copy.copy, copy.deepcopy) == (ORIGINAL_COPY, ORIGINAL_DEEPCOPY)


def visible_attributes(function: Callable[..., Any]) -> dict[str, object]:
    names = ("__name__", "__qualname__", "__doc__", "__module__", "__defaults__", "__kwdefaults__")
    attributes = {name: getattr(function, name) for name in names}
    attributes["signature"] = inspect.signature(function)
    return attributes


def test_enable_keeps_names_signatures_and_defaults() -> None:
    before = [visible_attributes(function) for function in ORIGINAL_CODE]
    patch.enable()
    assert [visible_attributes(function) for function in ORIGINAL_CODE] == before


def test_enable_adds_nothing_to_the_copy_module_globals() -> None:
    names_before = set(vars(copy))
    patch.enable()
    assert set(vars(copy)) == names_before


def test_trampoline_is_named_like_the_stdlib_function() -> None:
    patch.enable()
    assert (copy.copy.__code__.co_name, copy.deepcopy.__code__.co_name) == ("copy", "deepcopy")


def test_name_bound_before_enable_runs_copykit() -> None:
    from copy import deepcopy as bound_before_enable

    patch.enable()
    calls = calls_made_by(lambda: bound_before_enable({"key": [1]}))
    assert entry_point(copykit.deepcopy) in calls


def test_deepcopy_list_default_argument_runs_copykit() -> None:
    patch.enable()
    deepcopy_list = copy._deepcopy_list  # type: ignore[attr-defined]
    calls = calls_made_by(lambda: deepcopy_list([[1], [2]], {}))
    assert entry_point(copykit.deepcopy) in calls


def test_copykit_never_calls_back_into_the_patched_deepcopy() -> None:
    patch.enable()
    trampoline = copy.deepcopy.__code__
    calls = calls_made_by(lambda: copy.deepcopy(nested_structure()))
    assert calls.count(trampoline) == 1


def test_copykit_never_calls_back_into_the_patched_copy() -> None:
    patch.enable()
    trampoline = copy.copy.__code__
    calls = calls_made_by(lambda: copy.copy(Reduced([1])))
    assert calls.count(trampoline) == 1


def test_patched_deepcopy_uses_the_memo_passed_in() -> None:
    original: list[object] = [1]
    stand_in: list[object] = ["seeded"]
    patch.enable()
    assert copy.deepcopy(original, {id(original): stand_in}) is stand_in


@pytest.mark.skipif(sys.version_info >= (3, 15), reason="3.15 has no _nil parameter")
def test_patched_deepcopy_passes_an_explicit_nil_on() -> None:
    # The stdlib treats a memo entry equal to _nil as missing, so it copies again.
    original: list[object] = [1]
    marker: list[object] = ["not in the memo"]
    patch.enable()
    copied = copy.deepcopy(original, {id(original): marker}, marker)
    assert copied == [1] and copied is not original


def test_patched_deepcopy_result_equals_stdlib_result() -> None:
    expected = copy.deepcopy(nested_structure())
    patch.enable()
    assert copy.deepcopy(nested_structure()) == expected


def test_traceback_names_deepcopy_in_the_patch_module() -> None:
    def fail(memo: object) -> None:
        raise ValueError("deliberate")

    class Failing:
        __deepcopy__ = staticmethod(fail)

    patch.enable()
    with pytest.raises(ValueError) as caught:
        copy.deepcopy(Failing())
    frames = traceback.extract_tb(caught.value.__traceback__)
    assert ("deepcopy", Path(patch.__file__).name) in {
        (frame.name, Path(frame.filename).name) for frame in frames
    }


def test_enable_refuses_a_deepcopy_replaced_by_someone_else() -> None:
    def foreign(x: Any, memo: Any = None, _nil: Any = None) -> Any:
        return x

    ORIGINAL_DEEPCOPY.__code__ = foreign.__code__
    with pytest.raises(RuntimeError, match="already patched"):
        patch.enable()


def test_refused_enable_leaves_copy_untouched() -> None:
    def foreign(x: Any, memo: Any = None, _nil: Any = None) -> Any:
        return x

    ORIGINAL_DEEPCOPY.__code__ = foreign.__code__
    with pytest.raises(RuntimeError):
        patch.enable()
    assert ORIGINAL_COPY.__code__ is ORIGINAL_CODE[ORIGINAL_COPY]


def test_patched_enables_inside_the_block() -> None:
    with patch.patched():
        inside = patch.enabled()
    assert inside


def test_patched_disables_after_the_block() -> None:
    with patch.patched():
        pass
    assert copy.deepcopy.__code__ is ORIGINAL_CODE[ORIGINAL_DEEPCOPY]


def test_patched_disables_after_an_exception() -> None:
    with pytest.raises(KeyError), patch.patched():
        raise KeyError("inside")
    assert not patch.enabled()


def test_patched_keeps_an_outer_enable() -> None:
    patch.enable()
    with patch.patched():
        pass
    assert patch.enabled()


def run_in_threads(action: Callable[[], None], count: int = 16) -> None:
    """Start ``count`` threads that run ``action`` together; re-raise the first failure."""
    barrier = threading.Barrier(count)
    failures: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            action()
        except BaseException as exc:  # reported to the test below
            failures.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]


@pytest.mark.usefixtures("fast_thread_switching")
def test_concurrent_enables_remember_the_real_original() -> None:
    run_in_threads(patch.enable)
    patch.disable()
    assert copy.deepcopy.__code__ is ORIGINAL_CODE[ORIGINAL_DEEPCOPY]


@pytest.mark.usefixtures("fast_thread_switching")
def test_concurrent_toggling_ends_in_a_consistent_state() -> None:
    def toggle() -> None:
        for _ in range(200):
            patch.enable()
            copy.deepcopy([1, [2]])
            patch.disable()

    run_in_threads(toggle)
    patch.enable()
    patched_code = copy.deepcopy.__code__
    patch.disable()
    assert (patched_code.co_filename, copy.deepcopy.__code__) == (
        patch.__file__,
        ORIGINAL_CODE[ORIGINAL_DEEPCOPY],
    )


def interpreter_for(minor: str) -> tuple[str, dict[str, str]] | None:
    """This interpreter, or its pyenv sibling for ``minor``, and the environment to run it in.

    A sibling uses the C module when it was built in place for it, else the pure twin.
    """
    environment = {**os.environ, "PYTHONPATH": str(SOURCE_DIR)}
    if minor == f"{sys.version_info.major}.{sys.version_info.minor}":
        return sys.executable, environment
    siblings = sorted(Path(sys.base_prefix).parent.glob(f"{minor}.*/bin/python"))
    if not siblings:
        return None
    tag = minor.replace(".", "")
    if not list((SOURCE_DIR / "copykit").glob(f"_ccopy.cpython-{tag}*")):
        environment.pop("COPYKIT_REQUIRE_C", None)
        environment["COPYKIT_PUREPYTHON"] = "1"
    return str(siblings[-1]), environment


CPYTHON_SUITE_WITH_PATCH = """
import copy, sys, unittest, copykit.patch
copykit.patch.enable()
import test.test_copy as suite
result = unittest.main(module=suite, exit=False, verbosity=0).result
assert copykit.patch.enabled(), "the suite disabled the patch"
assert copy.deepcopy.__code__.co_filename == copykit.patch.__file__, "patch lost"
sys.exit(not result.wasSuccessful() or result.testsRun < 70)
"""


# pyenv's versions; pyenv has none newer, so a newer running interpreter (3.14 and 3.15, from
# Debian sid in the chroot of scripts/sid_pythons.sh) is a case of its own.
PATCHED_SUITE_MINOR_VERSIONS = ["3.10", "3.11", "3.12", "3.13"]
if sys.version_info >= (3, 14):
    PATCHED_SUITE_MINOR_VERSIONS.append(f"{sys.version_info.major}.{sys.version_info.minor}")


@pytest.mark.parametrize("minor", PATCHED_SUITE_MINOR_VERSIONS)
def test_cpython_test_copy_passes_with_the_patch_enabled(minor: str) -> None:
    found = interpreter_for(minor)
    if found is None:
        pytest.skip(f"no Python {minor} next to this interpreter")
    interpreter, environment = found
    completed = subprocess.run(
        [interpreter, "-c", CPYTHON_SUITE_WITH_PATCH],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
