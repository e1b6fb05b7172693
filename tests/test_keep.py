"""deepcopy(x, keep=...): what keep matches is shared with the original, everything else copied.

The oracle for keep is the stdlib with the workaround people use today: a memo pre-seeded
with ``{id(obj): obj}`` for every object keep matches. ``impl.deepcopy(x, keep=K)`` must agree
with ``copy.deepcopy(x, preseeded_memo)`` in types, values, sharing and kept originals.
"""

from __future__ import annotations

import abc
import builtins
import copy
import dataclasses
import inspect
import sys
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from copykit import _pycopy, patch
from oracle import assert_same_copy

NOTES_SUPPORTED = sys.version_info >= (3, 11)
needs_notes = pytest.mark.skipif(not NOTES_SUPPORTED, reason="PEP 678 notes exist from 3.11")

RLOCK_TYPE = type(threading.RLock())


class Client:
    """Something that must not be copied: it holds a lock."""

    def __init__(self, name: str = "db") -> None:
        self.name = name
        self.lock = threading.RLock()

    def describe(self) -> str:
        return f"client {self.name}"


class PooledClient(Client):
    pass


class Config:
    def __init__(self, client: Client, **settings: object) -> None:
        self.client = client
        self.settings = dict(settings)


class SlottedService:
    __slots__ = ("client", "options")

    def __init__(self, client: Client) -> None:
        self.client = client
        self.options = {"retries": 3}


class SlotsAndDict:
    __slots__ = ("client", "__dict__")

    def __init__(self, client: Client) -> None:
        self.client = client
        self.extra = [client]


@dataclasses.dataclass
class Request:
    client: Client
    headers: dict[str, str]
    history: list[object] = dataclasses.field(default_factory=list)


class ReducedByArgs:
    """Reduces to (cls, (client, tags)): the client travels as a reduce argument."""

    def __init__(self, client: Client, tags: list[str]) -> None:
        self.client = client
        self.tags = tags

    def __reduce__(self) -> tuple[object, ...]:
        return (ReducedByArgs, (self.client, self.tags))


class ReducedByState:
    def __init__(self, client: Client) -> None:
        self.client = client
        self.seen: list[int] = []

    def __getstate__(self) -> dict[str, object]:
        return {"client": self.client, "seen": self.seen}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


class ClientList(list):  # type: ignore[type-arg]
    """A list subclass: its items come through the reduce list iterator."""


class ClientDict(dict):  # type: ignore[type-arg]
    """A dict subclass: its items come through the reduce dict iterator."""


class HashableHandle:
    """A hashable kept object, used as a dict key and a set member."""

    def __init__(self) -> None:
        self.lock = threading.Lock()


def notes(error: BaseException) -> list[str]:
    return list(getattr(error, "__notes__", []))


def preseeded(kept: list[object]) -> dict[int, Any]:
    """The memo of the workaround: every kept object maps to itself."""
    return {id(obj): obj for obj in kept}


def assert_like_preseeded(impl: ModuleType, original: object, keep: Any, kept: list[object]) -> Any:
    """impl.deepcopy(original, keep=keep) agrees with the stdlib's pre-seeded deepcopy."""
    expected = copy.deepcopy(original, preseeded(kept))
    actual = impl.deepcopy(original, keep=keep)
    assert_same_copy(original, expected, actual)
    return actual


# --- where keep holds ---------------------------------------------------------------------


def test_kept_in_containers_and_dict_values(impl: ModuleType) -> None:
    client = Client()
    original: dict[str, Any] = {
        "primary": client,
        "all": [client, (client, 1)],
        "nested": [[{"c": client}]],
    }
    result = assert_like_preseeded(impl, original, Client, [client])
    assert result["primary"] is client
    assert result["all"][0] is client
    assert result["nested"][0][0]["c"] is client
    assert result["all"] is not original["all"]
    # a tuple whose items are all their own copies is itself, as deepcopy makes it
    assert result["all"][1] is original["all"][1]


def test_kept_as_dict_key_and_set_member(impl: ModuleType) -> None:
    handle = HashableHandle()
    original = {handle: [1], "members": {handle, 2}, "frozen": frozenset({handle})}
    result = assert_like_preseeded(impl, original, HashableHandle, [handle])
    assert handle in result
    assert result[handle] is not original[handle]
    assert handle in result["members"]


