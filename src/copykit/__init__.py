"""copykit: the stdlib ``copy`` module, exactly, only faster.

``copy``, ``deepcopy``, ``replace`` and ``Error`` behave exactly like the running
interpreter's ``copy`` module. The C accelerator (``copykit._ccopy``) is used when it
was built; ``COPYKIT_PUREPYTHON=1`` in the environment forces the pure-Python twin
(``copykit._pycopy``). ``IMPLEMENTATION`` names the one in use: ``"c"`` or ``"python"``.
"""

from __future__ import annotations

import os
from copy import Error
from typing import Literal

from copykit import _pycopy

__all__ = ["Error", "IMPLEMENTATION", "copy", "deepcopy", "error", "replace"]
__version__ = "0.1.0"

error = Error

IMPLEMENTATION: Literal["c", "python"]
if os.environ.get("COPYKIT_PUREPYTHON", "") not in ("", "0"):
    from copykit._pycopy import copy, deepcopy, replace

    IMPLEMENTATION = "python"
else:
    try:
        from copykit._ccopy import copy, deepcopy, replace
    except ImportError:
        if os.environ.get("COPYKIT_REQUIRE_C") == "1":
            raise
        from copykit._pycopy import copy, deepcopy, replace

        IMPLEMENTATION = "python"
    else:
        IMPLEMENTATION = "c"

del os, Literal, _pycopy
