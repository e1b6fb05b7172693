"""Threads: copies racing with mutations, and many short-lived copying threads.

Run in child interpreters (``hardening_threads.py``) so that a crash is observed, not
fatal to pytest. Racing copies may fail only as stdlib does ("dictionary changed size
during iteration"); every copy that succeeds must be internally consistent; no thread may
hang. Memory that threads' copies used must come back when the threads end.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest

from hardening_support import (
    IMPLEMENTATION_MODULES,
    TESTS,
    require_importable_in_child,
    run_child,
    thorough,
)

CHILD_TIMEOUT_SECONDS = 300
RSS_THREADS = 400 if thorough() else 100
TRACED_THREADS = 100 if thorough() else 30
MAX_RSS_GROWTH = 8 * 1024 * 1024  # a leaked memo per thread would be ~0.5 MB each
MAX_TRACED_GROWTH = 256 * 1024


@cache
def run_mode(impl_name: str, mode: str, threads: int = 0) -> dict[str, Any]:
    module_name = IMPLEMENTATION_MODULES[impl_name]
    require_importable_in_child(module_name)
    arguments = [str(TESTS / "hardening_threads.py"), module_name, mode, str(threads)]
    result = run_child(arguments, timeout=CHILD_TIMEOUT_SECONDS)
    assert result.returncode == 0, result.describe()
    report: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return report


@pytest.mark.parametrize("impl_name", sorted(IMPLEMENTATION_MODULES))
def test_racing_copies_never_hang(impl_name: str) -> None:
    assert run_mode(impl_name, "race")["hung_threads"] == 0


@pytest.mark.parametrize("impl_name", sorted(IMPLEMENTATION_MODULES))
def test_racing_copies_fail_only_as_stdlib_does(impl_name: str) -> None:
    assert run_mode(impl_name, "race")["failures"] == []


@pytest.mark.parametrize("impl_name", sorted(IMPLEMENTATION_MODULES))
def test_racing_copies_complete(impl_name: str) -> None:
    """The race really ran: copies succeeded while mutations happened."""
    assert run_mode(impl_name, "race")["copies"] > 10


@pytest.mark.parametrize("impl_name", sorted(IMPLEMENTATION_MODULES))
def test_thread_churn_returns_resident_memory(impl_name: str) -> None:
    report = run_mode(impl_name, "churn-rss", RSS_THREADS)
    assert report["growth"] <= MAX_RSS_GROWTH, report


@pytest.mark.parametrize("impl_name", sorted(IMPLEMENTATION_MODULES))
def test_thread_churn_returns_traced_memory(impl_name: str) -> None:
    report = run_mode(impl_name, "churn-traced", TRACED_THREADS)
    assert report["growth"] <= MAX_TRACED_GROWTH, report
