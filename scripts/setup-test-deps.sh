#!/usr/bin/env bash
# Installs what the test suite needs beyond the Rust toolchain: nasm, which
# assembles the conformance ROMs and re-assembles the committed firmware to
# check it is current. With --with-qemu, also tries qemu-system-i386, the
# reference the firmware and ROM cross-checks run against (best effort: those
# tests skip without it). Debian/Ubuntu only; does nothing when already there.
set -euo pipefail
want_qemu=0
[ "${1:-}" = "--with-qemu" ] && want_qemu=1
need=()
command -v nasm >/dev/null 2>&1 || need+=(nasm)
if [ $want_qemu = 1 ] && ! command -v qemu-system-i386 >/dev/null 2>&1; then
    need+=(qemu-system-x86)
fi
if [ ${#need[@]} -eq 0 ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "nasm not found and apt-get is not available: install nasm by hand" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
echo "Installing ${need[*]} with apt-get..." >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nasm >/dev/null
if [ $want_qemu = 1 ]; then
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends qemu-system-x86 >/dev/null \
        || echo "qemu-system-x86 could not be installed: the QEMU cross-checks will skip" >&2
fi