def test_kept_in_instance_dict_slots_and_dataclass(impl: ModuleType) -> None:
    client = Client()
    original = [Config(client, timeout=3), SlottedService(client), SlotsAndDict(client)]
    original.append(Request(client, {"a": "b"}, [client]))
    result = assert_like_preseeded(impl, original, Client, [client])
    assert result[0].client is client
    assert result[0].settings is not original[0].settings  # type: ignore[attr-defined]
    assert result[1].client is client
    assert result[1].options is not original[1].options  # type: ignore[attr-defined]
    assert result[2].client is client and result[2].extra[0] is client
    assert result[3].client is client and result[3].history[0] is client


def test_kept_in_reduce_args_state_and_iterators(impl: ModuleType) -> None:
    client = Client()
    by_list = ClientList([client, [client]])
    by_dict = ClientDict(primary=client)
    original = [ReducedByArgs(client, ["t"]), ReducedByState(client), by_list, by_dict]
    result = assert_like_preseeded(impl, original, Client, [client])
    assert result[0].client is client and result[0].tags is not original[0].tags  # type: ignore[attr-defined]
    assert result[1].client is client and result[1].seen is not original[1].seen  # type: ignore[attr-defined]
    assert result[2][0] is client and result[2][1] is not by_list[1]
    assert result[3]["primary"] is client


FROZENDICT: Any = getattr(builtins, "frozendict", None)


@pytest.mark.skipif(FROZENDICT is None, reason="frozendict is built in from 3.15")
def test_kept_in_frozendict_keys_and_values(impl: ModuleType) -> None:
    handle, client = HashableHandle(), Client()
    original = [FROZENDICT({handle: [1], "client": client, "data": [client]})]
    result = assert_like_preseeded(impl, original, (HashableHandle, Client), [handle, client])
    assert result[0]["client"] is client and handle in result[0]


def test_kept_bound_method_self(impl: ModuleType) -> None:
    client = Client()
    original = {"callback": client.describe, "client": client}
    result = impl.deepcopy(original, keep=Client)
    assert result["callback"].__self__ is client
    assert result["client"] is client


def test_kept_root_is_returned_as_is(impl: ModuleType) -> None:
    client = Client()
    assert impl.deepcopy(client, keep=Client) is client
    assert impl.deepcopy([client], keep=list)[0] is client  # the list itself is kept


def test_tuple_of_types_matches_subclasses(impl: ModuleType) -> None:
    pooled, lock = PooledClient(), threading.RLock()
    other = Client()
    original: dict[str, Any] = {"pooled": pooled, "lock": lock, "other": other}
    kept = [pooled, lock, other.lock]
    result = assert_like_preseeded(impl, original, (PooledClient, RLOCK_TYPE), kept)
    assert result["pooled"] is pooled and result["lock"] is lock
    # the plain Client is copied, and its lock is shared because RLock is kept
    assert result["other"] is not original["other"]
    assert result["other"].lock is original["other"].lock


def test_union_of_types(impl: ModuleType) -> None:
    pooled, lock = PooledClient(), threading.RLock()
    result = impl.deepcopy([pooled, lock, [1]], keep=PooledClient | RLOCK_TYPE)
    assert result[0] is pooled and result[1] is lock


def test_abstract_base_class(impl: ModuleType) -> None:
    class Resource(abc.ABC):  # noqa: B024 - registered virtual subclasses only
        pass

    class Socketish:
        def __init__(self) -> None:
            self.lock = threading.Lock()

    Resource.register(Socketish)
    sock = Socketish()
    result = impl.deepcopy({"s": sock, "n": [sock]}, keep=Resource)
    assert result["s"] is sock and result["n"][0] is sock


def test_isinstance_semantics_for_objects_claiming_another_class(impl: ModuleType) -> None:
    """An object whose __class__ claims a kept class is matched, as isinstance says;
    another instance of the same proxy class claiming nothing is copied."""

    class Proxy:
        def __init__(self, target: type | None) -> None:
            self.target = target
            self.payload = [1]

        @property  # type: ignore[misc]
        def __class__(self) -> type:  # noqa: PLW3201 - a proxy claiming a class
            return self.target or Proxy

    claims, plain = Proxy(Client), Proxy(None)
    for first, second in ((claims, plain), (plain, claims)):
        result = impl.deepcopy([first, second], keep=Client)
        assert (result[0] is first) == (first is claims)
        assert (result[1] is second) == (second is claims)


