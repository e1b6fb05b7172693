"""diagram(): memory-layout diagrams as text, Graphviz source and rendered SVG."""

from __future__ import annotations

import builtins
import copy
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ElementTree
from collections import deque
from pathlib import Path
from typing import Any

import pytest

from copykit._diagram import Diagram, GraphvizError, diagram


def require_graphviz() -> str:
    """Return the path of ``dot``; skip without it, or fail when COPYKIT_REQUIRE_GRAPHVIZ=1."""
    dot = shutil.which("dot")
    if dot is None:
        if os.environ.get("COPYKIT_REQUIRE_GRAPHVIZ") == "1":
            pytest.fail("COPYKIT_REQUIRE_GRAPHVIZ=1 but Graphviz's `dot` is not on PATH")
        pytest.skip("Graphviz's `dot` is not installed (apt-get install graphviz)")
    return dot


def shallow_and_deep() -> Diagram:
    a = [1, [2, 3], 4]
    return diagram(a=a, b=copy.copy(a), c=copy.deepcopy(a))


def dot_labels(source: str) -> list[str]:
    return re.findall(r"label=<(.*?)>\];", source)


class Slotted:
    __slots__ = ("x", "y")

    def __init__(self) -> None:
        self.x = [1]
        self.y = "hi"


def without_dot(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)


# ---------------------------------------------------------------- text


def test_text_lists_names_then_boxes() -> None:
    assert shallow_and_deep().to_text().splitlines()[:4] == ["a -> #1", "b -> #2", "c -> #3", ""]


def test_text_marks_the_list_a_shallow_copy_shares() -> None:
    assert "#4 list (2 items)  <== SHARED: referred to from #1[1], #2[1]" in (
        shallow_and_deep().to_text().splitlines()
    )


def test_deep_copied_list_is_not_marked() -> None:
    assert "#5 list (2 items)" in shallow_and_deep().to_text().splitlines()


def test_shared_boxes_lists_only_the_shared_list() -> None:
    assert [box.number for box in shallow_and_deep().shared_boxes] == [4]


def test_atoms_sit_inline_in_their_slot() -> None:
    text = diagram(row=[1, "two", None, 3.5]).to_text()
    assert "    [1] = 'two'\n    [2] = None\n    [3] = 3.5" in text


def test_atom_root_is_inline() -> None:
    assert diagram(n=42).to_text() == "n = 42"


def test_single_positional_object_is_called_obj() -> None:
    assert diagram([1]).to_text().splitlines()[0] == "obj -> #1"


def test_positional_objects_are_numbered() -> None:
    assert list(diagram([1], [2]).roots) == ["obj0", "obj1"]


def test_positional_name_clash_raises_type_error() -> None:
    with pytest.raises(TypeError, match="got the name 'obj' for two objects"):
        diagram([1], obj=[2])


def test_same_object_under_two_names_is_shared() -> None:
    config: dict[str, int] = {}
    assert diagram(a=config, b=config).boxes[0].referrers == ["a", "b"]


def test_self_referencing_list_points_at_itself() -> None:
    loop: list[Any] = [1]
    loop.append(loop)
    assert diagram(loop=loop).to_text().splitlines()[2:] == [
        "#1 list (2 items)  <== SHARED: referred to from loop, #1[1]",
        "    [0] = 1",
        "    [1] -> #1",
    ]


def test_dict_slots_are_labelled_with_key_reprs() -> None:
    assert "    ['host'] = 'localhost'" in diagram(cfg={"host": "localhost"}).to_text()


def test_mutable_dict_key_gets_its_own_arrow() -> None:
    key = Slotted()
    lines = diagram(index={key: 1}).to_text().splitlines()
    assert lines[3].split() == ["key", "->", "#2"]


def test_slots_are_labelled_as_attributes() -> None:
    assert diagram(obj=Slotted()).to_text().splitlines()[2:5] == [
        "#1 Slotted",
        "    .x -> #2",
        "    .y = 'hi'",
    ]


def test_set_members_are_bullets() -> None:
    assert diagram(tags={"red"}).to_text().splitlines()[2:] == ["#1 set (1 item)", "    • 'red'"]


def test_deque_items_are_indexed() -> None:
    assert "    [1] -> #2" in diagram(queue=deque([0, [1]])).to_text()


def test_tuple_of_lists_copied_shallowly_shares_its_lists() -> None:
    original = ([1], [2])
    drawing = diagram(t=original, u=copy.copy(original))
    assert [box.type_name for box in drawing.shared_boxes] == ["list", "list"]


def test_shared_tuple_itself_is_noted_as_immutable() -> None:
    original = ([1],)
    heading = diagram(t=original, u=copy.copy(original)).to_text().splitlines()[3]
    assert heading == "#1 tuple (1 item)  <== shared (immutable itself): referred to from t, u"


