"""replace(): Python 3.13's ``copy.replace`` on every version, results and messages alike.

The cases below are plain stdlib code. Their source is shipped to a Python 3.13 interpreter,
which runs them with ``copy.replace``; the running interpreter runs the same source with each
implementation's ``replace``, and every outcome (result or exception, with the constructor
calls the case recorded) must be the same. On 3.13 the cases are also compared in-process
with ``copy.replace``.
"""

from __future__ import annotations

import copy
import datetime
import inspect
import json
import os
import shutil
import subprocess
import sys
import time
import types
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# The oracle interpreter: COPYKIT_PYTHON_313, else pyenv's 3.13.0, else python3.13 on PATH.
PYTHON_313 = Path(
    os.environ.get("COPYKIT_PYTHON_313")
    or next(
        (
            candidate
            for candidate in ("/root/.pyenv/versions/3.13.0/bin/python", shutil.which("python3.13"))
            if candidate and Path(candidate).exists()
        ),
        "python3.13 (not found)",
    )
)
ON_313 = sys.version_info >= (3, 13)

Cases = dict[str, Callable[[], Any]]


def stdlib_replace() -> Callable[..., Any]:
    """``copy.replace``, which exists from 3.13 on."""
    replace: Callable[..., Any] = vars(copy)["replace"]
    return replace


# --- the cases: stdlib only, shipped as source to the 3.13 oracle ----------------------------


def protocol_cases(replace: Callable[..., Any], calls: list[str]) -> Cases:
    """User-defined ``__replace__`` and the objects nothing supports."""
    import datetime

    class Custom:
        def __replace__(self, **changes: Any) -> str:
            return f"custom {sorted(changes.items())}"

    class NotReplaceable:
        __replace__ = None

    class Plain:
        def __repr__(self) -> str:
            return "Plain()"

    class ComparingMeta(type):
        def __eq__(cls, other: object) -> bool:  # makes its classes unhashable, too
            calls.append("ComparingMeta.__eq__")
            return cls is other

    class UnhashableClass(Custom, metaclass=ComparingMeta):
        pass

    return {
        "custom_protocol": lambda: replace(Custom(), b=2, a=1),
        "replace_none_is_unsupported": lambda: replace(NotReplaceable()),
        "unhashable_class_is_not_compared": lambda: replace(UnhashableClass(), a=1),
        "plain_instance": lambda: replace(Plain()),
        "tuple": lambda: replace((1, 2)),
        "list": lambda: replace([1]),
        "int": lambda: replace(1),
        "none": lambda: replace(None),
        "frozenset": lambda: replace(frozenset()),
        "class_object": lambda: replace(Custom),
        "function": lambda: replace(len),
        "timedelta": lambda: replace(datetime.timedelta(1), days=2),
        "timezone": lambda: replace(datetime.timezone.utc),
        "range": lambda: replace(range(3), start=1),
    }


