"""Deterministic workloads shaped like what real projects copy, for ``python -m copykit bench``.

Each :class:`Workload` names a builder that returns a fresh object (fixed seeds, so two builds
are structurally identical) and says which operation it measures: ``"deepcopy"`` or ``"copy"``.
The classes used by the workloads live at module level so that pickle can reach them.

The builders live inside the package (not only under ``benchmarks/``) so that the runner works
from an installed copykit; ``benchmarks/workloads.py`` re-exports this module for the pyperf mode.
"""

from __future__ import annotations

import copyreg
import random
import string
import uuid
from collections import OrderedDict, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum
from typing import Any, Literal

__all__ = ["WORKLOADS", "Workload", "available_workloads", "select"]

Operation = Literal["deepcopy", "copy", "deepcopy_memo"]  # deepcopy_memo: deepcopy(x, {})
JSON = Any  # nested dict/list/str/int/float/bool/None; Any keeps the builders readable


@dataclass(frozen=True)
class Workload:
    """One benchmark case: a name, a builder of the object, and the operation it measures."""

    name: str
    build: Callable[[], object]
    operation: Operation
    description: str
    json_like: bool = False  # a tree of dict/list/tuple/str/int/float/bool/None: yardstick-able
    requires: str | None = None  # an optional module the builder needs (skip when missing)
    # Built and copied once by each implementation before timing: state that a big copy
    # leaves behind (a memo table that stays large) then shows in the small copies timed.
    warm_up: Callable[[], object] | None = None
    real: bool = False  # a ``bench --real`` row: a real library's objects, timed patched too

    def is_available(self) -> bool:
        """True when the optional module this workload needs can be imported."""
        if self.requires is None:
            return True
        try:
            __import__(self.requires)
        except ImportError:
            return False
        return True


def _words(rng: random.Random, count: int, length: int = 8) -> list[str]:
    return ["".join(rng.choices(string.ascii_lowercase, k=length)) for _ in range(count)]


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(_words(rng, words, rng.randint(3, 9))).capitalize() + "."


# --- pyperformance's bm_deepcopy shapes --------------------------------------------------


@dataclass
class PyperfRecord:
    """The dataclass of pyperformance's "deepcopy" case: a string, a list and a flag."""

    string: str
    lst: list[int]
    boolean: bool


class PyperfReduce:
    """pyperformance's "deepcopy_reduce" object: ``__reduce__`` returning its ``__dict__``."""

    def __init__(self) -> None:
        self.a = 1
        self.b = 2

    def __reduce__(self) -> tuple[type[PyperfReduce], tuple[()], dict[str, Any]]:
        return (PyperfReduce, (), self.__dict__)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


def build_pyperf_deepcopy() -> list[object]:
    """One iteration of pyperformance's "deepcopy": 30 small dicts and 30 dataclass records."""
    dicts: list[object] = [
        {"list": [1, 2, 3, 43], "t": (1, 2, 3), "str": "hello", "subdict": {"a": True}}
        for _ in range(30)
    ]
    records: list[object] = [
        PyperfRecord(colour, [step, 2, 3], flag)
        for colour in ("red", "blue", "green")
        for step in range(5)
        for flag in (True, False)
    ]
    return dicts + records


def build_pyperf_reduce() -> PyperfReduce:
    """pyperformance's "deepcopy_reduce": one object copied through ``__reduce__``."""
    return PyperfReduce()


def build_pyperf_memo() -> dict[str, tuple[list[int], ...] | list[list[int]]]:
    """pyperformance's "deepcopy_memo": one list referenced 103 times, so the memo matters."""
    shared = [1] * 100
    return {"a": (shared, shared, shared), "b": [shared] * 100}


# --- JSON-like data ------------------------------------------------------------------------


def _api_record(rng: random.Random, index: int) -> JSON:
    return {
        "id": 10_000 + index,
        "type": "article",
        "attributes": {
            "title": _sentence(rng, rng.randint(3, 8)),
            "slug": "-".join(_words(rng, 3, 6)),
            "views": rng.randint(0, 1_000_000),
            "rating": round(rng.uniform(0, 5), 2),
            "published": rng.random() < 0.8,
            "created_at": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T10:00:00Z",
            "summary": None if rng.random() < 0.3 else _sentence(rng, 12),
        },
        "relationships": {
            "author": {"data": {"type": "user", "id": rng.randint(1, 200)}},
            "comments": {
                "data": [
                    {"type": "comment", "id": rng.randint(1, 10**6)}
                    for _ in range(rng.randint(0, 4))
                ]
            },
        },
        "tags": _words(rng, rng.randint(1, 5), 5),
    }


