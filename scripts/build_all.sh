#!/usr/bin/env bash
# Build the C extension in place for every pyenv CPython 3.10-3.13 that is installed.
# Each build drops a version-tagged .so (e.g. _ccopy.cpython-312-x86_64-linux-gnu.so) into
# src/copykit/, side by side, so PYTHONPATH=src works with any of those interpreters.
# setuptools is installed into interpreters that lack it (3.12+ ship without it).
# COPYKIT_REQUIRE_C=1 (from the environment) makes a failed C build fail this script.
# 3.14 and 3.15 build in the Debian sid chroot instead: scripts/sid_pythons.sh (.ci/run).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
built=0

has_setuptools() {  # setuptools >= 61 reads the [project] table of pyproject.toml
    "$1" -c 'import setuptools, sys; sys.exit(int(setuptools.__version__.split(".")[0]) < 61)' \
        2>/dev/null
}

while read -r python; do
    if ! has_setuptools "$python"; then
        echo "build_all: installing setuptools for $python"
        PIP_ROOT_USER_ACTION=ignore "$python" -m pip install --quiet \
            --disable-pip-version-check 'setuptools>=61'
    fi
    echo "build_all: building for $python"
    (cd "$repo" && "$python" setup.py --quiet build_ext --inplace)
    built=$((built + 1))
done < <(bash "$repo/scripts/interpreters.sh")

echo "build_all: built for $built interpreter(s)"
ls "$repo"/src/copykit/*.so 2>/dev/null || echo "build_all: no C extension built (no _ccopy.c?)"