def namedtuple_cases(replace: Callable[..., Any], calls: list[str]) -> Cases:
    """collections.namedtuple and typing.NamedTuple, their subclasses and look-alikes."""
    import collections
    import typing

    Point = collections.namedtuple("Point", "x y")

    class TypedPoint(typing.NamedTuple):
        x: int
        y: int = 0

    class OverridesReplaceMethod(Point):
        def _replace(self, /, **changes: Any) -> str:  # type: ignore[override]
            return "subclass _replace"

    class OverridesMake(Point):
        @classmethod
        def _make(cls, iterable: Any) -> Any:  # type: ignore[override]
            calls.append("_make")
            return super()._make(iterable)

    class OwnReplace(Point):
        def __replace__(self, **changes: Any) -> str:
            return "own __replace__"

    class ReplaceMixin:
        def __replace__(self, **changes: Any) -> str:
            return "mixin __replace__"

    class MixinAfter(Point, ReplaceMixin):
        pass

    class MixinFirst(ReplaceMixin, Point):
        pass

    class LookAlike(tuple):  # type: ignore[type-arg]
        _fields = ("x",)

        def _replace(self, **changes: Any) -> str:
            return "look-alike"

    class Impostor:
        @property  # type: ignore[misc]
        def __class__(self) -> type:
            return Point

    class PropertyMeta(type):
        @property
        def __replace__(cls) -> Callable[..., str]:
            return lambda obj, **changes: "metaclass property"

    class MethodMeta(type):
        def __replace__(cls, **changes: Any) -> str:
            return "metaclass method"

    class UnderPropertyMeta(Point, metaclass=PropertyMeta):
        pass

    class UnderMethodMeta(Point, metaclass=MethodMeta):
        pass

    class PlainUnderMethodMeta(metaclass=MethodMeta):
        pass

    return {
        "namedtuple_field": lambda: replace(Point(1, 2), x=3),
        "namedtuple_no_changes": lambda: replace(Point(1, 2)),
        "namedtuple_unknown_fields": lambda: replace(Point(1, 2), z=3, x=5, w=0),
        "typing_namedtuple": lambda: replace(TypedPoint(1), y=5),
        "subclass_keeps_base_replace": lambda: replace(OverridesReplaceMethod(1, 2), y=0),
        "subclass_make_is_used": lambda: replace(OverridesMake(1, 2), y=0),
        "subclass_own___replace__": lambda: replace(OwnReplace(1, 2), y=0),
        "namedtuple_ahead_of_mixin": lambda: replace(MixinAfter(1, 2), y=0),
        "mixin_ahead_of_namedtuple": lambda: replace(MixinFirst(1, 2), y=0),
        "tuple_with_fields_is_unsupported": lambda: replace(LookAlike((1,)), x=2),
        "namedtuple_class_is_unsupported": lambda: replace(Point, x=1),
        "__class___claims_namedtuple": lambda: replace(Impostor(), x=1),
        "metaclass_data_descriptor_first": lambda: replace(UnderPropertyMeta(1, 2), x=3),
        "metaclass_method_after_namedtuple": lambda: replace(UnderMethodMeta(1, 2), x=3),
        "metaclass_method_last": lambda: replace(PlainUnderMethodMeta(), x=3),
    }


def dataclass_cases(replace: Callable[..., Any], calls: list[str]) -> Cases:
    """Dataclasses: init=False fields, InitVars, ClassVars, frozen, slots, subclasses."""
    import dataclasses
    import typing

    @dataclasses.dataclass
    class Pair:
        x: int
        y: int = 0

    @dataclasses.dataclass(frozen=True)
    class Frozen:
        x: int

    @dataclasses.dataclass
    class Derived:
        x: int
        double: int = dataclasses.field(init=False)
        tag: typing.ClassVar[str] = "tag"

        def __post_init__(self) -> None:
            calls.append(f"__post_init__ x={self.x}")
            self.double = 2 * self.x

    @dataclasses.dataclass
    class Scaled:
        x: int
        scale: dataclasses.InitVar[int]
        offset: dataclasses.InitVar[int] = 0

        def __post_init__(self, scale: int, offset: int) -> None:
            self.x = self.x * scale + offset

    @dataclasses.dataclass(slots=True)
    class Slotted:
        x: int

    class PlainSubclass(Pair):
        pass

    class OwnReplace(Pair):
        def __replace__(self, **changes: Any) -> str:
            return "own __replace__"

    @dataclasses.dataclass
    class DataclassOverOwnReplace(OwnReplace):
        z: int = 0

    return {
        "dataclass_field": lambda: replace(Pair(1, 2), y=5),
        "dataclass_no_changes": lambda: replace(Pair(1, 2)),
        "dataclass_unknown_field": lambda: replace(Pair(1, 2), z=1),
        "frozen": lambda: replace(Frozen(1), x=2),
        "init_false_field_given": lambda: replace(Derived(1), double=5),
        "init_false_field_recomputed": lambda: replace(Derived(1), x=4),
        "classvar_given": lambda: replace(Derived(1), tag="other"),
        "initvar_missing": lambda: replace(Scaled(1, 2)),
        "initvar_given": lambda: replace(Scaled(1, 2), scale=3),
        "initvar_with_default": lambda: replace(Scaled(1, 2), scale=3, offset=1),
        "slots": lambda: replace(Slotted(1), x=2),
        "plain_subclass": lambda: replace(PlainSubclass(1, 2), x=3),
        "subclass_own___replace__": lambda: replace(OwnReplace(1, 2), x=3),
        "dataclass_over_own___replace__": lambda: replace(DataclassOverOwnReplace(1), z=3),
    }