def build_json_api() -> JSON:
    """A paginated JSON:API response with 500 article records, as ``json.loads`` returns it."""
    rng = random.Random(1001)
    return {
        "data": [_api_record(rng, index) for index in range(500)],
        "meta": {"page": 3, "per_page": 500, "total": 12_345},
        "links": {"self": "/articles?page=3", "next": "/articles?page=4", "prev": None},
    }


def build_service_config() -> JSON:
    """A small service configuration: server, database, logging (dictConfig shape), flags."""
    return {
        "service": {"name": "orders", "version": "2.4.1", "debug": False},
        "server": {
            "host": "0.0.0.0",
            "port": 8080,
            "workers": 4,
            "timeout_s": 30.0,
            "cors": {
                "origins": ["https://example.com", "https://admin.example.com"],
                "methods": ["GET", "POST", "PUT"],
                "max_age": 600,
            },
        },
        "database": {
            "url": "postgresql://orders@db/orders",
            "pool": {"min": 2, "max": 20},
            "replicas": [{"host": f"replica-{n}", "weight": n + 1} for n in range(3)],
        },
        "logging": {
            "version": 1,
            "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(message)s"}},
            "handlers": {
                "console": {"class": "logging.StreamHandler", "formatter": "plain", "level": "INFO"}
            },
            "loggers": {"orders": {"handlers": ["console"], "level": "DEBUG", "propagate": False}},
        },
        "features": {"new_checkout": True, "beta_search": False, "rate_limit": (100, 60)},
    }


def _tool_spec(rng: random.Random, index: int) -> JSON:
    params = {
        name: {
            "type": rng.choice(["string", "integer", "boolean"]),
            "description": _sentence(rng, 6),
        }
        for name in _words(rng, 4, 6)
    }
    return {
        "type": "function",
        "function": {
            "name": f"tool_{index}_{_words(rng, 1, 6)[0]}",
            "description": _sentence(rng, 15),
            "parameters": {"type": "object", "properties": params, "required": sorted(params)[:2]},
        },
    }


def _chat_message(rng: random.Random, index: int) -> JSON:
    role = ("user", "assistant", "tool")[index % 3]
    message: dict[str, object] = {"role": role, "content": _sentence(rng, rng.randint(5, 120))}
    if role == "assistant":
        message["tool_calls"] = [
            {
                "id": f"call_{index}",
                "type": "function",
                "function": {"name": f"tool_{index % 10}", "arguments": '{"query": "status"}'},
            }
        ]
    if role == "tool":
        message["tool_call_id"] = f"call_{index - 1}"
    return message


def build_llm_chat() -> JSON:
    """An LLM chat request state: 20 messages (user, assistant with tool calls, tool results)
    and 10 tool specifications with JSON-schema parameters."""
    rng = random.Random(2002)
    return {
        "model": "some-model-large",
        "temperature": 0.2,
        "max_tokens": 1024,
        "messages": [{"role": "system", "content": _sentence(rng, 60)}]
        + [_chat_message(rng, index) for index in range(1, 20)],
        "tools": [_tool_spec(rng, index) for index in range(10)],
        "metadata": {"session": "abc123", "turn": 20, "stream": False},
    }


def build_int_list() -> list[int]:
    """39,000 ints, small and large (beyond the small-int cache)."""
    rng = random.Random(3003)
    return [rng.randint(-(10**6), 10**6) for _ in range(39_000)]


def build_float_matrix() -> list[list[float]]:
    """A 100 x 100 matrix of floats as nested lists."""
    rng = random.Random(4004)
    return [[rng.gauss(0.0, 1.0) for _ in range(100)] for _ in range(100)]


def build_table_rows() -> list[tuple[object, ...]]:
    """1,000 rows as a DB cursor returns them: tuples of int, str, float, bool, None."""
    rng = random.Random(5005)
    return [
        (
            index,
            _words(rng, 1, 10)[0],
            round(rng.uniform(1, 500), 2),
            rng.randint(0, 50),
            rng.random() < 0.5,
            None if rng.random() < 0.2 else _words(rng, 1, 6)[0],
        )
        for index in range(1_000)
    ]


