"""shared() and assert_independent() with keep=: what is shared by design is exempt.

The copies here come from each twin's ``deepcopy(..., keep=...)`` (the ``impl`` fixture).
"""

from __future__ import annotations

import copy
import dataclasses
import enum
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from copykit.__main__ import main
from copykit.sharing import SharedObject, assert_independent, shared


def paths(records: list[SharedObject]) -> list[tuple[str, str]]:
    return [(record.path_a, record.path_b) for record in records]


def identities(objects: list[object]) -> list[int]:
    return sorted(id(obj) for obj in objects)


class Client:
    """Something tests share by design: a connection with a cache of its own."""

    def __init__(self, log: list[str] | None = None) -> None:
        self.cache: dict[str, list[int]] = {"rows": [1, 2]}
        self.log = [] if log is None else log

    def __repr__(self) -> str:
        return "Client()"


class TracingClient(Client):
    pass


class Pool:
    def __init__(self) -> None:
        self.clients: list[Client] = []

    def __repr__(self) -> str:
        return "Pool()"


@dataclasses.dataclass(frozen=True)
class FrozenHandle:
    """Looked through when not kept: the walk reports the list inside."""

    buffer: list[int]


class Meta(type):
    pass


class MadeByMeta(metaclass=Meta):
    pass


class Colour(enum.Enum):
    RED = 1


class Watched:
    """Keeps its state out of sight, so the walk asks ``__reduce_ex__``: walking it shows."""

    __slots__ = ("calls",)

    def __init__(self) -> None:
        self.calls: list[object] = []

    def __reduce_ex__(self, protocol: object) -> Any:
        self.calls.append(protocol)
        return (Watched, ())


def recorder(offered: list[object], answer: bool = False) -> Callable[[object], bool]:
    """A predicate that records each object it is offered and answers ``answer``."""

    def keep(obj: object) -> bool:
        offered.append(obj)
        return answer

    return keep


def service() -> dict[str, Any]:
    """A structure with a client (shared by design) and data (to be copied)."""
    return {"client": Client(), "jobs": [{"id": 1}], "name": "svc"}


# ---------------------------------------------------------------- the three forms of keep


def test_kept_type_is_not_reported() -> None:
    a = service()
    assert paths(shared(a, dict(a), keep=Client)) == [("['jobs']", "['jobs']")]


def test_kept_type_matches_subclasses_as_isinstance_does() -> None:
    a = {"client": TracingClient(), "jobs": []}
    assert paths(shared(a, dict(a), keep=Client)) == [("['jobs']", "['jobs']")]


def test_kept_tuple_of_types_matches_each_type() -> None:
    a = {"client": Client(), "pool": Pool(), "jobs": []}
    assert paths(shared(a, dict(a), keep=(Client, Pool))) == [("['jobs']", "['jobs']")]


def test_kept_predicate_decides_per_object() -> None:
    kept_client, other_client = Client(), Client()
    a = [kept_client, other_client]
    records = shared(a, list(a), keep=lambda obj: obj is kept_client)
    assert paths(records) == [("[1]", "[1]")]


def test_keep_none_keeps_nothing() -> None:
    a = service()
    assert paths(shared(a, dict(a), keep=None)) == paths(shared(a, dict(a)))


def test_kept_root_is_not_reported() -> None:
    client = Client()
    assert shared(client, client, keep=Client) == []


def test_without_keep_the_client_is_reported() -> None:
    a = service()
    assert paths(shared(a, dict(a))) == [("['client']", "['client']"), ("['jobs']", "['jobs']")]


# ---------------------------------------------------------------- kept objects are not looked into


def test_kept_frozen_object_hides_the_mutable_object_inside() -> None:
    handle = FrozenHandle([1, 2])
    assert shared([handle], [handle], keep=FrozenHandle) == []


def test_frozen_object_not_kept_shows_the_mutable_object_inside() -> None:
    handle = FrozenHandle([1, 2])
    assert paths(shared([handle], [handle])) == [("[0].buffer", "[0].buffer")]


def test_what_a_kept_object_holds_is_never_offered() -> None:
    client = Client()
    offered: list[object] = []

    def keep(obj: object) -> bool:
        offered.append(obj)
        return obj is client

    a = [client]
    shared(a, [client], keep=keep)
    assert not any(obj is client.cache or obj is client.log for obj in offered)


def test_object_reached_through_a_kept_object_and_elsewhere_is_not_reported(
    impl: ModuleType,
) -> None:
    # b's client holds the very log a reaches as a['log']: shared by design, through the
    # client, so not reported. The log b holds directly is a copy.
    log = ["started"]
    a = {"client": Client(log), "log": log}
    b = impl.deepcopy(a, keep=Client)
    assert b["client"].log is log and b["log"] is not log and shared(a, b, keep=Client) == []


def test_object_both_roots_reach_around_the_kept_object_is_reported() -> None:
    log = ["started"]
    a = {"client": Client(log), "log": log}
    assert paths(shared(a, dict(a), keep=Client)) == [("['log']", "['log']")]


def test_object_reached_through_a_kept_object_is_reported_without_keep(impl: ModuleType) -> None:
    log = ["started"]
    a = {"client": Client(log), "log": log}
    b = impl.deepcopy(a, keep=Client)
    assert paths(shared(a, b)) == [("['client']", "['client']"), ("['log']", "['client'].log")]


# ---------------------------------------------------------------- what is offered


