"""Process-wide patching of the stdlib ``copy`` module.

``enable()`` makes ``copy.copy`` and ``copy.deepcopy`` run copykit's implementation;
``disable()`` puts the stdlib code back; ``patched()`` does both around a ``with`` block.

How: the two stdlib function objects are patched *in place* by swapping their
``__code__`` for a two-line trampoline that calls copykit. Rebinding the module
attributes would miss every name bound earlier -- ``from copy import deepcopy`` in an
imported library (pydantic does this) and the ``deepcopy=deepcopy`` default arguments of
``copy.py``'s own helpers -- whereas all of those share the function object.

Trade-off, and what stays observable:

* The functions keep their identity, ``__name__``, ``__qualname__``, ``__doc__``,
  ``__defaults__``, ``__kwdefaults__``, ``__globals__`` and ``__module__``, so
  ``inspect.signature`` is unchanged. Nothing is added to ``copy``'s globals.
* ``__code__`` is the trampoline while enabled: its ``co_name`` (and ``co_qualname``) and
  parameters are the original's, but ``co_filename``/``co_firstlineno`` point here, so
  tracebacks and ``inspect.getsource`` honestly show this module, one frame deep.
* The trampoline reaches copykit through one of its own constants (``co_consts`` holds
  a namespace with the implementation's ``copy``/``deepcopy``), not through a global,
  a closure or a default argument -- the three places users can see or overwrite. The
  price is a code object that ``marshal`` cannot serialise; nothing marshals live code.
* Each top-level call pays for one extra Python frame (tens of nanoseconds); nested
  copies happen inside copykit and never come back through the stdlib functions.

On a CPython newer than copykit knows (``copykit.IMPLEMENTATION == "stdlib"``), copykit's
functions *are* the stdlib's, so there is nothing to patch: ``enable()`` leaves the stdlib
as it is and ``enabled()`` stays ``False``.
"""

from __future__ import annotations

import _thread
import copy as stdlib_copy
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import CodeType, FunctionType, SimpleNamespace
from typing import Any

__all__ = ["disable", "enable", "enabled", "patched"]

_TARGET_PLACEHOLDER = "copykit.patch: implementation"
_CO_FUTURE_ANNOTATIONS = 0x1000000  # __future__.annotations.compiler_flag
_CO_VARARGS = 0x04  # inspect.CO_VARARGS, without importing inspect at start-up
_CO_VARKEYWORDS = 0x08

_lock = _thread.allocate_lock()
_original_code: dict[FunctionType, CodeType] = {}


# The templates' code objects become the trampolines: the string constant is swapped for
# the implementation namespace. Parameter names must match copy.py's; the local after them
# does not show in the signature. ``_nil`` is passed on: copykit gives it the stdlib's
# meaning (the "not in the memo" marker), and the default is the stdlib function's own.
def _copy_template(x: Any) -> Any:
    implementation: Any = "copykit.patch: implementation"
    return implementation.copy(x)


if sys.version_info >= (3, 15):  # 3.15 dropped deepcopy's _nil parameter

    def _deepcopy_template(x: Any, memo: Any = None) -> Any:
        implementation: Any = "copykit.patch: implementation"
        return implementation.deepcopy(x, memo)

else:

    def _deepcopy_template(x: Any, memo: Any = None, _nil: Any = None) -> Any:
        implementation: Any = "copykit.patch: implementation"
        return implementation.deepcopy(x, memo, _nil)


def enable() -> None:
    """Make ``copy.copy`` and ``copy.deepcopy`` run copykit's implementation.

    Every reference to the two stdlib functions is affected, including names bound
    before the call. Calling it again while enabled does nothing. Raises
    ``RuntimeError`` if the stdlib functions were already replaced by someone else.
    Does nothing when ``copykit.IMPLEMENTATION`` is ``"stdlib"`` (an untested CPython):
    copykit's functions are then the stdlib's own.
    """
    import copykit

    if copykit.IMPLEMENTATION == "stdlib":
        return
    with _lock:
        if _original_code:
            return
        patches = _planned_patches()
        for function, trampoline in patches.items():
            _original_code[function] = function.__code__
            function.__code__ = trampoline


def disable() -> None:
    """Restore the stdlib's own ``copy.copy`` and ``copy.deepcopy`` code exactly.

    Does nothing when the patch is not enabled.
    """
    with _lock:
        while _original_code:
            function, code = _original_code.popitem()
            function.__code__ = code


def enabled() -> bool:
    """Return whether ``enable()`` is in effect."""
    return bool(_original_code)


@contextmanager
def patched() -> Iterator[None]:
    """Enable the patch for the duration of a ``with`` block, then restore the prior state.

    Nesting is safe: leaving an inner block does not disable an outer one. The state is
    process-wide, so other threads see the patch while the block runs.
    """
    was_enabled = enabled()
    enable()
    try:
        yield
    finally:
        if not was_enabled:
            disable()


def _planned_patches() -> dict[FunctionType, CodeType]:
    """Map each stdlib function to its trampoline; raise RuntimeError if unsafe to patch."""
    import copykit

    target = SimpleNamespace(copy=copykit.copy, deepcopy=copykit.deepcopy)
    pairs = ((stdlib_copy.copy, _copy_template), (stdlib_copy.deepcopy, _deepcopy_template))
    patches = {}
    for original, template in pairs:
        function = _stdlib_function(original)
        if getattr(target, function.__name__) is function:
            raise RuntimeError(f"copykit.{function.__name__} is the stdlib function itself")
        patches[function] = _trampoline(template.__code__, function.__code__, target)
    return patches


def _stdlib_function(candidate: object) -> FunctionType:
    """Return ``candidate`` if it is copy.py's own, unpatched function; else raise."""
    if not isinstance(candidate, FunctionType):
        raise RuntimeError(f"copy module function was replaced by {candidate!r}")
    # The file name, not the path: sourceless installs may keep the build machine's path.
    if os.path.basename(candidate.__code__.co_filename) != "copy.py":
        raise RuntimeError(f"{candidate.__qualname__} was already patched by someone else")
    return candidate


def _trampoline(template: CodeType, original: CodeType, target: object) -> CodeType:
    """Return ``template`` calling ``target``, named and shaped like ``original``."""
    _check_same_parameters(template, original)
    consts = tuple(target if _is_placeholder(const) else const for const in template.co_consts)
    if sum(map(_is_placeholder, template.co_consts)) != 1:
        raise RuntimeError("trampoline template has no unique implementation placeholder")
    code = template.replace(
        co_consts=consts,
        co_name=original.co_name,
        co_flags=template.co_flags & ~_CO_FUTURE_ANNOTATIONS,
    )
    if sys.version_info >= (3, 11):
        code = code.replace(co_qualname=original.co_qualname)
    return code


def _is_placeholder(const: object) -> bool:
    return type(const) is str and const == _TARGET_PLACEHOLDER


def _check_same_parameters(template: CodeType, original: CodeType) -> None:
    """Raise RuntimeError unless both code objects take the same parameters."""
    if _parameters(template) != _parameters(original):
        raise RuntimeError(f"copy.{original.co_name} has an unexpected signature")


def _parameters(code: CodeType) -> tuple[object, ...]:
    """What ``inspect.signature`` reads from a code object, plus its free variables."""
    star_args = bool(code.co_flags & _CO_VARARGS) + bool(code.co_flags & _CO_VARKEYWORDS)
    count = code.co_argcount + code.co_kwonlyargcount + star_args
    return (
        code.co_argcount,
        code.co_posonlyargcount,
        code.co_kwonlyargcount,
        star_args,
        code.co_varnames[:count],
        code.co_freevars,
    )
