#!/usr/bin/env bash
# Installs what the test suite needs beyond the Rust toolchain: nasm, which
# assembles the conformance ROMs, the screen-test guests and re-assembles the
# committed firmware to check it is current. Optional extras, best effort
# (the tests that need them skip without them, except under CI):
#   --with-qemu  qemu-system-i386, the reference the firmware, ROM and
#                screen cross-checks run against;
#   --with-x11   Xvfb and xdotool, for the desktop window's end-to-end test
#                (tests/window_e2e.rs; it fails when CI is set and they are
#                missing).
# Debian/Ubuntu only; does nothing when everything is already there, so it
# can run before every test run.
set -euo pipefail
want_qemu=0
want_x11=0
for arg in "$@"; do
    case "$arg" in
        --with-qemu) want_qemu=1 ;;
        --with-x11) want_x11=1 ;;
        *)
            echo "usage: $0 [--with-qemu] [--with-x11]" >&2
            exit 2
            ;;
    esac
done
need=()
optional=()
command -v nasm >/dev/null 2>&1 || need+=(nasm)
if [ $want_qemu = 1 ] && ! command -v qemu-system-i386 >/dev/null 2>&1; then
    optional+=(qemu-system-x86)
fi
if [ $want_x11 = 1 ]; then
    command -v Xvfb >/dev/null 2>&1 || optional+=(xvfb)
    command -v xdotool >/dev/null 2>&1 || optional+=(xdotool)
fi
if [ ${#need[@]} -eq 0 ] && [ ${#optional[@]} -eq 0 ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    if [ ${#need[@]} -ne 0 ]; then
        echo "${need[*]} not found and apt-get is not available: install ${need[*]} by hand" >&2
        exit 1
    fi
    echo "apt-get is not available: ${optional[*]} not installed; the tests needing them will skip" >&2
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
install() {
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
echo "Installing ${need[*]} ${optional[*]} with apt-get..." >&2
if ! $SUDO apt-get update -qq; then
    # A stale or unreachable mirror must not stop what is already cached.
    echo "apt-get update failed; trying the package lists at hand" >&2
fi
if [ ${#need[@]} -ne 0 ]; then
    install "${need[@]}"
fi
for pkg in "${optional[@]}"; do
    install "$pkg" || echo "$pkg could not be installed: the tests needing it will skip" >&2
done
