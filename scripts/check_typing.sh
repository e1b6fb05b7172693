#!/usr/bin/env bash
# Typing and lint gate: ruff (lint), mypy --strict on src and tests ([tool.mypy] in
# pyproject.toml), and stubtest: the inline types and the C module's stub checked against
# the runtime modules. stubtest needs src/copykit/_ccopy.pyi and the extension built in place
# (scripts/build_all.sh); without the stub it is skipped, unless COPYKIT_REQUIRE_C=1.
# Usage: scripts/check_typing.sh        (PYTHON=... picks the interpreter; default python3.11)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-/root/.pyenv/versions/3.11.7/bin/python}
ALLOWLIST="$ROOT/scripts/stubtest_allowlist.txt"
cd "$ROOT"
status=0

step() { printf '\n== %s\n' "$*"; }

step "ruff check"
"$PYTHON" -m ruff check src tests benchmarks scripts || status=1

step "mypy --strict (src and tests)"
"$PYTHON" -m mypy --strict || status=1

step "stubtest copykit"
if [[ ! -f src/copykit/_ccopy.pyi ]]; then
    echo "stubtest needs src/copykit/_ccopy.pyi (the C module's stub); it is missing"
    [[ ${COPYKIT_REQUIRE_C:-} == 1 ]] && status=1 || echo "SKIPPED (COPYKIT_REQUIRE_C is not 1)"
else
    PYTHONPATH="$ROOT/src" COPYKIT_PUREPYTHON= "$PYTHON" -m mypy.stubtest copykit \
        --allowlist "$ALLOWLIST" || status=1
fi

step "$([[ $status == 0 ]] && echo "typing checks passed" || echo "typing checks FAILED")"
exit "$status"
