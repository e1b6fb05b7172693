#!/usr/bin/env bash
# Build the C extension with AddressSanitizer + UndefinedBehaviorSanitizer (and/or run it
# under valgrind memcheck) and run the tests that exercise it; report clean or not.
#
#   scripts/sanitize.sh [asan|valgrind|all]      (default: asan)
#
# PYTHON (default python3) picks the interpreter. The build happens in a scratch copy of
# this checkout, so the normal in-place build in src/ is left alone.
#
# asan: COPYKIT_SANITIZE=address,undefined COPYKIT_DEBUG_BUILD=1; python itself is not
#   instrumented, so libasan is LD_PRELOADed; PYTHONMALLOC=malloc routes every object
#   through malloc, so ASan sees overflows and use-after-free of Python objects too (pymalloc
#   arenas would hide them). detect_leaks=0: the interpreter does not free everything at
#   exit, so LeakSanitizer would report CPython's own allocations; leaks are measured by
#   tests/test_leaks.py and tests/test_nomemory.py instead. UBSan halts on the first report.
#   Runs: CPython's own test_copy.py against the C module, the allocation-failure sweep,
#   the hardening tests and the semantic suites (C parameters; children inherit the
#   preload).
# valgrind: the -O0 -g build under memcheck (PYTHONMALLOC=malloc) over CPython's test_copy.py
#   the hostile scenarios and the allocation-failure sweep, failing on any memcheck error
#   with a frame in copykit's C
#   (leak checking off, as above).
set -euo pipefail

mode="${1:-asan}"
# The real binary, not a pyenv shim (a bash script: valgrind would trace bash).
python="$("${PYTHON:-python3}" -c 'import os, sys; print(os.path.realpath(sys.executable))')"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
scratch="$(mktemp -d "${TMPDIR:-/tmp}/copykit-sanitize.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
status=0

copy_checkout() {
    tar -C "$repo" --exclude=.git --exclude='*.so' --exclude=build --exclude=__pycache__ \
        --exclude=.hypothesis -cf - . | tar -C "$scratch" -xf -
}

