"""copykit: the stdlib ``copy`` module, exactly, only faster.

``copy``, ``deepcopy``, ``replace`` and ``Error`` behave exactly like the running
interpreter's ``copy`` module. The C accelerator (``copykit._ccopy``) is used when it
was built; ``COPYKIT_PUREPYTHON=1`` in the environment forces the pure-Python twin
(``copykit._pycopy``). Both mirror the ``copy.py`` of CPython 3.10-3.15; on a newer CPython,
whose ``copy.py`` copykit cannot know, the stdlib's own functions are used and a
``RuntimeWarning`` says so, unless ``COPYKIT_UNTESTED_PYTHON=twin`` asks for the twins anyway
(``COPYKIT_UNTESTED_PYTHON=stdlib`` keeps the stdlib's without the warning).
``IMPLEMENTATION`` names the one in use: ``"c"``, ``"python"`` or ``"stdlib"``.
"""

from __future__ import annotations

import os as _os
import sys as _sys
from copy import Error
from types import ModuleType as _ModuleType

TYPE_CHECKING = False  # typing is not imported at run time: it costs ~10 ms
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Literal

    _Implementation = Literal["c", "python", "stdlib"]

__all__ = [
    "Error",
    "IMPLEMENTATION",
    "Template",
    "assert_independent",
    "copy",
    "deepcopy",
    "diagram",
    "error",
    "replace",
    "shared",
    "template",
]
__version__ = "0.1.0"

error = Error

# The newest CPython whose copy.py the twins mirror, and the variable that decides what a newer
# one gets: "twin" (the twins, untested), "stdlib" (the stdlib's functions, no warning); unset
# or anything else: the stdlib's functions and a RuntimeWarning.
_NEWEST_TESTED_PYTHON = (3, 15)
_UNTESTED_PYTHON_VARIABLE = "COPYKIT_UNTESTED_PYTHON"


def _untested_python_choice(environ: Mapping[str, str]) -> str:
    return environ.get(_UNTESTED_PYTHON_VARIABLE, "").strip().lower()


def _select_implementations(
    version: tuple[int, int], environ: Mapping[str, str]
) -> tuple[_Implementation, ...]:
    """Return the implementations to try, in order: the first that imports is used.

    On a tested CPython: the C module, then the pure twin (only the twin when
    COPYKIT_PUREPYTHON is set). On a newer one: the stdlib's own functions, unless
    COPYKIT_UNTESTED_PYTHON=twin opts in to the twins as on a tested one.
    """
    if version > _NEWEST_TESTED_PYTHON and _untested_python_choice(environ) != "twin":
        return ("stdlib",)
    if environ.get("COPYKIT_PUREPYTHON", "") not in ("", "0"):
        return ("python",)
    return ("c", "python")


def _untested_python_warning(version: tuple[int, int], environ: Mapping[str, str]) -> str | None:
    """Return the RuntimeWarning to give at import, or None: only when the stdlib's functions
    are used on an untested CPython without COPYKIT_UNTESTED_PYTHON having asked for them."""
    if _select_implementations(version, environ) != ("stdlib",):
        return None
    if _untested_python_choice(environ) == "stdlib":
        return None
    python = f"CPython {version[0]}.{version[1]}"
    return (
        f"copykit {__version__} has not been tested on {python} and uses the stdlib copy "
        f"module there (exact, not faster) until a release that knows {python}. Set "
        f"{_UNTESTED_PYTHON_VARIABLE}=twin to use copykit's own implementation anyway, or "
        f"{_UNTESTED_PYTHON_VARIABLE}=stdlib to keep the stdlib's without this warning."
    )


def _load_implementation() -> tuple[_ModuleType, _Implementation]:
    """The first of _select_implementations() that imports: the C module unless it is not
    built (then the twin; an error under COPYKIT_REQUIRE_C=1), the twin, or stdlib's copy."""
    version = (_sys.version_info[0], _sys.version_info[1])
    warning = _untested_python_warning(version, _os.environ)
    if warning is not None:
        import warnings

        warnings.warn(warning, RuntimeWarning, stacklevel=1)
    for name in _select_implementations(version, _os.environ):
        if name == "stdlib":
            import copy as stdlib_copy

            return stdlib_copy, "stdlib"
        if name == "c":
            try:
                from copykit import _ccopy
            except ImportError:
                if _os.environ.get("COPYKIT_REQUIRE_C") == "1":
                    raise
            else:
                return _ccopy, "c"
    from copykit import _pycopy  # "python", always the last choice, always imports

    return _pycopy, "python"


_implementation, IMPLEMENTATION = _load_implementation()
if TYPE_CHECKING:
    # Type checkers see the pure twin's signatures (the C module's stub says the same)
    # and the lazily loaded tools.
    from copykit._diagram import diagram
    from copykit._pycopy import Template, copy, deepcopy, replace, template
    from copykit.sharing import assert_independent, shared
else:
    copy = _implementation.copy
    deepcopy = _implementation.deepcopy
    if hasattr(_implementation, "template"):
        template = _implementation.template
        Template = _implementation.Template
    # copy.replace is new in 3.13: a stdlib without it (an interpreter that only claims to
    # be newer, as the tests make one) gets the twins' replace, which matches 3.13's.
    replace = getattr(_implementation, "replace", None)
    if replace is None:
        from copykit._replace import replace

del _load_implementation, _implementation

# The sharing and diagram tools load on first use, so `import copykit` stays cheap.
_LAZY_ATTRIBUTES = {
    "shared": "copykit.sharing",
    "assert_independent": "copykit.sharing",
    "diagram": "copykit._diagram",
    # The stdlib has no template(): on an untested CPython the pure twin's, on first use.
    "template": "copykit._pycopy",
    "Template": "copykit._pycopy",
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