def test_list_inside_shared_tuple_names_the_tuple() -> None:
    original = ([1],)
    heading = diagram(t=original, u=original).to_text().splitlines()[6]
    assert heading == "#2 list (1 item)  <== SHARED: held by tuple #1, which is shared"


def test_empty_list_says_empty() -> None:
    assert diagram(x=[]).to_text() == "x -> #1\n\n#1 list (empty)"


# ---------------------------------------------------------------- cuts


def test_long_container_ends_with_more_items_marker() -> None:
    lines = Diagram.of({"big": list(range(40))}, max_items=5).to_text().splitlines()
    assert lines[-2:] == ["    [4] = 4", "    … 35 more items"]


def test_deep_structure_is_cut_with_depth_marker() -> None:
    nested: list[Any] = [[[["bottom"]]]]
    lines = Diagram.of({"deep": nested}, max_depth=2).to_text().splitlines()
    assert lines[-2:] == ["#3 list (1 item)", "    … not expanded: depth limit 2"]


def test_object_limit_marks_the_slots_it_cuts() -> None:
    lines = Diagram.of({"rows": [[1], [2], [3]]}, max_objects=2).to_text().splitlines()
    assert lines[4] == "    [1] = … not drawn (object limit)"


def test_object_limit_counts_what_was_not_drawn() -> None:
    text = Diagram.of({"rows": [[1], [2], [3]]}, max_objects=2).to_text()
    assert text.endswith("… 2 more objects not drawn (limit of 2 objects)")


def test_long_string_is_shortened_inline() -> None:
    slot = diagram(row=["x" * 500]).boxes[0].slots[0]
    assert slot.inline is not None and "…" in slot.inline and len(slot.inline) < 50


def test_huge_structure_draws_quickly_within_limits() -> None:
    drawing = diagram(rows=[[index] for index in range(100_000)])
    assert drawing.boxes[0].hidden_items == 100_000 - 12


# ---------------------------------------------------------------- DOT


def test_dot_is_a_digraph() -> None:
    source = shallow_and_deep().to_dot()
    assert source.startswith("digraph memory {\n") and source.endswith("}\n")


def test_dot_labels_are_well_formed_xml() -> None:
    labels = dot_labels(shallow_and_deep().to_dot())
    assert [ElementTree.fromstring(label).tag for label in labels] == ["table"] * 6


def test_dot_escapes_markup_in_keys_and_values() -> None:
    labels = dot_labels(diagram(tricky={"<b>&": "</table>"}).to_dot())
    assert (
        ElementTree.fromstring(labels[1]).itertext() is not None and "&lt;/table&gt;" in labels[1]
    )


def test_dot_edges_lead_from_declared_ports_to_declared_boxes() -> None:
    source = shallow_and_deep().to_dot()
    nodes = set(re.findall(r"^  (\w+) \[", source, re.MULTILINE))
    ports = set(re.findall(r'port="(\w+)"', source))
    edges = re.findall(r"^  (\w+):(\w+):e -> (\w+):h:w", source, re.MULTILINE)
    assert len(edges) == 6 and all(
        tail in nodes and port in ports and head in nodes for tail, port, head in edges
    )


def test_dot_highlights_shared_box_and_its_arrows() -> None:
    source = shallow_and_deep().to_dot()
    assert (
        source.count('[color="#c05621", penwidth=1.8]') == 2 and "SHARED · 2 references" in source
    )


def test_dot_draws_depth_cut_as_dashed_stub() -> None:
    source = Diagram.of({"deep": [[[1]]]}, max_depth=1).to_dot()
    stub = r'b2 \[shape=box, style="dashed,rounded", [^]]*label=<list \(1 item\)<br/>… not exp'
    assert re.search(stub, source)


def test_dot_shows_more_items_marker() -> None:
    assert "<i>… 35 more items</i>" in Diagram.of({"big": list(range(40))}, max_items=5).to_dot()


def test_dot_notes_undrawn_objects() -> None:
    source = Diagram.of({"rows": [[1], [2], [3]]}, max_objects=2).to_dot()
    assert "… 2 more objects not drawn (limit of 2 objects)" in source


def test_graphviz_accepts_the_dot_source() -> None:
    dot = require_graphviz()
    result = subprocess.run(
        [dot, "-Tcanon"], input=shallow_and_deep().to_dot(), capture_output=True, text=True
    )
    assert (result.returncode, result.stderr) == (0, "")


# ---------------------------------------------------------------- saving and Jupyter


def test_save_svg_writes_an_svg(tmp_path: Path) -> None:
    require_graphviz()
    target = shallow_and_deep().save(tmp_path / "layout.svg")
    assert ElementTree.parse(target).getroot().tag == "{http://www.w3.org/2000/svg}svg"


def test_save_png_writes_a_png(tmp_path: Path) -> None:
    require_graphviz()
    target = shallow_and_deep().save(tmp_path / "layout.png")
    assert target.read_bytes().startswith(b"\x89PNG")


