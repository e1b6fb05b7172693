#!/usr/bin/env bash
# Build the C extension in place for every pyenv CPython 3.10-3.13 that is installed.
# Each build drops a version-tagged .so (e.g. _ccopy.cpython-312-x86_64-linux-gnu.so) into
# src/copykit/, side by side, so PYTHONPATH=src works with any of those interpreters.
# setuptools is installed into interpreters that lack it (3.12+ ship without it).
# COPYKIT_REQUIRE_C=1 (from the environment) makes a failed C build fail this script.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
root="$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")"
built=0

newest_patch() {  # newest X.Y.Z directory for one minor version, or nothing
    find "$root/versions" -maxdepth 1 -regextype posix-extended \
        -regex ".*/$1\.[0-9]+" -printf '%f\n' 2>/dev/null | sort -t. -k3,3n | tail -n 1
}

has_setuptools() {  # setuptools >= 61 reads the [project] table of pyproject.toml
    "$1" -c 'import setuptools, sys; sys.exit(int(setuptools.__version__.split(".")[0]) < 61)' \
        2>/dev/null
}

for minor in 3.10 3.11 3.12 3.13; do
    version="$(newest_patch "$minor")"
    if [[ -z "$version" ]]; then
        echo "build_all: no CPython $minor under $root/versions, skipped"
        continue
    fi
    python="$root/versions/$version/bin/python"
    if ! has_setuptools "$python"; then
        echo "build_all: installing setuptools for $version"
        PIP_ROOT_USER_ACTION=ignore "$python" -m pip install --quiet --disable-pip-version-check 'setuptools>=61'
    fi
    echo "build_all: building for $version"
    (cd "$repo" && "$python" setup.py --quiet build_ext --inplace)
    built=$((built + 1))
done

echo "build_all: built for $built interpreter(s)"
ls "$repo"/src/copykit/*.so 2>/dev/null || echo "build_all: no C extension built (no _ccopy.c?)"
