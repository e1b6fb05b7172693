"""Builders for ``bench --real``: the objects real programs copy, from real libraries.

Each library's row appears only where the library is installed. Hooks in these objects call
``copy.deepcopy`` themselves, so each row is timed unpatched (only the top-level call is
copykit's) and patched (``copykit.patch``: the hooks' nested copies are copykit's too).
"""

from __future__ import annotations

import copy
import random
from fractions import Fraction
from typing import Any

from copykit._workloads import build_json_api


class ForwardingHook:
    """The common hand-written hook: memoise the new instance, then copy the state."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.tags = [f"tag{index}", index]
        self.meta = {"rank": index % 7, "path": ["a", str(index)]}

    def __deepcopy__(self, memo: dict[int, Any]) -> ForwardingHook:
        cls = type(self)
        new = cls.__new__(cls)
        memo[id(self)] = new
        new.__dict__.update(copy.deepcopy(self.__dict__, memo))
        return new


def build_forwarding_hooks() -> list[object]:
    """200 objects with a forwarding ``__deepcopy__``, a shared config among them."""
    shared = {"units": "ms", "limits": [1, 2, 3]}
    objects: list[object] = []
    for index in range(200):
        item = ForwardingHook(index)
        item.meta["shared"] = shared
        objects.append(item)
    return objects


def build_hook_before_payload() -> list[object]:
    """One object with a ``__deepcopy__`` hook (a Fraction) ahead of the JSON:API payload."""
    return [Fraction(1, 3), build_json_api()]


def build_attrs_records() -> list[object]:
    """100 attrs classes (slotted, the ``attrs.define`` default) with nested records."""
    import attrs

    @attrs.define
    class Point:
        x: float
        y: float

    @attrs.define
    class Track:
        name: str
        points: list[Point]
        labels: dict[str, str] = attrs.field(factory=dict)

    rng = random.Random(2024)
    tracks: list[object] = []
    for index in range(100):
        points = [Point(rng.random(), rng.random()) for _ in range(5)]
        tracks.append(Track(f"track {index}", points, {"kind": rng.choice(["a", "b"])}))
    return tracks


def build_numpy_arrays() -> list[dict[str, object]]:
    """20 model layers: dicts of small numpy arrays (``ndarray.__deepcopy__`` is C)."""
    import numpy

    rng = numpy.random.default_rng(7)
    return [
        {
            "name": f"layer{index}",
            "weights": rng.standard_normal((16, 16)),
            "bias": rng.standard_normal(16),
            "shape": (16, 16),
        }
        for index in range(20)
    ]


def build_xml_tree() -> object:
    """An xml.etree document of 300 elements (``Element.__deepcopy__`` copies its parts
    with ``copy.deepcopy`` and the memo)."""
    from xml.etree import ElementTree

    root = ElementTree.Element("catalog", {"version": "1"})
    for index in range(60):
        book = ElementTree.SubElement(root, "book", {"id": str(index)})
        for field in ("title", "author", "year", "price"):
            child = ElementTree.SubElement(book, field)
            child.text = f"{field} {index}"
    return root


def build_networkx_graph() -> object:
    """A networkx graph: 200 nodes, 600 edges, attributes on both."""
    import networkx  # type: ignore[import-untyped]

    rng = random.Random(11)
    graph = networkx.Graph(name="service mesh")
    for node in range(200):
        graph.add_node(node, kind=rng.choice(["api", "db", "cache"]), load=[rng.random()])
    for _ in range(600):
        graph.add_edge(rng.randrange(200), rng.randrange(200), weight=rng.random())
    return graph


def build_torch_module() -> object:
    """A small torch ``nn.Module`` (parameters' ``__deepcopy__`` hooks, module dicts)."""
    import torch  # type: ignore[import-not-found, unused-ignore]

    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 32), torch.nn.LayerNorm(32)
    )
