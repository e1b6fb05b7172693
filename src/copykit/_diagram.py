"""Memory-layout diagrams: names -> containers and their slots -> the objects they hold.

``diagram(a=a, b=b)`` draws what the names refer to, the way teachers draw it on the
board and Python Tutor draws it in the browser: small atoms (numbers, short strings,
``None``) sit inline in their slot, every container is a box, and an arrow leads from a
slot to the box it refers to. A mutable object referred to from more than one place is
*shared*: its box is highlighted and labelled, and so are the arrows into it.

Large structures are cut, never silently: past ``max_items`` a box ends with a
``… 37 more items`` row; past ``max_depth`` a box is drawn as a dashed stub saying it was
not expanded; past ``max_objects`` a slot says ``… not drawn (object limit)``.

``Diagram.to_text()`` needs nothing; ``to_dot()`` returns Graphviz source; ``save()`` and
``_repr_svg_()`` (Jupyter) run Graphviz's ``dot`` program.
"""

from __future__ import annotations

import argparse
import dataclasses
import html
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from copykit.sharing import (
    ATOM,
    ATTR,
    DICT_KEY,
    INDEX,
    KEY,
    MEMBER,
    MUTABLE,
    Classifier,
    children,
    read_snippet,
    render_step,
    run_snippet,
    short_repr,
    snippet_variables,
)

__all__ = ["Diagram", "GraphvizError", "add_parser", "diagram"]

INSTALL_HINT = (
    "Install Graphviz and make sure `dot` is on PATH: `apt-get install graphviz` "
    "(Debian/Ubuntu), `brew install graphviz` (macOS), `conda install -c conda-forge "
    "graphviz`, or see https://graphviz.org/download/. Diagram.to_text() and "
    "Diagram.to_dot() work without it."
)
RENDERED_FORMATS = ("svg", "png", "pdf")
SOURCE_SUFFIXES = {".dot": "dot", ".gv": "dot", ".txt": "text"}


class GraphvizError(RuntimeError):
    """Graphviz's ``dot`` program is missing or failed to render a diagram."""


# ---------------------------------------------------------------- the model


@dataclasses.dataclass
class Slot:
    """One row of a box: a label and either an inline value or an arrow to a box."""

    step_kind: str  # INDEX, KEY, ATTR, MEMBER, ... as in copykit.sharing
    key: Any
    inline: str | None = None  # the text drawn in the slot (atoms, cut markers)
    target: int | None = None  # the number of the box the arrow leads to

    @property
    def text_label(self) -> str:
        """The label as a Python-like step: ``[0]``, ``['key']``, ``.name``; ``•`` for members."""
        if self.step_kind == MEMBER:
            return "•"
        if self.step_kind == DICT_KEY:
            return "key"
        return render_step(self.step_kind, self.key)

    @property
    def box_label(self) -> str:
        """The label drawn in a box: ``0``, ``'key'``, ``name``; empty for set members."""
        if self.step_kind == INDEX:
            return str(self.key)
        if self.step_kind == KEY:
            return short_repr(self.key)
        if self.step_kind == ATTR:
            return str(self.key)
        return self.text_label if self.step_kind != MEMBER else ""


@dataclasses.dataclass
class Box:
    """One object drawn as a box."""

    number: int
    type_name: str
    mutable: bool
    size: int | None
    slots: list[Slot] = dataclasses.field(default_factory=list)
    hidden_items: int = 0  # slots left out past max_items
    cut_reason: str | None = None  # why the box was not expanded, if it was not
    referrers: list[str] = dataclasses.field(default_factory=list)
    shared_via: str | None = None  # the shared tuple (or other frozen box) it sits in: "tuple #6"

    @property
    def multiply_referred(self) -> bool:
        """True when more than one name or slot refers to this object."""
        return len(self.referrers) > 1

    @property
    def shared(self) -> bool:
        """True for a mutable object reachable along more than one path: referred to from
        more than one place, or held by a frozen container (a tuple) that is."""
        return self.mutable and (self.multiply_referred or self.shared_via is not None)

    @property
    def sharing_note(self) -> str:
        """Why the box counts as shared, for the text rendering; empty when it does not."""
        if not self.mutable and self.multiply_referred:
            return f"shared (immutable itself): referred to from {', '.join(self.referrers)}"
        if not self.shared:
            return ""
        if self.multiply_referred:
            return f"SHARED: referred to from {', '.join(self.referrers)}"
        return f"SHARED: held by {self.shared_via}, which is shared"

    @property
    def title(self) -> str:
        """The type name, with the size when the object has one: ``list (3 items)``."""
        if self.size is None:
            return self.type_name
        if self.size == 0:
            return f"{self.type_name} (empty)"
        noun = "item" if self.size == 1 else "items"
        return f"{self.type_name} ({self.size} {noun})"