def datetime_cases(replace: Callable[..., Any], calls: list[str]) -> Cases:
    """date, time and datetime: exact types, subclasses, conversions and keyword errors."""
    from datetime import date, time, timezone
    from datetime import datetime as dt

    class Day(date):
        def __new__(cls, *args: Any, **kwargs: Any) -> Any:
            calls.append(f"Day{args}{kwargs}")
            return super().__new__(cls, 2000, 1, min(args[1], 12))

        def replace(self, **changes: Any) -> str:  # type: ignore[override]
            return "subclass replace"

        @property
        def year(self) -> int:
            return -1

    class Moment(dt):
        def __new__(cls, *args: Any, **kwargs: Any) -> Any:
            calls.append(f"Moment{args}{kwargs}")
            return super().__new__(cls, *args[:7], fold=kwargs.get("fold", 0) % 2)

    class Clock(time):
        def __new__(cls, *args: Any, **kwargs: Any) -> Any:
            calls.append(f"Clock{args}{kwargs}")
            return super().__new__(cls, *args[:4], fold=kwargs.get("fold", 0) % 2)

    class Index:
        def __index__(self) -> int:
            return 5

    day, moment = date(2000, 1, 2), dt(2000, 1, 2, 3, 4, 5, 6)
    utc = timezone.utc
    return {
        "date_field": lambda: replace(day, year=2001),
        "date_no_changes": lambda: replace(day),
        "date_unknown_keyword": lambda: replace(day, zz=1, month=2, aa=3),
        "date_too_many_keywords": lambda: replace(day, year=1, month=1, day=1, zz=1),
        "date_out_of_range": lambda: replace(day, day=99, month=13),
        "date_float": lambda: replace(day, day="x", month=1.5),
        "date_index": lambda: replace(day, month=Index()),
        "date_bool": lambda: replace(day, month=True),
        "date_c_int_overflow": lambda: replace(day, year=2**31),
        "date_c_int_underflow": lambda: replace(day, year=-(2**31) - 1),
        "date_subclass_constructor": lambda: replace(Day(2000, 1, 1), day=9),
        "date_subclass_range_left_to_constructor": lambda: replace(Day(2000, 1, 1), month=13),
        "datetime_field": lambda: replace(moment, hour=23, tzinfo=utc),
        "datetime_fold": lambda: replace(moment, fold=1).fold,
        "datetime_bad_fold": lambda: replace(moment, fold=2),
        "datetime_bad_tzinfo": lambda: replace(moment, tzinfo=1),
        "datetime_unknown_keyword": lambda: replace(moment, zone=utc),
        "datetime_too_many_keywords": lambda: replace(
            moment,
            year=1,
            month=1,
            day=1,
            hour=1,
            minute=1,
            second=1,
            microsecond=1,
            tzinfo=None,
            fold=0,
            zz=1,
        ),  # fmt: skip
        "datetime_subclass_fold_0": lambda: replace(Moment(2000, 1, 2), tzinfo=utc),
        "datetime_subclass_fold_keyword": lambda: replace(Moment(2000, 1, 2), fold=3),
        "time_field": lambda: replace(time(1, 2), minute=30, tzinfo=utc),
        "time_bad_fold": lambda: replace(time(1), fold=-1),
        "time_bad_hour_and_fold": lambda: replace(time(1), fold=2, hour=-1),
        "datetime_bad_day_and_fold": lambda: replace(moment, fold=2, day=32),
        "time_unknown_keyword": lambda: replace(time(1), year=1),
        "time_subclass_fold_keyword": lambda: replace(Clock(1), fold=1, hour=2),
    }


