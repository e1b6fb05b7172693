"""``replace()`` with the behaviour of Python 3.13's ``copy.replace`` on every supported version.

``copy.replace`` (new in 3.13) looks ``__replace__`` up on the object's class and calls it.
On 3.13 the stdlib classes below define ``__replace__``; on 3.10-3.12 they do not, so this
module recognises them by type and reproduces what their 3.13 ``__replace__`` does, results
and error messages alike, without touching the classes themselves:

- named tuples (``collections.namedtuple`` and ``typing.NamedTuple``),
- dataclasses,
- ``datetime.date``, ``datetime.time`` and ``datetime.datetime`` (the C implementation),
- ``types.SimpleNamespace``,
- code objects,
- ``inspect.Signature`` and ``inspect.Parameter``,
- struct sequences (``time.struct_time``, ``os.terminal_size``, ``sys.flags``, ...).

The class hierarchy is searched in method resolution order, so a ``__replace__`` defined by
a class ahead of the stdlib class wins, exactly as the 3.13 attribute lookup would find it.
See docs/replace.md for the details and the few differences that cannot be reproduced.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing is not imported at run time: it costs import copykit ~10 ms
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["replace"]


def replace(obj: Any, /, **changes: Any) -> Any:
    """Return a new object replacing specified fields with new values.

    This is especially useful for immutable objects, like named tuples or
    frozen dataclasses.

    Creates a new object of the same type as *obj*, replacing fields with values
    from *changes*, as defined by the class's ``__replace__()`` method.
    Raises :exc:`TypeError` if the class of *obj* does not support ``replace()``.
    """
    cls = obj.__class__
    func = _find_replacer(cls)
    if func is None:
        raise TypeError(f"replace() does not support {cls.__name__} objects")
    return func(obj, **changes)


if sys.version_info >= (3, 13):

    def _find_replacer(cls: Any) -> Callable[..., Any] | None:
        """The class's ``__replace__``, or None: the stdlib classes define their own."""
        func: Callable[..., Any] | None = getattr(cls, "__replace__", None)
        return func

else:

    def _find_replacer(cls: Any) -> Callable[..., Any] | None:
        """What 3.13 would find as ``cls.__replace__``, or None (see _replace_backport)."""
        from copykit._replace_backport import find_replacer

        return find_replacer(cls)