build() {  # $1: value for COPYKIT_SANITIZE ("" for none)
    echo "sanitize: building with COPYKIT_SANITIZE='$1' COPYKIT_DEBUG_BUILD=1 ($python)"
    (cd "$scratch" && rm -f src/copykit/*.so &&
        COPYKIT_REQUIRE_C=1 COPYKIT_SANITIZE="$1" COPYKIT_DEBUG_BUILD=1 \
            "$python" setup.py --quiet build_ext --inplace --force >"$scratch/build.log" 2>&1) || {
        cat "$scratch/build.log"
        return 1
    }
}

asan_canary() {  # the setup itself: an overflow in a preloaded-ASan python must be caught
    printf '%s\n' '#include <stdlib.h>' \
        'int overflow(void) { char *p = malloc(8); int v = p[8]; free(p); return v; }' \
        >"$scratch/canary.c"
    gcc -shared -fPIC -fsanitize=address -o "$scratch/canary.so" "$scratch/canary.c"
    if "$python" -c "import ctypes, sys; ctypes.CDLL(sys.argv[1]).overflow()" \
        "$scratch/canary.so" 2>"$scratch/canary.log"; then
        echo "sanitize[asan]: the canary overflow went unnoticed: ASan is not active" >&2
        return 1
    fi
    grep -q "heap-buffer-overflow" "$scratch/canary.log"
}

run_asan() {
    local libasan
    libasan="$(gcc -print-file-name=libasan.so)"
    build address,undefined
    if ! nm -D "$scratch"/src/copykit/_ccopy*.so | grep -q __asan_report; then
        echo "sanitize[asan]: the extension is not instrumented" >&2
        return 1
    fi
    export LD_PRELOAD="$libasan" PYTHONMALLOC=malloc COPYKIT_REQUIRE_C=1
    export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1"
    export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
    asan_canary || return 1
    echo "sanitize[asan]: canary overflow caught (the setup detects errors)"
    export HYPOTHESIS_PROFILE="${HYPOTHESIS_PROFILE:-ci}"
    # ASan's redzones make -O0 frames several times larger, while the interpreter's limit
    # on C recursion in 3.12 and 3.13 is a count that assumes ordinary frames and an 8 MB
    # stack: the deepest tests (5,000 nested instances, which must raise RecursionError)
    # then overflow the stack on 3.13 before the limit is reached. A larger stack keeps the
    # limit the one that trips. From 3.14 the limit is the stack itself (the interpreter
    # measures what is left of it), so the stack stays as it is: a larger one would only let
    # deep copies go deeper under ASan, and take minutes.
    if "$python" -c 'import sys; sys.exit(sys.version_info >= (3, 14))'; then
        ulimit -s 65536 2>/dev/null || ulimit -s unlimited 2>/dev/null || true
    fi
    cd "$scratch"
    echo "sanitize[asan]: CPython test_copy.py against the C module"
    PYTHONPATH=src "$python" scripts/run_cpython_test_copy.py --impl c || status=1
    echo "sanitize[asan]: allocation-failure sweep (error paths) against the C module"
    PYTHONPATH=src "$python" scripts/nomemory_sweep.py --impl copykit._ccopy >/dev/null ||
        status=1
    echo "sanitize[asan]: allocation-failure sweep of the template workloads"
    PYTHONPATH=src "$python" scripts/nomemory_sweep.py --impl copykit._ccopy --templates \
        >/dev/null || status=1
    echo "sanitize[asan]: hardening tests"
    # Not the RSS check (ASan's quarantine holds freed memory on purpose), nor the other
    # interpreters (only this one has the sanitized build).
    local skip="not python and not resident_memory and not every_interpreter"
    "$python" -m pytest -q -p no:cacheprovider -k "$skip" \
        tests/test_hostile.py tests/test_fuzz_hostile.py tests/test_leaks.py \
        tests/test_threads.py tests/test_memo_mirror.py || status=1
    echo "sanitize[asan]: the semantic suites (C parameters)"
    local suites=()
    for suite in tests/test_copy_semantics.py tests/test_deepcopy_semantics.py \
        tests/test_memo.py tests/test_reduce.py tests/test_c_core.py tests/test_properties.py \
        tests/test_replace.py tests/test_sharing.py tests/test_keep.py tests/test_error_notes.py \
        tests/test_template.py tests/test_uuid.py; do
        [[ -f "$suite" ]] && suites+=("$suite")
    done
    # Functional failures here belong to the semantic suites' own report; this run judges
    # memory safety: a sanitizer report, or pytest killed by a signal.
    local code=0
    "$python" -m pytest -q -p no:cacheprovider -k "not python" "${suites[@]}" 2>&1 |
        tee "$scratch/semantic.log" || code=${PIPESTATUS[0]}
    if grep -q "ERROR: AddressSanitizer\|runtime error:" "$scratch/semantic.log" ||
        [[ $code -gt 1 ]]; then
        status=1
    elif [[ $code -eq 1 ]]; then
        echo "sanitize[asan]: semantic suites have functional failures (no sanitizer report)"
    fi
    unset LD_PRELOAD
}

run_valgrind() {
    build ""
    cd "$scratch"
    # pyenv's interpreters show memcheck errors of their own (uninitialised values in
    # longobject.c and gcmodule.c, no suppression file installed), so the verdict counts
    # only error records with a frame in copykit's C source.
    local memcheck=(valgrind --tool=memcheck --leak-check=no --track-origins=yes
        --num-callers=30 --log-file="$scratch/memcheck.%p.log")
    echo "sanitize[valgrind]: CPython test_copy.py against the C module"
    PYTHONMALLOC=malloc PYTHONPATH=src "${memcheck[@]}" \
        "$python" scripts/run_cpython_test_copy.py --impl c || status=1
    echo "sanitize[valgrind]: hostile scenarios"
    PYTHONMALLOC=malloc PYTHONPATH=src:tests "${memcheck[@]}" \
        "$python" tests/hardening_scenarios.py copykit._ccopy >/dev/null || status=1
    echo "sanitize[valgrind]: allocation-failure sweep (error paths)"
    PYTHONMALLOC=malloc PYTHONPATH=src "${memcheck[@]}" \
        "$python" scripts/nomemory_sweep.py --impl copykit._ccopy --rounds 2 >/dev/null ||
        status=1
    echo "sanitize[valgrind]: allocation-failure sweep of the template workloads"
    PYTHONMALLOC=malloc PYTHONPATH=src "${memcheck[@]}" \
        "$python" scripts/nomemory_sweep.py --impl copykit._ccopy --templates --rounds 2 \
        >/dev/null || status=1
    local ours total
    # The error records (blank-line separated) with a frame in one of copykit's C files.
    our_records() {
        cat "$scratch"/memcheck.*.log |
            awk -v RS='==[0-9]+== \n' '/_ccopy\.c|_memotable\.h|_template\.h|_dictview\.h/'
    }
    ours="$(our_records | grep -c 'ERROR\|uninitialised\|Invalid\|invalid' || true)"
    total="$(grep -h 'ERROR SUMMARY' "$scratch"/memcheck.*.log | awk '{s += $4} END {print s + 0}')"
    echo "sanitize[valgrind]: $total memcheck errors in all, $ours with a frame in copykit's C"
    if [[ "$ours" -ne 0 ]]; then
        our_records | head -80
        status=1
    fi
}

started=$SECONDS
copy_checkout
case "$mode" in
    asan) run_asan ;;
    valgrind) run_valgrind ;;
    all) (run_asan) || status=1; run_valgrind ;;
    *) echo "usage: $0 [asan|valgrind|all]" >&2; exit 2 ;;
esac
elapsed=$((SECONDS - started))
if [[ $status -eq 0 ]]; then
    echo "sanitize[$mode]: CLEAN ($elapsed s)"
else
    echo "sanitize[$mode]: NOT CLEAN ($elapsed s)"
fi
exit "$status"
