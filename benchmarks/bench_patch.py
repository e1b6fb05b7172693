"""What copykit.patch does for libraries that deep-copy internally, side by side in one run.

For each library operation the same call is timed with the stdlib ``copy`` module as shipped
and with ``copykit.patch`` enabled, in interleaved rounds (the order alternates every round);
the table shows the medians per call and the median of the rounds' stdlib / patched
ratios (each round pairs the two, so load that drifts between rounds cancels). As in
timeit, the cyclic garbage collector is paused while a batch runs (it would add the same,
noisy cost to both columns).

    python benchmarks/bench_patch.py [--rounds N] [--batch-seconds S] [--markdown]

Run it with PYTHONPATH=src (or an installed copykit); COPYKIT_PUREPYTHON=1 measures the
pure-Python twin. Libraries that are not installed are reported and skipped:
pydantic v2 (BaseModel.model_copy(deep=True)) and marshmallow (Schema() deep-copies its
declared fields); dataclasses.asdict is the stdlib's.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import datetime
import decimal
import gc
import importlib.metadata
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import copykit
from copykit import patch

Operation = Callable[[], object]


@dataclasses.dataclass(frozen=True)
class Case:
    """One library operation: what it is, and a zero-argument call that performs it once."""

    name: str
    library: str
    run: Operation
    comparable: Callable[[Any], object] = lambda result: result  # what must not change


# --- dataclasses.asdict -------------------------------------------------------------------


@dataclasses.dataclass
class LineItem:
    sku: str
    quantity: int
    unit_price: decimal.Decimal
    tags: list[str]


@dataclasses.dataclass
class Address:
    street: str
    city: str
    postcode: str


@dataclasses.dataclass
class Order:
    order_id: int
    placed: datetime.datetime
    shipping: Address
    items: list[LineItem]
    notes: dict[str, str]


def sample_order() -> Order:
    items = [
        LineItem(f"SKU-{n:04d}", n % 5 + 1, decimal.Decimal(f"{n}.99"), ["new", f"batch{n % 3}"])
        for n in range(20)
    ]
    shipping = Address("1 Example Street", "Springfield", "12345")
    placed = datetime.datetime(2024, 5, 17, 12, 30, tzinfo=datetime.timezone.utc)
    return Order(42, placed, shipping, items, {"gift": "yes", "channel": "web"})


def dataclasses_case() -> Case:
    order = sample_order()
    return Case(
        "asdict(Order with 20 line items)", "dataclasses", lambda: dataclasses.asdict(order)
    )


# --- pydantic -----------------------------------------------------------------------------


def pydantic_case() -> Case:
    import pydantic

    class Item(pydantic.BaseModel):
        sku: str
        quantity: int
        unit_price: decimal.Decimal
        tags: list[str]

    class Customer(pydantic.BaseModel):
        name: str
        email: str
        addresses: list[dict[str, str]]

    class PurchaseOrder(pydantic.BaseModel):
        order_id: int
        placed: datetime.datetime
        customer: Customer
        items: list[Item]
        notes: dict[str, str]

    order = PurchaseOrder.model_validate(
        dataclasses.asdict(sample_order())
        | {
            "customer": {
                "name": "Ada",
                "email": "ada@example.com",
                "addresses": [{"street": "1 Example Street", "city": "Springfield"}] * 2,
            },
        }
    )
    return Case(
        "model_copy(deep=True) (20 nested models)",
        f"pydantic {pydantic.VERSION}",
        lambda: order.model_copy(deep=True),
    )


# --- marshmallow --------------------------------------------------------------------------


def marshmallow_case() -> Case:
    from marshmallow import Schema, fields

    class ItemSchema(Schema):
        sku = fields.String(required=True)
        quantity = fields.Integer(validate=lambda value: value > 0)
        unit_price = fields.Decimal(places=2)
        tags = fields.List(fields.String())

    class OrderSchema(Schema):
        order_id = fields.Integer(required=True)
        placed = fields.AwareDateTime()
        street = fields.String()
        city = fields.String()
        postcode = fields.String()
        items = fields.List(fields.Nested(ItemSchema))
        notes = fields.Dict(keys=fields.String(), values=fields.String())
        email = fields.Email()
        website = fields.URL(allow_none=True)
        status = fields.String(load_default="new")

    version = importlib.metadata.version("marshmallow")
    record = {"order_id": 1, "status": "paid", "items": [{"sku": "A", "tags": ["x"]}]}
    return Case(
        "Schema() (10 declared fields)",
        f"marshmallow {version}",
        OrderSchema,
        comparable=lambda schema: schema.dump(record),
    )


# --- plain deepcopy, for reference --------------------------------------------------------


def plain_case() -> Case:
    config = dataclasses.asdict(sample_order())
    return Case("copy.deepcopy(dict of 20 records)", "stdlib copy", lambda: copy.deepcopy(config))


CASE_BUILDERS: list[tuple[str, Callable[[], Case]]] = [
    ("pydantic", pydantic_case),
    ("dataclasses", dataclasses_case),
    ("marshmallow", marshmallow_case),
    ("copy", plain_case),
]


def available_cases() -> list[Case]:
    """Every case whose library imports; the others are reported on stderr."""
    cases = []
    for library, build in CASE_BUILDERS:
        try:
            cases.append(build())
        except ImportError as exc:
            print(f"skipped {library}: {exc}", file=sys.stderr)
    return cases


def seconds_per_call(run: Operation, calls: int) -> float:
    """Mean time of ``calls`` calls, with the cyclic GC paused as timeit does."""
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(calls):
            run()
        return (time.perf_counter() - start) / calls
    finally:
        gc.enable()


def calls_per_batch(run: Operation, batch_seconds: float) -> int:
    """How many calls of ``run`` take about ``batch_seconds`` (under the stdlib, the slower)."""
    calls = 1
    while seconds_per_call(run, calls) * calls < batch_seconds / 10:
        calls *= 2
    return max(1, round(batch_seconds / seconds_per_call(run, calls)))


def timed_patched(patched: bool, run: Operation, calls: int) -> float:
    if patched:
        patch.enable()
    else:
        patch.disable()
    return seconds_per_call(run, calls)


def measure(case: Case, rounds: int, batch_seconds: float) -> tuple[float, float, float]:
    """Medians from interleaved rounds: stdlib and patched seconds per call, and the median
    of each round's stdlib/patched ratio (paired, so load that drifts between rounds cancels).
    """
    patch.disable()
    calls = calls_per_batch(case.run, batch_seconds)
    stdlib_times, patched_times = [], []
    for round_number in range(rounds):
        order = (False, True) if round_number % 2 == 0 else (True, False)
        timings = {patched: timed_patched(patched, case.run, calls) for patched in order}
        stdlib_times.append(timings[False])
        patched_times.append(timings[True])
    patch.disable()
    ratios = [stdlib / patched for stdlib, patched in zip(stdlib_times, patched_times, strict=True)]
    return (
        statistics.median(stdlib_times),
        statistics.median(patched_times),
        statistics.median(ratios),
    )


def same_result_either_way(case: Case) -> bool:
    """The operation gives equal results with and without the patch (a sanity check)."""
    with patch.patched():
        patched_result = case.comparable(case.run())
    return bool(case.comparable(case.run()) == patched_result)


def table(rows: list[tuple[Case, float, float, float]], markdown: bool) -> str:
    header = ("library", "operation", "stdlib (us)", "patched (us)", "speed-up")
    lines = [
        (
            case.library,
            case.name,
            f"{stdlib * 1e6:.1f}",
            f"{patched * 1e6:.1f}",
            f"{speedup:.2f}x",
        )
        for case, stdlib, patched, speedup in rows
    ]
    if markdown:
        out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        return "\n".join(out + ["| " + " | ".join(line) + " |" for line in lines])
    widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in [header, *lines]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=41, help="interleaved rounds per case")
    parser.add_argument("--batch-seconds", type=float, default=0.02, help="length of one batch")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args(argv)
    print(f"$ {shlex.join(['python', *sys.argv])}")
    print(
        f"Python {platform.python_version()}, copykit {copykit.__version__}, "
        f"implementation {copykit.IMPLEMENTATION!r}, {args.rounds} interleaved rounds"
    )
    rows = []
    for case in available_cases():
        if not same_result_either_way(case):
            raise SystemExit(f"{case.name}: results differ with the patch")
        rows.append((case, *measure(case, args.rounds, args.batch_seconds)))
    print(table(rows, args.markdown))


if __name__ == "__main__":
    main()