def namespace_cases(replace: Callable[..., Any], calls: list[str]) -> Cases:
    """types.SimpleNamespace and subclasses."""
    from types import SimpleNamespace

    class Recording(SimpleNamespace):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            calls.append(f"__init__{args}{kwargs}")
            super().__init__(made=True)

        def __setattr__(self, name: str, value: Any) -> None:
            calls.append(f"__setattr__ {name}")
            super().__setattr__(name, value)

    class NeedsArgument(SimpleNamespace):
        def __init__(self, value: int) -> None:
            super().__init__(value=value)

    recording = Recording()
    recording.kept = 1
    return {
        "namespace_added": lambda: vars(replace(SimpleNamespace(a=1), b=2)),
        "namespace_changed": lambda: replace(SimpleNamespace(a=1, b=2), a=5),
        "namespace_no_changes": lambda: replace(SimpleNamespace(a=1)),
        "namespace_subclass": lambda: (type(replace(recording, b=2)).__name__, vars(recording)),
        "namespace_subclass_dict": lambda: vars(replace(recording, made=False)),
        "namespace_subclass_needs_argument": lambda: replace(NeedsArgument(1), value=2),
    }


def code_and_signature_cases(replace: Callable[..., Any], calls: list[str]) -> Cases:
    """Code objects, inspect.Signature and inspect.Parameter."""
    import inspect

    def sample(a: int, b: str = "b") -> None:
        pass

    code = sample.__code__
    signature = inspect.signature(sample)
    parameter = signature.parameters["a"]

    class MySignature(inspect.Signature):
        def replace(self, **changes: Any) -> str:  # type: ignore[override]
            return "subclass replace"

    return {
        "code_name": lambda: replace(code, co_name="renamed").co_name,
        "code_unknown_keyword": lambda: replace(code, co_name="x", co_zz=1),
        "code_wrong_type": lambda: replace(code, co_name=1),
        "signature_return_annotation": lambda: str(replace(signature, return_annotation=int)),
        "signature_unknown_keyword": lambda: replace(signature, params=()),
        "signature_subclass_keeps_base_replace": lambda: str(
            replace(MySignature.from_callable(sample), return_annotation=None)
        ),
        "parameter_name": lambda: str(replace(parameter, name="z")),
        "parameter_bad_name": lambda: replace(parameter, name="1z"),
        "parameter_unknown_keyword": lambda: replace(parameter, type=int),
    }


def struct_sequence_cases(replace: Callable[..., Any], calls: list[str]) -> Cases:
    """Struct sequences: visible and invisible fields, unnamed fields, uninstantiable types."""
    import os
    import sys
    import time

    moment = time.struct_time((2000, 1, 2, 3, 4, 5, 6, 2, 0), {"tm_zone": "UTC", "tm_gmtoff": 0})
    return {
        "struct_time_field": lambda: replace(moment, tm_year=1999),
        "struct_time_invisible_field": lambda: replace(moment, tm_zone="XYZ").tm_zone,
        "struct_time_invisible_kept": lambda: replace(moment, tm_year=1).tm_gmtoff,
        "struct_time_no_changes": lambda: replace(moment),
        "struct_time_unknown_fields": lambda: replace(moment, zz=1, tm_year=2, aa=3),
        "stat_result_has_unnamed_fields": lambda: replace(os.stat_result((0,) * 10)),
        "terminal_size": lambda: replace(os.terminal_size((80, 24)), lines=5),
        "float_info": lambda: replace(sys.float_info, dig=3).dig,
        "flags_uninstantiable": lambda: replace(sys.flags, debug=7).debug,
        "flags_type_kept": lambda: type(replace(sys.flags)) is type(sys.flags),
        "version_info_uninstantiable": lambda: replace(sys.version_info, major=2, minor=7)[:2],
        "version_info_unknown_field": lambda: replace(sys.version_info, patch=1),
    }


def impostor_cases(replace: Callable[..., Any], calls: list[str]) -> Cases:
    """Objects whose ``__class__`` names a stdlib class that is not their type."""
    import datetime
    import sys
    import time
    import types
    from functools import partial
    from unittest import mock

    def impostor(claimed: type) -> Any:
        class Impostor:
            @property  # type: ignore[misc]
            def __class__(self) -> type:
                return claimed

        return Impostor()

    claimed_classes = {
        "date": datetime.date,
        "datetime": datetime.datetime,
        "time": datetime.time,
        "namespace": types.SimpleNamespace,
        "code": types.CodeType,
        "struct_time": time.struct_time,
        "flags": type(sys.flags),
    }
    cases: Cases = {
        f"impostor_{name}": partial(replace, impostor(cls), x=1)
        for name, cls in claimed_classes.items()
    }
    cases["mock_with_date_spec"] = lambda: replace(mock.Mock(spec=datetime.date), year=1)
    cases["mock_with_timedelta_spec"] = lambda: replace(mock.Mock(spec=datetime.timedelta))
    return cases