def test_same_kept_object_everywhere_is_one_object(impl: ModuleType) -> None:
    client = Client()
    original = [client, {"x": client}, [client] * 3, Config(client)]
    result = impl.deepcopy(original, keep=Client)
    found = [result[0], result[1]["x"], *result[2], result[3].client]
    assert all(each is client for each in found)


# --- what is offered ----------------------------------------------------------------------


class OfferLog:
    """A predicate that records every object it is offered and keeps nothing but Clients."""

    def __init__(self) -> None:
        self.offered: list[object] = []

    def __call__(self, obj: object) -> bool:
        self.offered.append(obj)
        return isinstance(obj, (Client, HashableHandle))


def test_atoms_and_classes_are_never_offered(impl: ModuleType) -> None:
    log = OfferLog()
    original = [1, 2.5, "s", b"b", None, True, 3j, int, Client, range(3), len, [1, "two"]]
    impl.deepcopy(original, keep=log)
    offered_types = {type(obj) for obj in log.offered}
    assert offered_types == {list}  # the two lists, nothing else
    assert len(log.offered) == 2


def test_reduce_carriers_are_not_offered(impl: ModuleType) -> None:
    """An instance's state, the dicts of a (dict, slots) state and a set's temporary list
    carry the object's parts: the parts are offered, not the carriers."""
    client = Client()
    items = [Config(client, timeout=1), SlotsAndDict(client), {HashableHandle()}]
    log = OfferLog()
    result = impl.deepcopy(items, keep=log)
    config_state = items[0].__dict__
    offered_ids = {id(obj) for obj in log.offered}
    assert id(config_state) not in offered_ids
    assert id(items[1].__dict__) not in offered_ids
    assert id(items[0].settings) in offered_ids  # type: ignore[attr-defined]
    assert id(client) in offered_ids
    lists_offered = [obj for obj in log.offered if type(obj) is list]
    assert lists_offered == [items, items[1].extra]  # type: ignore[attr-defined]
    assert result[0].client is client


def test_copied_objects_are_offered_once_kept_ones_each_time(impl: ModuleType) -> None:
    client, shared = Client(), [1]
    log = OfferLog()
    impl.deepcopy([shared, shared, client, client], keep=log)
    assert sum(obj is shared for obj in log.offered) == 1  # then found in the memo
    assert sum(obj is client for obj in log.offered) == 2  # never memoised


def test_keep_none_is_plain_deepcopy(impl: ModuleType) -> None:
    original = {"a": [1, {2, 3}], "b": Config(Client.__new__(Client))}
    del original["b"].client.__dict__  # type: ignore[attr-defined]
    assert_same_copy(original, copy.deepcopy(original), impl.deepcopy(original, keep=None))


# --- below a __deepcopy__ hook ------------------------------------------------------------


class HookThatUses:
    """Copies its child with the given function, passing its memo on."""

    def __init__(self, child: object, function: Callable[..., Any]) -> None:
        self.child = child
        self.function = function

    def __deepcopy__(self, memo: dict[int, Any]) -> HookThatUses:
        assert type(memo) is dict
        assert all(type(key) is int for key in memo)
        return HookThatUses(self.function(self.child, memo), self.function)


def test_keep_holds_below_hooks_copying_with_copykit(impl: ModuleType) -> None:
    client = Client()
    original = [HookThatUses([client], impl.deepcopy), client]
    result = impl.deepcopy(original, keep=Client)
    assert result[0].child[0] is client
    assert result[0].child is not original[0].child  # type: ignore[attr-defined]
    assert _pycopy._KEEP_POLICIES == {}


def test_keep_holds_below_hooks_using_patched_stdlib(impl: ModuleType) -> None:
    client = Client()
    original = [HookThatUses([client], copy.deepcopy)]
    with patch.patched():
        result = impl.deepcopy(original, keep=Client)
    assert result[0].child[0] is client


def test_unpatched_stdlib_in_a_hook_knows_nothing_of_keep(impl: ModuleType) -> None:
    client = Client()
    original = [HookThatUses([client], copy.deepcopy)]
    with pytest.raises(TypeError, match="RLock"):
        impl.deepcopy(original, keep=Client)
    assert _pycopy._KEEP_POLICIES == {}


