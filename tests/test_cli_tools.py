"""The command line: ``python -m copykit diagram`` and ``python -m copykit shared``."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

import copykit
from copykit.__main__ import main
from test_diagram import require_graphviz

SNIPPET = "a = [1, [2, 3], 4]; b = copy.copy(a); c = copy.deepcopy(a)"


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


# ---------------------------------------------------------------- diagram


def test_diagram_prints_text_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(capsys, "diagram", SNIPPET)
    assert (status, out.splitlines()[:3]) == (0, ["a -> #1", "b -> #2", "c -> #3"])


def test_diagram_marks_the_shared_list(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run_cli(capsys, "diagram", SNIPPET)
    assert "#4 list (2 items)  <== SHARED: referred to from #1[1], #2[1]" in out.splitlines()


def test_diagram_draws_only_the_names_given(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run_cli(capsys, "diagram", SNIPPET, "c")
    assert out.splitlines()[0] == "c -> #1" and "b ->" not in out


def test_diagram_skips_modules_functions_classes_and_private_names(
    capsys: pytest.CaptureFixture[str],
) -> None:
    snippet = "import os\ndef f(): pass\nclass K: pass\n_hidden = [1]\nx = [f, K]"
    _, out, _ = run_cli(capsys, "diagram", snippet)
    assert out.splitlines()[:2] == ["x -> #1", ""]


def test_diagram_dot_flag_prints_graphviz_source(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run_cli(capsys, "diagram", SNIPPET, "--dot")
    assert out.startswith("digraph memory {")


def test_diagram_limits_are_options(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run_cli(capsys, "diagram", "x = list(range(30))", "--max-items", "3")
    assert out.splitlines()[-1] == "    … 27 more items"


def test_diagram_output_svg(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    require_graphviz()
    target = tmp_path / "layout.svg"
    status, _, err = run_cli(capsys, "diagram", SNIPPET, "-o", str(target))
    root = ElementTree.parse(target).getroot()
    assert (status, err, root.tag) == (0, f"wrote {target}\n", "{http://www.w3.org/2000/svg}svg")


def test_diagram_output_dot_suffix_writes_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "layout.gv"
    run_cli(capsys, "diagram", SNIPPET, "-o", str(target))
    assert target.read_text(encoding="utf-8").startswith("digraph memory {")


def test_diagram_without_graphviz_explains_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    status, _, err = run_cli(capsys, "diagram", SNIPPET, "-o", str(tmp_path / "x.svg"))
    assert status == 2 and "apt-get install graphviz" in err


def test_diagram_unknown_suffix_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run_cli(capsys, "diagram", SNIPPET, "-o", str(tmp_path / "x.bmpx"))
    assert status == 2 and "cannot save a diagram as 'bmpx'" in err


def test_diagram_snippet_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_cli(capsys, "diagram", "a = undefined_name")
    assert (status, out) == (2, "") and "NameError" in err


def test_diagram_without_variables_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run_cli(capsys, "diagram", "import os")
    assert status == 2 and "defines no variables" in err


def test_diagram_reads_snippet_from_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("z = [0]\n"))
    _, out, _ = run_cli(capsys, "diagram", "-")
    assert out.splitlines()[0] == "z -> #1"


def test_diagram_help_shows_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["diagram", "--help"])
    out = capsys.readouterr().out
    assert exited.value.code == 0 and "-o layout.svg" in out


# ---------------------------------------------------------------- shared


def test_shared_compares_every_pair(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run_cli(capsys, "shared", SNIPPET)
    assert out.splitlines() == [
        "a and b share 1 mutable object:",
        "  a[1] is b[1]  # list [2, 3]",
        "a and c are independent: no mutable object is shared.",
        "b and c are independent: no mutable object is shared.",
    ]


def test_shared_exits_1_when_something_is_shared(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, _ = run_cli(capsys, "shared", SNIPPET, "a", "b")
    assert status == 1


def test_shared_exits_0_when_independent(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, _ = run_cli(capsys, "shared", SNIPPET, "a", "c")
    assert status == 0


def test_shared_accepts_expressions(capsys: pytest.CaptureFixture[str]) -> None:
    snippet = "cfg = {'db': {'auth': {}}}; user = dict(cfg)"
    _, out, _ = run_cli(capsys, "shared", snippet, "user['db']", "cfg")
    assert out.splitlines()[1] == "  user['db'] is cfg['db']  # dict {'auth': {}}"


def test_shared_limit_caps_the_paths(capsys: pytest.CaptureFixture[str]) -> None:
    snippet = "rows = [[i] for i in range(9)]; copied = list(rows)"
    _, out, _ = run_cli(capsys, "shared", snippet, "--limit", "2")
    assert out.splitlines()[-1] == "  ... and 7 more"


def test_shared_needs_two_objects(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run_cli(capsys, "shared", "only = [1]")
    assert status == 2 and "need two objects" in err


def test_shared_snippet_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run_cli(capsys, "shared", "1 / 0")
    assert status == 2 and "ZeroDivisionError" in err


def test_shared_help_explains_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["shared", "--help"])
    assert "0 when nothing\nis shared, 1 when something is, 2 on error" in capsys.readouterr().out


# ---------------------------------------------------------------- python -m copykit


def test_python_dash_m_runs_shared_end_to_end() -> None:
    package_root = str(Path(copykit.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": package_root}
    result = subprocess.run(
        [sys.executable, "-m", "copykit", "shared", SNIPPET, "a", "b"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert (result.returncode, result.stdout.splitlines()[1]) == (
        1,
        "  a[1] is b[1]  # list [2, 3]",
    )
