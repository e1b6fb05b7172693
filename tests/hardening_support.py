"""Shared helpers for the hardening tests: child processes, implementations by name, capture.

A crash (segfault, abort, sanitizer report) must be observed, not take pytest down, so the
risky work runs in a child interpreter; these helpers start it with this checkout's ``src``
and ``tests`` on the path and describe how it ended.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO / "src"
TESTS = REPO / "tests"
SCRIPTS = REPO / "scripts"
IMPLEMENTATION_MODULES = {"python": "copykit._pycopy", "c": "copykit._ccopy"}

# This checkout's copykit, never another worktree's installed one.
if str(SOURCE) not in sys.path:
    sys.path.insert(0, str(SOURCE))


def thorough() -> bool:
    """COPYKIT_THOROUGH=1 turns the long sweeps on (local bug hunting, not CI)."""
    return os.environ.get("COPYKIT_THOROUGH") == "1"


def c_required() -> bool:
    return os.environ.get("COPYKIT_REQUIRE_C") == "1"


def implementation_name(module: ModuleType) -> str:
    """``"python"`` or ``"c"`` for a module the ``impl`` fixture handed out."""
    for name, module_name in IMPLEMENTATION_MODULES.items():
        if module.__name__ == module_name:
            return name
    raise ValueError(f"not a copykit implementation: {module.__name__}")


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    paths = [str(SOURCE), str(TESTS), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(path for path in paths if path)
    env.pop("PYTHONHOME", None)
    env.pop("COPYKIT_PUREPYTHON", None)
    env["PYTHONFAULTHANDLER"] = "1"
    env.update(extra or {})
    return env


@dataclass
class ChildResult:
    """How a child interpreter ended, and what it said."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def crashed(self) -> bool:
        return self.returncode < 0 or self.returncode > 1

    def describe(self) -> str:
        if self.returncode < 0:
            ending = f"killed by {signal.Signals(-self.returncode).name}"
        else:
            ending = f"exit status {self.returncode}"
        return f"child {ending}\n--- stdout tail ---\n{self.stdout[-3000:]}" + (
            f"\n--- stderr tail ---\n{self.stderr[-3000:]}"
        )


def run_child(
    arguments: list[str],
    timeout: float,
    env: dict[str, str] | None = None,
    interpreter: str = sys.executable,
) -> ChildResult:
    """Run ``interpreter arguments...``; a timeout is reported as a failure, not raised."""
    try:
        completed = subprocess.run(
            [interpreter, *arguments],
            capture_output=True,
            text=True,
            env=child_env(env),
            timeout=timeout,
            check=False,
            cwd=REPO,
        )
    except subprocess.TimeoutExpired as exc:
        stdout = _text(exc.stdout)
        stderr = _text(exc.stderr)
        pytest.fail(f"child timed out after {timeout} s\n{stdout[-2000:]}\n{stderr[-2000:]}")
    return ChildResult(completed.returncode, completed.stdout, completed.stderr)


def _text(output: bytes | str | None) -> str:
    if output is None:
        return ""
    return output.decode(errors="replace") if isinstance(output, bytes) else output


def require_importable_in_child(module_name: str, interpreter: str = sys.executable) -> None:
    """Skip when the C module is not built (fail instead under COPYKIT_REQUIRE_C=1)."""
    result = run_child(["-c", f"import {module_name}"], timeout=60, interpreter=interpreter)
    if result.returncode == 0:
        return
    reason = f"{module_name} does not import: {result.stderr.strip().splitlines()[-1:]}"
    if module_name == IMPLEMENTATION_MODULES["c"] and not c_required():
        pytest.skip(reason)
    pytest.fail(reason)


def import_or_fail(module_name: str) -> ModuleType:
    """Import an implementation; for tests that must fail (not skip) when C is missing."""
    import importlib

    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        pytest.fail(f"{module_name} is required here but does not import: {exc}")


@dataclass
class Captured:
    """A result or any exception (BaseException included) from one call."""

    result: Any = None
    error: BaseException | None = None

    def signature(self) -> tuple[str, str] | None:
        if self.error is None:
            return None
        return (type(self.error).__qualname__, str(self.error))


def capture(operation: Callable[[], Any]) -> Captured:
    """Run ``operation``; hooks may raise KeyboardInterrupt or SystemExit on purpose."""
    try:
        return Captured(result=operation())
    except BaseException as exc:  # noqa: BLE001 - hostile hooks raise anything
        return Captured(error=exc)


MINOR_VERSIONS = ("3.10", "3.11", "3.12", "3.13")


def pyenv_interpreters() -> dict[str, Path]:
    """The newest pyenv CPython X.Y.Z for each of 3.10-3.13 that is installed, and the
    running interpreter when it is 3.14+ (which pyenv cannot build here: the sid chroot's)."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found: dict[str, Path] = {}
    for minor in MINOR_VERSIONS:
        candidates = [
            entry
            for entry in root.glob(f"{minor}.*")
            if entry.name.removeprefix(f"{minor}.").isdigit() and (entry / "bin/python").exists()
        ]
        if candidates:
            newest = max(candidates, key=lambda entry: int(entry.name.rsplit(".", 1)[1]))
            found[minor] = newest / "bin" / "python"
    if sys.version_info >= (3, 14):
        found[f"{sys.version_info.major}.{sys.version_info.minor}"] = Path(sys.executable)
    return found
