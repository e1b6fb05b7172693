"""What ``deepcopy(x, keep=...)`` (#13) costs when it is not used or matches nothing, and what
it saves against the memo pre-seeding workaround on a web service's per-request state.

    PYTHONPATH=src python benchmarks/bench_keep.py [--before TREE [--after TREE]] [--callgrind]
        [--markdown] [--only SECTION ...] [--workload NAME ...] [--pairs N] [--samples N]
        [--rounds N] [--batch-seconds S] [--requests N] [--timer cpu|wall]

Sections (all by default; ``overhead`` and ``callgrind`` only with ``--before``, ``callgrind``
only with ``--callgrind``):

overhead
    ``keep=None`` against the build from before keep. TREE is a checkout of that commit with
    its C module built in place, e.g.::

        git worktree add /tmp/before-keep 9da7e65~1
        (cd /tmp/before-keep && python setup.py --quiet build_ext --inplace)

    Two builds need two processes: worker processes alternate between the trees (before,
    after, after, before, ...), each timing plain ``copykit.deepcopy(x)`` on the repo's
    deepcopy workloads. The table shows the medians of the processes' medians and the median
    of each pair's after/before ratio. ``--after TREE`` compares another checkout instead of
    the one copykit is imported from (``--after`` the same as ``--before`` measures the
    noise); COPYKIT_PUREPYTHON=1 in the environment makes the workers time the pure twin.
callgrind
    The same comparison in instructions per copy under ``valgrind --tool=callgrind``
    (PYTHONHASHSEED=0, the cyclic GC off): a process making N copies minus one making none;
    also keep=(two classes that match nothing) with the build after. Adds about two minutes.
unmatched
    ``keep=(two classes that match nothing)`` and ``keep=<predicate returning False>`` against
    plain deepcopy on the JSON-like workloads, both twins, same process, interleaved.
    #13 asks for at most 1.15x with the tuple.
service
    keep against pre-seeding the memo with every shared object, on a graph shaped like a web
    service's per-request state (clients with locks and sockets, a logger, a large lookup
    table, referenced from many places). Every variant's result is checked at start-up: the
    clients are the originals, nothing else is shared, values and sharing equal stdlib's.

Timing: medians of interleaved rounds (the order rotates every round), each round's ratio
paired so that load drifting between rounds cancels; calls are batched to about
``--batch-seconds``, with the cyclic GC paused per batch as in timeit. The default timer is
this thread's CPU time (time spent descheduled on a busy machine is left out).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import gc
import itertools
import json
import logging
import os
import platform
import random
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import copykit
from copykit import _pycopy
from copykit._bench import check_result
from copykit._workloads import Workload, select

Operation = Callable[[], object]
DeepCopy = Callable[..., Any]
Row = Sequence[str]

TIMERS: dict[str, Callable[[], float]] = {"cpu": time.thread_time, "wall": time.perf_counter}
# The checkout the copykit in use comes from (PYTHONPATH=<checkout>/src): the build "after".
COPYKIT_TREE = Path(copykit.__file__).resolve().parents[2]
SECTIONS = ("overhead", "callgrind", "unmatched", "service")
UNMATCHED_LIMIT = 1.15  # #13: keep=<tuple of types matching nothing> at most 1.15x plain
CALLGRIND_WORKLOADS = ("json_api", "service_config", "object_graph")


# --- timing ---------------------------------------------------------------------------------


def seconds_per_call(run: Operation, calls: int, clock: Callable[[], float]) -> float:
    """Mean time of ``calls`` calls of ``run``, with the cyclic GC paused as timeit does."""
    gc.collect()
    gc.disable()
    try:
        start = clock()
        for _ in itertools.repeat(None, calls):
            run()
        return (clock() - start) / calls
    finally:
        gc.enable()


def calls_per_batch(run: Operation, batch_seconds: float, clock: Callable[[], float]) -> int:
    """How many calls of ``run`` take about ``batch_seconds``."""
    calls = 1
    while seconds_per_call(run, calls, clock) * calls < batch_seconds / 10:
        calls *= 2
    return max(1, round(batch_seconds / seconds_per_call(run, calls, clock)))


def interleaved(
    runs: dict[str, Operation], rounds: int, batch_seconds: float, clock: Callable[[], float]
) -> dict[str, list[float]]:
    """Seconds per call of every run, one batch each per round, in an order that rotates
    every round; each run's batches are calibrated to last about ``batch_seconds``."""
    calls = {name: calls_per_batch(run, batch_seconds, clock) for name, run in runs.items()}
    names = list(runs)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_number in range(rounds):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(seconds_per_call(runs[name], calls[name], clock))
    return samples


