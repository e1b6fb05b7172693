"""The README's keep= example runs, and the error it shows is the real one, on both twins."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
FAILING_CALL = "copykit.deepcopy(DEFAULTS)"


def keep_example() -> list[str]:
    """The lines of the first python block in the README's keep= section."""
    section = README.read_text().split("## Sharing what must not be copied: `keep=`", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None, "the keep= section has no python example"
    return match.group(1).splitlines()


def shown_error(lines: list[str], call_index: int) -> list[str]:
    """The comment lines right after the failing call: the error as the README shows it."""
    shown = []
    for line in lines[call_index + 1 :]:
        if not line.startswith("# "):
            break
        shown.append(line[2:])
    return shown


def test_readme_keep_example_runs_and_shows_the_real_error(
    impl: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    import copykit

    monkeypatch.setattr(copykit, "deepcopy", impl.deepcopy)
    lines = keep_example()
    call_index = lines.index(FAILING_CALL)
    namespace: dict[str, object] = {"__name__": "readme_example"}
    exec("\n".join(lines[:call_index]), namespace)  # noqa: S102 - the README's own code
    with pytest.raises(TypeError) as caught:
        exec(FAILING_CALL, namespace)  # noqa: S102
    actual = [f"TypeError: {caught.value}"]
    if sys.version_info >= (3, 11):
        actual += getattr(caught.value, "__notes__", [])
    expected = shown_error(lines, call_index)
    assert actual == expected[: len(actual)]
    exec("\n".join(lines[call_index + 1 :]), namespace)  # noqa: S102 - asserts inside
    assert namespace["request_config"] is not namespace["DEFAULTS"]