def test_hook_may_use_a_keep_of_its_own(impl: ModuleType) -> None:
    client, lock = Client(), threading.Lock()

    class OwnKeep:
        def __deepcopy__(self, memo: dict[int, Any]) -> object:
            inner = impl.deepcopy([lock, [2]], memo, keep=type(lock))
            # the outer policy is back for the rest of the outer copy
            after = impl.deepcopy([client], memo)
            return (inner, after)

    result = impl.deepcopy({"hook": OwnKeep(), "client": client}, keep=Client)
    inner, after = result["hook"]
    assert inner[0] is lock and inner[1] == [2]
    assert after[0] is client
    assert _pycopy._KEEP_POLICIES == {}


# --- the memo ----------------------------------------------------------------------------


def test_caller_memo_keeps_the_stdlib_layout(impl: ModuleType) -> None:
    client, data = Client(), [1, [2]]
    memo: dict[int, Any] = {}
    result = impl.deepcopy([client, data], memo, keep=Client)
    assert result[0] is client
    assert id(client) not in memo  # kept objects are not memoised
    assert memo[id(data)] is result[1]
    keep_alive = memo[id(memo)]
    assert type(keep_alive) is list and data in keep_alive
    assert all(type(key) is int for key in memo)
    assert _pycopy._KEEP_POLICIES == {}


def test_preseeded_entries_win_over_keep(impl: ModuleType) -> None:
    client, replacement = Client(), Client("replacement")
    result = impl.deepcopy([client], {id(client): replacement}, keep=Client)
    assert result[0] is replacement


def test_non_dict_memo_works_with_keep(impl: ModuleType) -> None:
    class Memo(dict):  # type: ignore[type-arg]
        pass

    client = Client()
    result = impl.deepcopy({"c": client, "l": [client]}, Memo(), keep=Client)
    assert result["c"] is client and result["l"][0] is client


# --- bad input and failures --------------------------------------------------------------


class CountsCopies:
    copies = 0

    def __deepcopy__(self, memo: dict[int, Any]) -> CountsCopies:
        CountsCopies.copies += 1
        return CountsCopies()


@pytest.mark.parametrize(
    ("keep", "message"),
    [
        (3, "keep must be a type, a tuple of types or a callable, not 'int'"),
        ("Client", "keep must be a type, a tuple of types or a callable, not 'str'"),
        ([Client], "keep must be a type, a tuple of types or a callable, not 'list'"),
        ((Client, 3), "its tuple holds 3, which is not a type"),
        ((Client, (RLOCK_TYPE,)), "holds (<class '_thread.RLock'>,), which is not a type"),
        (list[int] | None, "which is not a type"),
        (list[int], "not 'GenericAlias'"),
        (tuple[Client], "not 'GenericAlias'"),
    ],
)
def test_bad_keep_raises_type_error_before_copying(
    impl: ModuleType, keep: object, message: str
) -> None:
    CountsCopies.copies = 0
    with pytest.raises(TypeError) as caught:
        impl.deepcopy([CountsCopies()], keep=keep)
    assert message in str(caught.value)
    assert CountsCopies.copies == 0
    assert _pycopy._KEEP_POLICIES == {}


def test_bad_keep_with_a_memo_leaves_the_memo_alone(impl: ModuleType) -> None:
    memo: dict[int, Any] = {}
    with pytest.raises(TypeError):
        impl.deepcopy([[1]], memo, keep=42)
    assert memo == {}


class Boom(Exception):
    pass


def exploding(obj: object) -> bool:
    if isinstance(obj, Client):
        raise Boom("cannot decide")
    return False


def test_predicate_exception_propagates_and_cleans_up(impl: ModuleType) -> None:
    original = {"services": [Config(Client())]}
    with pytest.raises(Boom):
        impl.deepcopy(original, keep=exploding)
    assert _pycopy._KEEP_POLICIES == {}
    # the memo of a failed copy carries no policy on: a Client fails to copy, not Boom
    memo: dict[int, Any] = {}
    with pytest.raises(Boom):
        impl.deepcopy(original, memo, keep=exploding)
    assert _pycopy._KEEP_POLICIES == {}
    with pytest.raises(TypeError, match="RLock"):
        impl.deepcopy([Client()], memo)


