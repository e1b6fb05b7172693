"""CPython's own test_copy.py, run against copykit by every installed 3.10-3.13 and by 3.14+.

Each case runs scripts/run_cpython_test_copy.py in a subprocess with one interpreter and one
implementation. 3.10-3.13 come from pyenv; a newer running interpreter (3.14 and 3.15 come
from Debian sid, in the chroot of scripts/sid_pythons.sh) is a case of its own. An
interpreter that pyenv does not have is skipped; a C module that was not built for that
interpreter is skipped too, unless COPYKIT_REQUIRE_C=1 makes it a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "run_cpython_test_copy.py"
SOURCE = REPO / "src"
PYENV_MINOR_VERSIONS = ("3.10", "3.11", "3.12", "3.13")
RUNNING_MINOR = f"{sys.version_info.major}.{sys.version_info.minor}"
MINOR_VERSIONS: tuple[str, ...] = PYENV_MINOR_VERSIONS
if sys.version_info >= (3, 14):  # newer than pyenv's: the running interpreter's own case
    MINOR_VERSIONS += (RUNNING_MINOR,)
IMPLEMENTATION_MODULES = {"python": "copykit._pycopy", "c": "copykit._ccopy"}
SUITE_TIMEOUT_SECONDS = 300


def pyenv_root() -> Path:
    """$(pyenv root) when pyenv is on PATH, else $PYENV_ROOT, else ~/.pyenv."""
    pyenv = shutil.which("pyenv")
    if pyenv is not None:
        completed = subprocess.run([pyenv, "root"], capture_output=True, text=True, check=False)
        if completed.returncode == 0 and completed.stdout.strip():
            return Path(completed.stdout.strip())
    return Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))


def patch_level(version_dir: Path) -> int:
    return int(version_dir.name.rsplit(".", 1)[1])


def find_interpreter(minor: str) -> Path | None:
    """The newest pyenv-installed CPython X.Y.Z for ``minor`` (no dev/free-threaded builds).

    A minor version newer than pyenv's is the running interpreter's, which is itself.
    """
    if minor not in PYENV_MINOR_VERSIONS:
        return Path(sys.executable) if minor == RUNNING_MINOR else None
    pattern = re.compile(rf"{re.escape(minor)}\.\d+")
    candidates = [
        entry
        for entry in (pyenv_root() / "versions").glob(f"{minor}.*")
        if pattern.fullmatch(entry.name) and (entry / "bin" / "python").exists()
    ]
    if not candidates:
        return None
    return max(candidates, key=patch_level) / "bin" / "python"


def subprocess_env(impl: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SOURCE), env.get("PYTHONPATH")]))
    env.pop("PYTHONHOME", None)
    if impl == "python":
        env["COPYKIT_PUREPYTHON"] = "1"
    else:
        env.pop("COPYKIT_PUREPYTHON", None)
    return env


def require_importable(interpreter: Path, impl: str) -> None:
    """Skip (or fail under COPYKIT_REQUIRE_C=1) when the C module is not built for it."""
    module = IMPLEMENTATION_MODULES[impl]
    completed = subprocess.run(
        [str(interpreter), "-c", f"import {module}"],
        capture_output=True,
        text=True,
        env=subprocess_env(impl),
        check=False,
    )
    if completed.returncode == 0:
        return
    last_line = (completed.stderr.strip().splitlines() or [""])[-1]
    reason = f"{module} does not import in {interpreter}: {last_line}"
    if impl == "c" and os.environ.get("COPYKIT_REQUIRE_C") != "1":
        pytest.skip(reason)
    pytest.fail(reason)


@pytest.mark.parametrize("impl", sorted(IMPLEMENTATION_MODULES))
@pytest.mark.parametrize("minor", MINOR_VERSIONS)
def test_cpython_test_copy_passes(minor: str, impl: str) -> None:
    interpreter = find_interpreter(minor)
    if interpreter is None:
        pytest.skip(f"no CPython {minor} under {pyenv_root() / 'versions'}")
    require_importable(interpreter, impl)
    completed = subprocess.run(
        [str(interpreter), str(SCRIPT), "--impl", impl],
        capture_output=True,
        text=True,
        env=subprocess_env(impl),
        timeout=SUITE_TIMEOUT_SECONDS,
        check=False,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    assert re.search(r"test_copy, impl=\w+: [1-9]\d* passed, 0 failed", output), output


def test_runner_fails_when_a_test_fails(tmp_path: Path) -> None:
    """The runner really reports failures: a broken deepcopy makes it exit non-zero."""
    broken = tmp_path / "brokencopy.py"
    broken.write_text(
        "import copy\n"
        "Error = copy.Error\n"
        "copy_ = copy.copy\n"
        "def deepcopy(x, memo=None):\n"
        "    return x\n"
        "def replace(obj, /, **changes):\n"
        "    return copy.replace(obj, **changes)\n",
        encoding="utf-8",
    )
    completed = subprocess.run(
        [sys.executable, "-c", RUN_WITH_BROKEN_IMPL, str(SCRIPT), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=SUITE_TIMEOUT_SECONDS,
        check=False,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, output
    assert re.search(r"impl=python: \d+ passed, [1-9]\d* failed", output), output


# Loads the runner as a module and points its "python" implementation at brokencopy.
RUN_WITH_BROKEN_IMPL = """
import importlib.util, sys
script, directory = sys.argv[1], sys.argv[2]
sys.path.insert(0, directory)
import brokencopy
brokencopy.copy = brokencopy.copy_
spec = importlib.util.spec_from_file_location("runner", script)
runner = importlib.util.module_from_spec(spec)
spec.loader.exec_module(runner)
runner.IMPLEMENTATION_MODULES["python"] = "brokencopy"
sys.exit(runner.main(["--impl", "python"]))
"""