def _schema_object(rng: random.Random, depth: int) -> JSON:
    properties: dict[str, object] = {}
    for name in _words(rng, 6, 7):
        if depth > 0 and rng.random() < 0.3:
            properties[name] = _schema_object(rng, depth - 1)
        else:
            properties[name] = {
                "type": rng.choice(["string", "integer", "number", "boolean"]),
                "description": _sentence(rng, 5),
            }
    return {
        "type": "object",
        "properties": properties,
        "required": sorted(properties)[:3],
        "additionalProperties": False,
    }


def build_json_schema() -> JSON:
    """A JSON-schema document with ``$defs``, nested objects, arrays and ``$ref`` strings."""
    rng = random.Random(6006)
    definitions = {f"Def{index}": _schema_object(rng, 2) for index in range(12)}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://example.com/order.schema.json",
        "title": "Order",
        "type": "object",
        "properties": {name: {"$ref": f"#/$defs/{name}"} for name in definitions}
        | {"items": {"type": "array", "items": {"$ref": "#/$defs/Def0"}, "minItems": 1}},
        "$defs": definitions,
    }


# --- object graphs -------------------------------------------------------------------------


@dataclass(frozen=True)
class Product:
    """A catalogue entry shared by many order lines."""

    sku: str
    name: str
    price_cents: int


@dataclass
class OrderLine:
    product: Product
    quantity: int


@dataclass(eq=False)  # customers and orders point at each other: identity equality avoids cycles
class Customer:
    name: str
    email: str
    address: dict[str, str]
    orders: list[Order] = field(default_factory=list)


@dataclass(eq=False)
class Order:
    number: int
    customer: Customer
    lines: list[OrderLine]
    billing_address: dict[str, str]


def build_object_graph() -> list[Customer]:
    """100 customers with 3 orders each: 50 shared products, back-references (cycles) from
    orders to customers, and billing addresses shared with the customer's address."""
    rng = random.Random(7007)
    products = [
        Product(f"SKU-{n:04d}", _words(rng, 1)[0], rng.randint(100, 10_000)) for n in range(50)
    ]
    customers = []
    for index in range(100):
        address = {"street": _sentence(rng, 2), "city": _words(rng, 1)[0], "zip": f"{index:05d}"}
        customer = Customer(f"customer {index}", f"c{index}@example.com", address)
        for number in range(3):
            lines = [
                OrderLine(rng.choice(products), rng.randint(1, 5)) for _ in range(rng.randint(1, 4))
            ]
            customer.orders.append(Order(index * 10 + number, customer, lines, address))
        customers.append(customer)
    return customers


class Vec2:
    __slots__ = ("x", "y")

    def __init__(self, x: float, y: float) -> None:
        self.x = x
        self.y = y


class Entity:
    __slots__ = ("hp", "ident", "inventory", "kind", "position", "tags", "velocity")

    def __init__(self, ident: int, kind: str, position: Vec2, velocity: Vec2) -> None:
        self.ident = ident
        self.kind = kind
        self.position = position
        self.velocity = velocity
        self.hp = 100
        self.inventory: list[str] = []
        self.tags: tuple[str, ...] = ()


class GameState:
    __slots__ = ("entities", "players", "tick")

    def __init__(self, tick: int, entities: list[Entity], players: dict[str, Entity]) -> None:
        self.tick = tick
        self.entities = entities
        self.players = players


def build_slots_game() -> GameState:
    """A game state of 300 ``__slots__`` entities (positions, velocities, inventories), with
    the player entities also indexed by name (shared references)."""
    rng = random.Random(8008)
    entities = []
    for ident in range(300):
        entity = Entity(
            ident,
            rng.choice(["orc", "elf", "player", "crate"]),
            Vec2(rng.uniform(0, 1000), rng.uniform(0, 1000)),
            Vec2(rng.uniform(-1, 1), rng.uniform(-1, 1)),
        )
        entity.hp = rng.randint(1, 100)
        entity.inventory = _words(rng, rng.randint(0, 4), 5)
        entity.tags = tuple(_words(rng, rng.randint(0, 2), 4))
        entities.append(entity)
    players = {f"player{entity.ident}": entity for entity in entities if entity.kind == "player"}
    return GameState(1234, entities, players)


class Money:
    """Reconstructed from its constructor arguments: ``__reduce__`` returns ``(cls, args)``."""

    def __init__(self, cents: int, currency: str) -> None:
        self.cents = cents
        self.currency = currency

    def __reduce__(self) -> tuple[type[Money], tuple[int, str]]:
        return (Money, (self.cents, self.currency))


