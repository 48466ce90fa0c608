#!/usr/bin/env bash
# Installs what the test suite needs beyond the Rust toolchain: nasm, which
# assembles the conformance ROMs and re-assembles the committed firmware to
# check it is current. Debian/Ubuntu only; does nothing when already there.
set -euo pipefail
if command -v nasm >/dev/null 2>&1; then
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
echo "Installing nasm with apt-get..." >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nasm >/dev/null
