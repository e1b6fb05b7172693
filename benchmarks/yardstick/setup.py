"""Build the yardstick next to this file.

    python benchmarks/yardstick/setup.py build_ext --inplace

A tiny extension kept out of the copykit package on purpose; the runner finds it when it sits
in ``benchmarks/yardstick/`` (``python -m copykit bench --yardstick``).
"""

from __future__ import annotations

import os
from pathlib import Path

from setuptools import Extension, setup

HERE = Path(__file__).resolve().parent
os.chdir(HERE)  # --inplace puts the module next to its source, wherever we are called from

setup(
    name="copykit-yardstick",
    version="0",
    ext_modules=[
        Extension(
            "_yardstick",
            ["_yardstick.c"],
            extra_compile_args=["-O3", "-std=c11", "-Wall", "-Wextra"],
        )
    ],
)
