#!/usr/bin/env bash
# CPython 3.14 and 3.15 from Debian sid, in a chroot. pyenv cannot build them on this machine;
# sid packages both, with their test suites (test/test_copy.py), gcc and libasan.
#
#   scripts/sid_pythons.sh setup            create or complete the chroot and mount into it
#   scripts/sid_pythons.sh run X.Y CMD...   run CMD inside, in this checkout, python = pythonX.Y
#   scripts/sid_pythons.sh list             the versions the chroot has, one a line
#   scripts/sid_pythons.sh bench-deps       copium and pyperf in a venv per version (for bench)
#   scripts/sid_pythons.sh mounted          exit 0 when this checkout is mounted inside
#   scripts/sid_pythons.sh unmount [--all]  unmount this checkout (--all: everything mounted)
#
# Needs root. The chroot lives at COPYKIT_SID_ROOT (default /var/cache/copykit/sid). setup
# is idempotent: it runs debootstrap only when the chroot is missing (about 75 s; into a
# scratch directory that is renamed when complete, so an interrupted run leaves no
# half-made chroot), installs whatever package is missing, and mounts /proc, /dev, /dev/pts
# and this checkout (at its own absolute path), each only if not mounted yet. A clone anywhere
# (a CI checkout in /tmp/...) is mounted the same way, and paths inside read as outside.
#
# run passes the caller's COPYKIT_*, HYPOTHESIS_PROFILE, CI and PYTHON* variables through
# and nothing else; `python` and `python3` are pythonX.Y (a directory of symlinks first on
# PATH), and PYTHON defaults to it (scripts/sanitize.sh reads PYTHON).
#
# Never `rm -rf` the chroot while anything is mounted in it: the mounts reach the host's /dev
# and this checkout. `unmount --all` first.
set -euo pipefail

root="${COPYKIT_SID_ROOT:-/var/cache/copykit/sid}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
versions=(3.14 3.15)
mirror=http://deb.debian.org/debian
# Debian's archive signatures carry a Valid-Until that a machine with a skewed clock rejects.
apt_options=(-o Acquire::Check-Valid-Until=false -o Acquire::Check-Date=false)
# Per version: the interpreter, its headers (the C build), venv (bench-deps) and its test
# package (test_copy.py). Shared: the test tools (pure Python in /usr/lib/python3, imported
# by every version), build for tests/test_packaging.py, the compiler with ASan and UBSan
# runtimes and nm (scripts/sanitize.sh), graphviz (the diagram tests, required in CI).
packages=(python3-setuptools python3-wheel python3-pytest python3-hypothesis python3-pip
    python3-build gcc libc6-dev libasan8 libubsan1 binutils graphviz)
for minor in "${versions[@]}"; do
    packages+=("python$minor-dev" "python$minor-venv" "libpython$minor-testsuite")
done

die() {
    echo "sid_pythons: $*" >&2
    exit 1
}

in_chroot() {  # a command inside, with a plain environment (none of the host's)
    chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
        DEBIAN_FRONTEND=noninteractive "$@"
}

require_chroot() {
    [[ -x "$root/usr/bin/apt-get" ]] || die "no chroot at $root: run '$0 setup' first"
}

create_chroot() {
    if ! command -v debootstrap >/dev/null; then
        echo "sid_pythons: installing debootstrap on the host"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
    fi
    local scratch="$root.partial"
    # Left by an interrupted run; debootstrap unmounts what it mounted, and
    # --one-file-system keeps rm out of anything that is still mounted there.
    rm -rf --one-file-system "$scratch"
    mkdir -p "$(dirname "$root")"
    echo "sid_pythons: debootstrap sid into $root (about 75 s)"
    local include
    include="$(IFS=,; echo "${packages[*]}")"
    debootstrap --variant=minbase --include="$include" sid "$scratch" "$mirror" \
        >"$scratch.log" 2>&1 || {
        tail -30 "$scratch.log" >&2
        die "debootstrap failed (whole log: $scratch.log)"
    }
    mv "$scratch" "$root"
    rm -f "$scratch.log"
}

