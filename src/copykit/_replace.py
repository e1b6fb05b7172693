"""``replace``: the ``__replace__`` protocol (placeholder until the 3.13 backport lands)."""

from __future__ import annotations

from typing import Any


def replace(obj: Any, /, **changes: Any) -> Any:
    """Return a new object replacing specified fields with new values."""
    cls = obj.__class__
    func = getattr(cls, "__replace__", None)
    if func is None:
        raise TypeError(f"replace() does not support {cls.__name__} objects")
    return func(obj, **changes)