def paired_ratio(numerators: Sequence[float], denominators: Sequence[float]) -> float:
    """The median of the per-round ratios numerator / denominator."""
    return statistics.median(a / b for a, b in zip(numerators, denominators, strict=True))


def microseconds(samples: Sequence[float]) -> str:
    return f"{statistics.median(samples) * 1e6:,.1f}"


# --- reporting ------------------------------------------------------------------------------


def table(header: Row, rows: Sequence[Row], markdown: bool) -> str:
    """The rows as a Markdown table, or as aligned plain text."""
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    )


def tree_version(tree: Path) -> str:
    """``git describe`` of a checkout (``-dirty`` when it has uncommitted changes)."""
    completed = subprocess.run(
        ["git", "-C", str(tree), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
    )
    return completed.stdout.strip() or "unknown"


def load_average() -> str:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def implementations() -> dict[str, ModuleType]:
    """Both twins by name: the C module when it is built, and the pure-Python twin."""
    twins: dict[str, ModuleType] = {}
    try:
        from copykit import _ccopy
    except ImportError:
        print("copykit._ccopy is not built: the C twin is skipped", file=sys.stderr)
    else:
        twins["c"] = _ccopy
    twins["python"] = _pycopy
    return twins


# --- overhead: keep=None against the build before keep -------------------------------------


def overhead_worker(names: list[str], samples: int, batch_seconds: float, timer: str) -> None:
    """Print, as JSON, seconds per ``copykit.deepcopy(x)`` call of every named workload
    (``samples`` batches each), with the copykit on this process's path."""
    clock = TIMERS[timer]
    seconds: dict[str, list[float]] = {}
    for workload in select(names):
        obj = workload.build()
        if workload.warm_up is not None:
            copykit.deepcopy(workload.warm_up())

        def run(obj: object = obj) -> object:
            return copykit.deepcopy(obj)

        calls = calls_per_batch(run, batch_seconds, clock)
        seconds[workload.name] = [seconds_per_call(run, calls, clock) for _ in range(samples)]
    report = {"copykit": copykit.__file__, "implementation": copykit.IMPLEMENTATION}
    print(json.dumps(report | {"seconds": seconds}))


def run_worker(tree: Path, arguments: list[str]) -> str:
    """Run this script as a worker with ``tree``'s ``src`` as the copykit; its stdout."""
    env = dict(os.environ, PYTHONPATH=str(tree / "src"))
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", *arguments]
    completed = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"worker {shlex.join(command)} failed:\n{completed.stderr}")
    return completed.stdout


