"""Stub for copykit._ccopy, the C twin of copykit._pycopy."""

from copy import Error as Error
from typing import Any

from copykit._pycopy import replace as replace

error = Error

def copy(x: Any) -> Any:
    """Return a shallow copy of ``x``, exactly as ``copy.copy`` does."""

def deepcopy(x: Any, memo: dict[int, Any] | None = None, _nil: Any = ...) -> Any:
    """Return a deep copy of ``x``, exactly as ``copy.deepcopy`` does."""