def test_save_dot_needs_no_graphviz(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    without_dot(monkeypatch)
    target = shallow_and_deep().save(tmp_path / "layout.dot")
    assert target.read_text(encoding="utf-8") == shallow_and_deep().to_dot()


def test_save_txt_writes_the_text(tmp_path: Path) -> None:
    target = shallow_and_deep().save(tmp_path / "layout.txt")
    assert target.read_text(encoding="utf-8") == shallow_and_deep().to_text() + "\n"


def test_save_unknown_suffix_raises_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot save a diagram as 'bmpx'"):
        shallow_and_deep().save(tmp_path / "layout.bmpx")


def test_missing_graphviz_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    without_dot(monkeypatch)
    with pytest.raises(GraphvizError, match="apt-get install graphviz.*brew install graphviz"):
        shallow_and_deep().save(tmp_path / "layout.svg")


def test_failing_graphviz_reports_its_error() -> None:
    require_graphviz()
    with pytest.raises(GraphvizError, match="`dot -Tnot-a-format` failed"):
        shallow_and_deep().render("not-a-format")


def test_repr_svg_is_svg_for_jupyter() -> None:
    require_graphviz()
    svg = shallow_and_deep()._repr_svg_()
    assert svg is not None and "<svg" in svg


def test_repr_svg_is_none_without_graphviz(monkeypatch: pytest.MonkeyPatch) -> None:
    without_dot(monkeypatch)
    assert shallow_and_deep()._repr_svg_() is None


def test_ipython_plain_text_display_is_the_text_diagram() -> None:
    drawing = shallow_and_deep()
    printed: list[str] = []
    printer = type("Printer", (), {"text": lambda self, text: printed.append(text)})()
    drawing._repr_pretty_(printer, cycle=False)
    assert printed == [drawing.to_text()]


def test_repr_summarises() -> None:
    assert repr(shallow_and_deep()) == "<Diagram of a, b, c: 5 objects, 1 shared>"


def test_str_is_the_text() -> None:
    drawing = shallow_and_deep()
    assert str(drawing) == drawing.to_text()


# ---------------------------------------------------------------- frozendict (CPython 3.15+)

FROZENDICT: Any = getattr(builtins, "frozendict", None)
needs_frozendict = pytest.mark.skipif(
    not hasattr(builtins, "frozendict"), reason="builtins.frozendict is new in CPython 3.15"
)


@needs_frozendict
def test_frozendict_is_drawn_like_a_dict_under_its_own_name() -> None:
    assert diagram(limits=FROZENDICT(hosts=["a"], port=80)).to_text().splitlines()[2:] == [
        "#1 frozendict (2 items)",
        "    ['hosts'] -> #2",
        "    ['port']  = 80",
        "",
        "#2 list (1 item)",
        "    [0] = 'a'",
    ]


@needs_frozendict
def test_frozendict_box_is_immutable() -> None:
    assert diagram(limits=FROZENDICT(port=80)).boxes[0].mutable is False


@needs_frozendict
def test_frozendict_box_is_filled_like_a_tuple_in_dot() -> None:
    def heading(value: object) -> str:
        return dot_labels(diagram(value=value).to_dot())[1].split("<b>")[0]

    assert heading(FROZENDICT(port=80)) == heading((80,))


@needs_frozendict
def test_frozendict_slots_are_labelled_with_key_reprs_in_dot() -> None:
    source = diagram(limits=FROZENDICT(port=80)).to_dot()
    assert "<b>frozendict (1 item)</b>" in source and "&#x27;port&#x27;</font>" in source


@needs_frozendict
def test_shared_frozendict_itself_is_noted_as_immutable() -> None:
    frozen = FROZENDICT(hosts=["a"])
    heading = diagram(a=frozen, b=frozen).to_text().splitlines()[3]
    assert heading == "#1 frozendict (1 item)  <== shared (immutable itself): referred to from a, b"


@needs_frozendict
def test_list_inside_shared_frozendict_names_the_frozendict() -> None:
    frozen = FROZENDICT(hosts=["a"])
    heading = diagram(a=frozen, b=frozen).to_text().splitlines()[6]
    assert heading == "#2 list (1 item)  <== SHARED: held by frozendict #1, which is shared"


@needs_frozendict
def test_list_in_two_frozendicts_is_shared_and_they_are_not() -> None:
    hosts = ["a"]
    drawing = diagram(a=FROZENDICT(hosts=hosts), b=FROZENDICT(hosts=hosts))
    assert [box.type_name for box in drawing.shared_boxes] == ["list"]


@needs_frozendict
def test_mutable_frozendict_key_gets_its_own_arrow() -> None:
    lines = diagram(index=FROZENDICT({Slotted(): 1})).to_text().splitlines()
    assert lines[3].split() == ["key", "->", "#2"]