def overhead(args: argparse.Namespace, before: Path, after: Path) -> str:
    names = [w.name for w in select(args.workload) if w.operation == "deepcopy"]
    trees = {"before": before, "after": after}
    worker_arguments = [*names, "--samples", str(args.samples)]
    worker_arguments += ["--batch-seconds", str(args.batch_seconds), "--timer", args.timer]
    per_process: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
    used = set()
    for pair in range(args.pairs):
        for side in ("before", "after") if pair % 2 == 0 else ("after", "before"):
            report = json.loads(run_worker(trees[side], worker_arguments))
            if not Path(report["copykit"]).resolve().is_relative_to(trees[side].resolve()):
                raise AssertionError(f"{side}: worker imported {report['copykit']}")
            used.add(report["implementation"])
            medians = {name: statistics.median(s) for name, s in report["seconds"].items()}
            per_process[side].append(medians)
    rows = []
    for name in names:
        before_times = [medians[name] for medians in per_process["before"]]
        after_times = [medians[name] for medians in per_process["after"]]
        ratios = [a / b for a, b in zip(after_times, before_times, strict=True)]
        rows.append(
            (
                name,
                microseconds(before_times),
                microseconds(after_times),
                f"{statistics.median(ratios):.3f}",
                f"{min(ratios):.3f}-{max(ratios):.3f}",
            )
        )
    header = ("workload", "before (us)", "after (us)", "after/before", "pair range")
    title = (
        f"keep=None against the build before keep: {before} ({tree_version(before)}) vs "
        f"{after} ({tree_version(after)}); implementation {', '.join(sorted(used))}; "
        f"{args.pairs} pairs of processes, {args.samples} batches per workload per process"
    )
    return f"{title}\n{table(header, rows, args.markdown)}"


# --- callgrind: instructions per copy, before and after -------------------------------------


# The process run under callgrind: as few imports as possible (startup is slow there). It
# builds the workload, copies it once (warm-up), then CALLS more times with the GC off.
CALLGRIND_SNIPPET = """
import gc, itertools, copykit
from copykit._workloads import select
class NeverPresent: pass
class AlsoNeverPresent: pass
(workload,) = select([{name!r}])
obj = workload.build()
keep = (NeverPresent, AlsoNeverPresent)
if workload.warm_up is not None:
    copykit.deepcopy(workload.warm_up(){keep})
copykit.deepcopy(obj{keep})
gc.collect()
gc.disable()
for _ in itertools.repeat(None, {calls}):
    copykit.deepcopy(obj{keep})
"""


def instructions(tree: Path, name: str, calls: int, unmatched: bool = False) -> int:
    """Instructions executed by a process that makes ``calls`` copies with ``tree``'s
    copykit (with ``keep=(two classes that match nothing)`` when ``unmatched``)."""
    with tempfile.TemporaryDirectory() as directory:
        output = Path(directory) / "callgrind.out"
        env = dict(os.environ, PYTHONPATH=str(tree / "src"), PYTHONHASHSEED="0")
        keep = ", keep=keep" if unmatched else ""  # the build before keep has no keep=
        snippet = CALLGRIND_SNIPPET.format(name=name, calls=calls, keep=keep)
        command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={output}"]
        command += [sys.executable, "-c", snippet]
        completed = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        if completed.returncode != 0:
            raise RuntimeError(f"callgrind run of {name} failed:\n{completed.stderr}")
        for line in output.read_text().splitlines():
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise RuntimeError(f"no instruction total in the callgrind output for {name}")


def callgrind_calls(name: str, seconds: float) -> int:
    """Copies that take about ``seconds`` natively (at least 10): enough that the few
    thousand instructions by which identical runs differ vanish in the per-copy figure."""
    (workload,) = select([name])
    obj = workload.build()
    calls = calls_per_batch(lambda: copykit.deepcopy(obj), seconds, time.perf_counter)
    return max(10, calls)


def callgrind(args: argparse.Namespace, before: Path, after: Path) -> str:
    rows = []
    for name in args.callgrind_workload or CALLGRIND_WORKLOADS:
        calls = callgrind_calls(name, args.callgrind_seconds)
        runs = {
            "before": (before, False),
            "after": (after, False),
            "after, keep=(A, B)": (after, True),
        }
        per_copy = {}
        for label, (tree, unmatched) in runs.items():
            total = instructions(tree, name, calls, unmatched)
            per_copy[label] = (total - instructions(tree, name, 0, unmatched)) / calls
        before_ir, after_ir, keep_ir = per_copy.values()
        rows.append(
            (
                name,
                str(calls),
                f"{before_ir:,.0f}",
                f"{after_ir:,.0f}",
                f"{after_ir / before_ir:.4f} ({after_ir - before_ir:+,.0f})",
                f"{keep_ir:,.0f}",
                f"{keep_ir / after_ir:.3f}",
            )
        )
    header = (
        "workload",
        "copies",
        "before (Ir/copy)",
        "after (Ir/copy)",
        "after/before",
        "after keep=(A, B)",
        "keep/plain",
    )
    title = (
        "Instructions per deepcopy under callgrind (N copies minus none; PYTHONHASHSEED=0, "
        "GC off), implementation as copykit picks it"
    )
    return f"{title}\n{table(header, rows, args.markdown)}"


