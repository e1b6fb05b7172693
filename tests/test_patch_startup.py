"""copykit-patch.pth: COPYKIT_PATCH=1 patches copy at start-up; otherwise copykit stays unloaded.

Each test runs a child interpreter that processes the .pth the way site.py does at start-up
(``site.addsitedir`` on a directory holding it), then reports what it sees.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SOURCE_DIR = Path(__file__).resolve().parent.parent / "src"
PTH_FILE = SOURCE_DIR / "copykit-patch.pth"

REPORT_AFTER_SITE_DIR = """
import json, site, sys
site.addsitedir(sys.argv[1])
import copy
print(json.dumps({
    "loaded": sorted(name for name in sys.modules if name.split(".")[0] == "copykit"),
    "deepcopy_file": copy.deepcopy.__code__.co_filename,
    "copy_file": copy.copy.__code__.co_filename,
}))
"""


def start_child(site_dir: Path, copykit_patch: str | None) -> dict[str, object]:
    """Run a child that adds ``site_dir``; return its report."""
    environment = {**os.environ, "PYTHONPATH": str(SOURCE_DIR)}
    environment.pop("COPYKIT_PATCH", None)
    if copykit_patch is not None:
        environment["COPYKIT_PATCH"] = copykit_patch
    completed = subprocess.run(
        [sys.executable, "-c", REPORT_AFTER_SITE_DIR, str(site_dir)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "Error processing line" not in completed.stderr, completed.stderr
    report: dict[str, object] = json.loads(completed.stdout)
    return report


@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    """A directory holding copykit-patch.pth, as site-packages does after installation."""
    shutil.copy(PTH_FILE, tmp_path / PTH_FILE.name)
    return tmp_path


def test_copykit_patch_1_patches_deepcopy(site_dir: Path) -> None:
    report = start_child(site_dir, "1")
    assert Path(str(report["deepcopy_file"])).name == "patch.py"


def test_copykit_patch_1_patches_copy(site_dir: Path) -> None:
    report = start_child(site_dir, "1")
    assert Path(str(report["copy_file"])).name == "patch.py"


def test_unset_copykit_patch_imports_nothing_of_copykit(site_dir: Path) -> None:
    assert start_child(site_dir, None)["loaded"] == []


def test_copykit_patch_0_imports_nothing_of_copykit(site_dir: Path) -> None:
    assert start_child(site_dir, "0")["loaded"] == []


def test_empty_copykit_patch_imports_nothing_of_copykit(site_dir: Path) -> None:
    assert start_child(site_dir, "")["loaded"] == []


def test_unset_copykit_patch_leaves_deepcopy_alone(site_dir: Path) -> None:
    report = start_child(site_dir, None)
    assert Path(str(report["deepcopy_file"])).name == "copy.py"


def test_pth_is_one_line_that_site_executes() -> None:
    # site.py executes a .pth line only if it starts with "import " (or "import\\t").
    lines = PTH_FILE.read_text().splitlines()
    assert len(lines) == 1 and lines[0].startswith("import ")
