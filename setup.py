"""Build script: the C accelerator is optional unless COPYKIT_REQUIRE_C=1."""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

REQUIRE_C = os.environ.get("COPYKIT_REQUIRE_C") == "1"
C_SOURCE = Path("src/copykit/_ccopy.c")
# Installed at the site-packages root, where site.py runs it: COPYKIT_PATCH=1 patches copy.
PATCH_PTH = Path("src/copykit-patch.pth")


class BuildPyWithPth(build_py):
    """Also put copykit-patch.pth at the root of the build, which becomes site-packages."""

    def run(self) -> None:
        super().run()
        if not self._editable():
            self.copy_file(str(PATCH_PTH), self._pth_output(), preserve_mode=False)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs: list[str] = super().get_outputs(include_bytecode)
        return outputs if self._editable() else [*outputs, self._pth_output()]

    def _pth_output(self) -> str:
        return str(Path(self.build_lib) / PATCH_PTH.name)

    def _editable(self) -> bool:
        # PEP 660 editable wheels link the sources instead; the .pth is not installed there.
        return bool(getattr(self, "editable_mode", False))


class CExtensionRequired(RuntimeError):
    """The C build failed while COPYKIT_REQUIRE_C=1 demands it."""


class OptionalBuildExt(build_ext):
    """Fall back to the pure-Python twin when the C build fails, loudly."""

    def run(self) -> None:
        try:
            super().run()
        except CExtensionRequired:
            raise
        except Exception as exc:  # noqa: BLE001 - any compiler failure
            self._fallback(exc)

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:  # noqa: BLE001 - any compiler failure
            self._fallback(exc)

    def _fallback(self, exc: Exception) -> None:
        if REQUIRE_C:
            raise CExtensionRequired(f"copykit: C extension failed to build: {exc}") from exc
        warnings.warn(
            f"copykit: C extension could not be built ({exc}); "
            "installing the pure-Python implementation only",
            stacklevel=1,
        )


def extensions() -> list[Extension]:
    if not C_SOURCE.exists():
        if REQUIRE_C:
            raise CExtensionRequired(f"copykit: COPYKIT_REQUIRE_C=1 but {C_SOURCE} is missing")
        return []
    debug = os.environ.get("COPYKIT_DEBUG_BUILD") == "1"
    sanitize = os.environ.get("COPYKIT_SANITIZE", "")
    compile_args = ["-O0", "-g3"] if debug else ["-O3"]
    if sys.platform.startswith("linux") and not debug:
        # calls into libpython through the GOT, not a PLT stub: one jump less per call,
        # about 2% on the benchmark workloads (docs/c-design.md)
        compile_args.append("-fno-plt")
    link_args: list[str] = []
    if sanitize:
        compile_args += [f"-fsanitize={sanitize}", "-fno-omit-frame-pointer"]
        link_args += [f"-fsanitize={sanitize}"]
    return [
        Extension(
            "copykit._ccopy",
            [str(C_SOURCE)],
            depends=[
                str(C_SOURCE.with_name(name))
                for name in ("_memotable.h", "_dictview.h", "_template.h")
            ],
            extra_compile_args=compile_args + ["-std=c11", "-Wall", "-Wextra"],
            extra_link_args=link_args,
            optional=not REQUIRE_C,
        )
    ]


setup(
    ext_modules=extensions(),
    cmdclass={"build_ext": OptionalBuildExt, "build_py": BuildPyWithPth},
    # MANIFEST.in puts the C sources in the sdist; the wheel needs only the built module.
    exclude_package_data={"copykit": ["*.c", "*.h"]},
)