# --- unmatched: keep that matches nothing, against plain deepcopy ---------------------------


class NeverPresent:
    """A class with no instance in any workload."""


class AlsoNeverPresent:
    """Another one: the tuple has two members, as a real keep would."""


UNMATCHED = (NeverPresent, AlsoNeverPresent)


def keep_nothing(obj: object) -> bool:
    """A keep predicate that declines everything it is offered."""
    return False


# Not JSON-like data but the fixed cost of a call: what keep adds before the walk starts.
EMPTY_LIST = Workload("[] (per call)", list, "deepcopy", "an empty list", json_like=True)


def unmatched_runs(deepcopy: DeepCopy, obj: object) -> dict[str, Operation]:
    return {
        "plain": lambda: deepcopy(obj),
        "keep=(A, B)": lambda: deepcopy(obj, keep=UNMATCHED),
        "keep=predicate": lambda: deepcopy(obj, keep=keep_nothing),
    }


def unmatched(args: argparse.Namespace, flags: list[str]) -> str:
    clock = TIMERS[args.timer]
    rows = []
    workloads = [w for w in select(args.workload) if w.json_like and w.operation == "deepcopy"]
    for twin, module in implementations().items():
        for workload in [EMPTY_LIST, *workloads]:
            obj = workload.build()
            runs = unmatched_runs(module.deepcopy, obj)
            expected = runs["plain"]()
            for name, run in runs.items():
                if (mismatch := check_result(obj, expected, run())) is not None:
                    raise AssertionError(f"{twin} {workload.name} {name}: {mismatch}")
            if workload.warm_up is not None:
                for run in unmatched_runs(module.deepcopy, workload.warm_up()).values():
                    run()
            samples = interleaved(runs, args.rounds, args.batch_seconds, clock)
            tuple_ratio = paired_ratio(samples["keep=(A, B)"], samples["plain"])
            predicate_ratio = paired_ratio(samples["keep=predicate"], samples["plain"])
            if tuple_ratio > UNMATCHED_LIMIT and workload is not EMPTY_LIST:
                flags.append(
                    f"{twin} {workload.name}: keep=(A, B) is {tuple_ratio:.3f}x plain "
                    f"(limit {UNMATCHED_LIMIT}x)"
                )
            rows.append(
                (
                    twin,
                    workload.name,
                    microseconds(samples["plain"]),
                    microseconds(samples["keep=(A, B)"]),
                    f"{tuple_ratio:.3f}",
                    microseconds(samples["keep=predicate"]),
                    f"{predicate_ratio:.3f}",
                )
            )
    header = (
        "twin",
        "workload",
        "plain (us)",
        "keep=(A, B) (us)",
        "ratio",
        "keep=predicate (us)",
        "ratio",
    )
    title = (
        "keep matching nothing against plain deepcopy, same process, "
        f"{args.rounds} interleaved rounds (ratio: median of per-round keep/plain)"
    )
    return f"{title}\n{table(header, rows, args.markdown)}"


# --- service: keep against memo pre-seeding on a service-state graph ------------------------


class DbClient:
    """A database client: a connection (a real socket, which deepcopy cannot copy), a lock
    around it, prepared statements, counters and its own logger."""

    def __init__(self, dsn: str, logger: logging.Logger) -> None:
        self.dsn = dsn
        self.connection = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lock = threading.RLock()
        self.logger = logger
        self.prepared = {f"q{n}": f"SELECT * FROM t{n} WHERE id = $1" for n in range(20)}
        self.stats = {"queries": 0, "errors": 0}

    def close(self) -> None:
        self.connection.close()


