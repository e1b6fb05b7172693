"""copykit: the stdlib ``copy`` module, exactly, only faster.

``copy``, ``deepcopy``, ``replace`` and ``Error`` behave exactly like the running
interpreter's ``copy`` module. The C accelerator (``copykit._ccopy``) is used when it
was built; ``COPYKIT_PUREPYTHON=1`` in the environment forces the pure-Python twin
(``copykit._pycopy``). ``IMPLEMENTATION`` names the one in use: ``"c"`` or ``"python"``.
"""

from __future__ import annotations

import os as _os
from copy import Error
from types import ModuleType as _ModuleType

TYPE_CHECKING = False  # typing is not imported at run time: it costs ~10 ms
if TYPE_CHECKING:
    from typing import Literal

__all__ = [
    "Error",
    "IMPLEMENTATION",
    "assert_independent",
    "copy",
    "deepcopy",
    "diagram",
    "error",
    "replace",
    "shared",
]
__version__ = "0.1.0"

error = Error


def _load_implementation() -> tuple[_ModuleType, Literal["c", "python"]]:
    """The C module unless COPYKIT_PUREPYTHON is set or it is not built (then the twin)."""
    if _os.environ.get("COPYKIT_PUREPYTHON", "") in ("", "0"):
        try:
            from copykit import _ccopy
        except ImportError:
            if _os.environ.get("COPYKIT_REQUIRE_C") == "1":
                raise
        else:
            return _ccopy, "c"
    from copykit import _pycopy

    return _pycopy, "python"


_implementation, IMPLEMENTATION = _load_implementation()
if TYPE_CHECKING:
    # Type checkers see the pure twin's signatures (the C module's stub says the same)
    # and the lazily loaded tools.
    from copykit._diagram import diagram
    from copykit._pycopy import copy, deepcopy, replace
    from copykit.sharing import assert_independent, shared
else:
    copy = _implementation.copy
    deepcopy = _implementation.deepcopy
    replace = _implementation.replace

del _load_implementation, _implementation

# The sharing and diagram tools load on first use, so `import copykit` stays cheap.
_LAZY_ATTRIBUTES = {
    "shared": "copykit.sharing",
    "assert_independent": "copykit.sharing",
    "diagram": "copykit._diagram",
}


def __getattr__(name: str) -> object:
    module_name = _LAZY_ATTRIBUTES.get(name)
    if module_name is None:
        raise AttributeError(f"module 'copykit' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