install_missing_packages() {
    local missing=() package
    for package in "${packages[@]}"; do
        if [[ "$(in_chroot dpkg-query -W -f='${db:Status-Abbrev}' "$package" 2>/dev/null)" \
            != "ii " ]]; then
            missing+=("$package")
        fi
    done
    if [[ ${#missing[@]} -gt 0 ]]; then
        echo "sid_pythons: installing ${missing[*]}"
        cp /etc/resolv.conf "$root/etc/resolv.conf"
        in_chroot apt-get "${apt_options[@]}" update -qq
        in_chroot apt-get "${apt_options[@]}" install -y -qq --no-install-recommends \
            "${missing[@]}" >/dev/null
    fi
}

mount_into_chroot() {
    if ! mountpoint -q "$root/proc"; then
        mount -t proc proc "$root/proc"
    fi
    if ! mountpoint -q "$root/dev"; then
        mount --bind /dev "$root/dev"
    fi
    if ! mountpoint -q "$root/dev/pts"; then  # apt and dpkg log through a pseudo-terminal
        mount --bind /dev/pts "$root/dev/pts"
    fi
    mkdir -p "$root$repo"
    if ! mountpoint -q "$root$repo"; then
        mount --bind "$repo" "$root$repo"
    fi
}

link_interpreters() {  # /opt/copykit/bin-X.Y/python{,3} -> pythonX.Y, for run's PATH
    local minor
    for minor in "${versions[@]}"; do
        mkdir -p "$root/opt/copykit/bin-$minor"
        ln -sfn "/usr/bin/python$minor" "$root/opt/copykit/bin-$minor/python"
        ln -sfn "/usr/bin/python$minor" "$root/opt/copykit/bin-$minor/python3"
    done
}

setup() {
    if [[ ! -x "$root/usr/bin/apt-get" ]]; then
        create_chroot
    fi
    mount_into_chroot
    install_missing_packages
    link_interpreters
    echo "sid_pythons: ready at $root ($(list | paste -sd ' ')), $repo mounted"
}

list() {
    local minor
    for minor in "${versions[@]}"; do
        if [[ -x "$root/usr/bin/python$minor" ]]; then
            echo "$minor"
        fi
    done
}

run() {
    [[ $# -ge 2 ]] || die "usage: $0 run X.Y CMD..."
    local minor="$1"
    shift
    require_chroot
    [[ -x "$root/usr/bin/python$minor" ]] ||
        die "no python$minor in $root (versions: $(list | paste -sd ' '))"
    mount_into_chroot
    link_interpreters
    local environment=(
        "PATH=/opt/copykit/bin-$minor:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        HOME=/root LANG=C.UTF-8 "TERM=${TERM:-dumb}" PYTHON=python
    )
    local name
    for name in $(compgen -e); do
        if [[ $name =~ ^(COPYKIT_.*|HYPOTHESIS_PROFILE|CI|PYTHON.*)$ ]]; then
            environment+=("$name=${!name}")
        fi
    done
    chroot "$root" /usr/bin/env -i -C "$repo" "${environment[@]}" "$@"
}

bench_deps() {
    require_chroot
    local wheels="$root/opt/copykit/wheels" minor package
    for minor in $(list); do
        rm -rf "$wheels/$minor"
        mkdir -p "$wheels/$minor"
        for package in pyperf copium; do
            # copium publishes wheels per CPython version; one not out yet for X.Y is no error.
            python3 -m pip download -qq --disable-pip-version-check --only-binary=:all: \
                --python-version "$minor" --no-deps "$package" -d "$wheels/$minor" ||
                echo "sid_pythons: no $package wheel for $minor; the bench leaves it out"
        done
        local venv="/opt/copykit/venv-$minor"
        [[ -x "$root$venv/bin/python" ]] ||
            in_chroot "python$minor" -m venv --system-site-packages "$venv"
        local found=("$wheels/$minor"/*.whl)
        if [[ -e "${found[0]}" ]]; then
            in_chroot "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
                --no-index --no-deps --force-reinstall "${found[@]#"$root"}"
        fi
        echo "sid_pythons: $venv (in the chroot): $(cd "$wheels/$minor" && ls | paste -sd ' ')"
    done
    echo "sid_pythons: e.g. PYTHONPATH=src $0 run 3.14 /opt/copykit/venv-3.14/bin/python" \
        "-m copykit bench --quick"
}

unmount() {
    local target
    if [[ "${1:-}" == --all ]]; then
        # Everything mounted under the chroot, deepest first.
        while read -r target; do
            umount "$target"
        done < <(findmnt -rn -o TARGET |
            awk -v root="$root" '$0 == root || index($0, root "/") == 1' | sort -r)
    elif mountpoint -q "$root$repo"; then
        umount "$root$repo"
    fi
}

command="${1:-}"
shift || true
case "$command" in
    setup) setup ;;
    run) run "$@" ;;
    list) list ;;
    bench-deps) bench_deps ;;
    mounted) mountpoint -q "$root$repo" ;;
    unmount) unmount "$@" ;;
    *)
        echo "usage: $0 setup | run X.Y CMD... | list | bench-deps | mounted |" \
            "unmount [--all]" >&2
        exit 2
        ;;
esac