def test_atoms_and_classes_are_never_offered() -> None:
    inner, values = [2], {"k": [3]}
    pair = (1, inner)
    a = [1, "s", None, 2.5, b"x", True, Client, MadeByMeta, Meta, len, Colour.RED, pair, values]
    b: list[Any] = copy.deepcopy(a)
    offered: list[object] = []
    shared(a, b, keep=recorder(offered))
    expected = [a, pair, inner, values, values["k"], b, b[11], b[11][1], b[12], b[12]["k"]]
    assert identities(offered) == identities(expected)


def test_object_both_roots_reach_is_offered_once() -> None:
    inner = [1]
    a = [inner]
    offered: list[object] = []
    shared(a, [inner], keep=recorder(offered))
    assert sum(obj is inner for obj in offered) == 1


# ---------------------------------------------------------------- a bad keep, a raising keep


def test_keep_of_another_kind_raises_type_error() -> None:
    with pytest.raises(TypeError, match="keep must be a type, a tuple of types or a callable"):
        shared([], [], keep=42)  # type: ignore[arg-type]


def test_tuple_holding_a_non_type_raises_type_error_naming_it() -> None:
    with pytest.raises(TypeError, match="its tuple holds 'Client', which is not a type"):
        shared([], [], keep=(Client, "Client"))  # type: ignore[arg-type]


def test_walk_of_a_watched_object_is_observable() -> None:
    watched = Watched()
    shared([watched], [watched])
    assert watched.calls == [4]


def test_bad_keep_raises_before_anything_is_walked() -> None:
    watched = Watched()
    with pytest.raises(TypeError):
        shared([watched], [watched], keep="Watched")  # type: ignore[arg-type]
    assert watched.calls == []


def test_assert_independent_raises_type_error_for_a_bad_keep() -> None:
    jobs: list[int] = []
    with pytest.raises(TypeError, match="keep must be"):
        assert_independent([jobs], [jobs], keep=[Client])  # type: ignore[arg-type]


def test_what_the_predicate_raises_propagates() -> None:
    def keep(obj: object) -> bool:
        raise LookupError("no verdict")

    with pytest.raises(LookupError, match="no verdict"):
        shared([[1]], [[1]], keep=keep)


def test_what_the_predicate_raises_propagates_from_assert_independent() -> None:
    def keep(obj: object) -> bool:
        raise LookupError("no verdict")

    with pytest.raises(LookupError, match="no verdict"):
        assert_independent([[1]], [[1]], keep=keep)


# ---------------------------------------------------------------- assert_independent


def test_assert_independent_passes_after_deepcopy_keeping_the_same(impl: ModuleType) -> None:
    a = {"clients": [Client(), Client()], "jobs": [{"id": 1}], "pool": Pool()}
    assert_independent(a, impl.deepcopy(a, keep=(Client, Pool)), keep=(Client, Pool))


def test_assert_independent_without_keep_names_the_kept_client(impl: ModuleType) -> None:
    a = service()
    with pytest.raises(AssertionError) as caught:
        assert_independent(a, impl.deepcopy(a, keep=Client), names=("original", "copied"))
    assert str(caught.value).splitlines() == [
        "original and copied share 1 mutable object:",
        "  original['client'] is copied['client']  # Client Client()",
    ]


def test_assert_independent_with_keep_lists_only_what_is_not_kept() -> None:
    a = service()
    with pytest.raises(AssertionError) as caught:
        assert_independent(a, dict(a), keep=Client)
    assert str(caught.value).splitlines() == [
        "a and b share 1 mutable object:",
        "  a['jobs'] is b['jobs']  # list [{…}]",
    ]


# ---------------------------------------------------------------- command line

SNIPPET = """
class Client:
    def __repr__(self): return "Client()"
a = {'client': Client(), 'jobs': []}; b = dict(a)
"""


def test_command_line_keep_exempts_what_it_matches(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["shared", "--keep", "Client", SNIPPET])
    assert (status, capsys.readouterr().out.splitlines()) == (
        1,
        ["a and b share 1 mutable object:", "  a['jobs'] is b['jobs']  # list []"],
    )


def test_command_line_keep_predicate(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["shared", "--keep", "lambda obj: isinstance(obj, list)", SNIPPET])
    assert (status, capsys.readouterr().out.splitlines()) == (
        1,
        ["a and b share 1 mutable object:", "  a['client'] is b['client']  # Client Client()"],
    )


def test_command_line_bad_keep_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["shared", "--keep", "'Client'", SNIPPET])
    assert (status, capsys.readouterr().err) == (
        2,
        "error: --keep raised TypeError: keep must be a type, a tuple of types or a"
        " callable, not 'str'\n",
    )


def test_command_line_raising_keep_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["shared", "--keep", "lambda obj: 1 / 0", SNIPPET])
    assert (status, capsys.readouterr().err) == (
        2,
        "error: --keep raised ZeroDivisionError: division by zero\n",
    )


# ---------------------------------------------------------------- properties

payloads = st.recursive(
    st.one_of(st.integers(), st.text(max_size=3), st.builds(Client)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.text(max_size=3), inner, max_size=3),
        st.tuples(inner, inner),
    ),
    max_leaves=15,
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payloads)
def test_deepcopy_keeping_shares_only_what_it_keeps(impl: ModuleType, value: object) -> None:
    assert shared(value, impl.deepcopy(value, keep=Client), keep=Client) == []