class Interval:
    """Reconstructed through ``__reduce_ex__`` with a state dict applied by ``__setstate__``."""

    def __init__(self, start: float, end: float) -> None:
        self.start = start
        self.end = end
        self.labels: list[str] = []

    def __reduce_ex__(self, protocol: object) -> tuple[object, ...]:
        state = {"bounds": (self.start, self.end), "labels": self.labels}
        return (copyreg.__newobj__, (Interval,), state)  # type: ignore[attr-defined]

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.start, self.end = state["bounds"]
        self.labels = state["labels"]


def build_reduce_objects() -> list[object]:
    """300 objects copied through custom ``__reduce__``/``__reduce_ex__`` (args and state)."""
    rng = random.Random(9009)
    objects: list[object] = []
    for _ in range(150):
        objects.append(Money(rng.randint(0, 10**6), rng.choice(["EUR", "USD", "JPY"])))
        interval = Interval(rng.uniform(0, 10), rng.uniform(10, 20))
        interval.labels = _words(rng, rng.randint(0, 3), 4)
        objects.append(interval)
    return objects


class Status(Enum):
    PENDING = "pending"
    PAID = "paid"
    SHIPPED = "shipped"


def build_stdlib_types() -> OrderedDict[uuid.UUID, dict[str, object]]:
    """200 records keyed by UUID in an OrderedDict: datetime, date, timedelta, Decimal, Enum,
    frozenset and a defaultdict(list) index per record."""
    rng = random.Random(1010)
    base = datetime(2024, 1, 1, tzinfo=timezone.utc)
    records: OrderedDict[uuid.UUID, dict[str, object]] = OrderedDict()
    for index in range(200):
        history: defaultdict[str, list[int]] = defaultdict(list)
        for _ in range(3):
            history[rng.choice(["view", "edit"])].append(rng.randint(0, 100))
        records[uuid.UUID(int=rng.getrandbits(128), version=4)] = {
            "created": base + timedelta(minutes=rng.randint(0, 10**6)),
            "due": date(2024, 1, 1) + timedelta(days=index),
            "amount": Decimal(rng.randint(0, 10**6)) / 100,
            "status": rng.choice(list(Status)),
            "flags": frozenset(_words(rng, 2, 3)),
            "history": history,
        }
    return records


def build_pydantic_models() -> list[object]:
    """50 pydantic v2 orders with nested models, lists and datetimes (needs pydantic)."""
    from copykit import _workloads_pydantic

    return _workloads_pydantic.build_orders(random.Random(1111))


# --- shallow copies ------------------------------------------------------------------------


@dataclass
class AccountSettings:
    """A wide record whose shallow copy goes through ``__reduce_ex__`` (no ``__copy__``)."""

    user_id: int
    display_name: str
    locale: str
    timezone: str
    theme: str
    notifications: dict[str, bool]
    favourite_ids: list[int]
    beta: bool


def build_account_settings() -> AccountSettings:
    rng = random.Random(1212)
    return AccountSettings(
        42,
        "Ada",
        "en_GB",
        "Europe/London",
        "dark",
        {"email": True, "push": False, "sms": False},
        [rng.randint(1, 10**5) for _ in range(20)],
        beta=True,
    )