class PooledConnection:
    """One kept-alive connection of an HTTP session's pool."""

    __slots__ = ("host", "port", "requests_served", "sock")

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.requests_served = 0


class HttpSession:
    """An HTTP session: default headers, cookies, a lock and a pool of connections per host."""

    def __init__(self, base_url: str, hosts: Sequence[str]) -> None:
        self.base_url = base_url
        self.headers = {"User-Agent": "orders/2.4.1", "Accept": "application/json"}
        self.cookies = {"session": "abc123", "region": "eu-west-1"}
        self.lock = threading.Lock()
        self.pool = {host: [PooledConnection(host, 443) for _ in range(2)] for host in hosts}

    def close(self) -> None:
        for connections in self.pool.values():
            for connection in connections:
                connection.sock.close()


class PriceTable:
    """A large lookup table that every request reads and none may copy."""

    __slots__ = ("currency", "prices")

    def __init__(self, rng: random.Random, size: int = 10_000) -> None:
        self.currency = "EUR"
        self.prices = [round(rng.uniform(1, 500), 2) for _ in range(size)]


@dataclasses.dataclass
class User:
    user_id: int
    name: str
    email: str
    roles: list[str]
    preferences: dict[str, Any]


class CartLine:
    __slots__ = ("quantity", "sku", "tags", "unit_price_index")

    def __init__(self, sku: str, quantity: int, unit_price_index: int, tags: tuple[str, ...]):
        self.sku = sku
        self.quantity = quantity
        self.unit_price_index = unit_price_index
        self.tags = tags


class Handler:
    """A route handler: a plain object with a ``__dict__`` that holds clients."""

    def __init__(self, route: str, db: DbClient, http: HttpSession, logger: logging.Logger):
        self.route = route
        self.db = db
        self.http = http
        self.logger = logger
        self.options: dict[str, Any] = {"timeout_s": 2.5, "retries": [0.1, 0.2, 0.4]}
        self.middleware = [{"name": "auth", "required": True}, {"name": "rate_limit", "rps": 50}]


@dataclasses.dataclass
class RequestContext:
    request_id: str
    user: User
    headers: dict[str, str]
    query: dict[str, list[str]]
    cart: list[CartLine]
    handler: Handler
    db: DbClient
    http: HttpSession
    logger: logging.Logger
    prices: PriceTable
    trace: list[dict[str, Any]]
    extras: dict[str, Any]


KEEP_TYPES = (DbClient, HttpSession, logging.Logger, PriceTable)
ROUTES = ("/orders", "/orders/{id}", "/cart", "/checkout", "/search", "/users/{id}")


def is_client(obj: object) -> bool:
    """The keep predicate of variant (d): the same test as ``keep=KEEP_TYPES``."""
    return isinstance(obj, KEEP_TYPES)


def _request(
    rng: random.Random, index: int, handler: Handler, prices: PriceTable, http: HttpSession
) -> RequestContext:
    user = User(
        rng.randint(1, 10**6),
        f"user {index}",
        f"user{index}@example.com",
        rng.sample(["customer", "staff", "beta", "admin"], 2),
        {"locale": "en_GB", "notifications": {"email": True, "sms": False}, "theme": "dark"},
    )
    cart = [
        CartLine(f"SKU-{rng.randint(0, 9999):04d}", rng.randint(1, 5), rng.randrange(10_000), ())
        for _ in range(rng.randint(2, 8))
    ]
    trace = [
        {"span": f"span-{index}-{n}", "ms": rng.uniform(0, 30), "attrs": {"db.rows": n}}
        for n in range(5)
    ]
    return RequestContext(
        request_id=f"req-{index:06d}",
        user=user,
        headers={f"X-Header-{n}": f"value {n}" for n in range(10)},
        query={"page": [str(index % 7)], "sort": ["-created"], "filter": ["open", "paid"]},
        cart=cart,
        handler=handler,
        db=handler.db,
        http=http,
        logger=handler.logger,
        prices=prices,
        trace=trace,
        extras={"db": handler.db, "flags": {"new_checkout": index % 2 == 0}, "retries": []},
    )


