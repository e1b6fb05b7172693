"""The benchmark workloads, for scripts under ``benchmarks/``.

The builders live in ``copykit._workloads`` so that ``python -m copykit bench`` works from an
installed package too; this module re-exports them so that the pyperf script (and anyone
exploring) can ``import workloads`` from here. Each workload has a ``name``, a ``build()`` that
returns a fresh, deterministic object, and the ``operation`` it measures (deepcopy or copy).
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import copykit  # noqa: F401 - installed, or on PYTHONPATH
except ImportError:  # a plain checkout: use its src/
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from copykit._workloads import (  # noqa: E402
    WORKLOADS,
    Workload,
    available_workloads,
    select,
)

__all__ = ["WORKLOADS", "Workload", "available_workloads", "select"]
