"""Stub for copykit._ccopy, the C twin of copykit._pycopy."""

from collections.abc import Callable
from copy import Error as Error
from typing import Any, final

from copykit._pycopy import replace as replace

error = Error

# True when the check at import found dict tables laid out as the C core reads them
# directly (always so on CPython 3.10-3.13); else dicts go through the C API.
_DICT_LAYOUT_VERIFIED: bool

def copy(x: Any) -> Any:
    """Return a shallow copy of ``x``, exactly as ``copy.copy`` does."""

def deepcopy(
    x: Any,
    memo: dict[int, Any] | None = None,
    _nil: Any = ...,
    *,
    keep: type | tuple[type, ...] | Callable[[Any], object] | None = None,
) -> Any:
    """Return a deep copy of ``x``, exactly as ``copy.deepcopy`` does."""

@final
class Template:
    """A factory of deep copies of one snapshot, made by ``template(x)``."""

    def __call__(self) -> Any: ...
    def many(self, n: int, /) -> list[Any]: ...
    def _by_plan(self) -> Any: ...
    def __copy__(self) -> Template: ...
    def __deepcopy__(self, memo: Any, /) -> Template: ...

def template(
    x: Any,
    *,
    keep: type | tuple[type, ...] | Callable[[Any], object] | None = None,
) -> Template:
    """Return a Template: calling it returns a deep copy of ``x`` as ``x`` was now."""