@needs_notes
def test_predicate_exception_note_names_the_path(impl: ModuleType) -> None:
    original = {"services": [Config(Client())]}
    with pytest.raises(Boom) as caught:
        impl.deepcopy(original, keep=exploding)
    assert notes(caught.value) == [
        f"copykit: keep raised at root['services'][0].client ({__name__}.Client)"
    ]


@needs_notes
def test_predicate_exception_at_the_root_is_noted(impl: ModuleType) -> None:
    with pytest.raises(Boom) as caught:
        impl.deepcopy(Client(), keep=exploding)
    assert notes(caught.value) == [f"copykit: keep raised at root ({__name__}.Client)"]


def test_predicate_truthiness_errors_propagate(impl: ModuleType) -> None:
    class NoTruth:
        def __bool__(self) -> bool:
            raise Boom("no truth")

    with pytest.raises(Boom):
        impl.deepcopy([[1]], keep=lambda obj: NoTruth())
    assert _pycopy._KEEP_POLICIES == {}


@needs_notes
def test_failure_note_names_the_keep_fix(impl: ModuleType) -> None:
    original = {"db": Config(Client())}
    with pytest.raises(TypeError) as caught:
        impl.deepcopy(original)
    assert notes(caught.value) == [
        "copykit: failed at root['db'].client.lock (_thread.RLock); "
        "copykit.deepcopy(x, keep=_thread.RLock) shares it instead of copying"
    ]
    # and the fix it names works
    result = impl.deepcopy(original, keep=RLOCK_TYPE)
    assert result["db"].client.lock is original["db"].client.lock


@needs_notes
def test_failure_note_without_fix_for_other_errors(impl: ModuleType) -> None:
    class Refuses:
        def __deepcopy__(self, memo: dict[int, Any]) -> object:
            raise ValueError("refused")

    with pytest.raises(ValueError) as caught:
        impl.deepcopy([Refuses()])
    assert notes(caught.value) == [
        f"copykit: failed at root[0] ({__name__}.{Refuses.__qualname__})"
    ]


# --- signatures --------------------------------------------------------------------------


def test_keep_is_keyword_only(impl: ModuleType) -> None:
    signature = inspect.signature(impl.deepcopy)
    assert signature.parameters["keep"].kind is inspect.Parameter.KEYWORD_ONLY
    assert signature.parameters["keep"].default is None
    with pytest.raises(TypeError):
        impl.deepcopy([1], None, None, Client)


def test_patched_stdlib_deepcopy_keeps_its_signature() -> None:
    before = inspect.signature(copy.deepcopy)
    with patch.patched():
        assert inspect.signature(copy.deepcopy) == before
        with pytest.raises(TypeError, match="keep"):
            copy.deepcopy([1], keep=Client)  # type: ignore[call-arg]


# --- the oracle on many shapes ------------------------------------------------------------


class Opaque:
    """Cannot be deep-copied; keep must share it."""

    def __init__(self, tag: int) -> None:
        self.tag = tag

    def __deepcopy__(self, memo: dict[int, Any]) -> Opaque:
        raise TypeError("Opaque objects cannot be copied")

    def __reduce_ex__(self, protocol: object) -> Any:
        raise TypeError("Opaque objects cannot be pickled")


def structures(pool: list[Opaque]) -> st.SearchStrategy[Any]:
    leaves = st.one_of(st.integers(), st.text(max_size=3), st.none(), st.sampled_from(pool))

    def extend(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.one_of(
            st.lists(inner, max_size=4),
            st.tuples(inner, inner),
            st.dictionaries(st.text(max_size=2), inner, max_size=3),
            st.builds(Config, st.sampled_from(pool), extra=inner),
            st.builds(lambda items: ClientList(items), st.lists(inner, max_size=3)),
        )

    return st.recursive(leaves, extend, max_leaves=12)


POOL = [Opaque(tag) for tag in range(3)]


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(structures(POOL))
def test_keep_agrees_with_the_preseeded_stdlib(impl: ModuleType, original: Any) -> None:
    container = [original, original]  # shared structure, copied once
    expected = copy.deepcopy(container, preseeded(list(POOL)))
    actual = impl.deepcopy(container, keep=Opaque)
    assert_same_copy(container, expected, actual)
    by_predicate = impl.deepcopy(container, keep=lambda obj: type(obj) is Opaque)
    assert_same_copy(container, expected, by_predicate)