@dataclasses.dataclass
class Limits:
    """Where a diagram is cut."""

    max_depth: int = 6
    max_items: int = 12
    max_objects: int = 60


# ---------------------------------------------------------------- building


def _size(obj: object) -> int | None:
    try:
        return len(obj)  # type: ignore[arg-type]
    except Exception:
        return None


class _Builder:
    """Walk breadth-first from the named roots, creating boxes within the limits."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.classifier = Classifier()
        self.boxes: list[Box] = []
        self.box_of: dict[int, Box] = {}
        self.keep_alive: list[object] = []
        self.pending: list[tuple[object, Box, int]] = []
        self.undrawn: set[int] = set()

    def build(self, named: Mapping[str, object]) -> Diagram:
        roots = {name: self.refer(obj, name, 0, Slot(ATTR, name)) for name, obj in named.items()}
        for obj, box, depth in self.pending:  # grows while we iterate: breadth-first
            self.expand(obj, box, depth)
        _mark_shared_through_frozen(self.boxes)
        return Diagram(roots, self.boxes, len(self.undrawn), self.limits)

    def refer(self, obj: object, referrer: str, depth: int, slot: Slot) -> Slot:
        """Fill ``slot`` with ``obj``: inline for atoms, else an arrow to its box."""
        if self.classifier.kind(obj) == ATOM:
            slot.inline = short_repr(obj)
            return slot
        box = self.box_of.get(id(obj))
        if box is None and len(self.boxes) >= self.limits.max_objects:
            self.undrawn.add(id(obj))
            self.keep_alive.append(obj)
            slot.inline = "… not drawn (object limit)"
            return slot
        if box is None:
            box = self.new_box(obj, depth)
        box.referrers.append(referrer)
        slot.target = box.number
        return slot

    def new_box(self, obj: object, depth: int) -> Box:
        kind = self.classifier.kind(obj)
        box = Box(len(self.boxes) + 1, type(obj).__name__, kind == MUTABLE, _size(obj))
        self.boxes.append(box)
        self.box_of[id(obj)] = box
        self.keep_alive.append(obj)
        self.pending.append((obj, box, depth))
        return box

    def expand(self, obj: object, box: Box, depth: int) -> None:
        if depth >= self.limits.max_depth:
            box.cut_reason = f"not expanded: depth limit {self.limits.max_depth}"
            return
        held = [
            (step_kind, key, child)
            for step_kind, key, child in children(obj)
            if step_kind != DICT_KEY or self.classifier.kind(child) != ATOM
        ]
        self.keep_alive.append(held)  # reduce may hand us fresh objects
        for step_kind, key, child in held[: self.limits.max_items]:
            slot = Slot(step_kind, key)
            referrer = f"#{box.number}{slot.text_label if step_kind != MEMBER else '{}'}"
            box.slots.append(self.refer(child, referrer, depth + 1, slot))
        box.hidden_items = max(0, len(held) - self.limits.max_items)


def _mark_shared_through_frozen(boxes: list[Box]) -> None:
    """Mark what a shared tuple holds as shared: reachable along two paths all the same."""
    by_number = {box.number: box for box in boxes}
    work = [box for box in boxes if not box.mutable and box.multiply_referred]
    while work:
        holder = work.pop()
        for slot in holder.slots:
            held = by_number.get(slot.target) if slot.target is not None else None
            if held is None or held.shared_via is not None or held.multiply_referred:
                continue
            held.shared_via = f"{holder.type_name} #{holder.number}"
            if not held.mutable:
                work.append(held)


# ---------------------------------------------------------------- the diagram


class Diagram:
    """The memory layout of some named objects; render with ``to_text``, ``to_dot``, ``save``."""

    def __init__(
        self, roots: dict[str, Slot], boxes: list[Box], undrawn: int, limits: Limits
    ) -> None:
        self.roots = roots
        self.boxes = boxes
        self.undrawn = undrawn
        self.limits = limits

    @classmethod
    def of(
        cls,
        named: Mapping[str, object],
        *,
        max_depth: int = 6,
        max_items: int = 12,
        max_objects: int = 60,
    ) -> Diagram:
        """Return the diagram of ``named`` (name -> object), cut at the given limits.

        Boxes up to ``max_depth`` arrows from a name are expanded, the next ones are drawn
        as stubs; ``max_items`` is the most slots drawn per box; ``max_objects`` the most
        boxes. Every cut is marked in the output. The diagram is a snapshot: changing the
        objects afterwards does not change it.
        """
        return _Builder(Limits(max_depth, max_items, max_objects)).build(named)

    @property
    def shared_boxes(self) -> list[Box]:
        """The boxes of mutable objects referred to from more than one place."""
        return [box for box in self.boxes if box.shared]

    def __repr__(self) -> str:
        names = ", ".join(self.roots) or "nothing"
        return f"<Diagram of {names}: {len(self.boxes)} objects, {len(self.shared_boxes)} shared>"

    def __str__(self) -> str:
        return self.to_text()

    # ------------------------------------------------------------ text

    def to_text(self) -> str:
        """Return the diagram as plain text: names first, then one block per box."""
        lines = [f"{name} {_text_value(slot)}" for name, slot in self.roots.items()]
        for box in self.boxes:
            lines.append("")
            lines.extend(_text_box(box))
        if self.undrawn:
            lines.append("")
            lines.append(_undrawn_note(self.undrawn, self.limits))
        return "\n".join(lines)

    # ------------------------------------------------------------ Graphviz

    def to_dot(self) -> str:
        """Return Graphviz source (DOT) drawing the diagram left to right."""
        lines = [
            "digraph memory {",
            '  graph [rankdir=LR, nodesep=0.25, ranksep=0.7, fontname="Helvetica"];',
            '  node [shape=none, margin=0, fontname="Helvetica", fontsize=11];',
            '  edge [arrowsize=0.7, arrowtail=dot, dir=both, tailclip=false, color="#4a5568"];',
            f"  names [label=<{_dot_names_table(self.roots)}>];",
        ]
        lines.extend(f"  {_dot_box(box)}" for box in self.boxes)
        lines.extend(self._dot_edges())
        if self.undrawn:
            note = html.escape(_undrawn_note(self.undrawn, self.limits))
            lines.append(f'  undrawn [label=<<i>{note}</i>>, fontcolor="#9b2c2c"];')
        lines.append("}")
        return "\n".join(lines) + "\n"

    def _dot_edges(self) -> list[str]:
        """Arrows from the east side of a slot to the heading of the box it refers to."""
        shared_numbers = {box.number for box in self.shared_boxes}
        tails = [(f"names:r{index}", slot) for index, slot in enumerate(self.roots.values())]
        for box in self.boxes:
            tails.extend((f"b{box.number}:s{index}", slot) for index, slot in enumerate(box.slots))
        heads = {box.number: f"b{box.number}:w" for box in self.boxes}
        heads.update({box.number: f"b{box.number}:h:w" for box in self.boxes if not box.cut_reason})
        edges = []
        for tail, slot in tails:
            if slot.target is not None:
                shared = slot.target in shared_numbers
                style = f' [color="{_SHARED_COLOR}", penwidth=1.8]' if shared else ""
                edges.append(f"  {tail}:e -> {heads[slot.target]}{style};")
        return edges

    def render(self, fmt: str = "svg") -> bytes:
        """Return the diagram rendered by Graphviz's ``dot`` as ``fmt`` (svg, png, pdf).

        Raises ``GraphvizError`` when ``dot`` is not installed or fails.
        """
        dot = shutil.which("dot")
        if dot is None:
            raise GraphvizError(f"Graphviz's `dot` program was not found. {INSTALL_HINT}")
        result = subprocess.run(
            [dot, f"-T{fmt}"], input=self.to_dot().encode(), capture_output=True, check=False
        )
        if result.returncode != 0:
            message = result.stderr.decode(errors="replace").strip()
            raise GraphvizError(f"`dot -T{fmt}` failed: {message}")
        return result.stdout

    def save(self, path: str | Path, fmt: str | None = None) -> Path:
        """Write the diagram to ``path`` and return the path.

        The format comes from ``fmt`` or the suffix: ``.svg``, ``.png`` and ``.pdf`` are
        rendered by Graphviz (``GraphvizError`` says how to install it when missing);
        ``.dot``/``.gv`` write the DOT source and ``.txt`` the text. Raises ``ValueError``
        for any other format.
        """
        path = Path(path)
        fmt = fmt or SOURCE_SUFFIXES.get(path.suffix.lower()) or path.suffix.lower()[1:]
        if fmt == "dot":
            path.write_text(self.to_dot(), encoding="utf-8")
        elif fmt == "text":
            path.write_text(self.to_text() + "\n", encoding="utf-8")
        elif fmt in RENDERED_FORMATS:
            path.write_bytes(self.render(fmt))
        else:
            known = ", ".join([*RENDERED_FORMATS, "dot", "gv", "txt"])
            raise ValueError(f"cannot save a diagram as {fmt!r}: use one of {known}")
        return path

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """IPython's plain-text display (used when SVG is not): the text diagram."""
        printer.text(self.to_text())

    def _repr_svg_(self) -> str | None:
        """SVG for Jupyter; ``None`` (so Jupyter shows the text) when ``dot`` is missing."""
        try:
            return self.render("svg").decode()
        except GraphvizError:
            return None