WORKLOADS: tuple[Workload, ...] = (
    Workload(
        "pyperf_deepcopy",
        build_pyperf_deepcopy,
        "deepcopy",
        "pyperformance deepcopy: 30 small dicts + 30 dataclasses",
    ),
    Workload(
        "pyperf_reduce",
        build_pyperf_reduce,
        "deepcopy",
        "pyperformance deepcopy_reduce: one __reduce__ object",
    ),
    Workload(
        "pyperf_memo",
        build_pyperf_memo,
        "deepcopy",
        "pyperformance deepcopy_memo: one list shared 103 times",
        # JSON-like types, but the sharing is the point: the memo-less yardstick would copy
        # the list 103 times and break the sharing, so it gets no yardstick column.
    ),
    Workload(
        "json_api", build_json_api, "deepcopy", "JSON:API response, 500 records", json_like=True
    ),
    Workload(
        "service_config",
        build_service_config,
        "deepcopy",
        "small service config (nested dicts)",
        json_like=True,
    ),
    Workload(
        "config_after_big",
        build_service_config,
        "deepcopy",
        "service_config, timed after one json_api deepcopy",
        json_like=True,
        warm_up=build_json_api,
    ),
    Workload(
        "llm_chat",
        build_llm_chat,
        "deepcopy",
        "LLM chat state: 20 messages, 10 tool specs",
        json_like=True,
    ),
    Workload("int_list", build_int_list, "deepcopy", "39,000 ints in a list", json_like=True),
    Workload(
        "float_matrix",
        build_float_matrix,
        "deepcopy",
        "100x100 floats as nested lists",
        json_like=True,
    ),
    Workload(
        "table_rows",
        build_table_rows,
        "deepcopy",
        "1,000 DB rows as tuples of atoms",
        json_like=True,
    ),
    Workload(
        "json_schema",
        build_json_schema,
        "deepcopy",
        "JSON-schema document with $defs",
        json_like=True,
    ),
    Workload(
        "object_graph", build_object_graph, "deepcopy", "dataclass graph: shared products, cycles"
    ),
    Workload("slots_game", build_slots_game, "deepcopy", "300 __slots__ game entities"),
    Workload(
        "reduce_objects",
        build_reduce_objects,
        "deepcopy",
        "300 objects with custom __reduce__/__reduce_ex__",
    ),
    Workload(
        "stdlib_types",
        build_stdlib_types,
        "deepcopy",
        "OrderedDict/defaultdict/UUID/datetime/Decimal/Enum",
    ),
    Workload(
        "pydantic",
        build_pydantic_models,
        "deepcopy",
        "50 pydantic v2 orders with nested models",
        requires="pydantic",
    ),
    Workload("int_list_shallow", build_int_list, "copy", "copy() of the 39,000-int list"),
    Workload("json_api_shallow", build_json_api, "copy", "copy() of the JSON:API response"),
    Workload(
        "dataclass_shallow",
        build_account_settings,
        "copy",
        "copy() of a wide dataclass (via __reduce_ex__)",
    ),
)


def _real(
    name: str,
    build: Callable[[], object],
    description: str,
    requires: str | None = None,
    operation: Operation = "deepcopy",
) -> Workload:
    return Workload(name, build, operation, description, requires=requires, real=True)


def _real_workloads() -> tuple[Workload, ...]:
    from copykit import _workloads_real as real

    return (
        _real(
            "json_api_alone",
            build_json_api,
            "the JSON:API payload alone (read the next two against it)",
        ),
        _real(
            "hook_then_json",
            real.build_hook_before_payload,
            "a Fraction (a __deepcopy__ hook) ahead of the JSON:API payload",
        ),
        _real(
            "json_api_memo",
            build_json_api,
            "deepcopy(x, {}) of the JSON:API payload",
            operation="deepcopy_memo",
        ),
        _real(
            "forwarding_hooks",
            real.build_forwarding_hooks,
            "200 objects whose __deepcopy__ forwards the memo",
        ),
        _real(
            "pydantic_models",
            build_pydantic_models,
            "50 pydantic v2 orders (nested models)",
            requires="pydantic",
        ),
        _real(
            "attrs_records",
            real.build_attrs_records,
            "100 attrs classes with nested records",
            requires="attrs",
        ),
        _real(
            "stdlib_reduce",
            build_stdlib_types,
            "OrderedDict/defaultdict/UUID/datetime/Decimal/Enum",
        ),
        _real(
            "reduce_instances",
            build_reduce_objects,
            "instances with __reduce__/__reduce_ex__/__setstate__",
        ),
        _real(
            "numpy_arrays", real.build_numpy_arrays, "20 dicts of numpy arrays", requires="numpy"
        ),
        _real("xml_etree", real.build_xml_tree, "xml.etree document, 300 elements"),
        _real(
            "networkx_graph",
            real.build_networkx_graph,
            "networkx graph, 200 nodes",
            requires="networkx",
        ),
        _real(
            "torch_module", real.build_torch_module, "torch nn.Module, 4 layers", requires="torch"
        ),
    )


REAL_WORKLOADS = _real_workloads()


def available_workloads(real: bool = False) -> tuple[Workload, ...]:
    """The workloads (``bench --real``'s when ``real``) whose optional dependencies are
    importable here."""
    workloads = REAL_WORKLOADS if real else WORKLOADS
    return tuple(workload for workload in workloads if workload.is_available())


def select(names: list[str] | None, real: bool = False) -> tuple[Workload, ...]:
    """The available workloads named in ``names`` (all of the group when None); raises
    KeyError on an unknown name."""
    if not names:
        return available_workloads(real)
    by_name = {workload.name: workload for workload in (*WORKLOADS, *REAL_WORKLOADS)}
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise KeyError(f"unknown workload(s): {', '.join(unknown)}; known: {', '.join(by_name)}")
    return tuple(by_name[name] for name in names if by_name[name].is_available())
