#!/usr/bin/env bash
# Print the newest pyenv-installed CPython for each of 3.10-3.13, one path per line.
# A minor version that is not installed is reported on stderr and skipped.
set -euo pipefail

root="$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")"

for minor in 3.10 3.11 3.12 3.13; do
    version="$(find "$root/versions" -maxdepth 1 -regextype posix-extended \
        -regex ".*/${minor//./\\.}\.[0-9]+" -printf '%f\n' 2>/dev/null |
        sort -t. -k3,3n | tail -n 1)"
    if [[ -n "$version" && -x "$root/versions/$version/bin/python" ]]; then
        echo "$root/versions/$version/bin/python"
    else
        echo "interpreters: no CPython $minor under $root/versions" >&2
    fi
done
