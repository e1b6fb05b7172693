#!/usr/bin/env bash
# Packaging checks: build an sdist and a wheel (the wheel from the sdist, as on a fresh
# machine), check what they ship, install into fresh venvs and check:
#   - a normal install works (the C extension when src/copykit/_ccopy.c exists);
#   - with a broken compiler (CC=/bin/false) the install falls back to pure Python
#     with a clear warning, and fails under COPYKIT_REQUIRE_C=1;
#   - copykit-patch.pth lands in site-packages: COPYKIT_PATCH=1 patches copy at start-up,
#     and without it nothing of copykit is imported; start-up cost with/without the .pth.
# Usage: scripts/check_packaging.sh [python]   (default: python3.11 from pyenv)
# Needs the `build` package for that interpreter (pip install build).
set -euo pipefail

PYTHON=${1:-${PYTHON:-/root/.pyenv/versions/3.11.7/bin/python}}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
HAS_C=0
unset COPYKIT_PATCH COPYKIT_REQUIRE_C COPYKIT_PUREPYTHON
[[ -f "$ROOT/src/copykit/_ccopy.c" ]] && HAS_C=1

step() { printf '\n== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
fresh_venv() { "$PYTHON" -m venv "$WORK/$1" && echo "$WORK/$1/bin/python"; }
site_packages() { "$1" -c 'import sysconfig; print(sysconfig.get_path("purelib"))'; }

step "build sdist and wheel (wheel built from the sdist) with $PYTHON"
"$PYTHON" -m build --outdir "$WORK/dist" "$ROOT" >"$WORK/build.log" 2>&1 \
    || { tail -30 "$WORK/build.log"; fail "python -m build"; }
SDIST=$(ls "$WORK"/dist/*.tar.gz)
WHEEL=$(ls "$WORK"/dist/*.whl)
echo "$(basename "$SDIST")  $(basename "$WHEEL")"

step "sdist contents"
tar tzf "$SDIST" | sed 's|^[^/]*/||' >"$WORK/sdist.txt"
expected=(src/copykit-patch.pth src/copykit/py.typed src/copykit/patch.py setup.py MANIFEST.in)
for source in "$ROOT"/src/copykit/*.c "$ROOT"/src/copykit/*.h "$ROOT"/src/copykit/*.pyi; do
    [[ -f "$source" ]] && expected+=("src/copykit/$(basename "$source")")
done
for path in "${expected[@]}"; do
    grep -qx "$path" "$WORK/sdist.txt" || fail "sdist lacks $path"
done
echo "ok: ${expected[*]}"

step "wheel contents"
"$PYTHON" -m zipfile -l "$WHEEL" | awk 'NR > 1 {print $1}' >"$WORK/wheel.txt"
for path in copykit-patch.pth copykit/py.typed copykit/patch.py; do
    grep -qx "$path" "$WORK/wheel.txt" || fail "wheel lacks $path"
done
for stub in "$ROOT"/src/copykit/*.pyi; do
    [[ -f "$stub" ]] && { grep -qx "copykit/$(basename "$stub")" "$WORK/wheel.txt" \
        || fail "wheel lacks $(basename "$stub")"; }
done
grep -E '\.(c|h)$' "$WORK/wheel.txt" && fail "wheel ships C sources"
echo "ok: .pth at the wheel root, py.typed, stubs, no C sources"

step "install the sdist into a fresh venv"
VPY=$(fresh_venv plain)
"$VPY" -m pip install -q --no-cache-dir "$SDIST" >"$WORK/plain.log" 2>&1 \
    || { tail -30 "$WORK/plain.log"; fail "pip install sdist"; }
IMPL=$(cd "$WORK" && "$VPY" -c 'import copykit; print(copykit.IMPLEMENTATION)')
echo "copykit.IMPLEMENTATION = $IMPL"
[[ $HAS_C == 1 && $IMPL != c ]] && fail "C source present but the C extension was not used"
[[ -f "$(site_packages "$VPY")/copykit-patch.pth" ]] || fail ".pth not in site-packages"

step "start-up patch through copykit-patch.pth"
(cd "$WORK" && COPYKIT_PATCH=1 "$VPY" -c '
import copy, sys
assert "copykit.patch" in sys.modules, "COPYKIT_PATCH=1 did not import copykit.patch"
assert copy.deepcopy.__code__.co_filename.endswith("patch.py"), "copy.deepcopy not patched"
print("ok: COPYKIT_PATCH=1 patches copy.deepcopy")')
(cd "$WORK" && "$VPY" -c '
import sys
loaded = sorted(name for name in sys.modules if name.split(".")[0] == "copykit")
assert not loaded, loaded
print("ok: without COPYKIT_PATCH nothing of copykit is imported")')

step "start-up cost of copykit-patch.pth with COPYKIT_PATCH unset"
PTH="$(site_packages "$VPY")/copykit-patch.pth"
"$VPY" - "$PTH" <<'EOF'
import pathlib, site, statistics, subprocess, sys, tempfile, time
pth = pathlib.Path(sys.argv[1])
parked = pth.with_suffix(".parked")

def startup_ms(runs=20):
    start = time.perf_counter()
    for _ in range(runs):
        subprocess.run([sys.executable, "-c", "pass"], check=True)
    return (time.perf_counter() - start) / runs * 1e3

# Whole-process start-up, with and without the file, interleaved; medians of 15 rounds.
with_pth, without_pth = [], []
for _ in range(15):
    with_pth.append(startup_ms())
    pth.rename(parked)
    try:
        without_pth.append(startup_ms())
    finally:
        parked.rename(pth)
print(f"python -c pass: {statistics.median(with_pth):.2f} ms with the .pth, "
      f"{statistics.median(without_pth):.2f} ms without (medians, interleaved)")

# The line itself: site.addpackage of this .pth versus a comment-only .pth.
def addpackage_us(directory, name, calls=2000):
    start = time.perf_counter()
    for _ in range(calls):
        site.addpackage(directory, name, set())
    return (time.perf_counter() - start) / calls * 1e6

with tempfile.TemporaryDirectory() as directory:
    pathlib.Path(directory, "copykit-patch.pth").write_text(pth.read_text())
    pathlib.Path(directory, "comment.pth").write_text("# nothing\n")
    ours = min(addpackage_us(directory, "copykit-patch.pth") for _ in range(5))
    baseline = min(addpackage_us(directory, "comment.pth") for _ in range(5))
print(f"processing the .pth line: {ours - baseline:.0f} us "
      "(site.addpackage, over a comment-only .pth)")
EOF
"$VPY" -X importtime -c pass 2>&1 | grep -i copykit \
    && fail "importtime shows copykit imports without COPYKIT_PATCH"
echo "ok: -X importtime shows no copykit import"

if [[ $HAS_C == 0 ]]; then
    step "SKIP compiler-fallback checks: no src/copykit/_ccopy.c in this tree"
    exit 0
fi

step "broken compiler (CC=/bin/false): falls back to pure Python with a warning"
VPY=$(fresh_venv nocc)
CC=/bin/false "$VPY" -m pip install -v --no-cache-dir "$SDIST" >"$WORK/nocc.log" 2>&1 \
    || { tail -30 "$WORK/nocc.log"; fail "install without a compiler must succeed"; }
grep -o "copykit: C extension could not be built.*" "$WORK/nocc.log" | cut -c1-100 \
    || fail "no fallback warning in pip -v output"
IMPL=$(cd "$WORK" && "$VPY" -c 'import copykit; print(copykit.IMPLEMENTATION)')
[[ $IMPL == python ]] || fail "expected the pure-Python twin, got $IMPL"
echo "ok: copykit.IMPLEMENTATION = $IMPL"

step "broken compiler under COPYKIT_REQUIRE_C=1: the install fails"
VPY=$(fresh_venv requirec)
if COPYKIT_REQUIRE_C=1 CC=/bin/false "$VPY" -m pip install --no-cache-dir "$SDIST" \
    >"$WORK/requirec.log" 2>&1; then
    fail "install succeeded without a compiler under COPYKIT_REQUIRE_C=1"
fi
grep -q "CExtensionRequired" "$WORK/requirec.log" || fail "failed, but not for the C build"
echo "ok: install failed with CExtensionRequired"

step "all packaging checks passed"