def diagram(*objects: object, **named: object) -> Diagram:
    """Return a ``Diagram`` of the memory layout of ``objects`` and ``named`` objects.

    Keyword arguments give the names drawn (``diagram(a=a, b=b)``); positional objects
    are called ``obj`` (just one) or ``obj0``, ``obj1``, ... (``TypeError`` if a keyword
    argument takes one of those names). To change where large structures are cut, use
    ``Diagram.of(names, max_depth=..., max_items=..., max_objects=...)``.
    """
    roots: dict[str, object] = {}
    if len(objects) == 1:
        roots["obj"] = objects[0]
    else:
        roots.update((f"obj{index}", obj) for index, obj in enumerate(objects))
    clashes = sorted(roots.keys() & named.keys())
    if clashes:
        raise TypeError(f"diagram() got the name {clashes[0]!r} for two objects")
    roots.update(named)
    return Diagram.of(roots)


# ---------------------------------------------------------------- text rendering


def _text_value(slot: Slot) -> str:
    if slot.target is not None:
        return f"-> #{slot.target}"
    return f"= {slot.inline}"


def _text_box(box: Box) -> list[str]:
    heading = f"#{box.number} {box.title}"
    if box.sharing_note:
        heading += f"  <== {box.sharing_note}"
    lines = [heading]
    if box.cut_reason:
        lines.append(f"    … {box.cut_reason}")
    width = max((len(slot.text_label) for slot in box.slots), default=0)
    for slot in box.slots:
        value = _text_value(slot)
        if slot.step_kind == MEMBER and slot.inline is not None:
            value = slot.inline  # a set member has no label to assign to
        lines.append(f"    {slot.text_label.ljust(width)} {value}")
    if box.hidden_items:
        lines.append(f"    {_more_items(box.hidden_items)}")
    return lines