CASE_FAMILIES = (
    protocol_cases,
    impostor_cases,
    namedtuple_cases,
    dataclass_cases,
    datetime_cases,
    namespace_cases,
    code_and_signature_cases,
    struct_sequence_cases,
)


def describe(thunk: Callable[[], Any], calls: list[str]) -> str:
    """What running *thunk* does: its result or exception, and the calls it recorded."""
    calls.clear()
    try:
        result = thunk()
    except Exception as exc:
        outcome = f"raises {type(exc).__name__}: {exc}"
    else:
        outcome = f"returns {type(result).__name__}: {result!r}"
    return f"{outcome}; calls {calls}" if calls else outcome


CASES_SOURCE = "\n\n".join(
    [
        "from __future__ import annotations\n"
        "import dataclasses\n"
        "import typing\n"
        "from collections.abc import Callable\n"
        "from typing import Any\n"
        "Cases = dict[str, Callable[[], Any]]",
        *(inspect.getsource(family) for family in CASE_FAMILIES),
        inspect.getsource(describe),
        "CASE_FAMILIES = (" + ", ".join(family.__name__ for family in CASE_FAMILIES) + ")",
        "def run_cases(replace):\n"
        "    calls = []\n"
        "    return {\n"
        "        f'{family.__name__}.{name}': describe(thunk, calls)\n"
        "        for family in CASE_FAMILIES\n"
        "        for name, thunk in family(replace, calls).items()\n"
        "    }",
    ]
)

ORACLE_SCRIPT = """
import copy, json, sys, types
module = types.ModuleType("replace_cases")
sys.modules[module.__name__] = module
exec(compile(sys.stdin.read(), "<replace cases>", "exec", dont_inherit=True), module.__dict__)
print(json.dumps(module.run_cases(copy.replace)))
"""


def run_cases(replace: Callable[..., Any]) -> dict[str, str]:
    """Every case's outcome with *replace*, from the same source the oracle runs."""
    module = types.ModuleType("replace_cases")
    sys.modules[module.__name__] = module
    try:
        code = compile(CASES_SOURCE, "<replace cases>", "exec", dont_inherit=True)
        exec(code, module.__dict__)
        outcomes: dict[str, str] = module.run_cases(replace)
    finally:
        del sys.modules[module.__name__]
    return outcomes


def case_names() -> Iterator[str]:
    """The cases' names, ``family.case``; the cases themselves are not run."""
    calls: list[str] = []
    for family in CASE_FAMILIES:
        for name in family(copy.copy, calls):
            yield f"{family.__name__}.{name}"


CASE_NAMES = list(case_names())


@pytest.fixture(scope="module")
def outcomes_313() -> dict[str, str]:
    """The cases run by Python 3.13 with ``copy.replace``."""
    if not PYTHON_313.exists():
        pytest.skip(f"Python 3.13 oracle not installed ({PYTHON_313}); set COPYKIT_PYTHON_313")
    completed = subprocess.run(
        [str(PYTHON_313), "-c", ORACLE_SCRIPT],
        input=CASES_SOURCE,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": ""},
    )
    outcomes: dict[str, str] = json.loads(completed.stdout)
    return outcomes


@pytest.fixture(scope="module")
def outcomes_by_implementation() -> dict[str, dict[str, str]]:
    """Cache: each implementation's outcomes, keyed by module name."""
    return {}


def outcomes_of(impl: ModuleType, cache: dict[str, dict[str, str]]) -> dict[str, str]:
    if impl.__name__ not in cache:
        cache[impl.__name__] = run_cases(impl.replace)
    return cache[impl.__name__]


def test_oracle_runs_every_case(outcomes_313: dict[str, str]) -> None:
    assert sorted(outcomes_313) == sorted(CASE_NAMES)