def build_service_graph(requests: int = 48) -> tuple[dict[str, Any], list[object]]:
    """A service's state: config, clients, handlers and ``requests`` request contexts, and
    the list of every object that must be shared rather than copied (the clients)."""
    rng = random.Random(1313)
    logger = logging.getLogger("bench_keep.orders")
    db_logger = logging.getLogger("bench_keep.orders.db")
    db = DbClient("postgresql://orders@db/orders", db_logger)
    http = HttpSession("https://api.example.com", ("payments.example", "search.example"))
    prices = PriceTable(rng)
    handlers = {route: Handler(route, db, http, logger) for route in ROUTES}
    contexts = [
        _request(rng, index, handlers[ROUTES[index % len(ROUTES)]], prices, http)
        for index in range(requests)
    ]
    graph = {
        "config": {
            "service": {"name": "orders", "version": "2.4.1", "debug": False},
            "server": {"host": "0.0.0.0", "port": 8080, "workers": 4, "timeout_s": 30.0},
            "database": {"client": db, "pool": {"min": 2, "max": 20}},
            "logging": {"loggers": [logger, db_logger], "level": "INFO", "handlers": ["console"]},
        },
        "clients": {"db": db, "http": http, "log": logger, "prices": prices},
        "handlers": handlers,
        "requests": contexts,
    }
    return graph, [db, http, logger, db_logger, prices]


def seeded_memo(shared_objects: Sequence[object]) -> dict[int, Any]:
    """The workaround: a memo that says every shared object is its own copy."""
    return {id(obj): obj for obj in shared_objects}


def service_runs(
    graph: object, shared_objects: list[object], twins: dict[str, ModuleType]
) -> dict[str, Operation]:
    runs: dict[str, Operation] = {}
    if "c" in twins:
        c_deepcopy = twins["c"].deepcopy
        runs["(a) C keep=types"] = lambda: c_deepcopy(graph, keep=KEEP_TYPES)
        runs["(b) C seeded memo"] = lambda: c_deepcopy(graph, seeded_memo(shared_objects))
    runs["(c) stdlib seeded memo"] = lambda: copy.deepcopy(graph, seeded_memo(shared_objects))
    if "c" in twins:
        runs["(d) C keep=predicate"] = lambda: c_deepcopy(graph, keep=is_client)
    py_deepcopy = twins["python"].deepcopy
    runs["(e) python keep=types"] = lambda: py_deepcopy(graph, keep=KEEP_TYPES)
    runs["(e) python seeded memo"] = lambda: py_deepcopy(graph, seeded_memo(shared_objects))
    return runs


def verify_service(graph: object, shared_objects: list[object], runs: dict[str, Operation]) -> int:
    """Check every variant against stdlib with a seeded memo (values and sharing), and that
    exactly the clients are shared with the original; returns how many objects are copied."""
    memo = seeded_memo(shared_objects)
    expected = copy.deepcopy(graph, memo)
    copied = len(memo) - len(shared_objects) - 1  # less the seeds and the keep-alive list
    kept_ids = {id(obj) for obj in shared_objects}
    for name, run in runs.items():
        result = run()
        if (mismatch := check_result(graph, expected, result)) is not None:
            raise AssertionError(f"{name}: {mismatch}")
        shared_ids = {id(record.obj) for record in copykit.shared(graph, result)}
        if shared_ids != kept_ids:
            raise AssertionError(f"{name}: shares {len(shared_ids)} objects, not the clients")
    try:
        copykit.deepcopy(graph)
    except TypeError:
        pass  # the socket and the lock: without keep or the memo, the copy fails
    else:
        raise AssertionError("plain deepcopy of the service graph was expected to fail")
    return copied