def _more_items(count: int) -> str:
    return f"… {count} more item" if count == 1 else f"… {count} more items"


def _undrawn_note(count: int, limits: Limits) -> str:
    noun = "object" if count == 1 else "objects"
    return f"… {count} more {noun} not drawn (limit of {limits.max_objects} objects)"


# ---------------------------------------------------------------- DOT rendering

_TABLE = '<table border="0" cellborder="1" cellspacing="0" cellpadding="4"{extra}>'
_MUTABLE_FILL = "#dbe8f5"
_FROZEN_FILL = "#e9e9e9"
_SHARED_FILL = "#ffc266"
_SHARED_COLOR = "#c05621"


def _dot_names_table(roots: dict[str, Slot]) -> str:
    rows = ['<tr><td colspan="2" bgcolor="#f2f2f2"><b>names</b></td></tr>']
    for index, (name, slot) in enumerate(roots.items()):
        value = "" if slot.target is not None else html.escape(slot.inline or "")
        rows.append(
            f'<tr><td align="right">{html.escape(name)}</td>'
            f'<td port="r{index}" width="28" align="left">{value}</td></tr>'
        )
    return _TABLE.format(extra="") + "".join(rows) + "</table>"


def _dot_box(box: Box) -> str:
    if box.cut_reason:
        text = html.escape(f"{box.title}\n… {box.cut_reason}").replace("\n", "<br/>")
        style = 'shape=box, style="dashed,rounded", margin="0.11,0.055"'
        return f"b{box.number} [{style}, label=<{text}>];"
    return f"b{box.number} [label=<{_dot_box_table(box)}>];"