def test_no_case_fails_for_a_missing_name(outcomes_313: dict[str, str]) -> None:
    broken = {case: text for case, text in outcomes_313.items() if "NameError" in text}
    assert broken == {}


@pytest.mark.parametrize("case", CASE_NAMES)
def test_same_outcome_as_python_313(
    impl: ModuleType,
    case: str,
    outcomes_313: dict[str, str],
    outcomes_by_implementation: dict[str, dict[str, str]],
) -> None:
    assert outcomes_of(impl, outcomes_by_implementation)[case] == outcomes_313[case]


@pytest.mark.skipif(not ON_313, reason="copy.replace exists from Python 3.13")
@pytest.mark.parametrize("case", CASE_NAMES)
def test_same_outcome_as_copy_replace_in_process(
    impl: ModuleType, case: str, outcomes_by_implementation: dict[str, dict[str, str]]
) -> None:
    stdlib_outcomes = outcomes_by_implementation.setdefault("copy", run_cases(stdlib_replace()))
    assert outcomes_of(impl, outcomes_by_implementation)[case] == stdlib_outcomes[case]


# --- properties of the running interpreter's own types ---------------------------------------


def struct_sequence_samples() -> dict[str, tuple[Any, ...]]:
    """One instance of each struct sequence type this interpreter can readily make."""
    samples: dict[str, tuple[Any, ...]] = {
        "struct_time": time.localtime(),
        "terminal_size": os.terminal_size((80, 24)),
        "statvfs_result": os.statvfs("."),
        "uname_result": os.uname(),
        "times_result": os.times(),
        "flags": sys.flags,
        "version_info": sys.version_info,
        "float_info": sys.float_info,
        "int_info": sys.int_info,
        "hash_info": sys.hash_info,
        "thread_info": sys.thread_info,
        "asyncgen_hooks": sys.get_asyncgen_hooks(),
    }
    return samples


STRUCT_SEQUENCES = struct_sequence_samples()


def all_fields(obj: tuple[Any, ...]) -> dict[str, Any]:
    """Every named field of a struct sequence, the invisible ones included."""
    cls = type(obj)
    return {
        name: value.__get__(obj, cls)
        for name, value in vars(cls).items()
        if isinstance(value, types.MemberDescriptorType)
    }


@pytest.mark.parametrize("sample", STRUCT_SEQUENCES.values(), ids=STRUCT_SEQUENCES.keys())
def test_struct_sequence_copy_keeps_every_field(impl: ModuleType, sample: tuple[Any, ...]) -> None:
    result = impl.replace(sample)
    assert (type(result), result, all_fields(result)) == (type(sample), sample, all_fields(sample))


@pytest.mark.parametrize("sample", STRUCT_SEQUENCES.values(), ids=STRUCT_SEQUENCES.keys())
def test_struct_sequence_replaces_its_last_field(impl: ModuleType, sample: tuple[Any, ...]) -> None:
    last = list(all_fields(sample))[-1]
    assert getattr(impl.replace(sample, **{last: "new"}), last) == "new"