def service(args: argparse.Namespace) -> str:
    graph, shared_objects = build_service_graph(args.requests)
    try:
        runs = service_runs(graph, shared_objects, implementations())
        copied = verify_service(graph, shared_objects, runs)
        samples = interleaved(runs, args.rounds, args.batch_seconds, TIMERS[args.timer])
    finally:
        for client in shared_objects:
            if isinstance(client, (DbClient, HttpSession)):
                client.close()
    reference = "(a) C keep=types" if "(a) C keep=types" in samples else "(e) python keep=types"
    stdlib = samples["(c) stdlib seeded memo"]
    rows = [
        (
            name,
            microseconds(times),
            f"{paired_ratio(times, samples[reference]):.2f}",
            f"{paired_ratio(stdlib, times):.2f}",
        )
        for name, times in samples.items()
    ]
    header = ("variant", "us per copy", f"vs {reference[:3]}", "speed-up vs (c)")
    title = (
        f"Service-state graph: {copied:,} objects copied, {len(shared_objects)} shared "
        f"clients ({', '.join(type(obj).__name__ for obj in shared_objects)}); seeded memo "
        f"built per call (it needs every shared instance known in advance); "
        f"{args.rounds} interleaved rounds"
    )
    return f"{title}\n{table(header, rows, args.markdown)}"


# --- command line ---------------------------------------------------------------------------


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--before", type=Path, help="a checkout of the build before keep")
    parser.add_argument(
        "--after", type=Path, default=COPYKIT_TREE, help="the checkout with keep (default: ours)"
    )
    parser.add_argument("--only", choices=SECTIONS, action="append", help="run this section")
    parser.add_argument("--callgrind", action="store_true", help="also count instructions")
    parser.add_argument("--workload", action="append", help="overhead/unmatched: only this one")
    parser.add_argument("--callgrind-workload", action="append", help="callgrind: this one")
    parser.add_argument(
        "--callgrind-seconds", type=float, default=0.02, help="native time of the copies counted"
    )
    parser.add_argument("--pairs", type=int, default=4, help="overhead: pairs of processes")
    parser.add_argument("--samples", type=int, default=11, help="overhead: batches per process")
    parser.add_argument("--rounds", type=int, default=21, help="interleaved rounds")
    parser.add_argument("--batch-seconds", type=float, default=0.01, help="length of one batch")
    parser.add_argument("--requests", type=int, default=48, help="service: request contexts")
    parser.add_argument("--timer", choices=sorted(TIMERS), default="cpu")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def sections_to_run(args: argparse.Namespace) -> Iterator[str]:
    for section in args.only or SECTIONS:
        if section == "callgrind" and not (args.callgrind or args.only):
            continue
        if section in ("overhead", "callgrind") and args.before is None:
            print(f"skipped {section}: it needs --before TREE", file=sys.stderr)
        elif section == "callgrind" and shutil.which("valgrind") is None:
            print("skipped callgrind: valgrind is not installed", file=sys.stderr)
        else:
            yield section


def main(argv: list[str] | None = None) -> None:
    args = parse_arguments(argv)
    if args.worker:
        overhead_worker(args.worker, args.samples, args.batch_seconds, args.timer)
        return
    started = time.perf_counter()
    print(f"$ {shlex.join(['python', *sys.argv])}")
    print(
        f"Python {platform.python_version()} on {platform.machine()} ({os.cpu_count()} CPUs), "
        f"copykit {copykit.__version__} from {COPYKIT_TREE} ({tree_version(COPYKIT_TREE)}), "
        f"timer {args.timer}, load average {load_average()}"
    )
    flags: list[str] = []
    for section in sections_to_run(args):
        print()
        if section == "overhead":
            print(overhead(args, args.before, args.after))
        elif section == "callgrind":
            print(callgrind(args, args.before, args.after))
        elif section == "unmatched":
            print(unmatched(args, flags))
        else:
            print(service(args))
        sys.stdout.flush()
    print()
    for flag in flags:
        print(f"over the limit: {flag}")
    elapsed = time.perf_counter() - started
    print(f"done in {elapsed:.0f} s; load average now {load_average()}")


if __name__ == "__main__":
    main()