def _dot_box_table(box: Box) -> str:
    fill = _SHARED_FILL if box.shared else _MUTABLE_FILL if box.mutable else _FROZEN_FILL
    extra = f' color="{_SHARED_COLOR}"' if box.shared else ""
    heading = _dot_heading(box)
    rows = [f'<tr><td port="h" colspan="2" bgcolor="{fill}">{heading}</td></tr>']
    rows.extend(_dot_slot_row(index, slot) for index, slot in enumerate(box.slots))
    if box.hidden_items:
        more = _more_items(box.hidden_items)
        rows.append(f'<tr><td colspan="2"><i>{html.escape(more)}</i></td></tr>')
    return _TABLE.format(extra=extra) + "".join(rows) + "</table>"


def _dot_heading(box: Box) -> str:
    title = f"<b>{html.escape(box.title)}</b>"
    if box.shared and box.multiply_referred:
        return f"{title}<br/>SHARED · {len(box.referrers)} references"
    if box.shared:
        holder_type = (box.shared_via or "").partition(" #")[0]
        return f"{title}<br/>SHARED · inside a shared {html.escape(holder_type)}"
    if box.multiply_referred:
        return f"{title}<br/>shared, but immutable"
    return title


def _dot_slot_row(index: int, slot: Slot) -> str:
    value = "" if slot.target is not None else html.escape(slot.inline or "")
    span = ' colspan="2"' if slot.step_kind == MEMBER else ""
    cell = f'<td port="s{index}"{span} width="28" align="left">{value}</td>'
    if slot.step_kind == MEMBER:
        return f"<tr>{cell}</tr>"
    label = html.escape(slot.box_label)
    return f'<tr><td align="right"><font color="#555555">{label}</font></td>{cell}</tr>'


# ---------------------------------------------------------------- command line

DIAGRAM_DESCRIPTION = """\
Run a Python snippet (with `copy` imported) and draw the memory layout of the
variables it defines: names -> boxes for containers -> arrows to what they hold.
Objects referred to from more than one place are marked SHARED.

Without -o the diagram is printed as text. With -o the format comes from the suffix:
.svg .png .pdf (rendered by Graphviz's `dot`), .dot/.gv (Graphviz source), .txt.

examples:
  python -m copykit diagram "a = [1, [2, 3], 4]; b = copy.copy(a); c = copy.deepcopy(a)"
  python -m copykit diagram "a = [1, [2, 3], 4]; b = copy.copy(a)" -o layout.svg
  python -m copykit diagram "d = {'db': {'user': 'x'}}; e = d.copy(); f = 42" d e
"""


def _diagram_command(args: argparse.Namespace, argv: list[str]) -> int:
    """Run the subcommand; ``argv`` (the raw arguments) is unused."""
    try:
        namespace = run_snippet(read_snippet(args.snippet))
        roots = (
            {name: eval(name, namespace) for name in args.names}
            if args.names
            else snippet_variables(namespace)
        )
    except Exception as exc:
        print(f"error: the snippet raised {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    if not roots:
        print("error: the snippet defines no variables to draw", file=sys.stderr)
        return 2
    drawing = Diagram.of(
        roots, max_depth=args.max_depth, max_items=args.max_items, max_objects=args.max_objects
    )
    if args.output is None:
        print(drawing.to_dot() if args.dot else drawing.to_text())
        return 0
    try:
        drawing.save(args.output)
    except (GraphvizError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


def add_parser(subparsers: Any) -> None:
    """Register the ``diagram`` subcommand on an ``argparse`` subparsers object."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "diagram",
        help="draw the memory layout of the variables a snippet defines",
        description=DIAGRAM_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("snippet", help="Python code to run, or - to read it from stdin")
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help="variables to draw (default: all of them)"
    )
    parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE (see above)")
    parser.add_argument("--dot", action="store_true", help="print Graphviz source, not text")
    parser.add_argument(
        "--max-depth", type=int, metavar="N", default=6, help="arrows followed (default: 6)"
    )
    parser.add_argument(
        "--max-items", type=int, metavar="N", default=12, help="slots per box (default: 12)"
    )
    parser.add_argument(
        "--max-objects", type=int, metavar="N", default=60, help="boxes (default: 60)"
    )
    run: Callable[[argparse.Namespace, list[str]], int] = _diagram_command
    parser.set_defaults(run=run)