@pytest.mark.skipif(ON_313, reason="3.13's sys.flags has its own __replace__, no ctypes involved")
def test_uninstantiable_struct_sequence_without_ctypes_raises_constructor_error(
    impl: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    from copykit import _replace_backport as _replace

    monkeypatch.setitem(sys.modules, "ctypes", None)
    _replace._struct_sequence_api.cache_clear()
    try:
        with pytest.raises(TypeError, match="^cannot create 'sys.flags' instances$"):
            impl.replace(sys.flags, debug=1)
    finally:
        _replace._struct_sequence_api.cache_clear()


def sample_code() -> types.CodeType:
    return (lambda value: value).__code__


def current_value(code: types.CodeType, name: str) -> Any:
    """``getattr(code, name)``, quietly: co_lnotab is deprecated from 3.12."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return getattr(code, name)


def accepted_by_code_replace(name: str) -> bool:
    code = sample_code()
    try:
        code.replace(**{name: current_value(code, name)})
    except TypeError:
        return False
    return True


CODE_ATTRIBUTES = [name for name in dir(sample_code()) if name.startswith("co_")]


@pytest.mark.parametrize("name", CODE_ATTRIBUTES)
def test_code_keyword_accepted_as_by_code_replace(impl: ModuleType, name: str) -> None:
    code = sample_code()
    try:
        impl.replace(code, **{name: current_value(code, name)})
    except TypeError:
        accepted = False
    else:
        accepted = True
    assert accepted == accepted_by_code_replace(name)


def test_code_too_many_keywords_counted_as_by_code_replace(impl: ModuleType) -> None:
    changes: dict[str, Any] = {f"co_unknown_{index}": 0 for index in range(40)}
    with pytest.raises(TypeError) as by_code_replace:
        sample_code().replace(**changes)
    with pytest.raises(TypeError) as by_impl:
        impl.replace(sample_code(), **changes)
    assert str(by_impl.value) == str(by_code_replace.value)


STDLIB_CLASSES = [
    datetime.date,
    datetime.time,
    datetime.datetime,
    types.SimpleNamespace,
    types.CodeType,
    inspect.Signature,
    inspect.Parameter,
    time.struct_time,
    type(sys.flags),
]


@pytest.mark.skipif(ON_313, reason="3.13's stdlib classes define __replace__ themselves")
@pytest.mark.parametrize("cls", STDLIB_CLASSES, ids=lambda cls: cls.__name__)
def test_stdlib_class_left_without___replace__(impl: ModuleType, cls: type) -> None:
    impl.replace(datetime.date(2000, 1, 1), year=2001)
    impl.replace(sys.flags, debug=1)
    assert not hasattr(cls, "__replace__")


def test_replace_is_the_shared_python_function(impl: ModuleType) -> None:
    from copykit._replace import replace

    assert impl.replace is replace


# --- Hypothesis: date/time/datetime keywords, against copy.replace or the C replace() ---------

C_INT_VALUES = st.integers(min_value=-(2**31), max_value=2**31 - 1)
SMALL_VALUES = st.integers(min_value=-2, max_value=10000)
DATE_KEYWORDS = st.dictionaries(
    st.sampled_from(["year", "month", "day"]), st.one_of(SMALL_VALUES, C_INT_VALUES)
)
# Valid folds only: 3.10-3.12's replace() checks fold before the other fields, 3.13 after
# them (the case time_bad_hour_and_fold pins 3.13's order).
TIME_KEYWORDS = st.fixed_dictionaries(
    {},
    optional={
        **dict.fromkeys(
            ["hour", "minute", "second", "microsecond"], st.one_of(SMALL_VALUES, C_INT_VALUES)
        ),
        "fold": st.sampled_from([0, 1]),
    },
)


def outcome(call: Callable[[], Any]) -> tuple[str, str]:
    try:
        return ("returns", repr(call()))
    except (TypeError, ValueError, OverflowError) as exc:
        return (type(exc).__name__, str(exc))


def reference_replace(obj: Any, changes: dict[str, int]) -> tuple[str, str]:
    """3.13's copy.replace; before 3.13, the type's own replace().

    Before 3.13 it agrees with 3.13 on C ints and valid folds, the examples generated here.
    """
    if ON_313:
        return outcome(lambda: stdlib_replace()(obj, **changes))
    return outcome(lambda: obj.replace(**changes))


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # impl is stateless
@given(changes=DATE_KEYWORDS)
def test_date_keywords_as_reference(impl: ModuleType, changes: dict[str, int]) -> None:
    obj = datetime.date(2000, 2, 29)
    assert outcome(lambda: impl.replace(obj, **changes)) == reference_replace(obj, changes)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # impl is stateless
@given(changes=st.one_of(DATE_KEYWORDS, TIME_KEYWORDS))
def test_datetime_keywords_as_reference(impl: ModuleType, changes: dict[str, int]) -> None:
    obj = datetime.datetime(2000, 2, 29, 23, 59, 59, 999999)
    assert outcome(lambda: impl.replace(obj, **changes)) == reference_replace(obj, changes)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # impl is stateless
@given(changes=TIME_KEYWORDS)
def test_time_keywords_as_reference(impl: ModuleType, changes: dict[str, int]) -> None:
    obj = datetime.time(23, 59, 59, 999999, fold=1)
    assert outcome(lambda: impl.replace(obj, **changes)) == reference_replace(obj, changes)
